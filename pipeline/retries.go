package pipeline

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/plan"
)

// Retries remembers, across the automatic runs of one watcher, the records that could
// not be exported: such a record is tried again when it changes (any of its own
// columns) or when its back-off ends, not at every poll. The back-off starts at a
// minute and doubles with each failure, up to an hour. Runs a user asks for (run, --id,
// the console) and scheduled runs try every failed record, as the contract says.
// Retries is safe for concurrent use.
type Retries struct {
	mu    sync.Mutex
	now   func() time.Time
	flows map[string]map[string]*retry
}

type retry struct {
	fp       uint64
	failures int
	due      time.Time
}

// Back-off bounds.
const (
	firstRetry = time.Minute
	lastRetry  = time.Hour
)

// NewRetries is an empty memory of failures; now tells the time (nil: the wall clock).
func NewRetries(now func() time.Time) *Retries {
	if now == nil {
		now = time.Now
	}
	return &Retries{now: now, flows: map[string]map[string]*retry{}}
}

// Deferral is a failed record a Retries remembers: its flow and key, the fingerprint
// it failed with, how often it failed, and when it is due again. A watcher that is not
// one process (the workers) keeps them between its runs.
type Deferral struct {
	Flow, Record string
	Fingerprint  uint64
	Failures     int
	Due          time.Time
}

// Deferrals are the failed records remembered of the flows.
func (r *Retries) Deferrals(flows []string) []Deferral {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Deferral
	for _, f := range flows {
		for k, x := range r.flows[f] {
			out = append(out, Deferral{Flow: f, Record: k, Fingerprint: x.fp, Failures: x.failures, Due: x.due})
		}
	}
	return out
}

// Remember adds failed records, as an earlier run left them.
func (r *Retries) Remember(ds []Deferral) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range ds {
		if r.flows[d.Flow] == nil {
			r.flows[d.Flow] = map[string]*retry{}
		}
		r.flows[d.Flow][d.Record] = &retry{fp: d.Fingerprint, failures: d.Failures, due: d.Due}
	}
}

// Pending is how many failed records of a flow wait for their retry.
func (r *Retries) Pending(flow string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.flows[flow])
}

// Due is the earliest time a remembered failure is due again (zero: none).
func (r *Retries) Due() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	var first time.Time
	for _, recs := range r.flows {
		for _, x := range recs {
			if first.IsZero() || x.due.Before(first) {
				first = x.due
			}
		}
	}
	return first
}

// deferred lists the flow's failed records whose retry is not due, with the
// fingerprint they failed with.
func (r *Retries) deferred(flow string) map[string]uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	out := map[string]uint64{}
	for k, x := range r.flows[flow] {
		if now.Before(x.due) {
			out[k] = x.fp
		}
	}
	return out
}

// learn notes what a run of the flow did with its candidates: failed ones are
// deferred (a longer back-off each time), the others forgotten, and so is a remembered
// record the run could have selected (not in deferred, what the run left out) that was
// no candidate: OIM set it aside (another export status, a criteria column turned
// off, deleted). Kept, its back-off, ended, would call for a run at every poll.
func (r *Retries) learn(flow string, fps map[string]uint64, failed map[string]bool, deferred map[string]uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	recs := r.flows[flow]
	if recs == nil {
		recs = map[string]*retry{}
		r.flows[flow] = recs
	}
	now := r.now()
	for k, fp := range fps {
		if !failed[k] {
			delete(recs, k)
			continue
		}
		x := recs[k]
		if x == nil || x.fp != fp {
			x = &retry{}
			recs[k] = x
		}
		x.fp = fp
		x.failures++
		wait := firstRetry << min(x.failures-1, 6)
		x.due = now.Add(min(wait, lastRetry))
	}
	for k := range recs {
		if _, candidate := fps[k]; !candidate {
			if _, left := deferred[k]; !left {
				delete(recs, k)
			}
		}
	}
}

// deferredTable is the temp table the candidates of an automatic run are checked
// against (plan.Options.Deferred).
const deferredTable = "_oc_deferred"

// stageDeferred makes the flow's deferred records a temp table on the connection, and
// returns them.
func (r *Retries) stageDeferred(ctx context.Context, x catalog.Execer, flow string) (map[string]uint64, error) {
	if _, err := x.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE "+deferredTable+" (k VARCHAR, fp UBIGINT)"); err != nil {
		return nil, fmt.Errorf("deferred retries: %w", err)
	}
	deferred := r.deferred(flow)
	var rows []string
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		_, err := x.ExecContext(ctx, "INSERT INTO "+deferredTable+" VALUES "+strings.Join(rows, ", "))
		rows = rows[:0]
		return err
	}
	for k, fp := range deferred {
		rows = append(rows, fmt.Sprintf("(%s, %d)", catalog.Literal(k), fp))
		if len(rows) == 1000 {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	return deferred, flush()
}

// learnFrom reads the fingerprints of a run's candidates and notes which failed;
// deferred are the records the run left out (stageDeferred).
func (r *Retries) learnFrom(ctx context.Context, x catalog.Execer, p *plan.Plan, failures []Failure, deferred map[string]uint64) error {
	rows, err := x.QueryContext(ctx, fmt.Sprintf("SELECT CAST(%s AS VARCHAR), %s FROM %s", catalog.Ident(p.Source.Key), p.Fingerprint, p.Candidates))
	if err != nil {
		return fmt.Errorf("retries: %w", err)
	}
	defer rows.Close()
	fps := map[string]uint64{}
	for rows.Next() {
		var k string
		var fp uint64
		if err := rows.Scan(&k, &fp); err != nil {
			return err
		}
		fps[k] = fp
	}
	if err := rows.Err(); err != nil {
		return err
	}
	failed := map[string]bool{}
	for _, f := range failures {
		failed[f.ID] = true
	}
	r.learn(p.Flow, fps, failed, deferred)
	return nil
}
