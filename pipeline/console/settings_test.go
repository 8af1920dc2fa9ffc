package console

import (
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oimconnect/oimconnect/pipeline/config"
)

// An admin's settings are checked as the configuration file is, a refusal shown at its
// field with nothing saved; accepted ones are saved into the file (its comments and
// other keys kept), put in use at once and audited with before and after.
func TestSaveSettings(t *testing.T) {
	h := newHarness(t, nil)
	a := h.login("ann")
	before := h.fileText()

	form := settingsForm()
	form.Set("s.sales_invoice_line_limit", "0")
	form.Set("s.automation.poll_interval", "soon")
	form.Set("s.default_company", "Acme Corp")
	r := a.act("/settings", form)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("refused settings: want 422, got %d", r.status)
	}
	wantIn(t, "refusal", r, "Nothing was saved: correct the settings marked below.",
		`<div class="row bad" id="row-sales_invoice_line_limit">`, "settings.sales_invoice_line_limit must be at least 1, got 0",
		`<div class="row bad" id="row-automation.poll_interval">`, "settings.automation.poll_interval must be a positive duration such as 1s or 500ms, got &#34;soon&#34;",
		`value="Acme Corp"`) // what was entered stays
	if row := between(r.body, `id="row-default_company"`, `</div>
  </div>`); strings.Contains(row, "field-problem") {
		t.Errorf("an accepted field is marked:\n%s", row)
	}
	form.Set("s.sales_invoice_line_limit", "many")
	r = a.act("/settings", form)
	wantIn(t, "not a number", r, "settings.sales_invoice_line_limit must be a whole number, not &#34;many&#34;")
	if h.fileText() != before {
		t.Fatalf("a refused change was saved:\n%s", h.fileText())
	}

	form = settingsForm()
	form.Set("s.default_company", "Acme Corp")
	form.Del("s.tax_summary_line") // unticked
	form.Set("s.journal_custom_transaction_types", "Consignment Transfer\n\n  Kit Build  \n")
	r = a.act("/settings", form)
	if r.status != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", r.status, clip(r.body))
	}
	r = a.follow(r)
	wantIn(t, "saved", r, "Saved: Default company, Tax summary line, Journal custom transaction types. Runs that start from now on use the new values.",
		`value="Acme Corp"`, "Consignment Transfer\nKit Build</textarea>")
	text := h.fileText()
	for _, want := range []string{"# The test console's configuration.", "default_company: Acme Corp # the fixture's", "tax_summary_line: false",
		"journal_custom_transaction_types:\n    - Consignment Transfer\n    - Kit Build", `journals: {frequency: Daily, at: "02:00"}`, "password_hash:"} {
		if !strings.Contains(text, want) {
			t.Errorf("the file lacks %q:\n%s", want, text)
		}
	}
	if _, err := config.Load(h.file, nil); err != nil {
		t.Errorf("the saved file does not load: %v", err)
	}
	if s := h.engine.Config().Settings; s.DefaultCompany != "Acme Corp" || s.TaxSummaryLine || len(s.JournalCustomTransactionTypes) != 2 {
		t.Errorf("not in use: %+v", s)
	}
	got := h.query(`SELECT string_agg(actor || ' ' || action || ' ' || detail, '|' ORDER BY detail) FROM connector.audit WHERE action = 'setting'`)
	want := `ann setting settings.default_company: "Acme UK Ltd" -> "Acme Corp"|ann setting settings.journal_custom_transaction_types: [] -> ["Consignment Transfer", "Kit Build"]|ann setting settings.tax_summary_line: true -> false`
	if got != want {
		t.Errorf("audit:\n got %s\nwant %s", got, want)
	}
	// The same form again changes nothing.
	if r := a.follow(a.act("/settings", form)); !strings.Contains(r.body, "Nothing changed.") {
		t.Errorf("saving the same values:\n%s", clip(r.body))
	}
	st, _ := os.Stat(h.file)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("the file's permissions changed: %v", st.Mode())
	}
}

// A setting the environment decides is shown as such and left out of the form.
func TestSettingFromTheEnvironment(t *testing.T) {
	t.Setenv("OIMCONNECT_SETTINGS__DEFAULT_COMPANY", "Env Co")
	h := newHarness(t, nil)
	a := h.login("ann")
	r := a.get("/settings")
	wantIn(t, "settings", r, "Set by environment variable OIMCONNECT_SETTINGS__DEFAULT_COMPANY: the file's value does not apply.", `value="Env Co"`)
	form := settingsForm()
	form.Set("s.default_company", "Typed Co")
	if r := a.follow(a.act("/settings", form)); !strings.Contains(r.body, "Nothing changed.") || strings.Contains(h.fileText(), "Typed Co") {
		t.Errorf("a setting from the environment was written:\n%s", h.fileText())
	}
}

// Schedules: an admin adds, changes, disables and removes a flow's job; a mistake is
// shown at its field; the next run follows.
func TestEditSchedules(t *testing.T) {
	h := newHarness(t, nil)
	h.clock.now = time.Date(2024, 5, 1, 10, 0, 0, 0, time.Local) // a Wednesday
	a := h.login("ann")
	r := a.act("/schedules/sales-invoices", url.Values{"frequency": {"Weekly"}, "at": {"06:30"}, "day-Mon": {"on"}, "day-Thu": {"on"}, "enabled": {"on"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", r.status, clip(r.body))
	}
	r = a.follow(r)
	wantIn(t, "weekly", r, "Schedule of sales-invoices: every Mon, Thu at 06:30.", `<dd id="next-sales-invoices">2024-05-02 06:30:00</dd>`)
	if !strings.Contains(h.fileText(), "sales_invoices:\n      frequency: Weekly\n      at: \"06:30\"\n      days:\n        - Mon\n        - Thu") {
		t.Errorf("file:\n%s", h.fileText())
	}
	if sc := h.engine.Config().Settings.Schedules["sales_invoices"]; sc.Frequency != "Weekly" || len(sc.Days) != 2 {
		t.Errorf("not in use: %+v", sc)
	}

	r = a.act("/schedules/journals", url.Values{"frequency": {"Daily"}, "at": {"25:00"}, "enabled": {"on"}})
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("a bad time: %d", r.status)
	}
	wantIn(t, "bad time", r, "The schedule of journals was not saved", `at: settings.schedules.journals: at must be HH:MM, not &#34;25:00&#34;`)
	r = a.act("/schedules/journals", url.Values{"frequency": {"Weekly"}, "at": {"06:00"}, "enabled": {"on"}})
	wantIn(t, "no days", r, "days: settings.schedules.journals: a Weekly schedule needs days, e.g. [Mon, Thu]")
	if !strings.Contains(h.fileText(), `journals: {frequency: Daily, at: "02:00"}`) {
		t.Errorf("a refused schedule was saved:\n%s", h.fileText())
	}

	r = a.follow(a.act("/schedules/journals", url.Values{"frequency": {"Daily"}, "at": {"02:00"}}))
	wantIn(t, "disabled", r, "Schedule of journals: every day at 02:00 (disabled).", `<dd id="next-journals">none</dd>`)
	if !strings.Contains(h.fileText(), `journals: {frequency: Daily, at: "02:00", disabled: true}`) {
		t.Errorf("disabled in the file, its style kept:\n%s", h.fileText())
	}
	r = a.follow(a.act("/schedules/journals", url.Values{"frequency": {"Daily"}, "remove": {"1"}}))
	wantIn(t, "removed", r, "Schedule of journals: none.")
	if strings.Contains(h.fileText(), "journals:") {
		t.Errorf("removed from the file:\n%s", h.fileText())
	}
	got := h.query(`SELECT string_agg(detail, '|' ORDER BY at) FROM connector.audit WHERE action = 'schedule'`)
	want := "settings.schedules.sales_invoices: none -> every Mon, Thu at 06:30|settings.schedules.journals: every day at 02:00 -> every day at 02:00 (disabled)|settings.schedules.journals: every day at 02:00 (disabled) -> none"
	if got != want {
		t.Errorf("audit:\n got %s\nwant %s", got, want)
	}
}

// Users: an admin changes another's role (their sessions end) or removes them; never
// their own account.
func TestEditUsers(t *testing.T) {
	h := newHarness(t, nil)
	a := h.login("ann")
	v := h.login("vic")
	r := a.follow(a.act("/users/vic/role", url.Values{"role": {"operator"}}))
	wantIn(t, "role", r, "Saved: vic: role viewer -&gt; operator.")
	if u, _ := h.engine.Config().Console.User("vic"); u.Role != "operator" {
		t.Errorf("vic's role: %s", u.Role)
	}
	if r := v.get("/"); r.status != http.StatusSeeOther {
		t.Errorf("vic's session goes on after a role change: %d", r.status)
	}
	v = h.login("vic")
	if r := v.get("/"); !strings.Contains(r.body, "Export all eligible") {
		t.Errorf("vic is an operator now")
	}
	r = a.follow(a.act("/users/ann/role", url.Values{"role": {"viewer"}}))
	wantIn(t, "self", r, "You cannot change your own account here")
	r = a.follow(a.act("/users/vic/role", url.Values{"role": {"root"}}))
	wantIn(t, "bad role", r, "Nothing was saved: no role &#34;root&#34;")
	r = a.follow(a.act("/users/olga/remove", nil))
	wantIn(t, "removed", r, "Saved: olga: removed.")
	if strings.Contains(h.fileText(), "olga") {
		t.Errorf("olga is still in the file")
	}
	if r := h.anonymous().post("/login", url.Values{"name": {"olga"}, "password": {password("olga")}}); r.status != http.StatusUnauthorized {
		t.Errorf("a removed user logs in: %d", r.status)
	}
	if got := h.query(`SELECT string_agg(detail, '|' ORDER BY at) FROM connector.audit WHERE action = 'user'`); got != "vic: role viewer -> operator|olga: removed" {
		t.Errorf("audit: %s", got)
	}
}

// A user is changed by name in the file as it is when changed, not by a position in
// the configuration the console read a moment before: after `oimconnect user remove`
// took olga out behind the console's back, changing olga is refused (404) rather than
// giving her place, vic's, the role; changing vic changes vic, audited with the role he
// had, and ends his sessions, not another user's.
func TestEditUsersByName(t *testing.T) {
	h := newHarness(t, nil)
	a := h.login("ann")
	v := h.login("vic")
	o := h.login("olga")
	token := a.token()
	text := h.fileText()
	without := regexp.MustCompile(`(?m)^    - \{name: olga,.*\n`).ReplaceAllString(text, "")
	if without == text {
		t.Fatal("olga is not in the test configuration")
	}
	if err := config.WriteFileAtomic(h.file, []byte(without)); err != nil {
		t.Fatal(err)
	}
	h.srv.config.checked = time.Now().Add(time.Hour) // the console has not looked at the file again yet
	for _, c := range []struct {
		path, role string
		status     int
	}{
		{"/users/olga/role", "admin", http.StatusNotFound},
		{"/users/olga/remove", "", http.StatusNotFound},
		{"/users/vic/role", "operator", http.StatusSeeOther},
	} {
		r := a.post(c.path, url.Values{"csrf": {token}, "role": {c.role}})
		if r.status != c.status {
			t.Errorf("%s: status %d, want %d\n%s", c.path, r.status, c.status, clip(r.body))
		}
		if c.status == http.StatusNotFound {
			wantIn(t, c.path, r, "no user olga")
		}
	}
	users := between(h.fileText(), "users:\n", "\x00")
	for _, want := range []string{"{name: ann, role: admin,", "{name: vic, role: operator,"} {
		if !strings.Contains(users, want) {
			t.Errorf("no %q in the users:\n%s", want, users)
		}
	}
	if strings.Contains(users, "olga") || strings.Count(users, "name:") != 2 {
		t.Errorf("users:\n%s", users)
	}
	if got := h.query(`SELECT string_agg(detail, '|' ORDER BY at) FROM connector.audit WHERE action = 'user'`); got != "vic: role viewer -> operator" {
		t.Errorf("audit: %s", got)
	}
	if r := v.get("/"); r.status != http.StatusSeeOther {
		t.Errorf("vic's session goes on after his role changed: %d", r.status)
	}
	h.srv.config.checked = time.Time{}
	if r := o.get("/"); r.status != http.StatusSeeOther {
		t.Errorf("olga's session goes on after her removal: %d", r.status)
	}
}

// A user added to the file while the console runs (oimconnect user add) logs in at
// once; a file broken meanwhile is refused and the configuration in use stays.
func TestFileChangesTakeEffect(t *testing.T) {
	h := newHarness(t, nil)
	h.srv.config.checked = time.Time{}
	text := strings.Replace(h.fileText(), "    - {name: vic,", "    - {name: wes, role: viewer, password_hash: \""+hashes()["vic"]+"\"}\n    - {name: vic,", 1)
	if err := config.WriteFileAtomic(h.file, []byte(text)); err != nil {
		t.Fatal(err)
	}
	h.srv.config.checked = time.Time{}
	if r := h.anonymous().post("/login", url.Values{"name": {"wes"}, "password": {password("vic")}}); r.status != http.StatusSeeOther {
		t.Errorf("a user added to the file: %d", r.status)
	}
	if err := os.WriteFile(h.file, []byte("settings:\n  sales_invoice_line_limit: 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.srv.config.checked = time.Time{}
	if r := h.anonymous().post("/login", url.Values{"name": {"ann"}, "password": {password("ann")}}); r.status != http.StatusSeeOther {
		t.Errorf("a broken file replaced the configuration in use: %d", r.status)
	}
}

// between is the text of s from the first after to the next before.
func between(s, after, before string) string {
	_, rest, _ := strings.Cut(s, after)
	in, _, _ := strings.Cut(rest, before)
	return in
}
