package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
	"github.com/oimconnect/oimconnect/pipeline/tenant"
)

// fixed is a clock the test sets.
type fixed struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fixed) Now() time.Time      { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fixed) add(d time.Duration) { f.mu.Lock(); f.t = f.t.Add(d); f.mu.Unlock() }

// newQueue is a queue database prepared by Init, and a connection to it.
func newQueue(t *testing.T) (string, *Queue) {
	t.Helper()
	url := fixture.Postgres(t)
	if _, err := Init(context.Background(), url); err != nil {
		t.Fatal(err)
	}
	return url, connectTo(t, url)
}

func connectTo(t *testing.T, url string) *Queue {
	t.Helper()
	q, err := Connect(context.Background(), url, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	return q
}

// startWorker starts a worker of the tenants, polling every 20ms; edit may change it
// before it runs. It is stopped when the test ends.
func startWorker(t *testing.T, url string, set *tenant.Set, concurrency int, edit func(*Worker)) *Worker {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := NewWorker(ctx, url, set, slog.New(slog.DiscardHandler), Options{Concurrency: concurrency, Lease: time.Hour,
		ShutdownTimeout: 10 * time.Second, Poll: 20 * time.Millisecond, Retry: time.Second})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if edit != nil {
		edit(w)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-stopped; err != nil {
			t.Error(err)
		}
	})
	return w
}

// oimSource is a PostgreSQL source prepared as init --source prepares one (the
// contract's schemas, with the rows of the DuckDB file from when given; the change
// triggers), and a connection to it named as OIM's, not the connector's
// (postgres.Pending tells them apart).
func oimSource(t *testing.T, from string) (string, *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	src := fixture.Postgres(t)
	if from != "" {
		fixture.LoadPostgres(t, src, from, "oim", "acct")
	}
	conn, err := postgres.Connect(ctx, src+"&application_name=oim")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if err := postgres.Init(ctx, conn, "oim", "acct"); err != nil {
		t.Fatal(err)
	}
	if err := postgres.Notify(ctx, conn); err != nil {
		t.Fatal(err)
	}
	return src, conn
}

func hourly(at string) *tenant.Set {
	cfg := &config.Config{Settings: config.Settings{Schedules: map[string]config.Schedule{
		"journals": {Frequency: "Hourly", At: at}, "sales_invoices": {Frequency: "Daily", At: "02:00"}}}}
	return &tenant.Set{Dir: "tenants", Tenants: map[string]*tenant.Tenant{"acme": {Name: "acme", Config: cfg}}}
}

// scheduledJobs counts the scheduled runs per due time of a flow.
func scheduledJobs(t *testing.T, q *Queue, flow string) map[string]int {
	t.Helper()
	rows, err := q.Pool.Query(context.Background(), `SELECT args->>'due', count(*) FROM river_job
		WHERE kind = $1 AND args->>'mode' = 'scheduled' AND args->'flows'->>0 = $2 GROUP BY 1`, KindRun, flow)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var due string
		var n int
		if err := rows.Scan(&due, &n); err != nil {
			t.Fatal(err)
		}
		out[due] = n
	}
	return out
}

// Each due time becomes one job, whichever of two workers schedules it and however
// often: a flow first seen starts from now, schedulers running at the same time take
// turns, a restarted one adds nothing, and after a downtime each missed due time is
// enqueued once.
func TestScheduleExactlyOncePerDueTime(t *testing.T) {
	t.Parallel()
	url, q1 := newQueue(t)
	q2 := connectTo(t, url)
	ctx := context.Background()
	tenants := hourly("00:30")
	clock := &fixed{t: time.Date(2025, 3, 10, 9, 40, 0, 0, time.UTC)}
	if n, err := q1.Schedule(ctx, tenants, clock); err != nil || n != 0 {
		t.Fatalf("first sight: %d jobs, %v (want none: schedules start from now)", n, err)
	}
	clock.add(3 * time.Hour) // 12:40: due 10:30, 11:30, 12:30
	var wg sync.WaitGroup
	counts := make([]int, 8)
	for i := range counts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := q1
			if i%2 == 1 {
				q = q2
			}
			n, err := q.Schedule(ctx, tenants, clock)
			if err != nil {
				t.Error(err)
			}
			counts[i] = n
		}()
	}
	wg.Wait()
	total := 0
	for _, n := range counts {
		total += n
	}
	jobs := scheduledJobs(t, q1, "journals")
	want := []string{"2025-03-10T10:30:00Z", "2025-03-10T11:30:00Z", "2025-03-10T12:30:00Z"}
	if total != 3 || len(jobs) != 3 {
		t.Fatalf("8 schedulers at once inserted %d jobs: %v, want one per due time %v", total, jobs, want)
	}
	for _, due := range want {
		if jobs[due] != 1 {
			t.Errorf("due %s: %d jobs", due, jobs[due])
		}
	}
	// A restart (a new connection, as a new leader would have) adds nothing for the
	// same time, and enqueues each due time missed during a downtime once.
	q3 := connectTo(t, url)
	if n, err := q3.Schedule(ctx, tenants, clock); err != nil || n != 0 {
		t.Errorf("after a restart: %d jobs, %v", n, err)
	}
	clock.add(2*time.Hour + 5*time.Minute) // 14:45: 13:30 and 14:30 missed
	if n, err := q3.Schedule(ctx, tenants, clock); err != nil || n != 2 {
		t.Errorf("after a downtime: %d jobs, %v (want the 2 missed due times)", n, err)
	}
	jobs = scheduledJobs(t, q1, "journals")
	if len(jobs) != 5 || jobs["2025-03-10T13:30:00Z"] != 1 || jobs["2025-03-10T14:30:00Z"] != 1 {
		t.Errorf("jobs %v", jobs)
	}
	// The daily flow's first due time (02:00 the next day) has not come.
	if daily := scheduledJobs(t, q1, "sales-invoices"); len(daily) != 0 {
		t.Errorf("daily: %v", daily)
	}
	// Inserting a due time again straight through River is refused as a duplicate
	// too, even once its job is done.
	if _, err := q1.Pool.Exec(ctx, "UPDATE river_job SET state = 'completed', finalized_at = now() WHERE kind = $1", KindRun); err != nil {
		t.Fatal(err)
	}
	a := RunFlow{Tenant: "acme", Flows: []string{"journals"}, Mode: "scheduled", Due: "2025-03-10T10:30:00Z", By: "someone else"}
	r, err := q1.Client.Insert(ctx, a, a.insertOpts())
	if err != nil || !r.UniqueSkippedAsDuplicate {
		t.Errorf("a due time inserted again: duplicate %v, %v", r != nil && r.UniqueSkippedAsDuplicate, err)
	}
}

// Automatic runs coalesce: while one waits, more changes add nothing; while equal ones
// run, one more waits.
func TestAutomaticRunsCoalesce(t *testing.T) {
	t.Parallel()
	_, q := newQueue(t)
	ctx := context.Background()
	flows := []string{"vendor-accounts", "payable-invoices"}
	first, err := q.RunAutomatic(ctx, "acme", flows, "event oim.supplier_site")
	if err != nil || first.Duplicate {
		t.Fatalf("first: %+v %v", first, err)
	}
	for i := 0; i < 3; i++ {
		e, err := q.RunAutomatic(ctx, "acme", flows, "event")
		if err != nil || !e.Duplicate || e.ID != first.ID {
			t.Fatalf("while one waits: %+v %v", e, err)
		}
	}
	if _, err := q.Pool.Exec(ctx, "UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now() WHERE id = $1", first.ID); err != nil {
		t.Fatal(err)
	}
	again, err := q.RunAutomatic(ctx, "acme", flows, "event")
	if err != nil || again.Duplicate || again.ID == first.ID {
		t.Fatalf("while one runs, one more: %+v %v", again, err)
	}
	if e, err := q.RunAutomatic(ctx, "acme", flows, "event"); err != nil || e.ID != again.ID {
		t.Fatalf("and only one: %+v %v", e, err)
	}
	// Both running (the first one's worker was killed: it stays running until its
	// lease ends): a change needs a third.
	if _, err := q.Pool.Exec(ctx, "UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now() WHERE id = $1", again.ID); err != nil {
		t.Fatal(err)
	}
	third, err := q.RunAutomatic(ctx, "acme", flows, "event")
	if err != nil || third.Duplicate || third.ID == again.ID || third.ID == first.ID {
		t.Fatalf("while two run, a third: %+v %v", third, err)
	}
	if e, _ := q.RunAutomatic(ctx, "acme", flows[:1], "event"); e.Duplicate {
		t.Errorf("another set of flows is another run")
	}
}

// A mistake cancels the job with its reason (never retried); an unreachable database
// or a stopping worker is retried; a run that failed midway is retried a few times,
// then cancelled with its reason.
func TestOutcome(t *testing.T) {
	w := &Worker{log: slog.New(slog.DiscardHandler)}
	job := func(attempt int) *rivertype.JobRow { return &rivertype.JobRow{ID: 7, Attempt: attempt} }
	spec := fault.Inputf("specs/sales-invoices.yaml:12:3: unknown field")
	down := &fault.UnavailableError{Err: errors.New("connect to postgres://u:xxxxx@db/erp: refused")}
	midway := fmt.Errorf("flow journals: write: deadlock detected")
	cancelled := func(err error) bool {
		var c *rivertype.JobCancelError
		return errors.As(err, &c)
	}
	if err := w.outcome(job(1), "acme", spec); !cancelled(err) || !fault.IsInput(err) {
		t.Errorf("a spec error: %v, want the job cancelled with it", err)
	}
	for _, e := range []error{down, context.Canceled, fmt.Errorf("stopping: %w", context.DeadlineExceeded)} {
		if err := w.outcome(job(9), "acme", e); cancelled(err) || !errors.Is(err, e) {
			t.Errorf("%v: %v, want it retried", e, err)
		}
	}
	if err := w.outcome(job(1), "acme", midway); cancelled(err) || err != midway {
		t.Errorf("midway, first attempt: %v, want a retry", err)
	}
	if err := w.outcome(job(midwayAttempts), "acme", midway); !cancelled(err) || !errors.Is(err, midway) {
		t.Errorf("midway, attempt %d: %v, want the job cancelled with its reason", midwayAttempts, err)
	}
	if err := w.outcome(job(1), "acme", nil); err != nil {
		t.Errorf("success: %v", err)
	}
	var _ river.JobArgs = RunFlow{}
}

// The retry back-off doubles from the first delay, up to an hour.
func TestBackoff(t *testing.T) {
	b := backoff{first: time.Second}
	for attempt, want := range map[int]time.Duration{1: time.Second, 3: 4 * time.Second, 30: time.Hour} {
		d := time.Until(b.NextRetry(&rivertype.JobRow{Attempt: attempt}))
		if d < want-100*time.Millisecond || d > want+want/4+100*time.Millisecond {
			t.Errorf("attempt %d: retry in %s, want %s to %s", attempt, d, want, want+want/4)
		}
	}
}
