package queue

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oimconnect/oimconnect/pipeline/fixture"
	"github.com/oimconnect/oimconnect/pipeline/tenant"
)

// The workers defer failed records as watch does: an automatic run for a change of
// the source leaves alone the failed records that did not change (no run of six
// failures at every change), tries a corrected one at once, and the others when their
// back-off ends, in a run the leader enqueues for it; what was learned outlives the
// job, in the queue database.
func TestWorkersDeferFailedRecords(t *testing.T) {
	t.Parallel()
	url, q := newQueue(t)
	ctx := context.Background()
	src, conn := oimSource(t, fixture.DB(t, "sales-invoices.sql"))
	dir := t.TempDir()
	cfg := "db: " + src + `
settings:
  default_company: Acme UK Ltd
  sales_invoice_line_limit: 3
  tax_summary_line: true
  automation:
    flows:
      vendor_accounts: {disabled: true}
      payable_invoices: {disabled: true}
      payable_credit_notes: {disabled: true}
      sales_credit_notes: {disabled: true}
      journals: {disabled: true}
`
	if err := os.WriteFile(filepath.Join(dir, "acme.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	set, err := tenant.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fixed{t: time.Now()}
	startWorker(t, url, set, 1, func(w *Worker) { w.backoff = clock })

	// history is the tenant's automatic runs that did something, oldest first.
	history := func() string {
		t.Helper()
		rows, err := conn.Query(ctx, "SELECT format('%s %s %s', selected, exported, errors) FROM connector.run WHERE mode = 'automatic' ORDER BY started_at")
		if err != nil {
			t.Fatal(err)
		}
		runs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(runs, "; ")
	}
	deferred := func() (n int) {
		t.Helper()
		if err := q.Pool.QueryRow(ctx, "SELECT count(*) FROM oimconnect.retry WHERE tenant = 'acme' AND flow = 'sales-invoices'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// automatic counts the tenant's automatic jobs done, and those waiting or running.
	automatic := func() (done, busy int) {
		t.Helper()
		err := q.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state = 'completed'),
			count(*) FILTER (WHERE state IN ('available', 'scheduled', 'retryable', 'pending', 'running'))
			FROM river_job WHERE metadata->>'tenant' = 'acme' AND args->>'mode' = 'automatic'`).Scan(&done, &busy)
		if err != nil {
			t.Fatal(err)
		}
		return done, busy
	}
	// settle waits until more automatic runs than before are done, nothing waits, and
	// the history is want.
	settle := func(what string, before int, want string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			done, busy := automatic()
			if done > before && busy == 0 && history() == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: history %q after 30s, want %q: %s", what, history(), want, jobList(t, q))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	exec := func(sql string) (before int) {
		t.Helper()
		before, _ = automatic()
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
		return before
	}

	settle("the leader's first look", 0, "13 7 6")
	if n := deferred(); n != 6 {
		t.Fatalf("%d failed records kept, want 6", n)
	}
	// A change that leaves the failures as they were: a run, which tries none of them.
	settle("a change elsewhere", exec("UPDATE oim.invoice SET export_error = export_error WHERE false"), "13 7 6")
	// OIM corrects one failed invoice: it alone is tried, and exported.
	settle("the correction", exec("UPDATE oim.invoice SET sales_order_id = 'SO-1', shipment_id = 'SH-DONE' WHERE id = 'INV-NOCO'"), "13 7 6; 1 1 0")
	if n := deferred(); n != 5 {
		t.Errorf("%d failed records kept, want 5", n)
	}
	// Two minutes on, the others' back-off has ended: the leader enqueues their retry.
	before, _ := automatic()
	clock.add(2 * time.Minute)
	settle("the back-off ends", before, "13 7 6; 1 1 0; 5 0 5")
	var retries int
	if err := q.Pool.QueryRow(ctx, "SELECT count(*) FROM river_job WHERE args->>'mode' = 'automatic' AND args->>'by' = 'retry'").Scan(&retries); err != nil || retries != 1 {
		t.Errorf("%d automatic runs asked for by retry (%v), want 1: %s", retries, err, jobList(t, q))
	}
	// Quiet: the next back-off is two minutes away, and nothing changed.
	done, _ := automatic()
	time.Sleep(500 * time.Millisecond)
	if now, busy := automatic(); now != done || busy != 0 {
		t.Errorf("automatic runs with nothing changed and nothing due: %d done (%d before), %d waiting: %s", now, done, busy, jobList(t, q))
	}
}
