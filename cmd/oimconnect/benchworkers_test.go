//go:build workers

// The workers' benchmark (make bench-workers): a backfill of one tenant's generated
// history (BENCH_WORKERS_INVOICES invoices, default 1,000,000 from make) by month,
// enqueued and exported by 1, 2 and 3 worker processes (one job at a time each), each
// time into a fresh PostgreSQL source and target loaded with the same data; then the
// target's own insert rate (COPY of document lines into an empty copy of their table),
// the limit of any number of workers.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/oimconnect/oimconnect/pipeline/fixture"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
)

func TestBenchWorkers(t *testing.T) {
	size := os.Getenv("BENCH_WORKERS_INVOICES")
	if size == "" {
		t.Skip("a benchmark: make bench-workers (BENCH_WORKERS_INVOICES sets the size)")
	}
	invoices, err := strconv.Atoi(size)
	if err != nil || invoices < 1 {
		t.Fatalf("BENCH_WORKERS_INVOICES=%q", size)
	}
	server := os.Getenv("TEST_POSTGRES_URL")
	if server == "" {
		t.Skip("no PostgreSQL: set TEST_POSTGRES_URL")
	}
	start := time.Now()
	gen := fixture.Generated(t, t.TempDir(), invoices)
	from, to := historyRange(t, gen)
	t.Logf("generated %d invoices (%s..%s) in %s", invoices, from, to, time.Since(start).Round(time.Second))
	maxWorkers := 3
	if v := os.Getenv("BENCH_WORKERS_MAX"); v != "" {
		maxWorkers, _ = strconv.Atoi(v)
	}
	var lines string
	for k := 1; k <= maxWorkers; k++ {
		dbs := newDatabases(t, server, 3)
		q, src, tgt := dbs[0], dbs[1], dbs[2]
		fixture.LoadPostgres(t, src, gen, "oim")
		fixture.LoadPostgres(t, tgt, gen, "acct")
		if r := cli(t, nil, "init", "--source", src, "--queue", q); r.code != 0 {
			t.Fatalf("init: %s", r.stderr)
		}
		dir := t.TempDir()
		body := fmt.Sprintf("source: %s\ntarget: %s\n%s  automation:\n    flows:\n", src, tgt, crashSettings)
		for _, f := range []string{"vendor_accounts", "payable_invoices", "payable_credit_notes", "sales_invoices", "sales_credit_notes", "journals"} {
			body += "      " + f + ": {disabled: true}\n"
		}
		writeFile(t, dir, "bench.yaml", body)
		var ws []*child
		for i := 0; i < k; i++ {
			ws = append(ws, startChild(t, nil, nil, binary, "worker", "--queue", q, "--tenants", dir, "--concurrency", "1", "--lease", "2h"))
		}
		time.Sleep(2 * time.Second) // registered
		began := time.Now()
		if r := cli(t, nil, "backfill", "--tenant", "bench", "--queue", q, "--from", from, "--to", to, "--partition", "month"); r.code != 0 {
			t.Fatalf("backfill: %s", r.stderr)
		}
		for {
			var left, failed int
			queryPG(t, q, "SELECT count(*) FILTER (WHERE state NOT IN ('completed', 'cancelled', 'discarded')), count(*) FILTER (WHERE state IN ('cancelled', 'discarded')) FROM river_job",
				[]any{&left, &failed})
			if failed > 0 {
				t.Fatalf("%d jobs failed: %s", failed, jobCounts(t, q))
			}
			if left == 0 {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		secs := time.Since(began).Seconds()
		for _, w := range ws {
			_ = w.cmd.Process.Signal(os.Interrupt)
			w.wait()
		}
		var records, docs int64
		queryPG(t, tgt, "SELECT coalesce(sum(selected), 0), coalesce(sum(documents), 0) FROM connector.run WHERE error IS NULL", []any{&records, &docs})
		line := fmt.Sprintf("bench workers n=%d records=%d documents=%d seconds=%.1f records_per_s=%.0f", k, records, docs, secs, float64(records)/secs)
		fmt.Println(line)
		lines += line + "\n"
		if k == 1 {
			lines += targetInsertRate(t, tgt) + "\n"
		}
	}
	fmt.Print("\n" + lines)
}

// historyRange is the first day of the month of the earliest document date and the
// latest one, over every dated flow's source.
func historyRange(t *testing.T, path string) (from, to string) {
	t.Helper()
	db := openDuck(t, path)
	defer db.Close()
	var a, b time.Time
	if err := db.QueryRow(`SELECT date_trunc('month', min(d)), max(d) FROM (
		SELECT invoice_date AS d FROM oim.invoice UNION ALL SELECT accounting_credit_invoice_date FROM oim.credit_invoice
		UNION ALL SELECT invoice_date FROM oim.ap_voucher UNION ALL SELECT credit_date FROM oim.ap_voucher_credit
		UNION ALL SELECT transaction_date FROM oim.inventory_transaction)`).Scan(&a, &b); err != nil {
		t.Fatal(err)
	}
	return a.Format(time.DateOnly), b.Format(time.DateOnly)
}

// targetInsertRate measures what the target takes at most: COPY of the sales
// invoices' lines (the widest, most numerous rows) into an empty copy of their table
// with its keys, as the connector writes them.
func targetInsertRate(t *testing.T, tgt string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := postgres.Connect(ctx, tgt)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	path := filepath.Join(t.TempDir(), "lines.csv")
	if _, err := conn.Exec(ctx, "CREATE TABLE acct.bench_lines (LIKE acct.sales_invoice_line_item INCLUDING ALL)"); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.PgConn().CopyTo(ctx, f, "COPY acct.sales_invoice_line_item TO STDOUT WITH (FORMAT csv)"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	began := time.Now()
	tag, err := conn.PgConn().CopyFrom(ctx, in, "COPY acct.bench_lines FROM STDIN WITH (FORMAT csv)")
	if err != nil {
		t.Fatal(err)
	}
	secs := time.Since(began).Seconds()
	_, _ = conn.Exec(ctx, "DROP TABLE acct.bench_lines")
	return fmt.Sprintf("bench workers target_insert rows=%d seconds=%.1f rows_per_s=%.0f", tag.RowsAffected(), secs, float64(tag.RowsAffected())/secs)
}
