package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/oimconnect/oimconnect/pipeline/fault"
)

// Job is a job as `oimconnect queue` shows it.
type Job struct {
	ID       int64
	State    string
	Kind     string
	Tenant   string
	What     string // what it does, in a line
	Attempt  int
	Error    string // the last attempt's error: why it failed, was cancelled or is retried
	Created  string
	Output   *Output
	Args     []byte
	Finished bool
}

// States are River's job states, in the order a job goes through them.
var States = []string{"pending", "scheduled", "available", "running", "retryable", "completed", "cancelled", "discarded"}

// CheckStates refuses a name that is no job state, listing the states: a command
// checks its --state flags with it before it connects or prints anything.
func CheckStates(states []string) error {
	for _, s := range states {
		if !known(s) {
			return fault.Inputf("no job state %q (states: %s)", s, strings.Join(States, ", "))
		}
	}
	return nil
}

// Filter selects jobs to list.
type Filter struct {
	States []string
	Tenant string
	Kinds  []string
	Limit  int
}

// List lists jobs, newest first.
func (q *Queue) List(ctx context.Context, f Filter) ([]Job, error) {
	p := river.NewJobListParams().OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(min(max(f.Limit, 1), 10000))
	if len(f.States) > 0 {
		if err := CheckStates(f.States); err != nil {
			return nil, err
		}
		var states []rivertype.JobState
		for _, s := range f.States {
			states = append(states, rivertype.JobState(s))
		}
		p = p.States(states...)
	}
	if len(f.Kinds) > 0 {
		p = p.Kinds(f.Kinds...)
	}
	if f.Tenant != "" {
		m, _ := json.Marshal(map[string]string{"tenant": f.Tenant})
		p = p.Metadata(string(m))
	}
	res, err := q.Client.JobList(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	out := make([]Job, 0, len(res.Jobs))
	for _, j := range res.Jobs {
		out = append(out, jobOf(j))
	}
	return out, nil
}

func known(state string) bool {
	for _, s := range States {
		if s == state {
			return true
		}
	}
	return false
}

func jobOf(j *rivertype.JobRow) Job {
	var meta struct {
		Tenant string `json:"tenant"`
	}
	_ = json.Unmarshal(j.Metadata, &meta)
	out := Job{ID: j.ID, State: string(j.State), Kind: j.Kind, Tenant: meta.Tenant, What: describe(j.Kind, j.EncodedArgs),
		Attempt: j.Attempt, Created: j.CreatedAt.Format("2006-01-02 15:04:05"), Args: j.EncodedArgs, Finished: j.FinalizedAt != nil}
	if n := len(j.Errors); n > 0 {
		out.Error = j.Errors[n-1].Error
	}
	if data := j.Output(); len(data) > 0 {
		var o Output
		if json.Unmarshal(data, &o) == nil {
			out.Output = &o
		}
	}
	return out
}

// Counts are how many jobs are in each state.
func (q *Queue) Counts(ctx context.Context, tenantName string) (map[string]int, error) {
	rows, err := q.Pool.Query(ctx, `SELECT state::text, count(*) FROM river_job
		WHERE $1 = '' OR metadata->>'tenant' = $1 GROUP BY 1`, tenantName)
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}

// Retry makes a job available again now: a failed, cancelled or discarded one is
// retried (with its attempts so far), a waiting one runs at once. A completed one is
// left as it is (River would run it again), as is a running one.
func (q *Queue) Retry(ctx context.Context, id int64) (Job, error) {
	j, err := q.Client.JobGet(ctx, id)
	if err != nil {
		return Job{}, notFound(id, err)
	}
	if j.State == rivertype.JobStateCompleted || j.State == rivertype.JobStateRunning {
		return jobOf(j), nil
	}
	if j, err = q.Client.JobRetry(ctx, id); err != nil {
		return Job{}, notFound(id, err)
	}
	return jobOf(j), nil
}

// Cancel cancels a job: one waiting never runs; one running is told to stop, and its
// run rolls back the batch in progress (what was committed stays, as after Ctrl-C).
func (q *Queue) Cancel(ctx context.Context, id int64) (Job, error) {
	j, err := q.Client.JobCancel(ctx, id)
	if err != nil {
		return Job{}, notFound(id, err)
	}
	return jobOf(j), nil
}

func notFound(id int64, err error) error {
	if err == river.ErrNotFound || err == rivertype.ErrNotFound {
		return fault.Inputf("no job %d in the queue", id)
	}
	return err
}

// Partition is one partition of a backfill in the queue.
type Partition struct {
	Name string
	Job  Job
}

// BackfillStatus lists the backfills of a tenant in the queue, each with its
// partitions in date order and their jobs (the latest job of each partition).
func (q *Queue) BackfillStatus(ctx context.Context, tenantName string) (map[string][]Partition, error) {
	jobs, err := q.List(ctx, Filter{Tenant: tenantName, Kinds: []string{KindPartition}, Limit: 10000})
	if err != nil {
		return nil, err
	}
	out := map[string][]Partition{}
	seen := map[string]bool{}
	for _, j := range jobs { // newest first: the latest job of each partition wins
		var a BackfillPartition
		if err := json.Unmarshal(j.Args, &a); err != nil {
			continue
		}
		key := a.Backfill + "\x00" + a.Partition.Name
		if seen[key] {
			continue
		}
		seen[key] = true
		out[a.Backfill] = append(out[a.Backfill], Partition{Name: a.Partition.Name, Job: j})
	}
	for _, parts := range out {
		sort.Slice(parts, func(i, k int) bool { return parts[i].Name < parts[k].Name })
	}
	return out, nil
}
