package config_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/oimconnect/oimconnect/pipeline/config"
)

// hash is a well-formed bcrypt hash (of "correct horse battery").
const hash = "$2a$04$KtqJ0o2z3VVTgkv9SXYwPOVq8lJ7Ai0oQIjOq2HWHEIhpCLCKxSxu"

// The console section's defaults, and its values from the file.
func TestConsoleSection(t *testing.T) {
	c, err := config.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if k := c.Console; k.Listen != "127.0.0.1:8080" || k.IdleTimeout() != 30*time.Minute || k.MaxAge() != 12*time.Hour || k.TLS() || len(k.Users) != 0 {
		t.Errorf("defaults: %+v", k)
	}
	path := writeConfig(t, `console:
  listen: 0.0.0.0:9443
  tls_cert: cert.pem
  tls_key: key.pem
  session_timeout: 5m
  users:
    - {name: ann, role: admin, password_hash: "`+hash+`"}
    - {name: bob, role: viewer, password_hash: "`+hash+`"}
`)
	c, err = config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	k := c.Console
	if k.Listen != "0.0.0.0:9443" || !k.TLS() || k.IdleTimeout() != 5*time.Minute || len(k.Users) != 2 {
		t.Errorf("from the file: %+v", k)
	}
	if u, ok := k.User("bob"); !ok || u.Role != config.RoleViewer || u.PasswordHash.Reveal() != hash {
		t.Errorf("user bob: %+v %v", u, ok)
	}
	if config.RoleRank("admin") <= config.RoleRank("operator") || config.RoleRank("operator") <= config.RoleRank("viewer") || config.RoleRank("root") != 0 {
		t.Errorf("role ranks")
	}
}

// Every mistake in the console section is refused at its position, and a password
// hash is never repeated in a message.
func TestConsoleMistakesPositioned(t *testing.T) {
	path := writeConfig(t, `console:
  listen: localhost
  tls_cert: cert.pem
  session_timeout: soon
  users:
    - {name: ann, role: root, password_hash: "`+hash+`"}
    - {name: ANN, role: viewer, password_hash: "`+hash+`"}
    - {name: "bad name", role: viewer, password_hash: "plain-text-password"}
`)
	_, err := config.Load(path, nil)
	wantInput(t, err,
		path+`:2:11: console.listen must be host:port, e.g. 127.0.0.1:8080, got "localhost"`,
		path+`:3:13: console.tls_cert and console.tls_key go together: give both PEM files, or neither`,
		path+`:4:20: console.session_timeout must be a positive duration such as 30m or 12h, got "soon"`,
		path+`:6:25: console.users[0] (ann): role must be one of viewer, operator, admin, got "root"`,
		path+`:7:14: console.users[1] (ANN): a second user named ANN`,
		path+`:8:14: console.users[2] (bad name): name must be 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit, got "bad name"`,
		path+":8:55: console.users[2] (bad name): password_hash is not a bcrypt hash: set the password with `oimconnect user passwd --config FILE --name bad name`")
}

// A password hash prints, logs and marshals as xxxxx.
func TestSecretNeverShows(t *testing.T) {
	u := config.User{Name: "ann", Role: "admin", PasswordHash: config.Secret(hash)}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("user", "hash", u.PasswordHash, "user", u)
	js, _ := json.Marshal(u)
	for _, s := range []string{fmt.Sprint(u), fmt.Sprintf("%+v %#v %v %s %q", u, u, u.PasswordHash, u.PasswordHash, u.PasswordHash), logged.String(), string(js)} {
		if strings.Contains(s, "$2a$") || !strings.Contains(s, "xxxxx") {
			t.Errorf("the hash shows: %s", s)
		}
	}
}
