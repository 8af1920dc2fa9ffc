package config

import (
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/oimconnect/oimconnect/pipeline/spec"
)

// Console configures the web console (`oimconnect console`, and `serve` when it has
// users): where it listens, its certificate, how long a session lasts, and who may log
// in with which role.
type Console struct {
	// Listen is the address it listens on (default 127.0.0.1:8080: this machine only).
	Listen string `koanf:"listen" doc:"host:port to listen on (default 127.0.0.1:8080)"`
	// TLSCert and TLSKey, both or neither, are PEM files (relative paths: to the
	// configuration file's directory): with them the console speaks HTTPS only, and its
	// cookies are Secure.
	TLSCert string `koanf:"tls_cert" doc:"PEM certificate file: serve HTTPS (with tls_key)"`
	TLSKey  string `koanf:"tls_key" doc:"PEM private key file of tls_cert"`
	// SessionTimeout ends a session nobody used for that long (default 30m);
	// SessionMaxAge ends any session that old (default 12h).
	SessionTimeout string `koanf:"session_timeout" doc:"a session unused this long ends (default 30m)"`
	SessionMaxAge  string `koanf:"session_max_age" doc:"a session this old ends, used or not (default 12h)"`
	// Users may log in; `oimconnect user add` adds one.
	Users []User `koanf:"users" doc:"who may log in: name, role (viewer, operator, admin), password_hash"`
}

// Console defaults.
const (
	DefaultListen         = "127.0.0.1:8080"
	DefaultSessionTimeout = "30m"
	DefaultSessionMaxAge  = "12h"
)

// Roles, each allowed what the one before it is, and more.
const (
	RoleViewer   = "viewer"   // reads every page
	RoleOperator = "operator" // and exports, dry runs
	RoleAdmin    = "admin"    // and changes settings, schedules, users
)

// Roles are the roles in order of what they allow.
var Roles = []string{RoleViewer, RoleOperator, RoleAdmin}

// RoleRank is how much a role allows (0: an unknown role, nothing).
func RoleRank(role string) int {
	for i, r := range Roles {
		if r == role {
			return i + 1
		}
	}
	return 0
}

// User is one person who may log in to the console.
type User struct {
	Name string `koanf:"name" doc:"the login name"`
	Role string `koanf:"role" doc:"viewer, operator or admin"`
	// PasswordHash is a bcrypt hash of the password, written by `oimconnect user`; the
	// password itself is stored nowhere.
	PasswordHash Secret `koanf:"password_hash" doc:"bcrypt hash of the password (oimconnect user add|passwd writes it)"`
}

// Secret is a value never shown: it prints, logs and marshals as xxxxx. Reveal gives
// the value to the code that needs it.
type Secret string

// Redacted is how a secret shows.
const Redacted = "xxxxx"

// Reveal is the secret's value.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) String() string               { return Redacted }
func (s Secret) GoString() string             { return strconv.Quote(Redacted) }
func (s Secret) LogValue() slog.Value         { return slog.StringValue(Redacted) }
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }
func (s Secret) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(Redacted)) }

// IdleTimeout is how long an unused session lasts (the default when unset).
func (c Console) IdleTimeout() time.Duration {
	return duration(c.SessionTimeout, DefaultSessionTimeout)
}

// MaxAge is how long any session lasts (the default when unset).
func (c Console) MaxAge() time.Duration { return duration(c.SessionMaxAge, DefaultSessionMaxAge) }

// resolveConsolePaths makes the certificate's and key's relative paths relative to
// dir, the directory of the configuration file, as plugins' are.
func (c *Config) resolveConsolePaths(dir string) {
	for _, p := range []*string{&c.Console.TLSCert, &c.Console.TLSKey} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
}

// TLS says the console serves HTTPS.
func (c Console) TLS() bool { return c.TLSCert != "" }

// User finds a user by name.
func (c Console) User(name string) (User, bool) {
	for _, u := range c.Users {
		if u.Name == name {
			return u, true
		}
	}
	return User{}, false
}

func duration(s, def string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		d, _ = time.ParseDuration(def)
	}
	return d
}

var (
	userName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)
	// bcryptHash is the shape of a bcrypt hash: $2a$, $2b$ or $2y$, the cost, 53
	// characters of salt and hash.
	bcryptHash = regexp.MustCompile(`^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$`)
)

// ValidUserName reports whether name can be a user's name (letters, digits, . _ @ -).
func ValidUserName(name string) bool { return userName.MatchString(name) }

// checkConsole reports every mistake in the console section, each at its key; a
// password hash is never repeated in a message.
func (c *Config) checkConsole() spec.Problems {
	var probs spec.Problems
	bad := func(path []string, format string, args ...any) {
		probs = append(probs, c.problem(path, false, format, args...))
	}
	k := c.Console
	if _, port, err := net.SplitHostPort(k.Listen); err != nil || port == "" {
		bad([]string{"console", "listen"}, "console.listen must be host:port, e.g. 127.0.0.1:8080, got %q", k.Listen)
	}
	if (k.TLSCert == "") != (k.TLSKey == "") {
		key := "tls_cert" // at the one given
		if k.TLSCert == "" {
			key = "tls_key"
		}
		bad([]string{"console", key}, "console.tls_cert and console.tls_key go together: give both PEM files, or neither")
	}
	for _, d := range []struct{ key, v string }{{"session_timeout", k.SessionTimeout}, {"session_max_age", k.SessionMaxAge}} {
		if v, err := time.ParseDuration(d.v); err != nil || v <= 0 {
			bad([]string{"console", d.key}, "console.%s must be a positive duration such as 30m or 12h, got %q", d.key, d.v)
		}
	}
	seen := map[string]bool{}
	for i, u := range k.Users {
		at := func(key string) []string { return []string{"console", "users", strconv.Itoa(i), key} }
		who := fmt.Sprintf("console.users[%d]", i)
		if u.Name != "" {
			who += " (" + u.Name + ")"
		}
		switch {
		case !ValidUserName(u.Name):
			bad(at("name"), "%s: name must be 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit, got %q", who, u.Name)
		case seen[strings.ToLower(u.Name)]:
			bad(at("name"), "%s: a second user named %s", who, u.Name)
		}
		seen[strings.ToLower(u.Name)] = true
		if RoleRank(u.Role) == 0 {
			bad(at("role"), "%s: role must be one of %s, got %q", who, strings.Join(Roles, ", "), u.Role)
		}
		if !bcryptHash.MatchString(u.PasswordHash.Reveal()) {
			bad(at("password_hash"), "%s: password_hash is not a bcrypt hash: set the password with `oimconnect user passwd --config FILE --name %s`", who, u.Name)
		}
	}
	return probs
}
