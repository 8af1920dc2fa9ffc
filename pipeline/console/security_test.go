package console

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"golang.org/x/crypto/bcrypt"
)

// action is one request of the roles matrix, and the least role it needs.
type action struct {
	name, method, path string
	form               url.Values
	role               string // "" anyone logged in
}

// settingsForm is the settings form as the page sends it unchanged.
func settingsForm() url.Values {
	f := url.Values{}
	for _, d := range settingDefs {
		f.Set("s."+d.Key, map[string]string{"default_company": "Acme UK Ltd", "sales_invoice_line_limit": "3", "sales_credit_note_line_limit": "1000",
			"payable_invoice_line_limit": "1000", "payable_credit_note_line_limit": "1000", "vendor_duplicate_check": "name",
			"automation.poll_interval": "200ms", "tax_summary_line": "on"}[d.Key])
	}
	return f
}

var actions = []action{
	{"overview", "GET", "/", nil, "viewer"},
	{"census", "GET", "/fragments/census/sales-invoices", nil, "viewer"},
	{"records", "GET", "/flows/sales-invoices/records", nil, "viewer"},
	{"record", "GET", "/flows/sales-invoices/records/INV-OK", nil, "viewer"},
	{"explain", "GET", "/fragments/explain/sales-invoices/INV-OK", nil, "viewer"},
	{"runs", "GET", "/runs", nil, "viewer"},
	{"mappings", "GET", "/mappings/sales-invoices", nil, "viewer"},
	{"reconciliation", "GET", "/reconciliation", nil, "viewer"},
	{"settings page", "GET", "/settings", nil, "viewer"},
	{"schedules page", "GET", "/schedules", nil, "viewer"},
	{"jobs", "GET", "/fragments/jobs", nil, "viewer"},
	{"users page", "GET", "/users", nil, "admin"},
	{"audit log", "GET", "/audit", nil, "admin"},
	{"export all eligible", "POST", "/flows/sales-invoices/export", nil, "operator"},
	{"dry run", "POST", "/flows/sales-invoices/dry-run", nil, "operator"},
	{"export a record", "POST", "/flows/sales-invoices/records/INV-DISC/export", nil, "operator"},
	{"save settings", "POST", "/settings", settingsForm(), "admin"},
	{"save a schedule", "POST", "/schedules/journals", url.Values{"frequency": {"Daily"}, "at": {"03:00"}, "enabled": {"on"}}, "admin"},
	{"change a role", "POST", "/users/vic/role", url.Values{"role": {"viewer"}}, "admin"},
	{"log out", "POST", "/logout", nil, "viewer"},
}

// Each action as each role and anonymously: allowed to its role and above, refused
// below (403, saying which role it needs) and to anyone not logged in (the login page
// for a page, 401 for a fragment or an action); a refused action changes nothing.
func TestRolesMatrix(t *testing.T) {
	h := newHarness(t, nil)
	h.run(pipeline.Request{Flows: []string{"sales-invoices"}, IDs: []string{"INV-NOCO"}}) // the run history exists
	rank := map[string]int{"": 0, "viewer": 1, "operator": 2, "admin": 3}
	for _, who := range []string{"", "vic", "olga", "ann"} {
		role := testUsers[who]
		c := h.anonymous()
		var token string
		if who != "" {
			c = h.login(who)
			token = c.token()
		}
		for _, a := range actions { // logging out comes last
			t.Run(fmt.Sprintf("%s as %s", a.name, or(who, "anonymous")), func(t *testing.T) {
				runsBefore, fileBefore := h.query("SELECT count(*) FROM connector.run"), h.fileText()
				var r response
				if a.method == "GET" {
					req, _ := http.NewRequest("GET", h.ts.URL+a.path, nil)
					if strings.HasPrefix(a.path, "/fragments/") {
						req.Header.Set("X-Fragment", "1")
					}
					r = c.do(req)
				} else {
					form := url.Values{}
					for k, v := range a.form {
						form[k] = v
					}
					form.Set("csrf", token)
					r = c.post(a.path, form)
				}
				h.waitJobs()
				allowed := rank[role] >= rank[a.role]
				switch {
				case who == "" && a.method == "GET" && !strings.HasPrefix(a.path, "/fragments/"):
					if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/login?next=") {
						t.Errorf("anonymous: want the login page, got %d %s", r.status, r.location)
					}
				case who == "":
					if r.status != http.StatusUnauthorized {
						t.Errorf("anonymous: want 401, got %d", r.status)
					}
				case !allowed:
					if r.status != http.StatusForbidden || !strings.Contains(r.body, "Your role ("+role+") does not allow this: it needs "+a.role+".") {
						t.Errorf("%s: want 403 naming the role it needs, got %d\n%s", role, r.status, clip(r.body))
					}
				case a.method == "GET":
					if r.status != http.StatusOK {
						t.Errorf("%s: want 200, got %d\n%s", role, r.status, clip(r.body))
					}
				default:
					if r.status != http.StatusSeeOther {
						t.Errorf("%s: want 303, got %d\n%s", role, r.status, clip(r.body))
					}
				}
				if !allowed || who == "" {
					if h.query("SELECT count(*) FROM connector.run") != runsBefore || h.fileText() != fileBefore {
						t.Errorf("a refused %s changed something", a.name)
					}
				}
			})
		}
	}
	// What the operators' and admins' actions did, done as themselves.
	if got := h.query("SELECT string_agg(DISTINCT started_by, ',' ORDER BY started_by) FROM connector.run"); got != "ann,olga" {
		t.Errorf("runs started by %q, want ann and olga", got)
	}
	if got := h.query("SELECT count(*) FROM connector.audit WHERE action = 'export' AND actor = 'olga' AND detail = 'sales-invoices: INV-DISC'"); got != "1" {
		t.Errorf("olga's export of INV-DISC audited %s times", got)
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// A state-changing request from another site, or without the session's form token, is
// refused and does nothing; the token of another session does not do either.
func TestCrossSiteRequestsRefused(t *testing.T) {
	h := newHarness(t, nil)
	c := h.login("olga")
	token := c.token()
	other := h.login("ann").token()
	export := "/flows/sales-invoices/export"
	for _, tc := range []struct {
		name    string
		form    url.Values
		headers []string
		want    string
	}{
		{"cross-site fetch", url.Values{"csrf": {token}}, []string{"Sec-Fetch-Site", "cross-site"}, "A request from another site was refused."},
		{"another origin", url.Values{"csrf": {token}}, []string{"Origin", "https://evil.example"}, "A request from another site was refused."},
		{"no token", url.Values{}, nil, "This form is out of date or did not come from the console"},
		{"another session's token", url.Values{"csrf": {other}}, nil, "This form is out of date or did not come from the console"},
	} {
		r := c.post(export, tc.form, tc.headers...)
		if r.status != http.StatusForbidden || !strings.Contains(r.body, tc.want) {
			t.Errorf("%s: want 403 %q, got %d\n%s", tc.name, tc.want, r.status, clip(r.body))
		}
	}
	// A cross-site login form is refused too.
	r := h.anonymous().post("/login", url.Values{"name": {"olga"}, "password": {password("olga")}}, "Sec-Fetch-Site", "cross-site")
	if r.status != http.StatusForbidden {
		t.Errorf("cross-site login: %d", r.status)
	}
	h.waitJobs()
	if n := h.query("SELECT count(*) FROM connector.audit WHERE action = 'export'"); n != "0" {
		t.Errorf("a refused request exported: %s audit rows", n)
	}
	// The same request from the console's own page goes through.
	r = c.post(export, url.Values{"csrf": {token}}, "Origin", h.ts.URL, "Sec-Fetch-Site", "same-origin")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/jobs/") {
		t.Errorf("same origin: %d %s", r.status, r.location)
	}
}

// Sessions end when unused for the idle timeout, when older than the maximum age
// however used, and at logout; the cookie is HttpOnly and SameSite=Strict, and Secure
// (with the __Host- prefix) under TLS.
func TestSessionsExpire(t *testing.T) {
	h := newHarness(t, func(s string) string { return strings.Replace(s, "session_max_age: 12h", "session_max_age: 1h", 1) })
	c := h.login("vic")
	for i := 0; i < 3; i++ { // used every 20 minutes: alive for the hour
		h.clock.advance(20 * time.Minute)
		if r := c.get("/"); r.status != http.StatusOK {
			t.Fatalf("after %d minutes of use: %d %s", 20*(i+1), r.status, r.location)
		}
	}
	h.clock.advance(5 * time.Minute) // 65 minutes old
	if r := c.get("/runs"); r.status != http.StatusSeeOther || r.location != "/login?next=%2Fruns" {
		t.Errorf("past the maximum age: %d %s", r.status, r.location)
	}
	if r := c.fragment("/fragments/jobs"); r.status != http.StatusUnauthorized || !strings.Contains(r.body, "Your session has ended") {
		t.Errorf("a fragment past the maximum age: %d", r.status)
	}

	c = h.login("vic")
	h.clock.advance(31 * time.Minute)
	if r := c.get("/"); r.status != http.StatusSeeOther {
		t.Errorf("idle past the timeout: %d", r.status)
	}

	c = h.login("vic")
	if r := c.act("/logout", nil); r.status != http.StatusSeeOther || r.location != "/login" {
		t.Errorf("logout: %d %s", r.status, r.location)
	}
	if r := c.get("/"); r.status != http.StatusSeeOther {
		t.Errorf("after logout: %d", r.status)
	}

	res := h.anonymous().post("/login", url.Values{"name": {"vic"}, "password": {password("vic")}})
	cookie := res.header.Get("Set-Cookie")
	for _, want := range []string{"oimconnect_session=", "Path=/", "HttpOnly", "SameSite=Strict"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("cookie %q lacks %s", cookie, want)
		}
	}
	if strings.Contains(cookie, "Secure") || strings.Contains(cookie, "Max-Age") || strings.Contains(cookie, "Expires") {
		t.Errorf("without TLS no Secure, and the cookie ends with the browser: %q", cookie)
	}
	tls := newHarness(t, func(s string) string {
		return strings.Replace(s, "console:\n", "console:\n  tls_cert: cert.pem\n  tls_key: key.pem\n", 1)
	})
	cookie = tls.anonymous().post("/login", url.Values{"name": {"vic"}, "password": {password("vic")}}).header.Get("Set-Cookie")
	if !strings.HasPrefix(cookie, "__Host-oimconnect_session=") || !strings.Contains(cookie, "; Secure") || !strings.Contains(cookie, "HttpOnly") {
		t.Errorf("under TLS: %q", cookie)
	}
}

// Wrong passwords are rate-limited per user name (5 in 15 minutes lock it for 15
// minutes, the right password included) and per address (20); each failure is in the
// audit log; the lockout ends.
func TestWrongPasswordsRateLimited(t *testing.T) {
	h := newHarness(t, nil)
	try := func(name, pw string) response {
		return h.anonymous().post("/login", url.Values{"name": {name}, "password": {pw}})
	}
	for i := 0; i < userAttempts; i++ {
		if r := try("ann", "guess"); r.status != http.StatusUnauthorized || !strings.Contains(r.body, "The name or the password is wrong.") {
			t.Fatalf("wrong password %d: %d", i, r.status)
		}
	}
	r := try("ann", password("ann"))
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "Too many failed logins: try again in 15m0s.") || r.header.Get("Retry-After") == "" {
		t.Errorf("locked: want 429, got %d\n%s", r.status, clip(r.body))
	}
	if r := try("olga", password("olga")); r.status != http.StatusSeeOther {
		t.Errorf("another user is not locked: %d", r.status)
	}
	if n := h.query("SELECT count(*) FROM connector.audit WHERE action = 'login failed' AND actor = 'ann'"); n != "5" {
		t.Errorf("%s failures audited, want 5", n)
	}
	h.clock.advance(16 * time.Minute)
	if r := try("ann", password("ann")); r.status != http.StatusSeeOther {
		t.Errorf("after the lockout: %d", r.status)
	}

	// From one address, many names.
	for i := 0; i < addrAttempts; i++ {
		try(fmt.Sprintf("nobody%d", i), "guess")
	}
	if r := try("vic", password("vic")); r.status != http.StatusTooManyRequests {
		t.Errorf("the address is locked: %d", r.status)
	}
}

// No secret reaches a page or a message: a plugin setting named like a secret is
// masked, password hashes never show, a database password is taken out of errors.
func TestNoSecretsShown(t *testing.T) {
	plugin := filepath.Join(t.TempDir(), "regiondims") // checked by its checksum, never started here
	if err := os.WriteFile(plugin, []byte("#!/bin/false\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("#!/bin/false\n"))
	h := newHarness(t, func(s string) string {
		return s + `plugins:
  - name: region-dims
    path: ` + plugin + `
    sha256: ` + hex.EncodeToString(sum[:]) + `
    flows: [sales-invoices]
    settings:
      api_key: s3cr3t-api-value
      region: north
      auth: {password: hunter2-pass}
      endpoint: "postgres://svc:dsnpass999@db.internal/x"
      header: "Bearer bearer-secret-xyz"
      mirrors: [{url: "https://u:mirror-pw-1@m.example/a"}]
`
	})
	secrets := []string{"s3cr3t-api-value", "hunter2-pass", "dsnpass999", "bearer-secret-xyz", "mirror-pw-1", "$2a$04$"}
	a := h.login("ann")
	for _, path := range []string{"/", "/users", "/settings", "/audit"} {
		r := a.get(path)
		for _, secret := range secrets {
			if strings.Contains(r.body, secret) {
				t.Errorf("%s shows a secret %q", path, secret)
			}
		}
		if path == "/" {
			wantIn(t, "plugin settings", r, "region-dims", "&#34;api_key&#34;:&#34;xxxxx&#34;", "&#34;region&#34;:&#34;north&#34;", "not started yet",
				"&#34;endpoint&#34;:&#34;postgres://svc:xxxxx@db.internal/x&#34;", "&#34;header&#34;:&#34;xxxxx&#34;", "https://u:xxxxx@m.example/a")
		}
	}
	// Other roles see the plugins' health, not their settings.
	for _, who := range []string{"vic", "olga"} {
		r := h.login(who).get("/")
		wantIn(t, who+"'s overview", r, "region-dims", "not started yet")
		for _, secret := range append(secrets, "api_key", "xxxxx@db.internal") {
			if strings.Contains(r.body, secret) {
				t.Errorf("%s's overview shows %q", who, secret)
			}
		}
	}
	cfg := h.engine.Config()
	cfg.DB = "postgres://ledger:pg-pass-123@db.example/erp"
	msg := scrub(cfg, "connect to postgres://ledger:pg-pass-123@db.example/erp: refused; plugin said s3cr3t-api-value")
	if strings.Contains(msg, "pg-pass-123") || strings.Contains(msg, "s3cr3t-api-value") || !strings.Contains(msg, "postgres://ledger:xxxxx@db.example/erp") {
		t.Errorf("scrub: %s", msg)
	}
	// A password given as a parameter of the URL, which PostgreSQL takes as well.
	cfg.DB = "postgres://ledger@db.example/erp?sslmode=disable&password=QueryS3cret"
	msg = scrub(cfg, "connect to postgres://ledger@db.example/erp?sslmode=disable&password=QueryS3cret: refused (password QueryS3cret)")
	if strings.Contains(msg, "QueryS3cret") || !strings.Contains(msg, "postgres://ledger@db.example/erp?password=xxxxx&sslmode=disable") {
		t.Errorf("scrub: %s", msg)
	}
	if got := database(cfg); strings.Contains(got, "QueryS3cret") || !strings.Contains(got, "password=xxxxx") {
		t.Errorf("the overview shows the database as %s", got)
	}
}

// A plugin's settings are masked by their name (any name a credential goes by) and by
// their value (an Authorization header's, a PEM key, a connection string's password,
// the password of a URL of any scheme), in nested maps and lists; the rest is shown as
// it is.
func TestMaskedSettings(t *testing.T) {
	for _, c := range []struct {
		settings map[string]any
		want     string
	}{
		{map[string]any{"region": "north", "limit": 5, "on": true}, `{"limit":5,"on":true,"region":"north"}`},
		{map[string]any{"api_key": "k", "Password": "p", "db_passwd": "p", "pwd": "p", "auth_header": "h", "credentials": "c",
			"dsn": "d", "conn_string": "c", "private": "p", "client_cert": "c", "access_token": "t", "client_secret": "s"},
			`{"Password":"xxxxx","access_token":"xxxxx","api_key":"xxxxx","auth_header":"xxxxx","client_cert":"xxxxx","client_secret":"xxxxx",` +
				`"conn_string":"xxxxx","credentials":"xxxxx","db_passwd":"xxxxx","dsn":"xxxxx","private":"xxxxx","pwd":"xxxxx"}`},
		{map[string]any{"target": "postgres://svc:pass@host/x"}, `{"target":"postgres://svc:xxxxx@host/x"}`},
		{map[string]any{"target": "mysql://svc:p@ss@host/x"}, `{"target":"mysql://svc:xxxxx@host/x"}`},
		{map[string]any{"target": "https://api.example/v1?user=a&password=pw1&x=1"}, `{"target":"https://api.example/v1?user=a\u0026password=xxxxx\u0026x=1"}`},
		{map[string]any{"target": "https://api.example/v1"}, `{"target":"https://api.example/v1"}`},
		{map[string]any{"header": "Bearer xyz"}, `{"header":"xxxxx"}`},
		{map[string]any{"header": "basic dXNlcjpwdw=="}, `{"header":"xxxxx"}`},
		{map[string]any{"header": "Token abc"}, `{"header":"xxxxx"}`},
		{map[string]any{"pem": "-----BEGIN PRIVATE KEY-----\nMII..."}, `{"pem":"xxxxx"}`},
		{map[string]any{"target": "host=db user=svc password=pw1"}, `{"target":"xxxxx"}`},
		{map[string]any{"nested": map[string]any{"password": "p", "list": []any{"Bearer a", "plain", map[string]any{"token": 1}}}},
			`{"nested":{"list":["xxxxx","plain",{"token":"xxxxx"}],"password":"xxxxx"}}`},
		{map[string]any{"secrets": []any{"a", "b"}}, `{"secrets":["xxxxx","xxxxx"]}`},
	} {
		if got := masked(c.settings); got != c.want {
			t.Errorf("masked(%v)\n got %s\nwant %s", c.settings, got, c.want)
		}
	}
	// The same values are taken out of messages (a plugin's failure echoing them).
	cfg := &config.Config{Plugins: []config.Plugin{{Settings: map[string]any{"endpoint": "postgres://svc:dsnpass999@db/x", "header": "Bearer bearer-xyz"}}}}
	msg := scrub(cfg, "plugin: connect postgres://svc:dsnpass999@db/x with Bearer bearer-xyz; also amqp://q:other-pw@mq/")
	for _, secret := range []string{"dsnpass999", "bearer-xyz", "other-pw"} {
		if strings.Contains(msg, secret) {
			t.Errorf("scrub leaves %q: %s", secret, msg)
		}
	}
}

// Logins sent at once count each other: each is counted before its password is
// checked, so a burst gets no more guesses than one at a time (5 per name, 20 per
// address), and the right password sent after it is refused.
func TestLoginsAtOnceAreRateLimited(t *testing.T) {
	h := newHarness(t, nil)
	burst := func(names func(i int) string, n int) map[int]int {
		statuses := make(chan int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := http.PostForm(h.ts.URL+"/login", url.Values{"name": {names(i)}, "password": {fmt.Sprintf("guess %d", i)}})
				if err != nil {
					statuses <- 0
					return
				}
				res.Body.Close()
				statuses <- res.StatusCode
			}()
		}
		wg.Wait()
		close(statuses)
		got := map[int]int{}
		for s := range statuses {
			got[s]++
		}
		return got
	}
	got := burst(func(int) string { return "ann" }, 30)
	if got[http.StatusUnauthorized] != userAttempts || got[http.StatusTooManyRequests] != 30-userAttempts {
		t.Errorf("30 guesses for one name at once: %v, want %d checked (401) and the rest refused (429)", got, userAttempts)
	}
	if r := h.anonymous().post("/login", url.Values{"name": {"ann"}, "password": {password("ann")}}); r.status != http.StatusTooManyRequests {
		t.Errorf("the right password after the burst: %d, want 429", r.status)
	}
	h.clock.advance(16 * time.Minute)
	got = burst(func(i int) string { return fmt.Sprintf("nobody%d", i) }, 40)
	if got[http.StatusUnauthorized] != addrAttempts || got[http.StatusTooManyRequests] != 40-addrAttempts {
		t.Errorf("40 names from one address at once: %v, want %d checked (401) and the rest refused (429)", got, addrAttempts)
	}
}

// A name no user can have is neither echoed nor logged nor audited as it came: it may
// be megabytes long.
func TestLoginNameNoUserCanHave(t *testing.T) {
	h := newHarness(t, nil)
	long := strings.Repeat("N", 100_000)
	r := h.anonymous().post("/login", url.Values{"name": {long}, "password": {"x"}})
	if r.status != http.StatusUnauthorized || strings.Contains(r.body, "NNNN") {
		t.Errorf("a 100,000-byte name: %d, echoed: %t", r.status, strings.Contains(r.body, "NNNN"))
	}
	if got := h.query("SELECT max(length(actor)) FROM connector.audit WHERE action = 'login failed'"); got != fmt.Sprint(len("(not a user name: 100000 bytes)")) {
		t.Errorf("the audit log holds an actor of %s bytes", got)
	}
}

// A session ends when its user's password changes in the file (oimconnect user passwd),
// and when the user is removed and added again, whatever role they come back with.
func TestSessionEndsWhenThePasswordChanges(t *testing.T) {
	h := newHarness(t, nil)
	vic, olga := h.login("vic"), h.login("olga")
	rehash := func(name string, role string) {
		t.Helper()
		hash, err := bcrypt.GenerateFromPassword([]byte("another password"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		old := fmt.Sprintf("    - {name: %s, role: %s, password_hash: %q}\n", name, testUsers[name], hashes()[name])
		text := h.fileText()
		if !strings.Contains(text, old) {
			t.Fatalf("no line %q in\n%s", old, text)
		}
		text = strings.Replace(text, old, fmt.Sprintf("    - {name: %s, role: %s, password_hash: %q}\n", name, role, hash), 1)
		if err := config.WriteFileAtomic(h.file, []byte(text)); err != nil {
			t.Fatal(err)
		}
		h.srv.config.checked = time.Time{}
	}
	rehash("vic", testUsers["vic"])
	if r := vic.get("/runs"); r.status != http.StatusSeeOther {
		t.Errorf("after the password changed: %d, want the login page", r.status)
	}
	if r := olga.get("/runs"); r.status != http.StatusOK {
		t.Errorf("another user's session: %d", r.status)
	}
	rehash("olga", config.RoleAdmin) // removed, then added again as an admin
	if r := olga.get("/users"); r.status != http.StatusSeeOther {
		t.Errorf("a session of a user removed and added again as admin: %d, want the login page", r.status)
	}
}

// A page's own polling (X-Poll) does not keep its session alive: an overview left open
// ends after the idle timeout like any other.
func TestPollingDoesNotKeepASessionAlive(t *testing.T) {
	h := newHarness(t, nil)
	c := h.login("vic")
	poll := func() response {
		req, _ := http.NewRequest(http.MethodGet, h.ts.URL+"/fragments/jobs", nil)
		req.Header.Set("X-Fragment", "1")
		req.Header.Set("X-Poll", "1")
		return c.do(req)
	}
	for i := 0; i < 4; i++ { // polled every 10 minutes: still answered while the session lives
		h.clock.advance(10 * time.Minute)
		if r := poll(); i < 3 && r.status != http.StatusOK {
			t.Fatalf("poll after %d minutes: %d", 10*(i+1), r.status)
		}
	}
	if r := c.get("/"); r.status != http.StatusSeeOther {
		t.Errorf("40 minutes of polling only, past the 30-minute idle timeout: %d, want the login page", r.status)
	}
	c = h.login("vic")
	h.clock.advance(20 * time.Minute)
	if r := c.fragment("/fragments/jobs"); r.status != http.StatusOK { // a load the user asked for
		t.Fatalf("fragment: %d", r.status)
	}
	h.clock.advance(20 * time.Minute)
	if r := c.get("/"); r.status != http.StatusOK {
		t.Errorf("used 20 minutes ago: %d", r.status)
	}
}

// After login the browser goes only to a path of the console's own.
func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/runs": "/runs",
		"/flows/sales-invoices/records?q=INV%201": "/flows/sales-invoices/records?q=INV%201",
		"":                      "/",
		"https://evil.example/": "/",
		"//evil.example/":       "/",
		"/\\evil.example/":      "/",
		"/\t/evil.example/":     "/",
		"/\n/evil.example/":     "/",
		"/ok\\path":             "/",
		"/login?next=/":         "/",
		"/\xff":                 "/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// An address the database could not take as text gets 400 and a plain message, never a
// database error; a page far past the last is empty.
func TestAddressesTheDatabaseCannotTake(t *testing.T) {
	h := newHarness(t, nil)
	c := h.login("vic")
	for _, path := range []string{
		"/flows/sales-invoices/records?q=a%00b",
		"/flows/sales-invoices/records?q=%FF%FE",
		"/flows/sales-invoices/records/a%00b",
		"/fragments/explain/sales-invoices/a%FFb",
		"/flows/sales-invoices/records/" + strings.Repeat("x", maxRequestURI),
	} {
		r := c.get(path)
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, "holds characters the console does not take") {
			t.Errorf("%.80s: %d %s", path, r.status, clip(r.body))
		}
	}
	r := c.get("/flows/sales-invoices/records?page=99999999999999999999")
	if r.status != http.StatusOK || strings.Contains(r.body, "Binder Error") {
		t.Errorf("a page far past the last: %d %s", r.status, clip(r.body))
	}
}
