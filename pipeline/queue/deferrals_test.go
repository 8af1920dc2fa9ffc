package queue

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oimconnect/oimconnect/pipeline/fixture"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
	"github.com/oimconnect/oimconnect/pipeline/tenant"
)

// testClock is the wall clock moved on by the test.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) skip(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// The workers defer failed records as watch does: an automatic run for a change of
// the source leaves alone the failed records that did not change (no run of six
// failures at every change), tries a corrected one at once, and the others when their
// back-off ends, in a run the leader enqueues for it; what was learned outlives the
// job, in the queue database.
func TestWorkersDeferFailedRecords(t *testing.T) {
	t.Parallel()
	url, q := newQueue(t)
	ctx, cancel := context.WithCancel(context.Background())
	src := fixture.Postgres(t)
	fixture.LoadPostgres(t, src, fixture.DB(t, "sales-invoices.sql"), "oim", "acct")
	conn, err := postgres.Connect(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if err := postgres.Notify(ctx, conn); err != nil {
		t.Fatal(err)
	}
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
	w, err := NewWorker(ctx, url, set, slog.New(slog.DiscardHandler), Options{Concurrency: 1, Lease: time.Hour,
		ShutdownTimeout: 10 * time.Second, Poll: 20 * time.Millisecond, Retry: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{}
	w.backoff = clock
	stopped := make(chan error, 1)
	go func() { stopped <- w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-stopped; err != nil {
			t.Error(err)
		}
	}()

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
	// settle waits for the tenant's jobs, automatic ones among them, to be done.
	settle := func(what string, automatic int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			n := countJobs(t, q, "acme")
			if n.running == 0 && n.waiting == 0 && n.automatic >= automatic {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %+v after 30s, want %d automatic jobs done: %s", what, n, automatic, jobList(t, q))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	exec := func(sql string) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}

	settle("the leader starts listening", 1)
	if got, want := history(), "13 7 6"; got != want {
		t.Fatalf("first run: %q, want %q", got, want)
	}
	if n := deferred(); n != 6 {
		t.Fatalf("%d failed records kept, want 6", n)
	}
	// A change that leaves the failures as they were: a run, which tries none of them.
	exec("UPDATE oim.invoice SET export_error = export_error WHERE false")
	settle("a change elsewhere", 2)
	if got, want := history(), "13 7 6"; got != want {
		t.Errorf("after a change elsewhere: %q, want %q (the unchanged failures left alone)", got, want)
	}
	// OIM corrects one failed invoice: it alone is tried, and exported.
	exec("UPDATE oim.invoice SET sales_order_id = 'SO-1', shipment_id = 'SH-DONE' WHERE id = 'INV-NOCO'")
	settle("the correction", 3)
	if got, want := history(), "13 7 6; 1 1 0"; got != want {
		t.Errorf("after the correction: %q, want %q", got, want)
	}
	if n := deferred(); n != 5 {
		t.Errorf("%d failed records kept, want 5", n)
	}
	// Two minutes on, the others' back-off has ended: the leader enqueues their retry.
	clock.skip(2 * time.Minute)
	settle("the back-off ends", 4)
	if got, want := history(), "13 7 6; 1 1 0; 5 0 5"; got != want {
		t.Errorf("after the back-off: %q, want %q", got, want)
	}
	var by string
	if err := q.Pool.QueryRow(ctx, "SELECT args->>'by' FROM river_job WHERE args->>'mode' = 'automatic' ORDER BY id DESC LIMIT 1").Scan(&by); err != nil || by != "retry" {
		t.Errorf("the last automatic run was asked for by %q (%v), want retry", by, err)
	}
	// Quiet: the next back-off is two minutes away, and nothing changed.
	time.Sleep(500 * time.Millisecond)
	if n := countJobs(t, q, "acme"); n.automatic != 4 {
		t.Errorf("%d automatic jobs with nothing changed and nothing due, want 4: %s", n.automatic, jobList(t, q))
	}
}
