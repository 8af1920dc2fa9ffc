package host_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
	"github.com/oimconnect/oimconnect/pipeline/host"
)

// bin holds the example plugins, built once for these tests: regiondims, faulty, and
// faulty-v2 (faulty speaking protocol version 2).
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "oimconnect-plugins")
	if err != nil {
		panic(err)
	}
	code := 1
	if err := buildPlugins(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		bin = dir
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func buildPlugins(dir string) error {
	for _, args := range [][]string{
		{"build", "-o", dir + "/", "./plugins/examples/regiondims", "./testdata/plugins/faulty"},
		{"build", "-ldflags", "-X main.protocolVersion=2", "-o", filepath.Join(dir, "faulty-v2"), "./testdata/plugins/faulty"},
	} {
		cmd := exec.Command("go", args...)
		cmd.Dir = fixture.Root()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// declare is a plugin declaration for one of the built plugins, checksum included.
func declare(t testing.TB, name, file string, settings map[string]any) config.Plugin {
	t.Helper()
	path := filepath.Join(bin, file)
	return config.Plugin{Name: name, Path: path, SHA256: sum(t, path), Flows: []string{"sales-invoices"}, Settings: settings}
}

func sum(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// engine opens the sales-invoices fixture with the plugins as its transform.
func engine(t *testing.T, plugins ...config.Plugin) (*pipeline.Engine, *host.Host) {
	t.Helper()
	return engineLog(t, quiet, plugins...)
}

func engineLog(t *testing.T, log *slog.Logger, plugins ...config.Plugin) (*pipeline.Engine, *host.Host) {
	t.Helper()
	set, err := pipeline.LoadSpecs("")
	if err != nil {
		t.Fatal(err)
	}
	h, err := host.New(plugins, set, log)
	if err != nil {
		t.Fatal(err)
	}
	return engineWith(t, h), h
}

func runSales(t *testing.T, e *pipeline.Engine) pipeline.Summary {
	t.Helper()
	sums, err := e.Run(context.Background(), pipeline.Request{Flows: []string{"sales-invoices"}})
	if err != nil {
		t.Fatal(err)
	}
	return sums[0]
}

var salesDump = []string{
	fixture.Table("acct.sales_invoice"),
	fixture.Table("acct.sales_invoice_line_item"),
	"SELECT id, export_status, export_error, sales_invoice_id FROM oim.invoice ORDER BY id",
	"SELECT id, sales_invoice_line_item_id FROM oim.invoice_line ORDER BY id",
}

var regionSettings = map[string]any{
	"regions":           map[string]any{"A-CUST1": "D3-NORTH"},
	"region_dimensions": []any{"D3-R0", "D3-R1"},
	"description":       "{line}. {description} [{item}] {quantity} x {unit_price} ({region}, {invoice})",
}

// The example plugin sets Dimension 3 from the account's region and rewrites the line
// descriptions, on every exported document: the golden file holds the written rows.
func TestRegionDimsGolden(t *testing.T) {
	t.Parallel()
	e, _ := engine(t, declare(t, "region-dims", "regiondims", regionSettings))
	s := runSales(t, e)
	if s.Selected != 13 || s.Exported != 7 || s.Documents != 8 || s.Lines != 16 || s.Errors != 6 {
		t.Errorf("the plugin changes fields, not counts: %v", s)
	}
	got := fixture.Dump(t, e.DB(), salesDump...)
	fixture.Golden(t, "plugin-region-dims.txt", got)
	for _, want := range []string{
		"SIN-INV-OK/1/1\tSIN-INV-OK/1\t1\t1. Widget [ITM-1] 2.0000 x 10.00 (D3-NORTH, INV-OK)\tITM-1\tPR-WIDGET\tD1-NORTH\tD2-RETAIL\tD3-NORTH\tD4-Y\t2.0000\t10.00\t",
		"SIN-INV-SPLIT/2/3\tSIN-INV-SPLIT/2\t3\t3. Discount [] 1.0000 x -1.00 (D3-R0, INV-SPLIT)\tNULL\tPR-DISC\tNULL\tNULL\tD3-R0\tNULL\t1.0000\t-1.00\t",
		"SIN-INV-DISC/1/2\tSIN-INV-DISC/1\t2\t2. Discount [] 1.0000 x -5.50 (, INV-DISC)\tNULL\tPR-DISC\tNULL\tNULL\tNULL\tNULL\t1.0000\t-5.50\t",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("written lines lack\n%s\ngot\n%s", want, got)
		}
	}
}

// Refused documents get Export Error with the plugin's reason; nothing of theirs is
// written, and the others are.
func TestRegionDimsRefusesAccountsWithoutRegion(t *testing.T) {
	t.Parallel()
	e, _ := engine(t, declare(t, "region-dims", "regiondims", map[string]any{
		"regions": map[string]any{"A-CUST1": "D3-NORTH"}, "require_region": true}))
	s := runSales(t, e)
	if s.Exported != 4 || s.Errors != 9 {
		t.Errorf("INV-DISC (A-BILL), INV-SC and INV-SPLIT (A-CUST2) are refused: %v", s)
	}
	for id, want := range map[string]string{
		"INV-DISC":  "plugin region-dims: no region for account A-BILL",
		"INV-SPLIT": "plugin region-dims: no region for account A-CUST2",
		"INV-SC":    "plugin region-dims: no region for account A-CUST2",
	} {
		assertFailed(t, e, id, want)
	}
	assertWritten(t, e, "INV-OK", "")
}

// assertFailed checks that nothing was written for a record and that it carries
// exactly the reason want.
func assertFailed(t *testing.T, e *pipeline.Engine, id, want string) {
	t.Helper()
	var status, reason string
	var link *string
	if err := e.DB().QueryRow("SELECT export_status, coalesce(export_error, ''), sales_invoice_id FROM oim.invoice WHERE id = ?", id).Scan(&status, &reason, &link); err != nil {
		t.Fatal(err)
	}
	if status != "Export Error" || reason != want || link != nil {
		t.Errorf("%s: want Export Error %q and no link, got %s %q (link %v)", id, want, status, reason, link)
	}
	var docs, lines, links int
	if err := e.DB().QueryRow(`SELECT (SELECT count(*) FROM acct.sales_invoice WHERE oim_invoice_id = $1),
		(SELECT count(*) FROM acct.sales_invoice_line_item WHERE sales_invoice_id LIKE 'SIN-' || $1 || '/%'),
		(SELECT count(*) FROM oim.invoice_line WHERE invoice_id = $1 AND sales_invoice_line_item_id IS NOT NULL)`, id).Scan(&docs, &lines, &links); err != nil {
		t.Fatal(err)
	}
	if docs+lines+links != 0 {
		t.Errorf("%s failed, yet %d documents, %d lines and %d line links were written", id, docs, lines, links)
	}
}

// assertWritten checks that a record was exported, and, when mark is given, that its
// lines went through the plugin (the faulty plugin's mark in dimension4_id).
func assertWritten(t *testing.T, e *pipeline.Engine, id, mark string) {
	t.Helper()
	var status string
	var lines, marked int
	if err := e.DB().QueryRow(`SELECT (SELECT export_status FROM oim.invoice WHERE id = $1),
		(SELECT count(*) FROM acct.sales_invoice_line_item WHERE sales_invoice_id LIKE 'SIN-' || $1 || '/%'),
		(SELECT count(*) FROM acct.sales_invoice_line_item WHERE sales_invoice_id LIKE 'SIN-' || $1 || '/%' AND dimension4_id = $2)`, id, mark).Scan(&status, &lines, &marked); err != nil {
		t.Fatal(err)
	}
	if status != "Exported" || lines == 0 || (mark != "" && marked != lines) {
		t.Errorf("%s: want Exported with %d lines marked %q, got %s with %d lines, %d marked", id, lines, mark, status, lines, marked)
	}
}

// valid are the fixture's records that export when nothing goes wrong.
var valid = []string{"INV-DEFCO", "INV-DISC", "INV-DROP", "INV-GIVEN", "INV-OK", "INV-SC", "INV-SPLIT"}

// Each way a plugin can fail fails the documents of its batch, and only those: one
// document per batch here, the fault on INV-OK's. The others go through the plugin
// (restarted after a crash or a hang) and are written.
func TestFailuresAreContained(t *testing.T) {
	t.Parallel()
	cases := []struct {
		mode, want string
		timeout    string
	}{
		{mode: "crash", want: "plugin faulty: crashed (exit status 3): faulty: crashing on purpose"},
		{mode: "hang", want: "plugin faulty: timed out after 1s", timeout: "1s"},
		{mode: "garbage", want: "plugin faulty: unreadable reply: acct.sales_invoice_line_item: not an Arrow IPC stream: "},
		{mode: "drop", want: "plugin faulty: returned 1 rows of acct.sales_invoice_line_item for 2 sent: a plugin may not add or drop rows"},
		{mode: "duplicate", want: "plugin faulty: returned 3 rows of acct.sales_invoice_line_item for 2 sent: a plugin may not add or drop rows"},
		{mode: "keys", want: "plugin faulty: changed key column id of acct.sales_invoice_line_item: a plugin may not change keys or reorder rows"},
		{mode: "reorder", want: "plugin faulty: changed key column "},
		{mode: "link", want: "plugin faulty: changed oim_invoice_line_id of acct.sales_invoice_line_item, the link to the OIM record each row was made from: a plugin may not change it"},
		{mode: "schema", want: "plugin faulty: changed the type of acct.sales_invoice_line_item.quantity from decimal(18, 4) to float64"},
		{mode: "add-column", want: "plugin faulty: added column tenant_note to acct.sales_invoice_line_item"},
		{mode: "null-required", want: "plugin faulty: left acct.sales_invoice_line_item.product_id empty, which Accounting requires"},
		{mode: "overflow", want: "plugin faulty: set acct.sales_invoice_line_item.unit_price to 100000000000000000.07, more digits than its DECIMAL(18,2) holds"},
		{mode: "error", want: "plugin faulty: faulty: refusing the batch on purpose"},
		{mode: "panic", want: "plugin faulty: panic: faulty: panicking on purpose"},
		{mode: "unknown", want: `plugin faulty: marked document "NO-SUCH-RECORD" invalid, which is not in the batch`},
		{mode: "invalid", want: "plugin faulty: the tenant says no"},
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			t.Parallel()
			p := declare(t, "faulty", "faulty", map[string]any{"mode": c.mode, "only": "INV-OK", "mark": "MARK", "reason": "the tenant says no"})
			p.BatchSize, p.Timeout = 1, c.timeout
			e, _ := engine(t, p)
			s := runSales(t, e)
			if s.Exported != 6 || s.Errors != 7 {
				t.Errorf("only INV-OK fails beyond the fixture's six: %v", s)
			}
			var reason string
			if err := e.DB().QueryRow("SELECT export_error FROM oim.invoice WHERE id = 'INV-OK'").Scan(&reason); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(reason, c.want) {
				t.Errorf("INV-OK: want a reason starting %q, got %q", c.want, reason)
			}
			assertFailed(t, e, "INV-OK", reason)
			for _, id := range valid {
				if id != "INV-OK" {
					assertWritten(t, e, id, "MARK")
				}
			}
		})
	}
}

// Changes to a few rows are applied in place (an UPDATE), to many by making the
// staged table anew (TestFailuresAreContained): either way every other row stays as it
// was.
func TestFewChangesAreApplied(t *testing.T) {
	t.Parallel()
	p := declare(t, "faulty", "faulty", map[string]any{"mode": "mark-one", "only": "INV-DEFCO", "mark": "MARK"})
	p.BatchSize = 1
	var log strings.Builder
	e, _ := engineLog(t, slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})), p)
	runSales(t, e)
	if !strings.Contains(log.String(), "table=acct.sales_invoice_line_item rows=1 of=25 in_place=true") {
		t.Errorf("one changed line of 25 is updated in place:\n%s", log.String())
	}
	got := fixture.Dump(t, e.DB(), "SELECT id, dimension4_id FROM acct.sales_invoice_line_item WHERE dimension4_id IS DISTINCT FROM 'D4-Y' ORDER BY 1")
	want := "## SELECT id, dimension4_id FROM acct.sales_invoice_line_item WHERE dimension4_id IS DISTINCT FROM 'D4-Y' ORDER BY 1\nid\tdimension4_id\n" +
		"SIN-INV-DEFCO/1/1\tMARK\nSIN-INV-DISC/1/1\tNULL\nSIN-INV-DISC/1/2\tNULL\nSIN-INV-DISC/1/3\tNULL\nSIN-INV-DROP/1/2\tNULL\n" +
		"SIN-INV-OK/1/2\tNULL\nSIN-INV-SC/1/1\tNULL\nSIN-INV-SPLIT/1/3\tNULL\nSIN-INV-SPLIT/2/1\tNULL\nSIN-INV-SPLIT/2/2\tNULL\nSIN-INV-SPLIT/2/3\tNULL\n\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	for _, id := range valid {
		assertWritten(t, e, id, "")
	}
}

// chain is two plugins on the sales invoices, run one after the other: regions (in
// batches of 3 documents), then a mark on every line.
func chain(t *testing.T) []config.Plugin {
	regions := declare(t, "region-dims", "regiondims", regionSettings)
	regions.BatchSize = 3
	return []config.Plugin{regions, declare(t, "faulty", "faulty", map[string]any{"mode": "ok", "mark": "MARK"})}
}

// Two plugins on one flow run one after the other, each over what the previous left;
// nothing of theirs stays behind on the connection after the run.
func TestTwoPluginsChain(t *testing.T) {
	t.Parallel()
	e, _ := engine(t, chain(t)...)
	e.DB().SetMaxOpenConns(1) // one connection: its temp objects are the run's
	s := runSales(t, e)
	if s.Exported != 7 || s.Lines != 16 {
		t.Fatalf("summary %v", s)
	}
	var both, temps int
	if err := e.DB().QueryRow(`SELECT count(*) FILTER (WHERE dimension4_id = 'MARK' AND line_description LIKE '%(D3-%'),
		(SELECT count(*) FROM duckdb_tables() WHERE database_name = 'temp') + (SELECT count(*) FROM duckdb_views() WHERE database_name = 'temp' AND NOT internal)
		FROM acct.sales_invoice_line_item`).Scan(&both, &temps); err != nil {
		t.Fatal(err)
	}
	if temps != 0 {
		t.Log(fixture.Dump(t, e.DB(), "SELECT table_name FROM duckdb_tables() WHERE database_name = 'temp' UNION ALL SELECT view_name FROM duckdb_views() WHERE database_name = 'temp' AND NOT internal"))
	}
	if both != 13 || temps != 0 {
		t.Errorf("want the 13 lines with a region through both plugins and no temp objects left, got %d and %d", both, temps)
	}
}

// A dry run through two chained plugins reports what the run then does, and writes
// nothing: the passes read, stage and apply within the dry run's one transaction.
func TestDryRunThroughPlugins(t *testing.T) {
	t.Parallel()
	e, _ := engine(t, chain(t)...)
	before := fixture.Dump(t, e.DB(), salesDump...)
	sums, err := e.Run(context.Background(), pipeline.Request{Flows: []string{"sales-invoices"}, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if after := fixture.Dump(t, e.DB(), salesDump...); after != before {
		t.Fatalf("a dry run through plugins wrote:\n%s", after)
	}
	dry, real := sums[0], runSales(t, e)
	dry.Duration, real.Duration = 0, 0
	if fmt.Sprint(dry) != fmt.Sprint(real) || real.Exported != 7 {
		t.Errorf("the dry run reports what the run does:\ndry  %v\nreal %v", dry, real)
	}
	if n := fixture.Value(t, e.DB(), `SELECT count(*) FROM acct.sales_invoice_line_item WHERE dimension4_id = 'MARK' AND line_description LIKE '%(D3-%'`); n != "13" {
		t.Errorf("want the 13 lines with a region through both plugins, got %s", n)
	}
}

// A plugin that crashes on every batch is restarted twice, then left down for the
// rest of the transform: every document fails, each with its batch's reason.
func TestCrashingPluginIsNotRestartedForever(t *testing.T) {
	t.Parallel()
	p := declare(t, "faulty", "faulty", map[string]any{"mode": "crash"})
	p.BatchSize = 1
	e, h := engine(t, p)
	s := runSales(t, e)
	if s.Exported != 0 || s.Errors != 13 {
		t.Errorf("every document fails: %v", s)
	}
	// Health counts it: three starts, two of them restarts, three crashes, down.
	if hs := h.Health(); len(hs) != 1 || hs[0].Name != "faulty" || hs[0].Loaded || hs[0].Starts != 3 || hs[0].Restarts != 2 ||
		hs[0].Crashes != 3 || !hs[0].Down || !strings.Contains(hs[0].LastFailure, "crashing on purpose") {
		t.Errorf("health: %+v", hs)
	}
	crashed := "plugin faulty: crashed (exit status 3): faulty: crashing on purpose"
	for i, id := range valid { // batches run in key order
		want := crashed
		if i >= 3 {
			want = "plugin faulty: not restarted after 3 crashes or timeouts in a row (the last: crashed (exit status 3): faulty: crashing on purpose)"
		}
		assertFailed(t, e, id, want)
	}
}

// A plugin built for another protocol version never runs: the flow's documents fail
// with the reason, the records that failed on their own keep theirs, and nothing is
// written.
func TestWrongProtocolVersion(t *testing.T) {
	t.Parallel()
	e, _ := engine(t, declare(t, "faulty", "faulty-v2", map[string]any{"mode": "ok"}))
	s := runSales(t, e)
	if s.Exported != 0 || s.Errors != 13 {
		t.Errorf("every document fails: %v", s)
	}
	for _, id := range valid {
		assertFailed(t, e, id, "plugin faulty: cannot start: incompatible API version with plugin. Plugin version: 2, Client versions: [1]")
	}
	assertFailed(t, e, "INV-NOCO", `no company: no Accounting company is named "Nobody Ltd"`)
	var n int
	if err := e.DB().QueryRow("SELECT (SELECT count(*) FROM acct.sales_invoice) + (SELECT count(*) FROM acct.sales_invoice_line_item)").Scan(&n); err != nil || n != 0 {
		t.Errorf("nothing is written: %d rows (%v)", n, err)
	}
}

// A plugin whose executable does not match its checksum is refused before anything
// runs: a configuration error.
func TestChecksumMismatch(t *testing.T) {
	t.Parallel()
	p := declare(t, "region-dims", "regiondims", nil)
	p.SHA256 = strings.Repeat("0", 64)
	_, err := host.New([]config.Plugin{p}, nil, quiet)
	var in *fault.InputError
	if !errors.As(err, &in) {
		t.Fatalf("want an InputError, got %v", err)
	}
	want := fmt.Sprintf("plugin region-dims: checksum mismatch: %s has sha256 %s, the configuration says %s; refusing to start it", p.Path, sum(t, p.Path), p.SHA256)
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
}

// A plugin declared for a flow the specs lack is a configuration error.
func TestUnknownFlow(t *testing.T) {
	t.Parallel()
	e, _ := engine(t)
	p := declare(t, "region-dims", "regiondims", nil)
	p.Flows = []string{"sales-invoice"}
	_, err := host.New([]config.Plugin{p}, e.Specs(), quiet)
	var in *fault.InputError
	if !errors.As(err, &in) || !strings.Contains(err.Error(), `plugin region-dims: unknown flow "sales-invoice"`) {
		t.Errorf("want an InputError naming the flow, got %v", err)
	}
}

// One plugin process serves every batch of every run until Close. (Not parallel: it
// counts the plugin processes.)
func TestPluginStartsOncePerHost(t *testing.T) {
	p := declare(t, "faulty", "faulty", map[string]any{"mode": "ok", "mark": "MARK"})
	p.BatchSize = 1
	e, h := engine(t, p)
	if hs := h.Health(); len(hs) != 1 || hs[0].Loaded || hs[0].Starts != 0 {
		t.Errorf("health before any run: %+v", hs)
	}
	runSales(t, e)
	before := children(t)
	if len(before) != 1 {
		t.Fatalf("want one plugin process after a run of 7 batches, got %v", before)
	}
	if hs := h.Health(); !hs[0].Loaded || hs[0].Starts != 1 || hs[0].Restarts != 0 || hs[0].Crashes != 0 || hs[0].Flows[0] != "sales-invoices" {
		t.Errorf("health after a run: %+v", hs)
	}
	runSales(t, e)
	if after := children(t); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("a second run reuses the process: before %v, after %v", before, after)
	}
	h.Close()
	if after := children(t); len(after) != 0 {
		t.Errorf("Close stops the plugin: %v still run", after)
	}
	for _, id := range valid {
		assertWritten(t, e, id, "MARK")
	}
}

// children lists this process's child processes running the faulty plugin.
func children(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("ps", "-o", "pid=,args=", "--ppid", fmt.Sprint(os.Getpid())).Output()
	if err != nil {
		t.Skipf("ps: %v", err)
	}
	var pids []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[1] == filepath.Join(bin, "faulty") {
			pids = append(pids, f[0])
		}
	}
	return pids
}

// Check verifies as New does, and starts nothing: for `oimconnect validate`.
func TestCheckVerifiesWithoutStarting(t *testing.T) {
	t.Parallel()
	ok := declare(t, "region-dims", "regiondims", nil)
	if err := host.Check([]config.Plugin{ok}, nil); err != nil {
		t.Errorf("a plugin matching its checksum: %v", err)
	}
	bad := ok
	bad.SHA256 = strings.Repeat("0", 64)
	missing := ok
	missing.Path = filepath.Join(t.TempDir(), "nope")
	data, err := os.ReadFile(ok.Path)
	if err != nil {
		t.Fatal(err)
	}
	noExec := ok // the same bytes, the same checksum, but it cannot be started
	noExec.Path = filepath.Join(t.TempDir(), "regiondims")
	if err := os.WriteFile(noExec.Path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := ok
	dir.Path = t.TempDir()
	for _, c := range []struct {
		p    config.Plugin
		want string
	}{
		{dir, fmt.Sprintf("plugin region-dims: %s is not an executable file: it is a directory (path names the plugin's executable file)", dir.Path)},
		{bad, fmt.Sprintf("plugin region-dims: checksum mismatch: %s has sha256 %s, the configuration says %s; refusing to start it", ok.Path, ok.SHA256, bad.SHA256)},
		{missing, fmt.Sprintf("plugin region-dims: open %s: no such file or directory", missing.Path)},
		{noExec, fmt.Sprintf("plugin region-dims: %s is not an executable file (chmod +x it)", noExec.Path)},
	} {
		err := host.Check([]config.Plugin{ok, c.p}, nil)
		var in *fault.InputError
		if !errors.As(err, &in) || err.Error() != c.want {
			t.Errorf("got  %v\nwant %s", err, c.want)
		}
	}
}

// A plugin whose handshake does not come in time is stopped, and its documents say so
// (not that it crashed).
func TestSlowStartIsSaid(t *testing.T) {
	defer host.StartTimeoutAtLeast(time.Second)()
	t.Setenv("FAULTY_START_DELAY", "3s")
	p := declare(t, "faulty", "faulty", map[string]any{"mode": "none"})
	p.Timeout = "1s"
	e, _ := engine(t, p)
	s := runSales(t, e)
	if s.Exported != 0 {
		t.Errorf("nothing is exported without the plugin: %v", s)
	}
	var reason string
	if err := e.DB().QueryRow("SELECT export_error FROM oim.invoice WHERE id = 'INV-OK'").Scan(&reason); err != nil {
		t.Fatal(err)
	}
	if want := "plugin faulty: did not start within 1s (no handshake came; it was stopped)"; !strings.HasPrefix(reason, want) {
		t.Errorf("INV-OK: %q, want it to start with %q", reason, want)
	}
}
