package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline/fixture"
)

// concurrentConfig is the demo's settings with short line limits.
const concurrentConfig = `settings:
  default_company: Acme UK Ltd
  sales_invoice_line_limit: 5
  payable_invoice_line_limit: 3
  auto_post: {sales_invoices: true, sales_credit_notes: true, payable_invoices: true, payable_credit_notes: true, journals: true}
`

// together starts the same command twice at once and returns both results.
func together(t *testing.T, args ...string) [2]result {
	t.Helper()
	var out [2]result
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(binary, args...)
			cmd.Env = cleanEnv()
			var o, e bytes.Buffer
			cmd.Stdout, cmd.Stderr = &o, &e
			<-start
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				code = -1
				e.WriteString(err.Error())
			}
			out[i] = result{code: code, stdout: o.String(), stderr: e.String()}
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// exportedBy sums the documents the summary lines of a run report.
func exportedBy(r result) int {
	n := 0
	for _, m := range summaryLine.FindAllStringSubmatch(r.stdout, -1) {
		var d int
		fmt.Sscan(m[3], &d)
		n += d
	}
	return n
}

// Two runs of the same flow on the same DuckDB file at once: one exports, the other
// waits or is refused; no record is exported twice, and the file ends as after one run.
func TestConcurrentRunsOnOneDuckDBFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	gen := filepath.Join(dir, "generated.duckdb")
	if r := cli(t, nil, "generate", "--db", gen, "--invoices", "2000"); r.code != 0 {
		t.Fatalf("generate: %s", r.stderr)
	}
	cfg := writeFile(t, dir, "config.yaml", concurrentConfig)
	ref := copyFile(t, gen, filepath.Join(dir, "single.duckdb"))
	if r := cli(t, nil, "run", "--db", ref, "--config", cfg, "--flow", "sales-invoices"); r.code > 1 {
		t.Fatalf("single run: %d %s", r.code, r.stderr)
	}
	db := copyFile(t, gen, filepath.Join(dir, "twice.duckdb"))
	rs := together(t, "run", "--db", db, "--config", cfg, "--flow", "sales-invoices")
	for i, r := range rs {
		t.Logf("run %d: exit %d\nstdout: %sstderr: %s", i+1, r.code, r.stdout, tail(r.stderr, 3))
	}
	ok := 0
	for _, r := range rs {
		if r.code <= 1 && exportedBy(r) > 0 {
			ok++
		}
	}
	if ok != 1 {
		t.Errorf("want exactly one of the two runs to export, got %d", ok)
	}
	// Afterwards: every invariant holds and the file equals the single run's.
	conn := openDuck(t, db)
	defer conn.Close()
	if bad := violations(t, conn, invariantLimits); len(bad) > 0 {
		t.Errorf("two runs at once break invariants:\n%s", strings.Join(bad, "\n"))
	}
	attach(t, conn, ref, "ref")
	if diff := differences(t, conn, "ref", "oim", "acct"); len(diff) > 0 {
		t.Errorf("two runs at once differ from one run:\n%s", strings.Join(diff, "\n"))
	}
}

// The run that cannot open the file (another process holds it) says so in words a user
// can act on, not as DuckDB's lock error.
func TestConcurrentRunRefusedClearly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "oimconnect.duckdb")
	if r := cli(t, nil, "generate", "--db", db, "--invoices", "2000"); r.code != 0 {
		t.Fatalf("generate: %s", r.stderr)
	}
	cfg := writeFile(t, dir, "config.yaml", concurrentConfig)
	rs := together(t, "run", "--db", db, "--config", cfg, "--flow", "sales-invoices")
	for _, r := range rs {
		if r.code <= 1 {
			continue
		}
		if r.code != 4 || strings.Contains(r.stderr, "IO Error") || !strings.Contains(r.stderr, "in use by another") || !strings.Contains(r.stderr, db) {
			t.Errorf("the refused run (exit %d) should say plainly that %s is in use by another process, with exit status 4 (busy):\n%s", r.code, db, r.stderr)
		}
	}
}

// Two runs of the same flow at once on one PostgreSQL database (source and target):
// no document twice, and the database ends as after one run.
func TestConcurrentRunsOnOnePostgresDatabase(t *testing.T) {
	t.Parallel()
	pg := fixture.Postgres(t)
	dir := t.TempDir()
	if r := cli(t, nil, "generate", "--db", pg, "--invoices", "2000"); r.code != 0 {
		t.Fatalf("generate: %s", r.stderr)
	}
	ref := filepath.Join(dir, "single.duckdb")
	if r := cli(t, nil, "generate", "--db", ref, "--invoices", "2000"); r.code != 0 {
		t.Fatalf("generate: %s", r.stderr)
	}
	cfg := writeFile(t, dir, "config.yaml", concurrentConfig)
	if r := cli(t, nil, "run", "--db", ref, "--config", cfg, "--flow", "sales-invoices"); r.code > 1 {
		t.Fatalf("single run: %d %s", r.code, r.stderr)
	}
	rs := together(t, "run", "--db", pg, "--config", cfg, "--flow", "sales-invoices")
	docs := 0
	for i, r := range rs {
		t.Logf("run %d: exit %d\nstdout: %sstderr: %s", i+1, r.code, r.stdout, tail(r.stderr, 3))
		if r.code > 1 {
			t.Errorf("run %d: exit %d", i+1, r.code)
		}
		// The later one waited for the first (an advisory lock on the target) and then
		// found nothing left to export.
		if exportedBy(r) == 0 && !strings.Contains(r.stderr, "waiting for another oimconnect run on the same target to end") {
			t.Errorf("run %d exported nothing and did not say it waited:\n%s", i+1, r.stderr)
		}
		docs += exportedBy(r)
	}
	got := merged(t, pg, "")
	conn := openDuck(t, got)
	defer conn.Close()
	want := queryInt(t, ref, "SELECT count(*) FROM acct.sales_invoice")
	if docs != want {
		t.Errorf("the two runs report %d documents created, one run creates %d", docs, want)
	}
	if bad := violations(t, conn, invariantLimits); len(bad) > 0 {
		t.Errorf("two runs at once break invariants:\n%s", strings.Join(bad, "\n"))
	}
	attach(t, conn, ref, "ref")
	if diff := differences(t, conn, "ref", "oim", "acct"); len(diff) > 0 {
		t.Errorf("two runs at once differ from one run:\n%s", strings.Join(diff, "\n"))
	}
}
