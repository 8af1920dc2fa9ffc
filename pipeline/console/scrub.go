package console

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
)

// What keeps secrets out of pages and logs: database passwords (in the configured
// URLs), plugin settings whose name says they are secret, password hashes.

// secretKey says a setting's name marks its value secret.
func secretKey(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"secret", "password", "passwd", "token", "key", "credential"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// secretsOf lists the secret values of a configuration, longest first.
func secretsOf(cfg *config.Config) []string {
	var out []string
	for _, loc := range []string{cfg.DB, cfg.Source, cfg.Target} {
		out = append(out, postgres.Passwords(loc)...)
	}
	for _, p := range cfg.Plugins {
		out = append(out, secretValues(p.Settings, false)...)
	}
	for _, u := range cfg.Console.Users {
		out = append(out, u.PasswordHash.Reveal())
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// secretValues are the text values under secret keys of a plugin's settings.
func secretValues(v any, secret bool) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			out = append(out, secretValues(val, secret || secretKey(k))...)
		}
	case []any:
		for _, val := range x {
			out = append(out, secretValues(val, secret)...)
		}
	case string:
		if secret && x != "" {
			out = append(out, x)
		}
	}
	return out
}

// scrub takes every secret of the configuration out of a message, and the password
// out of any database URL in it.
func scrub(cfg *config.Config, msg string) string {
	for _, loc := range []string{cfg.DB, cfg.Source, cfg.Target} {
		if loc != "" {
			msg = strings.ReplaceAll(msg, loc, postgres.Redact(loc))
		}
	}
	for _, s := range secretsOf(cfg) {
		if len(s) >= 3 {
			msg = strings.ReplaceAll(msg, s, config.Redacted)
		}
	}
	return msg
}

// masked is a plugin's settings as JSON, the values of secret keys replaced by xxxxx.
func masked(settings map[string]any) string {
	data, err := json.Marshal(mask(settings, false))
	if err != nil {
		return "(unreadable settings)"
	}
	return string(data)
}

func mask(v any, secret bool) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[k] = mask(val, secret || secretKey(k))
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = mask(val, secret)
		}
		return out
	}
	if secret && v != nil {
		return config.Redacted
	}
	return v
}
