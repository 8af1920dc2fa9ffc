package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/oimconnect/oimconnect/pipeline/fixture"

	"github.com/oimconnect/oimconnect/pipeline/postgres"
)

// binary is the oimconnect executable built once for these end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "oimconnect-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "oimconnect")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build oimconnect: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

// cli runs the built binary with args and a clean OIMCONNECT_ environment.
func cli(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return cliWith(t, "", env, args...)
}

// cliInput runs the built binary with standard input.
func cliInput(t *testing.T, input string, args ...string) result {
	t.Helper()
	return cliWith(t, input, nil, args...)
}

func cliWith(t *testing.T, input string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OIMCONNECT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin = strings.NewReader(input)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// queryInt runs a query returning one number on the DuckDB file at path.
func queryInt(t *testing.T, path, query string) int {
	t.Helper()
	return queryOne[int](t, path, query)
}

// queryString runs a query returning one text on the DuckDB file at path.
func queryString(t *testing.T, path, query string) string {
	t.Helper()
	return queryOne[string](t, path, query)
}

func queryOne[T any](t *testing.T, path, query string) T {
	t.Helper()
	conn, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var v T
	if err := conn.QueryRow(query).Scan(&v); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return v
}

// editedSpecs copies default spec files into a new directory, with edits applied.
func editedSpecs(t *testing.T, edits *strings.Replacer, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(fixture.Root(), "specs", name))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, name, edits.Replace(string(data)))
	}
	return dir
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const salesConfig = `settings:
  default_company: Acme UK Ltd
  sales_invoice_line_limit: 3
  tax_summary_line: true
`

var summaryLine = regexp.MustCompile(`(?m)^sales-invoices: selected (\d+), exported (\d+), documents (\d+), lines (\d+), waiting (\d+), errors (\d+) \(`)

func TestRunExportsAndSummarises(t *testing.T) {
	t.Parallel()
	db := fixture.DB(t, "sales-invoices.sql")
	cfg := writeFile(t, t.TempDir(), "config.yaml", salesConfig)
	r := cli(t, nil, "run", "--db", db, "--config", cfg, "--flow", "sales-invoices")
	if r.code != 1 {
		t.Fatalf("some records fail in the fixture: want exit 1, got %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	m := summaryLine.FindStringSubmatch(r.stdout)
	if m == nil || strings.Join(m[1:], ",") != "13,7,8,16,2,6" {
		t.Fatalf("summary: %q", r.stdout)
	}
	if !strings.Contains(r.stderr, `msg="flow done" flow=sales-invoices selected=13`) {
		t.Errorf("want a structured log line for the flow, got %q", r.stderr)
	}
	// The same run again: nothing new, the six failures retried and failing again.
	r = cli(t, nil, "run", "--db", db, "--config", cfg)
	m = summaryLine.FindStringSubmatch(r.stdout)
	if r.code != 1 || m == nil || strings.Join(m[1:], ",") != "6,0,0,0,2,6" {
		t.Fatalf("rerun: exit %d, %q", r.code, r.stdout)
	}
}

func TestRunOneRecord(t *testing.T) {
	t.Parallel()
	db := fixture.DB(t, "sales-invoices.sql")
	r := cli(t, []string{"OIMCONNECT_SETTINGS__DEFAULT_COMPANY=Acme UK Ltd"}, "run", "--db", db, "--flow", "sales-invoices", "--id", "INV-OK")
	m := summaryLine.FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil || strings.Join(m[1:], ",") != "1,1,1,2,0,0" {
		t.Fatalf("exit %d, %q %s", r.code, r.stdout, r.stderr)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM oim.invoice WHERE export_status = 'Exported'"); n != 1 {
		t.Errorf("only INV-OK is exported, got %d", n)
	}
}

func TestEditedSpecDirectoryWithoutRebuilding(t *testing.T) {
	t.Parallel()
	dir := editedSpecs(t, strings.NewReplacer("Calculate Income Schedule: {value: false}", "Calculate Income Schedule: {value: true}"),
		"model.yaml", "sales-invoices.yaml")
	db := fixture.DB(t, "sales-invoices.sql")
	r := cli(t, nil, "run", "--db", db, "--specs", dir, "--id", "INV-OK")
	if r.code != 0 {
		t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	if n := queryInt(t, db, "SELECT count(*) FILTER (WHERE calculate_income_schedule) FROM acct.sales_invoice_line_item WHERE oim_invoice_line_id IS NOT NULL"); n != 2 {
		t.Errorf("the edited static value reaches the output: %d rows with true", n)
	}
}

func TestBadInputExitsTwoAndWritesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	badYAML := filepath.Join(dir, "bad-specs")
	if err := os.Mkdir(badYAML, 0o755); err != nil {
		t.Fatal(err)
	}
	model, _ := os.ReadFile(filepath.Join(fixture.Root(), "specs", "model.yaml"))
	writeFile(t, badYAML, "model.yaml", string(model))
	writeFile(t, badYAML, "sales-invoices.yaml", "flow: sales-invoices\nsource:\n  table: [oim.invoice\n")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flow", []string{"--flow", "nope"}, `unknown flow "nope"`},
		{"malformed YAML", []string{"--specs", badYAML}, "sales-invoices.yaml:3:1: malformed YAML: did not find expected ',' or ']'"},
		{"wrong setting type", []string{"--config", writeFile(t, dir, "c.yaml", "settings:\n  sales_invoice_line_limit: many\n")}, "sales_invoice_line_limit"},
		{"unknown setting", []string{"--config", writeFile(t, dir, "u.yaml", "settings:\n  tax_summary: true\n")}, `c.yaml`},
		{"unknown flag", []string{"--flw", "x"}, "unknown flag: --flw"},
		{"report nowhere", []string{"--report", filepath.Join(dir, "no-such-dir", "r.json")}, "no-such-dir: no such file or directory"},
		{"report a directory", []string{"--report", dir}, "is a directory"},
	}
	cases[3].want = `unknown key "tax_summary" in settings`
	for _, c := range cases {
		db := fixture.DB(t, "sales-invoices.sql")
		r := cli(t, nil, append([]string{"run", "--db", db}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: want exit 2 and %q, got %d\n%s", c.name, c.want, r.code, r.stderr)
		}
		if n := queryInt(t, db, "SELECT count(*) FROM acct.sales_invoice"); n != 0 {
			t.Errorf("%s: %d documents written", c.name, n)
		}
	}
	r := cli(t, nil, "run", "--db", filepath.Join(dir, "missing.duckdb"))
	if r.code != 2 || !strings.Contains(r.stderr, "missing.duckdb") {
		t.Errorf("missing database: %d %s", r.code, r.stderr)
	}
	r = cli(t, nil, "run", "--db", filepath.Join(dir, "oim.duckdb"))
	if r.code != 2 {
		t.Errorf("missing oim.duckdb: %d %s", r.code, r.stderr)
	}
}

func TestPlanPrintsSQL(t *testing.T) {
	t.Parallel()
	db := fixture.DB(t, "sales-invoices.sql")
	r := cli(t, nil, "plan", "--db", db, "--flow", "sales-invoices")
	if r.code != 0 || !strings.Contains(r.stdout, "INSERT INTO \"acct\".\"sales_invoice\"") || !strings.Contains(r.stdout, "-- stage: h") {
		t.Errorf("plan: %d %s", r.code, r.stderr)
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "demo.duckdb")
	r := cli(t, nil, "demo", "--db", db, "--invoices", "400")
	if r.code != 0 {
		t.Fatalf("demo: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	m := summaryLine.FindStringSubmatch(r.stdout[strings.Index(r.stdout, "sales-invoices:"):])
	if m == nil || m[2] == "0" || m[3] == "0" || m[6] == "0" {
		t.Fatalf("the demo exports documents and shows some planted errors: %q", r.stdout)
	}
}

func TestValidateReportsEveryProblemWithItsPosition(t *testing.T) {
	t.Parallel()
	if r := cli(t, nil, "validate"); r.code != 0 || strings.Count(r.stdout, "ok  ") != 6 {
		t.Fatalf("the default specs validate: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	dir := editedSpecs(t, strings.NewReplacer(
		"Engagement: Sales Order > Engagement", "Engagement: Sales Order > Engagemnt",
		"rounded: round_half_up(icp_value_amount, 2)", "rounded: round_half_up(icp_value_amount)",
		"acct.sales_invoice_line_item: round_half_up(quantity * unit_price, 2)", "acct.sales_invoice_line_item: round_half_up(quantityy * unit_price, 2)",
	), "model.yaml", "sales-invoices.yaml", "journals.yaml")
	r := cli(t, nil, "validate", dir)
	for _, want := range []string{
		fmt.Sprintf("sales-invoices.yaml:%d:31: oim.sales_order has no field \"Engagemnt\"", fixture.SpecLine(t, "sales-invoices.yaml", "Engagement: Sales Order > Engagement")),
		" | Sales Order > Engagemnt\n | ..............^^^^^^^^^",
		fmt.Sprintf("journals.yaml:%d:14: round_half_up takes 2 argument(s), got 1", fixture.SpecLine(t, "journals.yaml", "rounded: round_half_up(icp_value_amount, 2)")),
		// The reconcile section is checked with the flows.
		fmt.Sprintf("sales-invoices.yaml:%d:49: acct.sales_invoice_line_item has no field \"quantityy\"", fixture.SpecLine(t, "sales-invoices.yaml", "acct.sales_invoice_line_item: round_half_up(quantity * unit_price, 2)")),
		"3 problem(s)",
	} {
		if r.code != 2 || !strings.Contains(r.stderr, want) {
			t.Errorf("validate: want exit 2 and %q, got %d\n%s", want, r.code, r.stderr)
		}
	}
	// One mistake that the flow's check and its reconcile section's both meet is one
	// problem (it was printed twice).
	dir = editedSpecs(t, strings.NewReplacer("    table: oim.invoice_line\n", "    table: oim.invoice_linez\n"), "model.yaml", "sales-invoices.yaml")
	r = cli(t, nil, "validate", dir)
	if r.code != 2 || strings.Count(r.stderr, "unknown table oim.invoice_linez") != 1 {
		t.Errorf("validate: want exit 2 and the unknown table once, got %d\n%s", r.code, r.stderr)
	}
}

// In a line mapping doc.id is the document's id (text), doc.line_number its line's
// number and doc.split its split.
func TestDocFieldsInLineMappings(t *testing.T) {
	t.Parallel()
	dir := editedSpecs(t, strings.NewReplacer("Line Description: Amount Description",
		`Line Description: {expr: 'doc.id + " line " + string(doc.line_number) + " of split " + string(doc.split)'}`),
		"model.yaml", "sales-invoices.yaml")
	db := fixture.DB(t, "sales-invoices.sql")
	if r := cli(t, nil, "run", "--db", db, "--specs", dir, "--id", "INV-OK"); r.code != 0 {
		t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	if got := queryString(t, db, "SELECT string_agg(line_description, '; ' ORDER BY line_number) FROM acct.sales_invoice_line_item WHERE sales_invoice_id = 'SIN-INV-OK/1'"); got != "SIN-INV-OK/1 line 1 of split 1; SIN-INV-OK/1 line 2 of split 1" {
		t.Errorf("line descriptions: %q", got)
	}
}

func TestSpecTestsCommand(t *testing.T) {
	t.Parallel()
	r := cli(t, nil, "test")
	if r.code != 0 || !strings.Contains(r.stdout, " passed, 0 failed") {
		t.Fatalf("the default specs' tests pass: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	dir := editedSpecs(t, strings.NewReplacer("Line Description: {value: Discount}", "Line Description: {value: Rebate}"),
		"model.yaml", "sales-invoices.yaml", "sales-invoices_test.yaml")
	r = cli(t, nil, "test", dir)
	if r.code != 1 || !strings.Contains(r.stdout, "line_description: want Discount, got Rebate") || !strings.Contains(r.stdout, "FAIL  ") {
		t.Errorf("an edited spec fails its tests with a readable diff: %d\n%s", r.code, r.stdout)
	}
	// A broken spec is a spec mistake, said once (exit 2), not a failure of each case.
	dir = editedSpecs(t, strings.NewReplacer("Sales Order > Engagement", "Sales Order > Engagemint"),
		"model.yaml", "sales-invoices.yaml", "sales-invoices_test.yaml")
	r = cli(t, nil, "test", dir)
	if r.code != 2 || strings.Count(r.stderr, `oim.sales_order has no field "Engagemint"`) != 1 || strings.Contains(r.stdout, "FAIL") {
		t.Errorf("a broken spec: want exit 2 and its mistake once, got %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestDryRunWithReport(t *testing.T) {
	t.Parallel()
	db := fixture.DB(t, "sales-invoices.sql")
	report := filepath.Join(t.TempDir(), "report.json")
	r := cli(t, []string{"OIMCONNECT_SETTINGS__DEFAULT_COMPANY=Acme UK Ltd"}, "run", "--db", db, "--flow", "sales-invoices", "--dry-run", "--report", report)
	if r.code != 1 || !strings.Contains(r.stdout, "[dry run: nothing written]") {
		t.Fatalf("dry run: %d %s %s", r.code, r.stdout, r.stderr)
	}
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"dry_run": true`, `"flow": "sales-invoices"`, `"id": "INV-NOCO"`, `"reason": "no company: no Accounting company is named \"Nobody Ltd\""`,
		`"source": "INV-SPLIT"`, `"SIN-INV-SPLIT/1"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("report lacks %s:\n%s", want, data)
		}
	}
	if n := queryInt(t, db, "SELECT count(*) FROM oim.invoice WHERE export_status <> 'New' AND id <> 'INV-OK'"); n != 0 {
		t.Errorf("a dry run changed %d records", n)
	}

	// The next run replaces its own report, and a reconciliation's report replaces it in turn.
	if r := cli(t, []string{"OIMCONNECT_SETTINGS__DEFAULT_COMPANY=Acme UK Ltd"}, "run", "--db", db, "--flow", "sales-invoices", "--id", "INV-OK", "--report", report); r.code != 0 {
		t.Fatalf("a run replacing the report: %d %s", r.code, r.stderr)
	}
	if data, _ := os.ReadFile(report); !strings.Contains(string(data), `"dry_run": false`) || strings.Contains(string(data), "INV-NOCO") {
		t.Errorf("the report was not replaced:\n%s", data)
	}
	if r := cli(t, nil, "reconcile", "--db", db, "--report", report); r.code > 1 {
		t.Fatalf("reconcile replacing a run's report: %d %s", r.code, r.stderr)
	}
	if data, _ := os.ReadFile(report); !strings.HasPrefix(string(data), "{\n  \"From\"") {
		t.Errorf("the reconciliation's report:\n%.200s", data)
	}

	// A file that is no report (the database, a configuration) is never replaced.
	config := writeFile(t, t.TempDir(), "tenant.yaml", "settings:\n  default_company: Acme UK Ltd\n")
	for _, args := range [][]string{
		{"run", "--db", db, "--dry-run", "--report", db},
		{"run", "--db", db, "--report", config},
		{"backfill", "--db", db, "--from", "2024-01-01", "--to", "2024-12-31", "--dry-run", "--report", db},
		{"reconcile", "--db", db, "--report", db},
	} {
		r := cli(t, nil, args...)
		if r.code != 2 || !strings.Contains(r.stderr, "exists and is not a report oimconnect wrote: it is never replaced") {
			t.Errorf("%s --report %s: want exit 2, got %d\n%s", args[0], filepath.Base(args[len(args)-1]), r.code, r.stderr)
		}
	}
	if n := queryInt(t, db, "SELECT count(*) FROM acct.sales_invoice"); n != 1 {
		t.Errorf("the database after the refusals: %d sales invoices, want the one exported", n)
	}
	if data, _ := os.ReadFile(config); string(data) != "settings:\n  default_company: Acme UK Ltd\n" {
		t.Errorf("the configuration was replaced:\n%s", data)
	}
}

// A backfill killed midway (SIGKILL) and started again ends exactly where an
// uninterrupted one does: same documents, same write-back, nothing twice.
func TestBackfillResumesAfterAKill(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := filepath.Join(dir, "src.duckdb")
	if r := cli(t, nil, "generate", "--db", src, "--invoices", "600"); r.code != 0 {
		t.Fatalf("generate: %s", r.stderr)
	}
	copyTo := func(name string) string {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		return writeFile(t, dir, name, string(data))
	}
	whole, killed := copyTo("whole.duckdb"), copyTo("killed.duckdb")
	args := []string{"backfill", "--from", "2024-01-01", "--to", "2026-12-31", "--partition", "month"}
	if r := cli(t, nil, append(args, "--db", whole)...); r.code > 1 {
		t.Fatalf("backfill: %d %s", r.code, r.stderr)
	}

	// Kill the second backfill once a few partitions are done.
	cmd := exec.Command(binary, append(args, "--db", killed)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	partitions := 0
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "backfill ") {
			if partitions++; partitions == 5 {
				_ = cmd.Process.Kill()
				break
			}
		}
	}
	_ = cmd.Wait()
	if partitions < 5 {
		t.Fatalf("the backfill ended before it could be killed (%d partitions)", partitions)
	}
	r := cli(t, nil, append(args, "--db", killed)...)
	if r.code > 1 || !strings.Contains(r.stderr, "(done before)") {
		t.Fatalf("the resumed backfill skips the partitions done before: %d\n%s", r.code, r.stderr)
	}
	dump := func(path string) string {
		conn, err := sql.Open("duckdb", path)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return fixture.Dump(t, conn,
			fixture.Table("acct.sales_invoice"), fixture.Table("acct.sales_invoice_line_item"),
			fixture.Table("acct.payable_invoice"), fixture.Table("acct.journal"), fixture.Table("acct.journal_line_item"),
			fixture.Table("acct.account"),
			"SELECT id, export_status, export_error, sales_invoice_id FROM oim.invoice ORDER BY id",
			"SELECT id, export_status, journal_id FROM oim.inventory_transaction ORDER BY id",
			"SELECT count(*), count(DISTINCT partition) FROM connector.backfill")
	}
	if got, want := dump(killed), dump(whole); got != want {
		t.Errorf("a killed and resumed backfill differs from an uninterrupted one")
	}
}

// withDB opens the DuckDB file as OIM would, waiting while a watcher holds it.
func withDB(t *testing.T, path string, do func(*sql.DB) error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := sql.Open("duckdb", path)
		if err == nil {
			if err = conn.Ping(); err == nil {
				err = do(conn)
			}
			conn.Close()
		}
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "lock") || time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startWatch runs oimconnect watch on db until the test ends, then stops it with SIGINT
// and checks it exits cleanly.
func startWatch(t *testing.T, db string, args ...string) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"watch", "--db", db}, args...)...)
	cmd.Env = append(os.Environ(), "OIMCONNECT_SETTINGS__AUTOMATION__POLL_INTERVAL=200ms")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("watch did not stop cleanly on SIGINT: %v\n%s", err, out.String())
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("watch did not stop on SIGINT\n%s", out.String())
		}
	})
}

// waitFor polls a query until it returns want, and reports how long that took.
func waitFor(t *testing.T, db, query, want string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		var got sql.NullString
		withDB(t, db, func(conn *sql.DB) error {
			err := conn.QueryRow(query).Scan(&got)
			if err == sql.ErrNoRows {
				return nil
			}
			return err
		})
		if got.String == want {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("%s: still %q after %s, want %q", query, got.String, limit, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestWatchSyncsSupplierSitesInRealTime(t *testing.T) {
	t.Parallel()
	db := fixture.DB(t)
	startWatch(t, db)
	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("SS-LIVE-%d", i)
		withDB(t, db, func(conn *sql.DB) error {
			_, err := conn.Exec("INSERT INTO oim.supplier_site (id, name, updated_at) VALUES (?, ?, now())", id, "Live Supplier "+id)
			return err
		})
		took := waitFor(t, db, "SELECT account_id FROM oim.supplier_site WHERE id = '"+id+"'", "VND-"+id, 2*time.Second)
		t.Logf("%s in acct.account after %s", id, took.Round(time.Millisecond))
	}
	// A change reaches the account too.
	withDB(t, db, func(conn *sql.DB) error {
		_, err := conn.Exec("UPDATE oim.supplier_site SET name = 'Renamed Supplier', updated_at = CAST(now() AS TIMESTAMP) + INTERVAL 1 SECOND WHERE id = 'SS-LIVE-1'")
		return err
	})
	waitFor(t, db, "SELECT name FROM acct.account WHERE id = 'VND-SS-LIVE-1'", "Renamed Supplier", 2*time.Second)
	waitFor(t, db, "SELECT count(*) FROM connector.run WHERE mode = 'automatic' AND flow = 'vendor-accounts'", "4", 2*time.Second)
}

func TestWatchCustomCriteriaGateAutomation(t *testing.T) {
	t.Parallel()
	db := fixture.DB(t, "sales-invoices.sql")
	withDB(t, db, func(conn *sql.DB) error {
		_, err := conn.Exec("ALTER TABLE oim.invoice ADD COLUMN auto_export BOOLEAN DEFAULT false")
		return err
	})
	cfg := writeFile(t, t.TempDir(), "config.yaml", salesConfig+"  automation:\n    flows:\n      sales_invoices: {criteria: auto_export}\n")
	startWatch(t, db, "--config", cfg)
	time.Sleep(600 * time.Millisecond) // a few polls: nothing may be exported yet
	waitFor(t, db, "SELECT count(*) FROM oim.invoice WHERE export_status = 'Exported'", "0", time.Second)
	withDB(t, db, func(conn *sql.DB) error {
		_, err := conn.Exec("UPDATE oim.invoice SET auto_export = true WHERE id IN ('INV-OK', 'INV-OPEN')")
		return err
	})
	waitFor(t, db, "SELECT string_agg(id, ',' ORDER BY id) FROM oim.invoice WHERE export_status = 'Exported'", "INV-OK", 3*time.Second)
}

func TestWatchRefusesUnknownCriteria(t *testing.T) {
	t.Parallel()
	db := fixture.DB(t, "sales-invoices.sql")
	cfg := writeFile(t, t.TempDir(), "config.yaml", "settings:\n  automation:\n    flows:\n      sales_invoices: {criteria: nope}\n")
	r := cli(t, nil, "watch", "--db", db, "--config", cfg)
	if want := cfg + ":4:34: settings.automation.flows.sales_invoices.criteria: oim.invoice has no column nope"; r.code != 2 || !strings.Contains(r.stderr, want) {
		t.Errorf("want exit 2 naming the column at the criteria's key, %q, got %d\n%s", want, r.code, r.stderr)
	}
}

// Ctrl-C during a backfill rolls back the partition in progress, says how to go on,
// and the same command then finishes.
func TestBackfillInterruptedGracefully(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "oimconnect.duckdb")
	if r := cli(t, nil, "generate", "--db", db, "--invoices", "300"); r.code != 0 {
		t.Fatalf("generate: %s", r.stderr)
	}
	args := []string{"backfill", "--db", db, "--from", "2024-01-01", "--to", "2026-12-31", "--partition", "month"}
	cmd := exec.Command(binary, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	var lines []string
	progress := 0
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if strings.HasPrefix(sc.Text(), "backfill ") {
			if progress++; progress == 3 {
				_ = cmd.Process.Signal(os.Interrupt)
			}
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(strings.Join(lines, "\n"), "backfill interrupted") {
		t.Fatalf("want exit 3 with a message on Ctrl-C, got %v\n%s", err, strings.Join(lines, "\n"))
	}
	if r := cli(t, nil, args...); r.code > 1 || !strings.Contains(r.stderr, "(done before)") || !strings.Contains(r.stderr, ": 180/180,") {
		t.Fatalf("the same command goes on: %d\n%s\nfirst run:\n%s", r.code, r.stderr, strings.Join(lines, "\n"))
	}
}

// The command line against PostgreSQL: init, generate, run (twice), runs; a password in
// the URL never shows, not even in an error.
func TestPostgresCommandLine(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(fixture.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	const secret = "s3cret-pw"
	u.User = url.UserPassword(u.User.Username(), secret) // the test server trusts, and ignores it
	pg := u.String()
	config := writeFile(t, t.TempDir(), "demo.yaml", "settings:\n  default_company: Acme UK Ltd\n  auto_post: {sales_invoices: true, sales_credit_notes: true}\n")
	var out strings.Builder
	step := func(want int, args ...string) result {
		t.Helper()
		r := cli(t, nil, args...)
		out.WriteString(r.stdout + r.stderr)
		if r.code != want {
			t.Fatalf("oimconnect %s: exit %d, want %d\n%s%s", args[0], r.code, want, r.stdout, r.stderr)
		}
		return r
	}
	if r := step(0, "init", "--db", pg); !strings.Contains(r.stdout, "schemas oim and acct ready in postgres://postgres:xxxxx@") {
		t.Errorf("init: %q", r.stdout)
	}
	step(0, "generate", "--db", pg, "--invoices", "200")
	first := step(1, "run", "--config", config, "--db", pg) // the generated data holds invalid records
	if !regexp.MustCompile(`sales-invoices: selected \d+, exported [1-9]`).MatchString(first.stdout) {
		t.Errorf("first run exported nothing:\n%s", first.stdout)
	}
	second := step(1, "run", "--config", config, "--db", pg)
	for _, line := range strings.Split(strings.TrimSpace(second.stdout), "\n") {
		if !strings.Contains(line, "exported 0, documents 0, lines 0") {
			t.Errorf("rerun wrote something: %s", line)
		}
	}
	if r := step(0, "runs", "--db", pg); strings.Count(r.stdout, "sales-invoices") != 2 {
		t.Errorf("runs should list both runs of sales-invoices:\n%s", r.stdout)
	}
	u.Host = "127.0.0.1:1" // nothing listens there
	// Unreachable: nothing written, and a scheduler may try again later.
	bad := step(4, "run", "--db", u.String())
	if !strings.Contains(bad.stderr, "connect to postgres://postgres:xxxxx@127.0.0.1:1/") {
		t.Errorf("unreachable server: %q", bad.stderr)
	}
	if strings.Contains(out.String(), secret) {
		t.Fatalf("the password leaked:\n%s", out.String())
	}
}

// With a PostgreSQL source, watch hears OIM's changes (LISTEN/NOTIFY, triggers installed
// by init) and exports at once: the poll interval here is an hour.
func TestWatchPostgresListens(t *testing.T) {
	t.Parallel()
	_, conn, out := watchPostgres(t, "1h")
	time.Sleep(time.Second) // the first poll, then listening
	if _, err := conn.Exec(context.Background(), "INSERT INTO oim.supplier_site (id, name, updated_at) VALUES ('SS-PG-1', 'Listening Supplier', now())"); err != nil {
		t.Fatal(err)
	}
	t.Logf("exported %s after the insert", waitForVendor(t, conn, "SS-PG-1", out))
}

// watchPostgres starts watch (debug log) on a PostgreSQL database init prepared, with
// the poll interval given, stopped at the test's end; conn is a connection to the
// database, out what watch wrote.
func watchPostgres(t *testing.T, poll string) (pg string, conn *pgx.Conn, out *lockedBuffer) {
	t.Helper()
	pg = fixture.Postgres(t)
	if r := cli(t, nil, "init", "--db", pg); r.code != 0 {
		t.Fatalf("init: %s", r.stderr)
	}
	cmd := exec.Command(binary, "watch", "--db", pg, "--log-level", "debug")
	cmd.Env = append(os.Environ(), "OIMCONNECT_SETTINGS__AUTOMATION__POLL_INTERVAL="+poll)
	out = &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		if err := cmd.Wait(); err != nil {
			t.Errorf("watch did not stop cleanly: %v\n%s", err, out.String())
		}
	})
	conn, err := postgres.Connect(context.Background(), pg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return pg, conn, out
}

// waitForVendor waits up to 10s for a supplier site's vendor account, and says how long
// it took.
func waitForVendor(t *testing.T, conn *pgx.Conn, site string, out *lockedBuffer) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		var link *string
		if err := conn.QueryRow(context.Background(), "SELECT account_id FROM oim.supplier_site WHERE id = $1", site).Scan(&link); err != nil {
			t.Fatal(err)
		}
		if link != nil && *link == "VND-"+site {
			return time.Since(start).Round(time.Millisecond)
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("supplier site %s was not exported within 10s: its account_id is %v; in the database now:\n%s\nwatch's output:\n%s",
				site, deref(link), pgState(conn, site), out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func deref(s *string) string {
	if s == nil {
		return "NULL"
	}
	return *s
}

// pgState is, for a failure's message, what the database holds of a supplier site's
// export: its vendor account, the runs' history, and the sessions holding locks on
// its tables.
func pgState(conn *pgx.Conn, site string) string {
	var b strings.Builder
	for _, q := range []string{
		"SELECT id, oim_supplier_site_id, updated_at::text FROM acct.account WHERE oim_supplier_site_id = '" + site + "'",
		"SELECT flow, mode, started_at::text, selected, exported, errors, coalesce(error, '') FROM connector.run ORDER BY started_at",
		"SELECT a.pid, a.application_name, a.state, l.mode, l.granted, c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_stat_activity a ON a.pid = l.pid WHERE a.datname = current_database() AND c.relname IN ('supplier_site', 'account')",
	} {
		fmt.Fprintf(&b, "%s\n", q)
		rows, err := conn.Query(context.Background(), q)
		if err != nil {
			fmt.Fprintf(&b, "  %v\n", err)
			continue
		}
		for rows.Next() {
			vals, _ := rows.Values()
			fmt.Fprintf(&b, "  %v\n", vals)
		}
		if err := rows.Err(); err != nil {
			fmt.Fprintf(&b, "  %v\n", err)
		}
		rows.Close()
	}
	return b.String()
}

// lockedBuffer is a bytes.Buffer a child process writes while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A change OIM commits while watch's listening connection is lost is still exported.
// The change counter moves when OIM's statement runs, not when it commits: a poll
// between the two must not take the counter for what it has seen (a run then finds
// nothing, and only the notification at the commit would tell of the record, lost here
// with the connection).
func TestWatchPostgresListenerLostBeforeCommit(t *testing.T) {
	t.Parallel()
	pg, conn, out := watchPostgres(t, "100ms")
	ctx := context.Background()
	listener := func() (pid int32) {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			err := conn.QueryRow(ctx, "SELECT pid FROM pg_stat_activity WHERE query = 'LISTEN "+postgres.Channel+"' AND datname = current_database() AND pid <> pg_backend_pid()").Scan(&pid)
			if err == nil {
				return pid
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("watch does not listen\n%s", out.String())
		return 0
	}
	listener()
	// OIM's transaction (a session of its own name): the insert moves the counter, and
	// stays invisible for a while, as watch polls.
	oim, err := postgres.Connect(ctx, pg+"&application_name=oim")
	if err != nil {
		t.Fatal(err)
	}
	defer oim.Close(ctx)
	tx, err := oim.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "INSERT INTO oim.supplier_site (id, name, updated_at) VALUES ('SS-PG-LOST', 'Late Supplier', now())"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	// The listening connection is lost, and OIM commits before watch listens again.
	other, err := postgres.Connect(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	if _, err := other.Exec(ctx, "SELECT pg_terminate_backend($1)", listener()); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("exported %s after the commit", waitForVendor(t, other, "SS-PG-LOST", out))
}
