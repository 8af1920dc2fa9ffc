package pipeline_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
)

const benchCompany = "Acme UK Ltd"

// handWritten runs testdata/bench/sales-invoices.sql on the database at path.
func handWritten(t testing.TB, path string, limit int) time.Duration {
	t.Helper()
	script, err := os.ReadFile(fixture.Path("bench", "sales-invoices.sql"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer("${LIMIT}", strconv.Itoa(limit), "${DEFAULT_COMPANY}", benchCompany).Replace(string(script))
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := conn.ExecContext(context.Background(), text); err != nil {
		t.Fatalf("hand-written SQL: %v", err)
	}
	return time.Since(start)
}

func connector(t testing.TB, path string, limit int) (pipeline.Summary, time.Duration) {
	t.Helper()
	cfg, err := config.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DB = path
	cfg.Settings.DefaultCompany = benchCompany
	cfg.Settings.SalesInvoiceLineLimit = limit
	e, err := pipeline.Open(context.Background(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	start := time.Now()
	sums, err := e.Run(context.Background(), pipeline.Request{Flows: []string{"sales-invoices"}})
	if err != nil {
		t.Fatal(err)
	}
	return sums[0], time.Since(start)
}

var comparable = []string{
	fixture.Table("acct.sales_invoice"),
	fixture.Table("acct.sales_invoice_line_item"),
	"SELECT id, export_status, sales_invoice_id FROM oim.invoice ORDER BY id",
	"SELECT id, sales_invoice_line_item_id FROM oim.invoice_line ORDER BY id",
}

// The connector and the hand-written SQL must produce the very same documents,
// write-back and statuses on generated data, splits included.
func TestConnectorMatchesHandWrittenSQL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := fixture.Generated(t, dir, 600)
	a := fixture.Copy(t, src, filepath.Join(dir, "a.duckdb"))
	b := fixture.Copy(t, src, filepath.Join(dir, "b.duckdb"))
	s, _ := connector(t, a, 7)
	handWritten(t, b, 7)
	if s.Documents == 0 || s.Errors == 0 {
		t.Fatalf("the generated data should export documents and hold some invalid records: %v", s)
	}
	got, want := fixture.DumpFile(t, a, comparable...), fixture.DumpFile(t, b, comparable...)
	if got != want {
		gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
		for i := range gl {
			if i >= len(wl) || gl[i] != wl[i] {
				t.Fatalf("connector and hand-written SQL differ at line %d:\nconnector: %s\nhand:      %s", i+1, gl[i], wl[min(i, len(wl)-1)])
			}
		}
		t.Fatalf("connector output is shorter than the hand-written SQL's")
	}
}

// BenchmarkSalesInvoices runs the sales-invoices flow end to end with the built CLI, on
// copies of the same generated data in the same run, against hand-written SQL doing the
// same work (testdata/bench/sales-invoices.sql): into DuckDB, and into PostgreSQL (when
// TEST_POSTGRES_URL names a server), where the baseline is the hand-written SQL plus a
// plain COPY of the rows it made. BENCH_INVOICES sets the size (default 20000; make
// bench uses 1,000,000, about 10M lines).
func BenchmarkSalesInvoices(b *testing.B) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("BENCH_INVOICES")); err == nil && v > 0 {
		n = v
	}
	dir := b.TempDir()
	bin := buildCLI(b, dir)
	start := time.Now()
	src := fixture.Generated(b, dir, n)
	fmt.Printf("generated %d invoices in %s\n", n, time.Since(start).Round(time.Millisecond))
	config := filepath.Join(dir, "bench.yaml")
	if err := os.WriteFile(config, []byte(fmt.Sprintf("settings:\n  default_company: %s\n  sales_invoice_line_limit: 1000\n", benchCompany)), 0o644); err != nil {
		b.Fatal(err)
	}
	pg := os.Getenv("TEST_POSTGRES_URL")
	for i := 0; i < b.N; i++ {
		a := fixture.Copy(b, src, filepath.Join(dir, "a.duckdb"))
		h := fixture.Copy(b, src, filepath.Join(dir, "h.duckdb"))
		conn := runCLI(b, bin, "run", "--config", config, "--db", a, "--flow", "sales-invoices")
		hand := handWritten(b, h, 1000)
		report(b, "duckdb", conn, hand, linesWritten(b, a))

		if pg == "" {
			fmt.Println("bench postgres skipped: set TEST_POSTGRES_URL (eval \"$(.ci/postgres start)\")")
			continue
		}
		a = fixture.Copy(b, src, filepath.Join(dir, "a.duckdb"))
		h = fixture.Copy(b, src, filepath.Join(dir, "h.duckdb"))
		target, baseline := postgresURL(b), postgresURL(b)
		fixture.LoadPostgres(b, target, src, "acct")
		fixture.LoadPostgres(b, baseline, src, "acct")
		conn = runCLI(b, bin, "run", "--config", config, "--source", a, "--target", target, "--flow", "sales-invoices")
		hand = handWritten(b, h, 1000)
		hand += copyRows(b, h, baseline, "acct.sales_invoice", "acct.sales_invoice_line_item")
		report(b, "postgres", conn, hand, linesWritten(b, a))
		if got, want := pgSummary(b, target), pgSummary(b, baseline); got != want {
			b.Fatalf("PostgreSQL targets differ:\nconnector %s\nbaseline  %s", got, want)
		}
	}
}

// timedRun is one timed CLI run with its peak resident memory.
type timedRun struct {
	took time.Duration
	rss  int64 // bytes
}

func buildCLI(b testing.TB, dir string) string {
	b.Helper()
	bin := filepath.Join(dir, "oimconnect")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/oimconnect")
	cmd.Dir = fixture.Root()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func runCLI(b testing.TB, bin string, args ...string) timedRun {
	b.Helper()
	cmd := exec.Command(bin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	// The peak resident set of the process itself: getrusage's ru_maxrss would count
	// the forking test process's memory too.
	done := make(chan struct{})
	peak := make(chan int64, 1)
	go func() {
		var max int64
		status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
		for {
			if data, err := os.ReadFile(status); err == nil {
				for _, line := range strings.Split(string(data), "\n") {
					if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
						kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
						max = kb * 1024
					}
				}
			}
			select {
			case <-done:
				peak <- max
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	err := cmd.Wait()
	took := time.Since(start)
	close(done)
	rss := <-peak
	if err != nil && cmd.ProcessState.ExitCode() != 1 { // 1: some records failed, as generated
		b.Fatalf("oimconnect %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return timedRun{took: took, rss: rss}
}

// linesWritten counts the lines the run wrote back into the source.
func linesWritten(b testing.TB, path string) int64 {
	b.Helper()
	db, err := sql.Open("duckdb", path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var n int64
	if err := db.QueryRow("SELECT count(sales_invoice_line_item_id) FROM oim.invoice_line").Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}

func report(b *testing.B, name string, conn timedRun, hand time.Duration, lines int64) {
	ratio := conn.took.Seconds() / hand.Seconds()
	b.ReportMetric(conn.took.Seconds(), name+"-connector-s")
	b.ReportMetric(hand.Seconds(), name+"-baseline-s")
	b.ReportMetric(ratio, name+"-ratio")
	b.ReportMetric(float64(conn.rss)/(1<<20), name+"-peak-rss-MiB")
	fmt.Printf("%s: connector %.0f lines/s, baseline %.0f lines/s, connector peak RSS %.0f MiB\n",
		name, float64(lines)/conn.took.Seconds(), float64(lines)/hand.Seconds(), float64(conn.rss)/(1<<20))
	fmt.Printf("bench %s lines=%d connector=%.2fs baseline=%.2fs ratio=%.2f\n", name, lines, conn.took.Seconds(), hand.Seconds(), ratio)
}

// copyRows copies tables of a DuckDB file into a PostgreSQL database with COPY.
func copyRows(b testing.TB, path, url string, tables ...string) time.Duration {
	b.Helper()
	ctx := context.Background()
	db, err := sql.Open("duckdb", path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	cat, err := catalog.Read(ctx, db, "acct")
	if err != nil {
		b.Fatal(err)
	}
	var ts []*catalog.Table
	for _, name := range tables {
		t, _ := cat.Table(name)
		ts = append(ts, t)
	}
	conn, err := postgres.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	start := time.Now()
	if err := postgres.Load(ctx, db, conn, ts, b.TempDir()); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// pgSummary sums up the sales invoices of a PostgreSQL target.
func pgSummary(b testing.TB, url string) string {
	b.Helper()
	ctx := context.Background()
	conn, err := postgres.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	var docs, lines int64
	var total, ids string
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM acct.sales_invoice), count(*), coalesce(sum(quantity * unit_price), 0)::text,
		md5(string_agg(id || sales_invoice_id || coalesce(product_id, ''), ',' ORDER BY id)) FROM acct.sales_invoice_line_item`).Scan(&docs, &lines, &total, &ids); err != nil {
		b.Fatal(err)
	}
	return fmt.Sprintf("documents %d, lines %d, total %s, ids %s", docs, lines, total, ids)
}
