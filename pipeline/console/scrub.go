package console

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"

	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
)

// What keeps secrets out of pages and logs: database passwords (in the configured
// URLs), plugin settings that are secret by their name or by their value, password
// hashes.

// secretWords are the parts of a setting's name that mark its value secret. Matching
// is by substring, so some harmless settings are masked too ("author"): a masked value
// costs a look at the file, a shown one a leaked credential.
var secretWords = []string{"secret", "pass", "pwd", "token", "key", "credential", "auth", "dsn", "conn",
	"private", "cert", "cookie", "session", "signature", "salt"}

// secretKey says a setting's name marks its value secret.
func secretKey(name string) bool {
	n := strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// credentialPrefixes open a value that is a credential whatever its setting's name: an
// HTTP Authorization header's schemes, and a key in PEM.
var credentialPrefixes = []string{"bearer ", "basic ", "token ", "digest ", "negotiate ", "apikey ", "-----begin"}

// secretValue says a text value is a credential by its shape, whatever its setting's
// name: an Authorization header's value, a PEM key, or a connection string with a
// password= parameter (libpq's key=value form, an ODBC string).
func secretValue(v string) bool {
	l := strings.ToLower(strings.TrimSpace(v))
	for _, p := range credentialPrefixes {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return passwordParam.MatchString(l)
}

// passwordParam is a password given as a key=value parameter of a connection string
// (one in a URL's query is redactURLs's).
var passwordParam = regexp.MustCompile(`(^|[\s;])(password|passwd|pwd|sslpassword)\s*=`)

// urlPasswords are the two places a URL holds a password, whatever its scheme and in a
// longer text too: after the user name (postgres://svc:pw@host, https://u:pw@host)
// and as a parameter (?password=pw, &sslpassword=pw). Group 2 is the password.
var urlPasswords = []*regexp.Regexp{
	regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^\s/:@]*:)([^\s/]+)@`),
	regexp.MustCompile(`(?i)([?&](?:[a-z_]*password|passwd|pwd)=)([^\s&#]+)`),
}

// redactURLs hides the passwords of every URL in a text, as postgres.Redact does for a
// PostgreSQL URL, for any scheme.
func redactURLs(v string) string {
	for _, re := range urlPasswords {
		v = re.ReplaceAllStringFunc(v, func(m string) string {
			g := re.FindStringSubmatch(m)
			return g[1] + config.Redacted + m[len(g[1])+len(g[2]):]
		})
	}
	return v
}

// passwordsIn are the passwords of the URLs in a text (redactURLs hides them).
func passwordsIn(v string) []string {
	var out []string
	for _, re := range urlPasswords {
		for _, m := range re.FindAllStringSubmatch(v, -1) {
			out = append(out, m[2])
		}
	}
	return out
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

// secretValues are the secret text values of a plugin's settings: those under secret
// keys, credentials by their shape, and the passwords of URLs.
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
		switch {
		case x == "":
		case secret || secretValue(x):
			out = append(out, x)
		default:
			out = append(out, passwordsIn(x)...)
		}
	}
	return out
}

// scrub takes every secret of the configuration out of a message, and the password
// out of any URL in it.
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
	return redactURLs(msg)
}

// masked is a plugin's settings as JSON: the values of secret keys and credentials by
// their shape replaced by xxxxx, and the passwords of URLs.
func masked(settings map[string]any) string {
	data, err := json.Marshal(mask(settings, false))
	if err != nil {
		return "(unreadable settings)"
	}
	return string(data)
}

// mask is a settings value with its secrets replaced, in nested maps and lists too;
// secret says a key above it marks it secret.
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
	case string:
		if secret || secretValue(x) {
			return config.Redacted
		}
		return redactURLs(x)
	}
	if secret && v != nil {
		return config.Redacted
	}
	return v
}
