package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/backfill"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
	"github.com/oimconnect/oimconnect/pipeline/store"
	"github.com/oimconnect/oimconnect/pipeline/tenant"
)

// registry is the workers of every job kind; w nil makes a registry for inserting
// only (River checks inserted kinds against it).
func registry(w *Worker) *river.Workers {
	ws := river.NewWorkers()
	river.AddWorker(ws, &runWorker{w: w})
	river.AddWorker(ws, &exportWorker{w: w})
	river.AddWorker(ws, &partitionWorker{w: w})
	return ws
}

// Output is what a job records when it is done: its flows' counts.
type Output struct {
	Flows []pipeline.Summary `json:"flows"`
}

type runWorker struct {
	river.WorkerDefaults[RunFlow]
	w *Worker
}

func (r *runWorker) Work(ctx context.Context, job *river.Job[RunFlow]) error {
	a := job.Args
	req := pipeline.Request{Flows: a.Flows, Mode: a.Mode, By: a.By}
	if a.Due != "" {
		req.Detail = "due " + a.Due
	}
	err := r.w.run(ctx, job.JobRow, a.Tenant, func(e *pipeline.Engine) ([]pipeline.Summary, error) {
		return e.Run(ctx, req)
	})
	if a.Release == "" || (err != nil && !fault.IsInput(err)) {
		return err
	}
	// The backfill's partitions waited for this run: release them with its completion.
	return r.w.complete(ctx, job, func(tx pgx.Tx) error { return release(ctx, tx, a.Tenant, a.Release) }, err)
}

type exportWorker struct {
	river.WorkerDefaults[ExportRecords]
	w *Worker
}

func (x *exportWorker) Work(ctx context.Context, job *river.Job[ExportRecords]) error {
	a := job.Args
	return x.w.run(ctx, job.JobRow, a.Tenant, func(e *pipeline.Engine) ([]pipeline.Summary, error) {
		return e.Run(ctx, pipeline.Request{Flows: []string{a.Flow}, IDs: a.IDs, Mode: pipeline.ModeManual, By: a.By})
	})
}

type partitionWorker struct {
	river.WorkerDefaults[BackfillPartition]
	w *Worker
}

func (p *partitionWorker) Work(ctx context.Context, job *river.Job[BackfillPartition]) error {
	a := job.Args
	b, err := a.request()
	if err != nil {
		return river.JobCancel(err)
	}
	// A rerun finishes what a killed attempt left half done: RunPartition runs a marked
	// partition again while records of it still say New (the target committed the
	// documents with the mark, the source's write-back never came), writing back only.
	return p.w.run(ctx, job.JobRow, a.Tenant, func(e *pipeline.Engine) ([]pipeline.Summary, error) {
		return backfill.RunPartition(ctx, e, b, a.Partition)
	})
}

// request is the backfill the partition belongs to.
func (a BackfillPartition) request() (backfill.Request, error) {
	from, err1 := time.Parse(time.DateOnly, a.From)
	to, err2 := time.Parse(time.DateOnly, a.To)
	if err := errors.Join(err1, err2); err != nil {
		return backfill.Request{}, fault.Inputf("backfill %s: %v", a.Backfill, err)
	}
	b := backfill.Request{From: from, To: to, Partition: a.Size, Flows: a.Flows}
	if b.ID() != a.Backfill {
		return b, fault.Inputf("backfill partition %s: its dates and flows make backfill %s, not %s", a.Partition.Name, b.ID(), a.Backfill)
	}
	return b, nil
}

// run opens the tenant's engine, runs the job's steps with it, each on an engine
// opened for it (a linked store's working copy is made for one run), records their
// counts as the job's output and maps a failure to River's outcome (see outcome).
func (w *Worker) run(ctx context.Context, job *rivertype.JobRow, tenantName string, steps ...func(*pipeline.Engine) ([]pipeline.Summary, error)) error {
	t, err := w.tenants.Get(tenantName)
	if err != nil {
		return w.outcome(job, tenantName, err)
	}
	unlock := w.turn(t)
	defer unlock()
	start := time.Now()
	log := w.log.With("tenant", t.Name, "job", job.ID, "kind", job.Kind)
	var sums []pipeline.Summary
	for _, step := range steps {
		var s []pipeline.Summary
		if s, err = w.step(ctx, t, log, step); err != nil {
			break
		}
		sums = append(sums, s...)
	}
	if err == nil && isFile(t.Source()) {
		w.noteOwnWrites(ctx, t)
	}
	if err == nil {
		if oerr := river.RecordOutput(ctx, Output{Flows: sums}); oerr != nil {
			log.Warn("record the job's output", "error", oerr)
		}
		var n, failed int64
		for _, s := range sums {
			n += s.Exported
			failed += s.Errors
		}
		log.Info("job done", "what", describe(job.Kind, job.EncodedArgs), "exported", n, "errors", failed, "duration", time.Since(start).Round(time.Millisecond))
	}
	return w.outcome(job, tenantName, err)
}

// step opens the tenant's engine, runs do with it and closes it.
func (w *Worker) step(ctx context.Context, t *tenant.Tenant, log *slog.Logger, do func(*pipeline.Engine) ([]pipeline.Summary, error)) ([]pipeline.Summary, error) {
	eng, err := pipeline.Open(ctx, t.Config, log, pipeline.WithSpecs(t.Specs))
	if err != nil {
		return nil, err
	}
	sums, err := do(eng)
	if cerr := eng.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close: %w", cerr)
	}
	return sums, err
}

// outcome maps a job's failure to what River does with it: a mistake (a spec or
// configuration error, an unknown tenant or record: fault.IsInput) is cancelled with
// the reason, never retried; a database busy or unreachable (fault.Transient) or a
// stopping worker is retried with back-off; any other failure (a run that failed
// midway, rolled back) is retried a few times, then cancelled with its reason.
func (w *Worker) outcome(job *rivertype.JobRow, tenantName string, err error) error {
	switch {
	case err == nil:
		return nil
	case fault.IsInput(err):
		w.log.Warn("job refused: not retried", "tenant", tenantName, "job", job.ID, "error", err)
		return river.JobCancel(err)
	case fault.Transient(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		w.log.Warn("job failed: retried later", "tenant", tenantName, "job", job.ID, "attempt", job.Attempt, "error", err)
		return err
	case job.Attempt >= midwayAttempts:
		w.log.Error("job failed: giving up", "tenant", tenantName, "job", job.ID, "attempt", job.Attempt, "error", err)
		return river.JobCancel(fmt.Errorf("failed %d times, giving up: %w", job.Attempt, err))
	}
	w.log.Warn("job failed midway (rolled back): retried later", "tenant", tenantName, "job", job.ID, "attempt", job.Attempt, "error", err)
	return err
}

// midwayAttempts bounds the attempts of a job that fails midway.
const midwayAttempts = 4

// turn makes this process's jobs of a tenant with a DuckDB file take turns: a file is
// opened by one engine of a process at a time. Jobs of PostgreSQL tenants go on side
// by side (the target's locks order them).
func (w *Worker) turn(t *tenant.Tenant) func() {
	if !isFile(t.Source()) && !isFile(t.Target()) {
		return func() {}
	}
	w.mu.Lock()
	m := w.files[t.Name]
	if m == nil {
		m = &sync.Mutex{}
		w.files[t.Name] = m
	}
	w.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// isFile reports a source or target that is no PostgreSQL database.
func isFile(loc string) bool { return !postgres.IsURL(loc) }

// noteOwnWrites notes a DuckDB source as the job left it: its own writes are no change
// for the leader's look at the source (nobody else could write it meanwhile).
func (w *Worker) noteOwnWrites(ctx context.Context, t *tenant.Tenant) {
	probe, err := store.NewProbe(ctx, t.Source())
	if err != nil {
		return
	}
	defer probe.Close()
	if state, err := probe.State(ctx); err == nil {
		_ = w.q.noteSource(ctx, t.Name, state)
	}
}

// complete runs also in a transaction that completes the job (river.JobCompleteTx),
// so what it does happens exactly when the job is done; runErr, an input error, is
// the job's reason to be cancelled after it.
func (w *Worker) complete(ctx context.Context, job *river.Job[RunFlow], also func(pgx.Tx) error, runErr error) error {
	tx, err := w.q.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := also(tx); err != nil {
		return err
	}
	if runErr != nil {
		if err := tx.Commit(ctx); err != nil {
			return err
		}
		return runErr
	}
	if _, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// release makes a backfill's partitions, inserted pending, available to workers.
func release(ctx context.Context, tx pgx.Tx, tenantName, backfillID string) error {
	_, err := tx.Exec(ctx, `UPDATE river_job SET state = 'available', scheduled_at = now()
		WHERE state = 'pending' AND kind = $1 AND args->>'tenant' = $2 AND args->>'backfill' = $3`, KindPartition, tenantName, backfillID)
	if err != nil {
		return fmt.Errorf("release the backfill's partitions: %w", err)
	}
	return nil
}
