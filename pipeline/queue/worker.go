package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/oimconnect/oimconnect/pipeline/tenant"
)

// Options configure a worker.
type Options struct {
	// Concurrency is how many jobs the worker runs at once, 1 to MaxConcurrency.
	Concurrency int
	// Lease is how long a job may run: then it is cancelled (rolled back) and retried,
	// and a job whose worker vanished (killed, its machine lost) is run again by
	// another once its lease has passed (River's rescuer looks every 30 seconds).
	Lease time.Duration
	// ShutdownTimeout is how long a stopping worker lets its jobs finish before it
	// cancels them (they are rolled back and handed back to the queue).
	ShutdownTimeout time.Duration
	// TimeScale > 1 runs the schedules' clock that many times as fast (tests, demos).
	TimeScale float64
	// Poll is how often the leader looks at sources without notifications and at
	// the schedules.
	Poll time.Duration
	// Retry is the first retry's delay, doubled per attempt up to an hour.
	Retry time.Duration
}

// MaxConcurrency is the most jobs one worker runs at once: River's bound, checked
// with the other flags so that a worker refuses more before it connects, not with
// River's error once it has.
const MaxConcurrency = river.QueueNumWorkersMax

// Worker works the queue's jobs for a set of tenants; while it leads, it also
// schedules and watches the tenants' sources.
type Worker struct {
	ID        string
	q         *Queue
	tenants   *tenant.Set
	log       *slog.Logger
	opt       Options
	pollEvery time.Duration
	clock     Clock

	// backoff tells the time failed records' back-offs end by: the wall clock, also
	// under --time-scale, which speeds up schedules only (an hour's back-off in 12
	// seconds would retry every failure of every tenant all the time).
	backoff Clock

	mu         sync.Mutex
	tableReads map[string]map[string][]string // tenant -> flow -> oim tables read
	retried    map[string]time.Time           // tenant -> the latest back-off end a run was enqueued for (dueRetries)
}

// NewWorker connects to the queue as a worker of the tenants.
func NewWorker(ctx context.Context, url string, tenants *tenant.Set, log *slog.Logger, o Options) (*Worker, error) {
	host, _ := os.Hostname()
	w := &Worker{ID: fmt.Sprintf("%s-%d", host, os.Getpid()), tenants: tenants, log: log, opt: o,
		pollEvery: o.Poll, tableReads: map[string]map[string][]string{}, retried: map[string]time.Time{}, backoff: wall{}}
	if w.pollEvery <= 0 {
		w.pollEvery = time.Second
	}
	if o.Concurrency < 1 {
		o.Concurrency = 1
	}
	retry := o.Retry
	if retry <= 0 {
		retry = time.Second
	}
	q, err := connect(ctx, url, log, func(c *river.Config) {
		c.ID = w.ID
		c.Workers = registry(w)
		c.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: o.Concurrency}}
		c.JobTimeout = o.Lease
		c.RescueStuckJobsAfter = o.Lease
		c.MaxAttempts = maxAttempts
		c.RetryPolicy = backoff{first: retry}
		c.CompletedJobRetentionPeriod = 7 * 24 * time.Hour
		c.FetchPollInterval = time.Second
	})
	if err != nil {
		return nil, err
	}
	w.q = q
	if w.clock, err = q.NewClock(ctx, o.TimeScale); err != nil {
		q.Close()
		return nil, err
	}
	return w, nil
}

// Run works jobs until ctx ends, then stops: the jobs in progress get
// ShutdownTimeout to finish; those still running then are cancelled, rolled back and
// handed back to the queue (retried by another worker).
func (w *Worker) Run(ctx context.Context) error {
	defer w.q.Close()
	if err := w.q.register(ctx, w.tenants); err != nil {
		return err
	}
	// The client's own context outlives ctx: stopping is Stop's, not a cancellation.
	if err := w.q.Client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start working: %w", err)
	}
	w.log.Info("worker started", "worker", w.ID, "tenants", len(w.tenants.Tenants), "concurrency", w.opt.Concurrency, "lease", w.opt.Lease)
	lead := make(chan struct{})
	go func() {
		defer close(lead)
		w.lead(ctx, w.leaderDuties)
	}()
	<-ctx.Done()
	<-lead
	w.log.Info("worker stopping: finishing the jobs in progress", "timeout", w.opt.ShutdownTimeout)
	stop, cancel := context.WithTimeout(context.Background(), w.opt.ShutdownTimeout)
	defer cancel()
	err := w.q.Client.Stop(stop)
	if err == nil {
		w.log.Info("worker stopped")
		return nil
	}
	w.log.Warn("jobs still running after the shutdown timeout: cancelling them (rolled back, handed back to the queue)")
	hard, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel2()
	if err := w.q.Client.StopAndCancel(hard); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	return nil
}

// leaderDuties schedule and watch the sources while this worker leads.
func (w *Worker) leaderDuties(ctx context.Context) {
	go w.watchSources(ctx)
	for ctx.Err() == nil {
		if n, err := w.q.Schedule(ctx, w.tenants, w.clock); err != nil && ctx.Err() == nil {
			w.log.Warn("schedules", "error", err)
		} else if n > 0 {
			w.log.Debug("scheduled runs enqueued", "jobs", n)
		}
		select {
		case <-ctx.Done():
		case <-time.After(min(w.pollEvery, time.Second)):
		}
	}
}

// register records the tenants this worker serves and their flows, for the commands
// that enqueue (which check the tenant and its flows without reading its files).
func (q *Queue) register(ctx context.Context, tenants *tenant.Set) error {
	for _, name := range tenants.Names() {
		t := tenants.Tenants[name]
		var flows []FlowInfo
		for _, f := range t.Specs.Ordered() {
			on, _ := t.Config.Settings.Automation.Automated(f.Name)
			flows = append(flows, FlowInfo{Name: f.Name, Dated: f.Source.Date != "", Automated: on})
		}
		data, _ := json.Marshal(flows)
		if _, err := q.Pool.Exec(ctx, `INSERT INTO oimconnect.tenant (name, file, flows, updated_at) VALUES ($1, $2, $3, now())
			ON CONFLICT (name) DO UPDATE SET file = EXCLUDED.file, flows = EXCLUDED.flows, updated_at = now()`, name, t.File, data); err != nil {
			return fmt.Errorf("register tenant %s: %w", name, err)
		}
	}
	return nil
}

// FlowInfo is what the queue knows of a tenant's flow.
type FlowInfo struct {
	Name      string `json:"name"`
	Dated     bool   `json:"dated"`
	Automated bool   `json:"automated"`
}

// backoff retries after first, doubling per attempt up to an hour, with jitter.
type backoff struct{ first time.Duration }

func (b backoff) NextRetry(job *rivertype.JobRow) time.Time {
	d := b.first << min(job.Attempt-1, 20)
	if d > time.Hour || d <= 0 {
		d = time.Hour
	}
	d += time.Duration(rand.Int64N(int64(d)/4 + 1))
	return time.Now().Add(d)
}

var _ = errors.New
