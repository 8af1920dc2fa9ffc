package console

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
)

// The users of the test console: one per role, each with the password "<name>-password".
var testUsers = map[string]string{"ann": config.RoleAdmin, "olga": config.RoleOperator, "vic": config.RoleViewer}

func password(name string) string { return name + "-password" }

// hashes are the test users' bcrypt hashes, made once at the lowest cost.
var hashes = sync.OnceValue(func() map[string]string {
	out := map[string]string{}
	for name := range testUsers {
		h, err := bcrypt.GenerateFromPassword([]byte(password(name)), bcrypt.MinCost)
		if err != nil {
			panic(err)
		}
		out[name] = string(h)
	}
	return out
})

// testConfig is the console's configuration file for a database: the sales fixture's
// settings, a schedule, the three users.
func testConfig(db string) string {
	var users strings.Builder
	for _, name := range []string{"ann", "olga", "vic"} {
		fmt.Fprintf(&users, "    - {name: %s, role: %s, password_hash: %q}\n", name, testUsers[name], hashes()[name])
	}
	return `# The test console's configuration.
db: ` + db + `
settings:
  default_company: Acme UK Ltd   # the fixture's
  sales_invoice_line_limit: 3
  tax_summary_line: true
  schedules:
    journals: {frequency: Daily, at: "02:00"}
console:
  session_timeout: 30m
  session_max_age: 12h
  users:
` + users.String()
}

// testClock is a clock tests move.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// harness is a console over the sales fixture, served by httptest.
type harness struct {
	t      *testing.T
	srv    *Server
	ts     *httptest.Server
	db     string
	file   string // the configuration file
	clock  *testClock
	engine *pipeline.Shared
}

// newHarness starts a console; edit may change its configuration file's text and the
// options.
func newHarness(t *testing.T, edit func(text string) string, opts ...func(*Options)) *harness {
	t.Helper()
	h := &harness{t: t, db: fixture.DB(t, "sales-invoices.sql"), clock: &testClock{now: time.Now()}}
	h.file = filepath.Join(t.TempDir(), "oimconnect.yaml")
	text := testConfig(h.db)
	if edit != nil {
		text = edit(text)
	}
	if err := os.WriteFile(h.file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(h.file, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.engine = pipeline.NewShared(cfg, fixture.Quiet)
	o := Options{Engine: h.engine, Log: fixture.Quiet, Now: h.clock.Now}
	for _, f := range opts {
		f(&o)
	}
	h.srv, err = New(o)
	if err != nil {
		t.Fatal(err)
	}
	h.ts = httptest.NewServer(h.srv)
	t.Cleanup(func() {
		h.ts.Close()
		h.srv.Wait()
	})
	return h
}

// client is a browser-like client of the harness: its own cookies, redirects not
// followed (tests look at them).
type client struct {
	h    *harness
	c    *http.Client
	user string
}

func (h *harness) anonymous() *client {
	jar, _ := cookiejar.New(nil)
	return &client{h: h, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// login logs a test user in.
func (h *harness) login(user string) *client {
	h.t.Helper()
	c := h.anonymous()
	res := c.post("/login", url.Values{"name": {user}, "password": {password(user)}})
	if res.status != http.StatusSeeOther {
		h.t.Fatalf("login %s: status %d\n%s", user, res.status, res.body)
	}
	c.user = user
	return c
}

// response is what came back.
type response struct {
	status   int
	body     string
	location string
	header   http.Header
}

func (c *client) do(req *http.Request) response {
	c.h.t.Helper()
	res, err := c.c.Do(req)
	if err != nil {
		c.h.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, body: string(body), location: res.Header.Get("Location"), header: res.Header}
}

func (c *client) get(path string) response {
	c.h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.h.ts.URL+path, nil)
	return c.do(req)
}

// fragment gets a fragment as the page's script does.
func (c *client) fragment(path string) response {
	c.h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.h.ts.URL+path, nil)
	req.Header.Set("X-Fragment", "1")
	return c.do(req)
}

// post posts a form as is.
func (c *client) post(path string, form url.Values, headers ...string) response {
	c.h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.h.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return c.do(req)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token is the session's form token, read from a page.
func (c *client) token() string {
	c.h.t.Helper()
	m := csrfField.FindStringSubmatch(c.get("/runs").body)
	if m == nil {
		c.h.t.Fatalf("no form token on the page of %s", c.user)
	}
	return m[1]
}

// act posts a form with the session's token, as the console's own pages do.
func (c *client) act(path string, form url.Values) response {
	c.h.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", c.token())
	return c.post(path, form)
}

// follow gets where a response redirects to.
func (c *client) follow(r response) response {
	c.h.t.Helper()
	if r.location == "" {
		c.h.t.Fatalf("no redirect: %d\n%s", r.status, r.body)
	}
	return c.get(r.location)
}

// wantIn asserts a page holds each text.
func wantIn(t *testing.T, what string, r response, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if !strings.Contains(r.body, s) {
			t.Errorf("%s: no %q in the page (status %d):\n%s", what, s, r.status, clip(r.body))
		}
	}
}

// clip keeps a failing page's text readable.
func clip(s string) string {
	if i := strings.Index(s, "<main>"); i >= 0 {
		s = s[i:]
	}
	if len(s) > 4000 {
		s = s[:4000] + "…"
	}
	return s
}

// query reads one value from the harness's database (the console holds it open only
// while it uses it).
func (h *harness) query(q string, args ...any) string {
	h.t.Helper()
	var out string
	err := h.engine.Use(context.Background(), func(e *pipeline.Engine) error {
		var v sql.NullString
		err := e.DB().QueryRow(q, args...).Scan(&v)
		out = v.String
		return err
	})
	if err != nil {
		h.t.Fatalf("%s: %v", q, err)
	}
	return out
}

// run exports with the engine directly, as a command would.
func (h *harness) run(req pipeline.Request) []pipeline.Summary {
	h.t.Helper()
	var sums []pipeline.Summary
	err := h.engine.Use(context.Background(), func(e *pipeline.Engine) error {
		var err error
		sums, err = e.Run(context.Background(), req)
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return sums
}

// fileText is the configuration file now.
func (h *harness) fileText() string {
	h.t.Helper()
	data, err := os.ReadFile(h.file)
	if err != nil {
		h.t.Fatal(err)
	}
	return string(data)
}

// waitJobs waits for the console's exports.
func (h *harness) waitJobs() { h.srv.jobs.wait() }
