package queue

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/tenant"
)

// The workers' automatic runs defer failed records as watch does (pipeline.Retries):
// a record that could not be exported is tried again when it changes or when its
// back-off ends (a minute, doubling to an hour), not at every change of its source.
// Watch keeps that memory in its process; the workers keep it in the queue database
// (oimconnect.retry), read before each automatic job of a tenant and written after
// it, and the leader enqueues an automatic run of a tenant's flows when one of their
// back-offs ends.

// retries is what the tenant's automatic runs remember of the flows' failed records.
func (w *Worker) retries(ctx context.Context, tenantName string, flows []string) (*pipeline.Retries, error) {
	rows, err := w.q.Pool.Query(ctx, `SELECT flow, record, fingerprint, failures, due FROM oimconnect.retry
		WHERE tenant = $1 AND flow = ANY($2)`, tenantName, flows)
	if err != nil {
		return nil, fmt.Errorf("read the failed records to retry: %w", err)
	}
	ds, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (pipeline.Deferral, error) {
		var d pipeline.Deferral
		var fp int64
		err := row.Scan(&d.Flow, &d.Record, &fp, &d.Failures, &d.Due)
		d.Fingerprint = uint64(fp) // stored as its bits in a bigint
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("read the failed records to retry: %w", err)
	}
	r := pipeline.NewRetries(w.now)
	r.Remember(ds)
	return r, nil
}

// keepRetries replaces what the tenant's automatic runs remember of the flows with
// r's, in one transaction.
func (w *Worker) keepRetries(ctx context.Context, tenantName string, flows []string, r *pipeline.Retries) error {
	ds := r.Deferrals(flows)
	return w.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM oimconnect.retry WHERE tenant = $1 AND flow = ANY($2)", tenantName, flows); err != nil {
			return err
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"oimconnect", "retry"}, []string{"tenant", "flow", "record", "fingerprint", "failures", "due"},
			pgx.CopyFromSlice(len(ds), func(i int) ([]any, error) {
				d := ds[i]
				return []any{tenantName, d.Flow, d.Record, int64(d.Fingerprint), d.Failures, d.Due}, nil
			}))
		return err
	})
}

// dueRetries reports whether a failed record of the tenant's has come to the end of its
// back-off since the leader last enqueued a run for one (so a run that has not yet
// come is not asked for again at every look).
func (w *Worker) dueRetries(ctx context.Context, tx pgx.Tx, t *tenant.Tenant) (bool, error) {
	var due *time.Time
	if err := tx.QueryRow(ctx, `SELECT max(due) FROM oimconnect.retry WHERE tenant = $1 AND due <= $2`, t.Name, w.now()).Scan(&due); err != nil {
		return false, fmt.Errorf("failed records due: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if due == nil || !due.After(w.retried[t.Name]) {
		return false, nil
	}
	w.retried[t.Name] = *due
	return true, nil
}

// now is the time back-offs end by (Worker.backoff).
func (w *Worker) now() time.Time { return w.backoff.Now() }
