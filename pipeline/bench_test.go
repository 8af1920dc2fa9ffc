package pipeline_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oimconnect/oimconnect/cmd/oimconnect/demodata"
	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
)

const benchCompany = "Acme UK Ltd"

// generated makes a DuckDB file with the demo data set of n invoices.
func generated(t testing.TB, dir string, n int) string {
	t.Helper()
	path := filepath.Join(dir, fmt.Sprintf("gen-%d.duckdb", n))
	db := fixture.Open(t, path)
	defer db.Close()
	opt := demodata.DefaultOptions()
	opt.Invoices = n
	if _, err := demodata.Generate(context.Background(), db, opt); err != nil {
		t.Fatal(err)
	}
	return path
}

func copyFile(t testing.TB, src, dst string) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

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

func dumpFile(t testing.TB, path string) string {
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	return fixture.Dump(t, db, comparable...)
}

// The connector and the hand-written SQL must produce the very same documents,
// write-back and statuses on generated data, splits included.
func TestConnectorMatchesHandWrittenSQL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := generated(t, dir, 600)
	a := copyFile(t, src, filepath.Join(dir, "a.duckdb"))
	b := copyFile(t, src, filepath.Join(dir, "b.duckdb"))
	s, _ := connector(t, a, 7)
	handWritten(t, b, 7)
	if s.Documents == 0 || s.Errors == 0 {
		t.Fatalf("the generated data should export documents and hold some invalid records: %v", s)
	}
	got, want := dumpFile(t, a), dumpFile(t, b)
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

// BenchmarkSalesInvoices times the connector and the hand-written SQL on copies of the
// same generated data in the same run. BENCH_INVOICES sets the size (default 20000).
func BenchmarkSalesInvoices(b *testing.B) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("BENCH_INVOICES")); err == nil && v > 0 {
		n = v
	}
	dir := b.TempDir()
	src := generated(b, dir, n)
	var conn, hand time.Duration
	var lines int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		a := copyFile(b, src, filepath.Join(dir, "a.duckdb"))
		h := copyFile(b, src, filepath.Join(dir, "b.duckdb"))
		b.StartTimer()
		s, d := connector(b, a, 1000)
		conn += d
		lines = s.Lines
		hand += handWritten(b, h, 1000)
	}
	b.ReportMetric(conn.Seconds()/float64(b.N), "connector-s")
	b.ReportMetric(hand.Seconds()/float64(b.N), "handsql-s")
	b.ReportMetric(float64(conn)/float64(hand), "ratio")
	b.ReportMetric(float64(lines), "lines")
	fmt.Printf("bench sales-invoices lines=%d connector=%.2fs baseline=%.2fs ratio=%.2f\n",
		lines, conn.Seconds()/float64(b.N), hand.Seconds()/float64(b.N), float64(conn)/float64(hand))
}
