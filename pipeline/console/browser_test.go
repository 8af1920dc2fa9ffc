package console

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/oimconnect/oimconnect/pipeline"
)

// chromium finds the system's Chromium (Debian's package, which .ci/chromium installs;
// CHROMIUM names another). Without one the browser test skips, saying how to get it,
// except under CI=true, where it fails.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	msg := "no Chromium at /usr/bin/chromium (or $CHROMIUM): `.ci/chromium` installs Debian's package; the console's browser test needs it"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// browser is a headless Chromium on a fresh profile, with the network features that
// would reach outside switched off (the machine may have no network at all).
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		// Closed, not killed: killed, its helper processes wrote on into the profile as
		// the test removed it.
		closing, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = chromedp.Cancel(closing)
		cancelBrowser()
		cancelAlloc()
	})
	// Starting it: no timeout on this first call. The page is 1280x800, as the README's
	// screenshots.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	return ctx
}

// shots saves screenshots of the pages, 1280x800 PNGs, into the test's artifact
// directory (kept with go test -artifacts) and, when CONSOLE_SCREENSHOTS names one,
// there too (the README's).
type shots struct {
	dirs []string
}

func newShots(t *testing.T) *shots {
	s := &shots{dirs: []string{t.ArtifactDir()}}
	if d := os.Getenv("CONSOLE_SCREENSHOTS"); d != "" {
		s.dirs = append(s.dirs, d)
	}
	t.Logf("screenshots in %s", strings.Join(s.dirs, " and "))
	return s
}

func (s *shots) take(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		png, err := chromedp.CaptureScreenshot()(ctx, t)
		if err != nil {
			return err
		}
		for _, d := range s.dirs {
			if err := os.WriteFile(filepath.Join(d, name+".png"), png, 0o644); err != nil {
				return err
			}
		}
		return nil
	})
}

// css selects by a CSS selector.
func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

// The console end to end in a real browser: log in, see the overview, open a failed
// record and read its reason, export one record and see it Exported with its
// document, change a setting as admin and be refused as a viewer, edit a schedule and
// remove it (asked first), open the mappings and the reconciliation; a screenshot of
// each page.
func TestBrowser(t *testing.T) {
	ctx := browser(t)
	h := newHarness(t, nil)
	h.clock.now = time.Now()
	h.run(pipeline.Request{Flows: []string{"sales-invoices"}, IDs: []string{"INV-NOCO", "INV-BADLINES", "INV-SPLIT"}, By: "ann"})
	shot := newShots(t)
	base := h.ts.URL
	page := func() string {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(css("main")))
		return clip(html)
	}
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("%s: %v\n%s", what, err, page())
		}
	}
	text := func(sel string) string {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		s, err := chromedp.Run(sctx, chromedp.Text(css(sel)))
		if err != nil {
			t.Fatalf("read %s: %v\n%s", sel, err, page())
		}
		return strings.TrimSpace(s)
	}
	login := func(user string) {
		step("log in as "+user,
			chromedp.Navigate(base+"/"),
			chromedp.WaitVisible(chromedp.ID("name")),
			chromedp.SendKeys(chromedp.ID("name"), user),
			chromedp.SendKeys(chromedp.ID("password"), password(user)),
			chromedp.Click(css("form.login button[type=submit]")),
			chromedp.WaitVisible(css("header.top nav")))
	}

	step("the login page", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("name")), shot.take("login"))
	login("ann")
	step("the overview, its census loaded",
		chromedp.WaitVisible(css("#sales-invoices .census li.eligible")),
		chromedp.WaitNotPresent(css(".census .pending")),
		shot.take("overview"))
	if s := text("#sales-invoices .census li.eligible"); s != "6 eligible now" {
		t.Errorf("overview: %q", s)
	}

	step("the failed records",
		chromedp.Click(css("#sales-invoices .counts li.st-export-error a")),
		chromedp.WaitVisible(css("main table")),
		shot.take("records"))
	step("a failed record",
		chromedp.Click(css(`a[href="/flows/sales-invoices/records/INV-NOCO"]`)),
		chromedp.WaitVisible(chromedp.ID("reason")),
		chromedp.WaitVisible(chromedp.ID("outcome")),
		shot.take("record-failed"))
	if s := text("#reason"); !strings.Contains(s, `no company: no Accounting company is named "Nobody Ltd"`) {
		t.Errorf("the failed record's reason: %q", s)
	}
	step("a record whose lines have no product, and what each line resolved to",
		chromedp.Navigate(base+"/flows/sales-invoices/records/INV-BADLINES"),
		chromedp.WaitVisible(css("#line-fields")),
		chromedp.ScrollIntoView(css("#line-fields")),
		shot.take("record-lines"))
	if s := text("#line-fields"); !strings.Contains(s, "IL-BAD-1\tPR-WIDGET\tderived") || !strings.Contains(s, "IL-BAD-5\tPR-NOPE\tgiven on the line") {
		t.Errorf("the lines' derived fields: %q", s)
	}

	step("export one record",
		chromedp.Navigate(base+"/flows/sales-invoices/records/INV-DISC"),
		chromedp.WaitVisible(chromedp.ID("outcome")),
		chromedp.Click(chromedp.ID("export")),
		chromedp.WaitVisible(css("p.notice")),
		chromedp.WaitVisible(chromedp.ID("outcome")),
		shot.take("record-exported"))
	if s := text("#status"); s != "Exported" {
		t.Errorf("after its export, INV-DISC is %q", s)
	}
	if s := text("#documents"); !strings.Contains(s, "acct.sales_invoice SIN-INV-DISC/1") || !strings.Contains(s, "3 lines") {
		t.Errorf("INV-DISC's document: %q", s)
	}
	if got := h.query("SELECT sales_invoice_id FROM oim.invoice WHERE id = 'INV-DISC'"); got != "SIN-INV-DISC/1" {
		t.Errorf("INV-DISC in the database: %q", got)
	}

	step("the runs", chromedp.Navigate(base+"/runs"), chromedp.WaitVisible(css("main table")), shot.take("runs"))
	step("a run's report", chromedp.Click(css("main table tr:nth-child(3) td a")), chromedp.WaitVisible(css("main h2")), shot.take("run-report"))
	if s := text("main"); !strings.Contains(s, "INV-NOCO") || !strings.Contains(s, "SIN-INV-SPLIT/1, SIN-INV-SPLIT/2") {
		t.Errorf("the first run's report: %q", s)
	}

	limit := css(`[id="s.sales_invoice_line_limit"]`)
	step("a setting refused at its field",
		chromedp.Navigate(base+"/settings"),
		chromedp.WaitVisible(chromedp.ID("save")),
		chromedp.SetValue(limit, "0"),
		chromedp.Click(chromedp.ID("save")),
		chromedp.WaitVisible(css(`[id="row-sales_invoice_line_limit"] .field-problem`)),
		chromedp.ScrollIntoView(css(`[id="row-sales_invoice_line_limit"]`)),
		shot.take("settings-refused"))
	if s := text(`[id="row-sales_invoice_line_limit"] .field-problem`); s != "settings.sales_invoice_line_limit must be at least 1, got 0" {
		t.Errorf("the refusal at the field: %q", s)
	}
	step("a setting saved",
		chromedp.SetValue(limit, "500"),
		chromedp.Click(chromedp.ID("save")),
		chromedp.WaitVisible(css("p.notice")),
		shot.take("settings"))
	if s := text("p.notice"); !strings.HasPrefix(s, "Saved: Sales invoice line limit.") {
		t.Errorf("saved: %q", s)
	}
	if !strings.Contains(h.fileText(), "sales_invoice_line_limit: 500") {
		t.Errorf("not in the file:\n%s", h.fileText())
	}

	step("a schedule edited",
		chromedp.Navigate(base+"/schedules"),
		chromedp.WaitVisible(css("#journals form")),
		chromedp.SetValue(css("#journals select[name=frequency]"), "Weekly"),
		chromedp.SetValue(css("#journals input[name=at]"), "06:30"),
		chromedp.Click(css("#journals input[name=day-Mon]")),
		chromedp.Click(css("#journals input[name=day-Thu]")),
		chromedp.Click(css("#journals button.primary")),
		chromedp.WaitVisible(css("p.notice")),
		chromedp.ScrollIntoView(css("#journals")),
		shot.take("schedules"))
	if s := text("p.notice"); s != "Schedule of journals: every Mon, Thu at 06:30." {
		t.Errorf("schedule: %q", s)
	}
	if s := text("#next-journals"); !strings.HasSuffix(s, "06:30:00") {
		t.Errorf("next run: %q", s)
	}

	// Removing asks first: declined, nothing is sent; accepted, the schedule goes.
	step("a schedule's removal declined",
		chromedp.Evaluate[chromedp.Void](`window.confirm = function (m) { window.asked = m; return false; }`),
		chromedp.Click(css("#journals button.danger")),
		chromedp.Sleep(300*time.Millisecond))
	if asked, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.asked || ""`)); err != nil || asked != "Remove the schedule of journals? Its scheduled runs stop." {
		t.Errorf("the question asked: %q (%v)", asked, err)
	}
	if s := text("#next-journals"); !strings.HasSuffix(s, "06:30:00") {
		t.Errorf("declined, the schedule changed: next run %q", s)
	}
	step("a schedule removed",
		chromedp.Evaluate[chromedp.Void](`window.confirm = function () { return true; }`),
		chromedp.Click(css("#journals button.danger")),
		chromedp.Sleep(300*time.Millisecond))
	for wait := time.Now().Add(10 * time.Second); text("p.notice") != "Schedule of journals: none." && time.Now().Before(wait); {
		time.Sleep(100 * time.Millisecond)
	}
	if s := text("p.notice"); s != "Schedule of journals: none." {
		t.Errorf("removed: %q", s)
	}
	if s := text("#next-journals"); s != "none" {
		t.Errorf("removed, the next run is %q", s)
	}

	step("the mappings", chromedp.Navigate(base+"/mappings/sales-invoices"), chromedp.WaitVisible(css("table.mapping")), shot.take("mappings"))
	if s := text("table.mapping"); !strings.Contains(s, "Static Value") || !strings.Contains(s, "Deselected (false)") {
		t.Errorf("the mapping table: %q", s)
	}
	step("the reconciliation", chromedp.Navigate(base+"/reconciliation?run=1&from=2020-01-01&to=2030-12-31&flow=sales-invoices"), chromedp.WaitVisible(css("main h2")), shot.take("reconciliation"))
	if s := text("main"); !strings.Contains(s, "sales-invoices") || !strings.Contains(s, "Source total") {
		t.Errorf("reconciliation: %q", s)
	}
	step("the audit log", chromedp.Navigate(base+"/audit"), chromedp.WaitVisible(css("main table")), shot.take("audit"))

	step("log out", chromedp.Click(css(".who button")), chromedp.WaitVisible(chromedp.ID("name")))
	login("vic")
	step("a viewer's settings page", chromedp.Navigate(base+"/settings"), chromedp.WaitVisible(css("form.settings")))
	readOnly, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("s.default_company").disabled && !document.getElementById("save")`))
	if err != nil || !readOnly {
		t.Errorf("a viewer's settings are editable (%v)", err)
	}
	step("a viewer's change refused",
		chromedp.Evaluate[chromedp.Void](`document.querySelector("form.settings").submit()`),
		chromedp.WaitVisible(css("p.problem")),
		shot.take("settings-viewer-refused"))
	if s := text("p.problem"); s != "Your role (viewer) does not allow this: it needs admin." {
		t.Errorf("the viewer's refusal: %q", s)
	}
	if got := h.query("SELECT count(*) FROM connector.audit WHERE action IN ('setting', 'schedule', 'export')"); got != "4" {
		t.Errorf("audited actions: %s, want the export, the setting, the schedule and its removal (not the removal declined)", got)
	}
}
