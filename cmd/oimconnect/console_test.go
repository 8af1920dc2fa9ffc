package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/oimconnect/oimconnect/pipeline/fixture"
)

// `oimconnect user` adds a user, sets a password, removes one: only the bcrypt hash of
// the password read from standard input goes into the file, which keeps its comments
// and other keys, is created private, and is left as it was by a refusal.
func TestUserCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "tenant.yaml")
	r := cliInput(t, "first-password-1\n", "user", "add", "--config", file, "--name", "ann", "--role", "admin")
	if r.code != 0 || r.stdout != "user ann added as admin to "+file+"\n" {
		t.Fatalf("add to a new file: %d %q %s", r.code, r.stdout, r.stderr)
	}
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("a new file is its owner's only: %v %v", st.Mode(), err)
	}
	text := readFile(t, file)
	hash := regexp.MustCompile(`password_hash: (\S+)`).FindStringSubmatch(text)
	if hash == nil || strings.Contains(text, "first-password-1") || bcrypt.CompareHashAndPassword([]byte(hash[1]), []byte("first-password-1")) != nil {
		t.Fatalf("the file holds the password's hash, not the password:\n%s", text)
	}
	if cost, _ := bcrypt.Cost([]byte(hash[1])); cost != passwordCost {
		t.Errorf("cost %d", cost)
	}

	// An existing file keeps its comments and other keys.
	if err := os.WriteFile(file, []byte("# the tenant\nsettings:\n  default_company: Acme UK Ltd # by name\n"+text), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(file, 0o640); err != nil {
		t.Fatal(err)
	}
	if r := cliInput(t, "second-password\n", "user", "add", "--config", file, "--name", "bob"); r.code != 0 || !strings.Contains(r.stdout, "user bob added as viewer") {
		t.Fatalf("add bob: %d %s", r.code, r.stderr)
	}
	if r := cliInput(t, "third-password!\n", "user", "passwd", "--config", file, "--name", "bob", "--role", "operator"); r.code != 0 {
		t.Fatalf("passwd: %d %s", r.code, r.stderr)
	}
	text = readFile(t, file)
	if !strings.HasPrefix(text, "# the tenant\nsettings:\n  default_company: Acme UK Ltd # by name\n") || !strings.Contains(text, "- name: bob\n      role: operator\n      password_hash: $2a$12$") {
		t.Errorf("the file:\n%s", text)
	}
	bob := regexp.MustCompile(`name: bob\n\s+role: operator\n\s+password_hash: (\S+)`).FindStringSubmatch(text)
	if bob == nil || bcrypt.CompareHashAndPassword([]byte(bob[1]), []byte("third-password!")) != nil {
		t.Errorf("bob's new password")
	}
	if st, _ := os.Stat(file); st.Mode().Perm() != 0o640 {
		t.Errorf("the file's permissions changed: %v", st.Mode())
	}

	before := readFile(t, file)
	for _, c := range []struct {
		input string
		args  []string
		want  string
	}{
		{"short\n", []string{"passwd", "--name", "bob"}, "the password must have at least 10 characters"},
		{strings.Repeat("a", 100) + "\n", []string{"passwd", "--name", "bob"}, "the password must have at most 72 bytes (bcrypt reads no more), it has 100"},
		{strings.Repeat("é", 37) + "\n", []string{"passwd", "--name", "bob"}, "the password must have at most 72 bytes (bcrypt reads no more), it has 74"},
		{"long-enough-1\n", []string{"add", "--name", "bob"}, "user bob exists already"},
		{"long-enough-1\n", []string{"passwd", "--name", "carl"}, "no user carl (users: ann, bob)"},
		{"", []string{"remove", "--name", "bob", "--role", "admin"}, "--role is for add and passwd"},
		{"long-enough-1\n", []string{"add", "--name", "dee", "--role", "root"}, `--role must be one of viewer, operator, admin, got "root"`},
		{"long-enough-1\n", []string{"add", "--name", "bad name"}, `--name must be 1 to 64 letters`},
		{"", []string{"--name", "bob"}, "give the action: add, passwd or remove"},
		{"", []string{"delete", "--name", "bob"}, `no action "delete": add, passwd, remove`},
	} {
		r := cliInput(t, c.input, append(append([]string{"user"}, c.args...), "--config", file)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: want exit 2 and %q, got %d\n%s", c.args, c.want, r.code, r.stderr)
		}
		if strings.Contains(r.stderr+r.stdout, "long-enough-1") {
			t.Errorf("%v: the password is shown", c.args)
		}
	}
	if readFile(t, file) != before {
		t.Errorf("a refusal changed the file")
	}
	if r := cliInput(t, "", "user", "remove", "--config", file, "--name", "bob"); r.code != 0 || strings.Contains(readFile(t, file), "bob") {
		t.Errorf("remove: %d %s", r.code, r.stderr)
	}
	broken := filepath.Join(dir, "broken.yaml")
	if err := os.WriteFile(broken, []byte("settings:\n  sales_invoice_line_limit: 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := cliInput(t, "long-enough-1\n", "user", "add", "--config", broken, "--name", "ann"); r.code != 2 || !strings.Contains(r.stderr, broken+":2:29: settings.sales_invoice_line_limit must be at least 1") {
		t.Errorf("a broken file: %d %s", r.code, r.stderr)
	}
}

// changedMeanwhile is standard input that, when first read (the command has read the
// users and waits for the password), lets change edit the file, as the console or
// another `oimconnect user` may meanwhile.
type changedMeanwhile struct {
	input  io.Reader
	change func()
}

func (c *changedMeanwhile) Read(p []byte) (int, error) {
	if c.change != nil {
		c.change()
		c.change = nil
	}
	return c.input.Read(p)
}

// `oimconnect user passwd` changes the user named in the file as it is when saved: a
// user removed before it in the list meanwhile does not make it change the next one,
// and a user removed meanwhile is refused with nothing changed.
func TestUserCommandByName(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tenant.yaml")
	var users strings.Builder
	for _, u := range []string{"ann", "bob", "cy"} {
		h, err := bcrypt.GenerateFromPassword([]byte(u+"-password"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&users, "    - {name: %s, role: viewer, password_hash: %q}\n", u, h)
	}
	if err := os.WriteFile(file, []byte("console:\n  users:\n"+users.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	remove := func(name string) func() {
		return func() {
			text := regexp.MustCompile(`(?m)^    - \{name: `+name+`,.*\n`).ReplaceAllString(readFile(t, file), "")
			if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
				t.Error(err)
			}
		}
	}
	defer func(r io.Reader) { stdin = r }(stdin)
	passwd := func(name string, change func()) (int, string) {
		stdin = &changedMeanwhile{input: strings.NewReader("new-password-1\n"), change: change}
		var out, errb strings.Builder
		code := run(context.Background(), []string{"user", "passwd", "--config", file, "--name", name, "--role", "operator"}, &out, &errb)
		return code, errb.String()
	}
	if code, stderr := passwd("bob", remove("ann")); code != 0 {
		t.Fatalf("passwd bob: %d %s", code, stderr)
	}
	text := readFile(t, file)
	bob := regexp.MustCompile(`\{name: bob, role: operator, password_hash: "?([^"}\s]+)`).FindStringSubmatch(text)
	if bob == nil || bcrypt.CompareHashAndPassword([]byte(bob[1]), []byte("new-password-1")) != nil || !strings.Contains(text, "{name: cy, role: viewer,") {
		t.Errorf("bob's password and role, cy's left alone:\n%s", text)
	}
	code, stderr := passwd("cy", remove("cy"))
	if code != 2 || !strings.Contains(stderr, "user cy was removed meanwhile: nothing was changed") {
		t.Errorf("passwd of a user removed meanwhile: %d %s", code, stderr)
	}
	if after := readFile(t, file); strings.Contains(after, "name: cy") || strings.Count(after, "name:") != 1 { // "cy" alone: in a hash, once
		t.Errorf("the file:\n%s", after)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// serving is a console command running in the background.
type serving struct {
	cmd  *exec.Cmd
	url  string
	logs *strings.Builder
	done chan error
}

// startServing runs the binary until it says where the console listens.
func startServing(t *testing.T, args ...string) *serving {
	t.Helper()
	cmd := exec.Command(binary, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &serving{cmd: cmd, logs: &strings.Builder{}, done: make(chan error, 1)}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.logs.WriteString(sc.Text() + "\n")
			if m := regexp.MustCompile(`msg="console listening" url=(\S+)`).FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		s.done <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	select {
	case s.url = <-found:
	case err := <-s.done:
		t.Fatalf("%v exited: %v\n%s", args, err, s.logs)
	case <-time.After(60 * time.Second):
		t.Fatalf("%v does not listen:\n%s", args, s.logs)
	}
	return s
}

// stop ends it as Ctrl-C does, and returns its exit status.
func (s *serving) stop(t *testing.T) int {
	t.Helper()
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("it does not stop:\n%s", s.logs)
	}
	return s.cmd.ProcessState.ExitCode()
}

// loginStatus logs in over HTTP and says how the console answered.
func loginStatus(t *testing.T, base, name, password string) int {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.PostForm(base+"/login", url.Values{"name": {name}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode
}

// `oimconnect console` serves the console (and nothing else) on the configured
// address; it refuses a configuration without users; a user added while it runs logs
// in at once; Ctrl-C stops it with exit status 0.
func TestConsoleCommand(t *testing.T) {
	t.Parallel()
	db := fixture.DB(t, "sales-invoices.sql")
	dir := t.TempDir()
	cfg := writeFile(t, dir, "console.yaml", "db: "+db+"\nsettings:\n  default_company: Acme UK Ltd\n")
	r := cli(t, nil, "console", "--config", cfg, "--listen", "127.0.0.1:0")
	if r.code != 2 || !strings.Contains(r.stderr, "console: no users in the configuration, and nobody logs in anonymously") {
		t.Fatalf("without users: %d %s", r.code, r.stderr)
	}
	if r := cliInput(t, "ann-password-1\n", "user", "add", "--config", cfg, "--name", "ann", "--role", "admin"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	s := startServing(t, "console", "--config", cfg, "--listen", "127.0.0.1:0")
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(s.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next=%2F" {
		t.Errorf("anonymous: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if code := loginStatus(t, s.url, "ann", "ann-password-1"); code != http.StatusSeeOther {
		t.Errorf("ann's login: %d", code)
	}
	if code := loginStatus(t, s.url, "bob", "bob-password-1"); code != http.StatusUnauthorized {
		t.Errorf("bob before he is added: %d", code)
	}
	if r := cliInput(t, "bob-password-1\n", "user", "add", "--config", cfg, "--name", "bob"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	time.Sleep(1100 * time.Millisecond) // the console looks at the file at most once a second
	if code := loginStatus(t, s.url, "bob", "bob-password-1"); code != http.StatusSeeOther {
		t.Errorf("bob once added: %d", code)
	}
	if code := s.stop(t); code != 0 || strings.Contains(s.logs.String(), "watching") {
		t.Errorf("console: exit %d, and it watches nothing:\n%s", code, s.logs)
	}
	for _, secret := range []string{"ann-password-1", "bob-password-1", "$2a$"} {
		if strings.Contains(s.logs.String(), secret) {
			t.Errorf("the log shows %q", secret)
		}
	}
	// A port in use is refused where it is configured.
	busy := startServing(t, "console", "--config", cfg, "--listen", "127.0.0.1:0")
	addr := strings.TrimPrefix(busy.url, "http://")
	if r := cli(t, nil, "console", "--config", cfg, "--listen", addr); r.code != 2 || !strings.Contains(r.stderr, "flag --listen: console: listen tcp "+addr) {
		t.Errorf("a port in use: %d %s", r.code, r.stderr)
	}
	busy.stop(t)
}

// `oimconnect serve` with console users serves the console beside watch and the
// schedules, on one engine.
func TestServeWithConsole(t *testing.T) {
	t.Parallel()
	db := fixture.DB(t, "sales-invoices.sql")
	dir := t.TempDir()
	cfg := writeFile(t, dir, "serve.yaml", "db: "+db+"\nsettings:\n  default_company: Acme UK Ltd\n  automation:\n    poll_interval: 50ms\n")
	if r := cliInput(t, "olga-password-1\n", "user", "add", "--config", cfg, "--name", "olga", "--role", "operator"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	s := startServing(t, "serve", "--config", cfg, "--listen", "127.0.0.1:0")
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(s.logs.String(), "msg=watching") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if code := loginStatus(t, s.url, "olga", "olga-password-1"); code != http.StatusSeeOther {
		t.Errorf("olga's login while serve watches: %d", code)
	}
	if code := s.stop(t); code != 0 || !strings.Contains(s.logs.String(), "msg=watching") {
		t.Errorf("serve: exit %d\n%s", code, s.logs)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM connector.audit WHERE actor = 'olga' AND action = 'login'"); n != 1 {
		t.Errorf("olga's login audited %d times", n)
	}
}
