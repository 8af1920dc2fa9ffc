package console

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/plan"
)

// A job is an export or a dry run started in the console. It runs in the background on
// the process's one engine, so the console stays responsive however long it takes, and
// takes its turn there with every other run (watch, schedules, the command line's
// through the database's own lock): never two exports of a flow at once. Its progress
// is the step the engine is at.
type job struct {
	ID      string
	Flow    string
	IDs     []string
	DryRun  bool
	By      string
	Started time.Time

	mu    sync.Mutex
	step  string // the step running ("" before the first)
	steps int
	ended time.Time
	sums  []pipeline.Summary
	err   string
}

// jobView is a job as a page shows it.
type jobView struct {
	ID, Flow, By, Title, Step string
	IDs                       []string
	DryRun, Running           bool
	Steps                     int
	Started, Ended            time.Time
	Elapsed                   time.Duration
	Summaries                 []pipeline.Summary
	Err                       string
}

// Failures are a job's first failures, across its flows.
func (v jobView) Failures() []pipeline.Failure {
	var out []pipeline.Failure
	for _, s := range v.Summaries {
		for _, f := range s.Failures {
			if len(out) == maxShownFailures {
				return out
			}
			out = append(out, f)
		}
	}
	return out
}

// Errors counts a job's failed records.
func (v jobView) Errors() int64 {
	var n int64
	for _, s := range v.Summaries {
		n += s.Errors
	}
	return n
}

const maxShownFailures = 50

func (j *job) progress(flow, step string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.step = flow + ": " + plan.Words(step)
	j.steps++
}

func (j *job) view(now time.Time) jobView {
	j.mu.Lock()
	defer j.mu.Unlock()
	v := jobView{ID: j.ID, Flow: j.Flow, By: j.By, IDs: j.IDs, DryRun: j.DryRun, Step: j.step, Steps: j.steps,
		Started: j.Started, Ended: j.ended, Running: j.ended.IsZero(), Summaries: j.sums, Err: j.err}
	what := "Export of " + j.Flow
	if len(j.IDs) > 0 {
		what = fmt.Sprintf("Export of %s (%s)", j.IDs[0], j.Flow)
	}
	if j.DryRun {
		what = "Dry run of " + j.Flow
	}
	v.Title = what
	end := now
	if !v.Running {
		end = j.ended
	}
	v.Elapsed = end.Sub(j.Started)
	if v.Running && v.Step == "" {
		v.Step = "waiting for its turn (another run is in progress)"
	}
	return v
}

// jobs are the console's exports and dry runs: those running, and the latest ended.
type jobs struct {
	now  func() time.Time
	base context.Context // jobs end with it (the console stopping)

	mu      sync.Mutex
	all     []*job          // oldest first
	running map[string]*job // by flow
	wg      sync.WaitGroup
}

// keptJobs is how many ended jobs are remembered.
const keptJobs = 50

func newJobs(now func() time.Time) *jobs {
	return &jobs{now: now, base: context.Background(), running: map[string]*job{}}
}

// busyError says a flow's export is running already.
type busyError struct{ running jobView }

func (e *busyError) Error() string {
	return fmt.Sprintf("%s is running already (started by %s at %s): wait for it to finish", e.running.Title, e.running.By, e.running.Started.Local().Format("15:04:05"))
}

// start runs an export (or dry run) of one flow in the background, unless one of the
// same flow is running; done is told when it ends.
func (j *jobs) start(flow string, ids []string, dryRun bool, by string, run func(ctx context.Context, jb *job) ([]pipeline.Summary, error), done func(*job)) (*job, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if r, ok := j.running[flow]; ok {
		return nil, &busyError{running: r.view(j.now())}
	}
	jb := &job{ID: randomToken()[:12], Flow: flow, IDs: ids, DryRun: dryRun, By: by, Started: j.now()}
	j.running[flow] = jb
	j.all = append(j.all, jb)
	if len(j.all) > keptJobs {
		j.all = j.all[len(j.all)-keptJobs:]
	}
	j.wg.Add(1)
	go func() {
		defer j.wg.Done()
		sums, err := run(j.base, jb)
		jb.mu.Lock()
		jb.sums, jb.ended = sums, j.now()
		if err != nil {
			jb.err = err.Error()
		}
		jb.mu.Unlock()
		j.mu.Lock()
		delete(j.running, flow)
		j.mu.Unlock()
		done(jb)
	}()
	return jb, nil
}

// get finds a job.
func (j *jobs) get(id string) (*job, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, jb := range j.all {
		if jb.ID == id {
			return jb, true
		}
	}
	return nil, false
}

// list is the jobs, newest first.
func (j *jobs) list() []jobView {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.now()
	out := make([]jobView, 0, len(j.all))
	for i := len(j.all) - 1; i >= 0; i-- {
		out = append(out, j.all[i].view(now))
	}
	return out
}

// runningFor is the job running for a flow, if any.
func (j *jobs) runningFor(flow string) (jobView, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if r, ok := j.running[flow]; ok {
		return r.view(j.now()), true
	}
	return jobView{}, false
}

// wait waits for every job to end.
func (j *jobs) wait() { j.wg.Wait() }
