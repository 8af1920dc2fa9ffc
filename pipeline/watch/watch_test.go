package watch_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
	"github.com/oimconnect/oimconnect/pipeline/plan"
	"github.com/oimconnect/oimconnect/pipeline/watch"
)

// fastClock is a clock the test moves by hand.
type fastClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func (c *fastClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fastClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, waiter{c.now.Add(d), ch})
	return ch
}

// advance moves the clock once someone waits on it, and fires what is due.
func (c *fastClock) advance(t *testing.T, d time.Duration) {
	t.Helper()
	for i := 0; ; i++ {
		c.mu.Lock()
		n := len(c.waiters)
		c.mu.Unlock()
		if n > 0 {
			break
		}
		if i > 500 {
			t.Fatal("nobody waits on the clock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

func TestServeRunsScheduledJobs(t *testing.T) {
	path := fixture.DB(t)
	cfg, err := config.WithSettings(map[string]any{
		"schedules": map[string]any{"vendor_accounts": map[string]any{"frequency": "Hourly", "at": "00:15"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.DB = path
	db := fixture.Open(t, path)
	if _, err := db.Exec("INSERT INTO oim.supplier_site (id, name, updated_at) VALUES ('SS-1', 'Scheduled Supplier', '2024-05-01')"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	clock := &fastClock{now: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)}
	jobs := make(chan []pipeline.Summary, 4)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- watch.Serve(ctx, cfg, fixture.Quiet, watch.Options{
			Schedules: true, Clock: clock,
			Report: func(mode string, sums []pipeline.Summary, err error) {
				if mode != pipeline.ModeScheduled || err != nil {
					t.Errorf("report %s %v %v", mode, sums, err)
				}
				jobs <- sums
			},
		})
	}()
	select {
	case s := <-jobs:
		t.Fatalf("a job ran before its time: %v", s)
	case <-time.After(200 * time.Millisecond):
	}
	clock.advance(t, 15*time.Minute) // 10:15: the job fires
	first := <-jobs
	if len(first) != 1 || first[0].Flow != "vendor-accounts" || first[0].Documents != 1 {
		t.Fatalf("the 10:15 job creates the account: %v", first)
	}
	clock.advance(t, time.Hour) // 11:15: again, with nothing left to do
	if again := <-jobs; again[0].Selected != 0 {
		t.Errorf("the 11:15 job finds nothing new: %v", again)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	db = fixture.Open(t, path)
	defer db.Close()
	got := fixture.Dump(t, db, "SELECT mode, flow, documents FROM connector.run ORDER BY started_at")
	if want := "scheduled\tvendor-accounts\t1\nscheduled\tvendor-accounts\t0\n"; !strings.Contains(got, want) {
		t.Errorf("run history:\n%s\nwant the rows\n%s", got, want)
	}
}

// offsetClock is the wall clock moved ahead by hand, for back-offs.
type offsetClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *offsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *offsetClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

func (c *offsetClock) skip(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// write changes the DuckDB file as OIM would: from another process (DuckDB's lock on
// the file keeps processes apart, not two databases of one process), waiting while the
// watcher holds it. The test binary itself is that process (TestHelperWriter).
func write(t *testing.T, path, stmt string) {
	t.Helper()
	for i := 0; ; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$")
		cmd.Env = append(os.Environ(), "WATCH_TEST_DB="+path, "WATCH_TEST_SQL="+stmt)
		out, err := cmd.CombinedOutput()
		if err == nil {
			return
		}
		if !strings.Contains(string(out), "Could not set lock") || i > 200 {
			t.Fatalf("write: %v\n%s", err, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHelperWriter is the other process of write.
func TestHelperWriter(t *testing.T) {
	path := os.Getenv("WATCH_TEST_DB")
	if path == "" {
		t.Skip("the writer process of TestWatchRetriesFollowChange")
	}
	db, err := sql.Open("duckdb", path)
	if err == nil {
		_, err = db.Exec(os.Getenv("WATCH_TEST_SQL"))
		db.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// A watcher does nothing while nothing changes, and never wakes itself: its own export
// leaves it idle. A failed record is tried again when it changes, the others only when
// their back-off ends.
func TestWatchRetriesFollowChange(t *testing.T) {
	path := fixture.DB(t, "sales-invoices.sql")
	cfg, err := config.WithSettings(map[string]any{
		"default_company": "Acme UK Ltd", "sales_invoice_line_limit": 3, "tax_summary_line": true,
		"automation": map[string]any{"poll_interval": "20ms", "flows": map[string]any{
			"vendor_accounts": map[string]any{"disabled": true}, "payable_invoices": map[string]any{"disabled": true},
			"payable_credit_notes": map[string]any{"disabled": true}, "sales_credit_notes": map[string]any{"disabled": true},
			"journals": map[string]any{"disabled": true}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.DB = path
	clock := &offsetClock{}
	runs := make(chan pipeline.Summary, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- watch.Serve(ctx, cfg, fixture.Quiet, watch.Options{Watch: true, Clock: clock,
			Report: func(mode string, sums []pipeline.Summary, err error) {
				if err != nil {
					t.Errorf("watch: %v", err)
				}
				for _, s := range sums {
					runs <- s
				}
			}})
	}()
	next := func(what string) pipeline.Summary {
		t.Helper()
		select {
		case s := <-runs:
			return s
		case <-time.After(10 * time.Second):
			t.Fatalf("no run: %s", what)
		}
		return pipeline.Summary{}
	}
	first := next("the first poll exports")
	if first.Exported != 7 || first.Errors != 6 {
		t.Fatalf("first poll: %s, want 7 exported and 6 failures", first)
	}
	// Idle: dozens of polls, no run (not even of the six failures), no write.
	time.Sleep(100 * time.Millisecond)

	state := fileState(t, path)
	time.Sleep(600 * time.Millisecond)
	select {
	case s := <-runs:
		t.Fatalf("a run while nothing changed: %s", s)
	default:
	}
	if fileState(t, path) != state {
		t.Fatal("the idle watcher wrote the file")
	}
	// OIM corrects one failed invoice: it alone is tried again, and exported.
	write(t, path, "UPDATE oim.invoice SET sales_order_id = 'SO-1', shipment_id = 'SH-DONE' WHERE id = 'INV-NOCO'")
	fixed := next("the corrected invoice is exported")
	if fixed.Exported != 1 || fixed.Errors != 0 {
		t.Fatalf("after the correction: %s, want the one invoice exported and the unchanged failures left alone", fixed)
	}
	// A minute later the other failures are due, and tried again.
	clock.skip(2 * time.Minute)
	retried := next("the back-off ends")
	if retried.Errors != 5 || retried.Exported != 0 {
		t.Fatalf("after the back-off: %s, want the five failures tried again", retried)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	db := fixture.Open(t, path)
	defer db.Close()
	got := fixture.Dump(t, db, "SELECT mode, selected, exported, errors FROM connector.run ORDER BY started_at")
	if want := "automatic\t13\t7\t6\nautomatic\t1\t1\t0\nautomatic\t5\t0\t5\n"; !strings.Contains(got, want) || strings.Count(got, "automatic") != 3 {
		t.Errorf("history: only the runs that did something:\n%s\nwant\n%s", got, want)
	}
}

func fileState(t *testing.T, path string) string {
	t.Helper()
	var out string
	for _, p := range []string{path, path + ".wal"} {
		if st, err := os.Stat(p); err == nil {
			out += fmt.Sprintf("%s %d %d;", p, st.Size(), st.ModTime().UnixNano())
		}
	}
	return out
}

// Schedules saved while serve runs (the console) take effect at once: a disabled job
// does not run, a changed time is the new one, and Serve with nothing scheduled stays
// up when Idle.
func TestServeFollowsScheduleChanges(t *testing.T) {
	path := fixture.DB(t)
	cfg, err := config.WithSettings(map[string]any{
		"schedules": map[string]any{"vendor_accounts": map[string]any{"frequency": "Hourly", "at": "00:15", "disabled": true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.DB = path
	shared := pipeline.NewShared(cfg, fixture.Quiet)
	clock := &fastClock{now: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)}
	jobs := make(chan []pipeline.Summary, 4)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- watch.Serve(ctx, cfg, fixture.Quiet, watch.Options{Schedules: true, Idle: true, Clock: clock, Engine: shared,
			Report: func(mode string, sums []pipeline.Summary, err error) { jobs <- sums }})
	}()
	time.Sleep(200 * time.Millisecond)
	clock.mu.Lock()
	waiting := len(clock.waiters)
	clock.mu.Unlock()
	if waiting != 0 {
		t.Fatalf("a disabled job waits for its time")
	}

	next := *cfg
	next.Settings.Schedules = map[string]config.Schedule{"vendor_accounts": {Frequency: "Hourly", At: "00:30"}}
	shared.Reconfigure(&next)
	clock.advance(t, 15*time.Minute) // 10:15: the old time, nothing
	select {
	case s := <-jobs:
		t.Fatalf("the job ran at its old time: %v", s)
	case <-time.After(200 * time.Millisecond):
	}
	clock.advance(t, 15*time.Minute) // 10:30: the new time
	select {
	case s := <-jobs:
		if len(s) != 1 || s[0].Flow != "vendor-accounts" {
			t.Errorf("the job at its new time: %v", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the job did not run at its new time")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// stopAt stops the process (cancels) when the run reaches a flow.
type stopAt struct {
	flow   string
	cancel context.CancelFunc
}

func (s stopAt) Transform(ctx context.Context, _ catalog.Execer, _ *sql.Conn, p *plan.Plan) (plan.Leftovers, error) {
	if p.Flow == s.flow {
		s.cancel()
		return plan.Leftovers{}, ctx.Err()
	}
	return plan.Leftovers{}, nil
}

// Stopped in the middle of a pass (Ctrl-C, SIGTERM), watch still reports the flows the
// pass committed before the one it rolled back.
func TestWatchStoppedMidPassReportsWhatCommitted(t *testing.T) {
	path := fixture.DB(t, "sales-invoices.sql")
	write(t, path, "INSERT INTO oim.supplier_site (id, name, active, updated_at) VALUES ('SS-STOP', 'Stopped Parts Co', true, now())")
	cfg, err := config.WithSettings(map[string]any{
		"default_company": "Acme UK Ltd", "sales_invoice_line_limit": 3, "tax_summary_line": true,
		"automation": map[string]any{"flows": map[string]any{
			"payable_invoices": map[string]any{"disabled": true}, "payable_credit_notes": map[string]any{"disabled": true},
			"sales_credit_notes": map[string]any{"disabled": true}, "journals": map[string]any{"disabled": true}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.DB = path
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var reported []pipeline.Summary
	err = watch.Serve(ctx, cfg, fixture.Quiet, watch.Options{Watch: true, Clock: watch.RealClock,
		Transform: stopAt{flow: "sales-invoices", cancel: cancel},
		Report: func(mode string, sums []pipeline.Summary, err error) {
			if err != nil {
				t.Errorf("watch reported an error: %v", err)
			}
			reported = append(reported, sums...)
		}})
	if err != nil {
		t.Fatal(err)
	}
	if len(reported) != 1 || reported[0].Flow != "vendor-accounts" || reported[0].Exported != 1 {
		t.Errorf("reported %v, want the vendor account committed before the stop", reported)
	}
	db := fixture.Open(t, path)
	defer db.Close()
	if got := fixture.Dump(t, db, "SELECT (SELECT count(*) FROM acct.account WHERE name = 'Stopped Parts Co'), (SELECT count(*) FROM acct.sales_invoice)"); !strings.Contains(got, "\n1\t0\n") {
		t.Errorf("vendor accounts and sales invoices after the stop: %q, want the account committed and the invoices rolled back", got)
	}
}
