package queue

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
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
		if a.Mode != pipeline.ModeAutomatic {
			return e.Run(ctx, req)
		}
		var err error
		if req.Retries, err = r.w.retries(ctx, a.Tenant, a.Flows); err != nil {
			return nil, err
		}
		sums, err := e.Run(ctx, req)
		// What the flows that ran learned, kept even when a later one failed.
		if kerr := r.w.keepRetries(context.WithoutCancel(ctx), a.Tenant, a.Flows, req.Retries); kerr != nil {
			err = errors.Join(err, fmt.Errorf("keep the failed records to retry: %w", kerr))
		}
		return sums, err
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
	log := w.log.With("tenant", t.Name, "job", job.ID, "kind", job.Kind)
	turn, err := w.fileTurn(ctx, t)
	if errors.Is(err, errTurnTaken) {
		// Another job of the tenant holds its files: this one waits in the queue (not as
		// a running job, which a change would look past: RunAutomatic).
		log.Debug("the tenant's files are another job's: waiting for their turn")
		return river.JobSnooze(turnWait)
	}
	if err != nil {
		return w.outcome(job, tenantName, err)
	}
	defer turn.release()
	start := time.Now()
	var sums []pipeline.Summary
	for _, step := range steps {
		var s []pipeline.Summary
		if s, err = w.step(ctx, t, log, step); err != nil {
			break
		}
		sums = append(sums, s...)
	}
	if err == nil || !fault.Transient(err) {
		// Its writes are no change, nor are a failed run's (the run is retried; taken for
		// OIM's, they would enqueue runs that fail and write again). A database busy or
		// unreachable may not have been opened by the job at all: what changed is OIM's.
		turn.noteOwnWrites(ctx)
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

// isFile reports a source or target that is no PostgreSQL database.
func isFile(loc string) bool { return !postgres.IsURL(loc) }

// The tenant's turn on its files is an advisory lock on the queue database, keyed by
// fileTurnClass and the tenant (fileTurnKey; two tenants whose names hash alike only
// take turns): a job holds it alone (whichever worker process runs it; one that dies
// lets go with its connection), the leader shares it for a look at the source.
const fileTurnClass int32 = 0x6f696d66 // "oimf"

func fileTurnKey(tenantName string) int32 {
	h := fnv.New32a()
	h.Write([]byte(tenantName))
	return int32(h.Sum32() & 0x7fffffff)
}

// errTurnTaken is a tenant's turn on its files held by another job.
var errTurnTaken = errors.New("the tenant's files are another job's")

// turnWait is how long a job whose tenant's files another job holds waits in the
// queue before it tries again.
const turnWait = time.Second

// turn is a job's hold of its tenant's files.
type turn struct {
	w      *Worker
	t      *tenant.Tenant
	conn   *pgx.Conn // holds the lock; nil: nothing to hold (PostgreSQL source and target)
	before string    // a file source's state when the job took its turn
	probe  *store.Probe
}

// fileTurn takes a job's turn on its tenant's DuckDB files (a source, a target, or a
// directory of source files), across every worker process: a file is opened by one
// engine at a time, and while a job holds it, what changes in the source is the job's
// own writing, which the leader must not look at (events.go, poll). errTurnTaken when
// another job holds it: the job waits in the queue rather than as a running job (two
// jobs of a tenant running at once made a change look past both and enqueue a third).
// The leader's look (a shared hold of milliseconds) is waited for. Jobs of PostgreSQL
// tenants go on side by side (the target's locks order them).
func (w *Worker) fileTurn(ctx context.Context, t *tenant.Tenant) (*turn, error) {
	tn := &turn{w: w, t: t}
	if !isFile(t.Source()) && !isFile(t.Target()) {
		return tn, nil
	}
	taken, err := w.turnTaken(ctx, w.q.Pool, t) // the usual case of a job waiting spares a connection
	if err != nil {
		return nil, &fault.UnavailableError{Err: fmt.Errorf("look at the tenant's turn on its files: %w", err)}
	}
	if taken {
		return nil, errTurnTaken
	}
	conn, err := postgres.Connect(ctx, w.q.URL)
	if err != nil {
		return nil, err
	}
	for {
		var got, taken bool
		err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, $2)", fileTurnClass, fileTurnKey(t.Name)).Scan(&got)
		if err == nil && !got {
			taken, err = w.turnTaken(ctx, conn, t)
		}
		switch {
		case err != nil:
			conn.Close(context.WithoutCancel(ctx))
			return nil, &fault.UnavailableError{Err: fmt.Errorf("take the tenant's turn on its files: %w", err)}
		case got:
			tn.conn = conn
			if isFile(t.Source()) {
				if tn.probe, err = store.NewProbe(ctx, t.Source()); err == nil {
					tn.before, _ = tn.probe.State(ctx)
				}
			}
			return tn, nil
		case taken:
			conn.Close(context.WithoutCancel(ctx))
			return nil, errTurnTaken
		}
		select { // the leader is looking at the source
		case <-ctx.Done():
			conn.Close(context.WithoutCancel(ctx))
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// turnTaken reports whether a job holds the tenant's turn on its files.
func (w *Worker) turnTaken(ctx context.Context, db interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, t *tenant.Tenant) (bool, error) {
	var taken bool
	err := db.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2
		AND classid::bigint = $1 AND objid::bigint = $2 AND mode = 'ExclusiveLock' AND granted)`,
		fileTurnClass, fileTurnKey(t.Name)).Scan(&taken)
	return taken, err
}

// noteOwnWrites notes a file source as the job leaves it, for the leader's look: its
// own writes are no change (nobody else could write it while the job held it). Only
// if the leader had seen the source as the job found it: a change of OIM's from before
// the job took its turn is left for the leader to see.
func (tn *turn) noteOwnWrites(ctx context.Context) {
	if tn.probe == nil {
		return
	}
	after, err := tn.probe.State(ctx)
	if err != nil || after == tn.before {
		return
	}
	// A job cancelled midway (rolled back, retried) wrote too: noted all the same.
	if _, err := tn.w.q.Pool.Exec(context.WithoutCancel(ctx), "UPDATE oimconnect.source SET seen = $3 WHERE tenant = $1 AND seen = $2",
		tn.t.Name, tn.before, after); err != nil {
		tn.w.log.Warn("note the source as the job left it", "tenant", tn.t.Name, "error", err)
	}
}

// release lets the tenant's files go.
func (tn *turn) release() {
	if tn.probe != nil {
		tn.probe.Close()
	}
	if tn.conn != nil {
		tn.conn.Close(context.Background()) // the lock goes with its connection
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
