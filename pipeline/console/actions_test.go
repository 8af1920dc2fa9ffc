package console

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
	"github.com/oimconnect/oimconnect/pipeline/plan"
)

// Exporting one record from its page: it is Exported with its document, the page says
// so, the run is recorded as the operator's, and the action is in the audit log. A
// record that cannot be exported says why.
func TestExportRecord(t *testing.T) {
	h := newHarness(t, nil)
	c := h.login("olga")
	r := c.act("/flows/sales-invoices/records/INV-DISC/export", nil)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/flows/sales-invoices/records/INV-DISC?job=") {
		t.Fatalf("export: %d %s", r.status, r.location)
	}
	r = c.follow(r)
	wantIn(t, "exported record", r, "INV-DISC was exported: 1 document created", `id="status">Exported</span>`, "acct.sales_invoice SIN-INV-DISC/1", "3 lines")
	if strings.Contains(r.body, `id="export"`) {
		t.Errorf("an exported record still offers its export")
	}
	if got := h.query("SELECT export_status || ' ' || sales_invoice_id FROM oim.invoice WHERE id = 'INV-DISC'"); got != "Exported SIN-INV-DISC/1" {
		t.Errorf("INV-DISC: %s", got)
	}
	if got := h.query("SELECT mode || ' ' || started_by || ' ' || exported FROM connector.run"); got != "manual olga 1" {
		t.Errorf("the run: %s", got)
	}
	if got := h.query("SELECT actor || ' ' || action || ' ' || detail FROM connector.audit WHERE action = 'export'"); got != "olga export sales-invoices: INV-DISC" {
		t.Errorf("audit: %s", got)
	}

	r = c.follow(c.act("/flows/sales-invoices/records/INV-NOCO/export", nil))
	wantIn(t, "failed record", r, `INV-NOCO was not exported: no company: no Accounting company is named &#34;Nobody Ltd&#34;`,
		`id="status">Export Error</span>`, "Why it was not exported:")
	r = c.follow(c.act("/flows/sales-invoices/records/INV-OPEN/export", nil))
	wantIn(t, "record not selected", r, "INV-OPEN was not exported: it is not eligible now (see why below)")
	r = c.follow(c.act("/flows/sales-invoices/records/INV-NONE/export", nil))
	if r.status != http.StatusNotFound {
		t.Errorf("no such record: %d", r.status)
	}
	wantIn(t, "no such record", r, `The export of INV-NONE failed: no record &#34;INV-NONE&#34; in oim.invoice: nothing was exported (oim.invoice has no record &#34;INV-NONE&#34;)`)
}

// Exporting a flow's eligible records and dry-running it run in the background: the
// job's page shows its progress, then what it did; a second export of the flow while
// one runs is refused, saying by whom.
func TestExportFlowInTheBackground(t *testing.T) {
	h := newHarness(t, nil)
	c := h.login("olga")
	r := c.act("/flows/sales-invoices/dry-run", nil)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/jobs/") {
		t.Fatalf("dry run: %d %s", r.status, r.location)
	}
	h.waitJobs()
	dryRun := strings.TrimPrefix(r.location, "/jobs/")
	r = c.follow(r)
	wantIn(t, "dry run done", r, "Dry run of sales-invoices", "Started by olga", "<td>sales-invoices</td><td class=\"num\">13</td><td class=\"num\">7</td><td class=\"num\">8</td>")
	// The page as served, without its script, says what the fragment says: a dry run
	// wrote nothing, would export (not "Exported"), and which records would fail.
	for what, page := range map[string]response{"the page": r, "the fragment": c.fragment("/fragments/jobs/" + dryRun)} {
		wantIn(t, "dry run, "+what, page, "Dry run done (nothing was written)", `<th class="num">Would export</th>`,
			"Records that would not be exported", "INV-NOCO", "Nobody Ltd")
		if strings.Contains(page.body, `<th class="num">Exported</th>`) {
			t.Errorf("dry run, %s: a dry run's summary says Exported", what)
		}
	}
	if got := h.query("SELECT count(*) FROM acct.sales_invoice"); got != "0" {
		t.Errorf("a dry run wrote %s invoices", got)
	}

	// Hold the engine's turn (a run in progress elsewhere), start an export: it waits,
	// shown as such, and a second one is refused.
	release := holdEngine(t, h)
	r = c.act("/flows/sales-invoices/export", nil)
	job := strings.TrimPrefix(r.location, "/jobs/")
	f := c.fragment("/fragments/jobs/" + job)
	wantIn(t, "waiting job", f, `data-again="1"`, "waiting for its turn")
	r = c.follow(c.act("/flows/sales-invoices/export", nil))
	wantIn(t, "second export", r, "Export of sales-invoices is running already (started by olga at ")
	f = c.fragment("/fragments/jobs")
	wantIn(t, "jobs list", f, "Export of sales-invoices", "running")
	release()
	h.waitJobs()
	f = c.fragment("/fragments/jobs/" + job)
	wantIn(t, "ended job", f, "Done in", "<td>sales-invoices</td><td class=\"num\">13</td><td class=\"num\">7</td><td class=\"num\">8</td>", "Records not exported", "INV-NOCO", "Nobody Ltd")
	wantIn(t, "ended job's page", c.get("/jobs/"+job), "Done in", `<th class="num">Exported</th>`, "Records not exported", "INV-NOCO", "Nobody Ltd")
	if strings.Contains(f.body, "data-again") || strings.Contains(f.body, "data-reload") {
		t.Errorf("an ended job's fragment asks again:\n%s", f.body)
	}
	if f := c.fragment("/fragments/jobs/" + job + "?reload=1"); !strings.Contains(f.body, "data-reload") {
		t.Errorf("the record page's fragment reloads it when done")
	}
	if got := h.query("SELECT count(*) FROM acct.sales_invoice"); got != "8" {
		t.Errorf("the export wrote %s invoices, want 8 (INV-SPLIT's two)", got)
	}
}

// An action's outcome shows on the page the action went to, once, and nowhere else: a
// refused export's reason is not shown by another page the session opens first (another
// tab), nor by the page another action went to.
func TestOutcomeShownWhereTheActionWent(t *testing.T) {
	h := newHarness(t, nil)
	c := h.login("olga")
	release := holdEngine(t, h)
	defer h.waitJobs()
	defer release()
	flow := c.act("/flows/sales-invoices/export", nil) // waits for its turn
	refused := c.act("/flows/sales-invoices/records/INV-OK/export", nil)
	if refused.status != http.StatusSeeOther || !strings.HasPrefix(refused.location, "/flows/sales-invoices/records/INV-OK") {
		t.Fatalf("the refused export: %d %s", refused.status, refused.location)
	}
	const why = "Export of sales-invoices is running already"
	for _, path := range []string{"/runs", flow.location} {
		if r := c.get(path); strings.Contains(r.body, why) {
			t.Errorf("%s shows the outcome of an action that went elsewhere", path)
		}
	}
	wantIn(t, "the page the refused export went to", c.follow(refused), why)
	if r := c.follow(refused); strings.Contains(r.body, why) {
		t.Errorf("the outcome shows again when the page is loaded again")
	}
}

// holdEngine takes the engine's turn (as a long run would) until release is called.
func holdEngine(t *testing.T, h *harness) (release func()) {
	t.Helper()
	held, done, ended := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		_ = h.engine.Use(context.Background(), func(e *pipeline.Engine) error {
			return e.Inspect(context.Background(), "sales-invoices", "INV-OK", func(context.Context, *sql.Tx, *plan.Plan, pipeline.Summary) error {
				close(held)
				<-done
				return nil
			})
		})
	}()
	<-held
	return func() { close(done); <-ended }
}

// While a run holds the engine, every page answers at once: the census and the
// explanation say they are coming (and ask again) instead of waiting, and what they
// compute in the background is there afterwards.
func TestResponsiveDuringARun(t *testing.T) {
	h := newHarness(t, nil)
	c := h.login("vic")
	release := holdEngine(t, h)
	for _, path := range []string{"/", "/flows/sales-invoices/records", "/flows/sales-invoices/records/INV-OK", "/runs", "/mappings/sales-invoices", "/settings", "/schedules"} {
		start := time.Now()
		r := c.get(path)
		if r.status != http.StatusOK || time.Since(start) > 2*time.Second {
			t.Errorf("%s during a run: %d in %v", path, r.status, time.Since(start))
		}
	}
	start := time.Now()
	f := c.fragment("/fragments/census/sales-invoices")
	wantIn(t, "census during a run", f, `data-again="2"`, "after any run in progress")
	f = c.fragment("/fragments/explain/sales-invoices/INV-OK")
	wantIn(t, "explanation during a run", f, `data-again="2"`)
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("the fragments waited %v", d)
	}
	release()
	deadline := time.Now().Add(30 * time.Second)
	for {
		f = c.fragment("/fragments/census/sales-invoices")
		if !strings.Contains(f.body, "data-again") || time.Now().After(deadline) {
			break
		}
	}
	wantIn(t, "census after the run", f, "<b>7</b> eligible now")
}

// Logins and other audited actions during an export write the audit log beside the
// run's transaction in the same database, and neither disturbs the other.
func TestAuditsDuringAnExport(t *testing.T) {
	big := fixture.Generated(t, t.TempDir(), 2000)
	h := newHarness(t, func(s string) string {
		return regexp.MustCompile(`(?m)^db: .*$`).ReplaceAllString(s, "db: "+big)
	})
	c := h.login("olga")
	r := c.act("/flows/sales-invoices/export", nil)
	job, _ := h.srv.jobs.get(strings.TrimPrefix(r.location, "/jobs/"))
	logins := 0
	for job.view(time.Now()).Running {
		h.login("vic")
		logins++
	}
	h.waitJobs()
	v := job.view(time.Now())
	if v.Err != "" || len(v.Summaries) != 1 || v.Summaries[0].Exported == 0 {
		t.Fatalf("the export beside %d logins: %+v", logins, v)
	}
	if got := h.query("SELECT count(*) FROM connector.audit WHERE action = 'login' AND actor = 'vic'"); got != strconv.Itoa(logins) {
		t.Errorf("%s logins audited, want %d", got, logins)
	}
	t.Logf("%d logins during an export of %d invoices", logins, v.Summaries[0].Exported)
}

// While another process holds the DuckDB file (OIM writing to it), a page says so
// after a while instead of hanging; once the file is free, it answers.
func TestDatabaseHeldElsewhere(t *testing.T) {
	h := newHarness(t, nil)
	c := h.login("vic")
	defer func(d time.Duration) { readTimeout = d }(readTimeout)
	readTimeout = 500 * time.Millisecond
	release := holdFile(t, h)
	r := c.get("/runs")
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "the database stayed in use by another process") {
		t.Errorf("a held file: %d\n%s", r.status, clip(r.body))
	}
	release()
	if r := c.get("/runs"); r.status != http.StatusOK {
		t.Errorf("the file free again: %d", r.status)
	}
}

// While another process holds the DuckDB file, an audited action waits for the audit
// log as long as a page does, then is refused with 503 saying why, and is not done: a
// login starts no session, a setting or a user's role is not saved. Once the file is
// free, they are done and audited.
func TestAuditWaitsNoLongerThanAPage(t *testing.T) {
	h := newHarness(t, nil)
	a := h.login("ann")
	token := a.token()
	defer func(d time.Duration) { readTimeout = d }(readTimeout)
	readTimeout = 500 * time.Millisecond
	before := h.fileText()
	release := holdFile(t, h)
	v := h.anonymous()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second) // the old console waited for the file
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.ts.URL+"/login",
		strings.NewReader(url.Values{"name": {"vic"}, "password": {password("vic")}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r := v.do(req)
	if r.status != http.StatusServiceUnavailable || time.Since(start) > 10*time.Second {
		t.Errorf("a login while the file is held: %d after %v", r.status, time.Since(start))
	}
	wantIn(t, "login", r, "You cannot log in now: every login is recorded in the audit log", "the database stayed in use by another process")
	if r.header.Get("Set-Cookie") != "" {
		t.Errorf("a login not audited started a session")
	}
	form := settingsForm()
	form.Set("s.sales_invoice_line_limit", "7")
	form.Set("csrf", token)
	for _, c := range []struct {
		path string
		form url.Values
	}{
		{"/settings", form},
		{"/users/vic/role", url.Values{"csrf": {token}, "role": {"operator"}}},
		{"/schedules/journals", url.Values{"csrf": {token}, "frequency": {"Daily"}, "at": {"03:00"}, "enabled": {"on"}}},
	} {
		r := a.post(c.path, c.form)
		if r.status != http.StatusServiceUnavailable {
			t.Errorf("%s while the file is held: %d\n%s", c.path, r.status, clip(r.body))
		}
		wantIn(t, c.path, r, "not done, since the audit log could not record it")
	}
	if h.fileText() != before {
		t.Errorf("an action not audited was saved:\n%s", h.fileText())
	}
	release()
	if r := v.post("/login", url.Values{"name": {"vic"}, "password": {password("vic")}}); r.status != http.StatusSeeOther {
		t.Errorf("a login once the file is free: %d", r.status)
	}
	if r := a.post("/settings", form); r.status != http.StatusSeeOther || !strings.Contains(h.fileText(), "sales_invoice_line_limit: 7") {
		t.Errorf("a setting once the file is free: %d", r.status)
	}
	if got := h.query("SELECT string_agg(actor || ' ' || action, ',' ORDER BY at) FROM connector.audit WHERE actor = 'vic' OR action = 'setting'"); got != "vic login,ann setting" {
		t.Errorf("audited: %s", got)
	}
}

// holdFile has another process hold the harness's DuckDB file (as OIM writing to it
// would) until release is called, or the test ends.
func holdFile(t *testing.T, h *harness) (release func()) {
	t.Helper()
	holder := exec.Command(os.Args[0], "-test.run=^TestHelperHolder$")
	holder.Env = append(os.Environ(), "CONSOLE_TEST_HOLD="+h.db)
	stdout, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := holder.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "holding\n" {
		t.Fatalf("the holder: %q", line)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			stdin.Close() // the holder lets go
			if err := holder.Wait(); err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(release) // before the harness's: a request still waiting for the file ends
	return release
}

// TestHelperHolder is the other process of TestDatabaseHeldElsewhere: it holds the
// DuckDB file until its standard input closes.
func TestHelperHolder(t *testing.T) {
	path := os.Getenv("CONSOLE_TEST_HOLD")
	if path == "" {
		t.Skip("the holding process of TestDatabaseHeldElsewhere")
	}
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
	fmt.Println("holding")
	_, _ = io.Copy(io.Discard, os.Stdin)
}
