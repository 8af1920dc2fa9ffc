package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"database/sql"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/backfill"
	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/plan"
)

// Enqueued is what an insert did: the job, and whether an equal one already pending
// (or, for a scheduled run, ever enqueued) stood for it.
type Enqueued struct {
	ID        int64
	State     string
	Duplicate bool
}

func enqueued(r *rivertype.JobInsertResult) Enqueued {
	return Enqueued{ID: r.Job.ID, State: string(r.Job.State), Duplicate: r.UniqueSkippedAsDuplicate}
}

// RunAutomatic enqueues an automatic run of a tenant's flows (a change in its source),
// coalesced: a waiting one stands for this one too. One that is running does not (the
// change may have come after it read the source): then the next of the numbered
// equal runs (Again) is tried, until one waits or is inserted. A job of a killed worker
// stays running until its lease ends, and the rerun asked for meanwhile may be
// running too, hence more than one.
func (q *Queue) RunAutomatic(ctx context.Context, tenantName string, flows []string, by string) (Enqueued, error) {
	return q.runAutomatic(ctx, nil, tenantName, flows, by)
}

// runAutomatic is RunAutomatic in tx (nil: on its own).
func (q *Queue) runAutomatic(ctx context.Context, tx pgx.Tx, tenantName string, flows []string, by string) (Enqueued, error) {
	a := RunFlow{Tenant: tenantName, Flows: flows, Mode: pipeline.ModeAutomatic, By: by}
	for ; ; a.Again++ {
		var r *rivertype.JobInsertResult
		var err error
		if tx != nil {
			r, err = q.Client.InsertTx(ctx, tx, a, a.insertOpts())
		} else {
			r, err = q.Client.Insert(ctx, a, a.insertOpts())
		}
		if err != nil {
			return Enqueued{}, fmt.Errorf("enqueue an automatic run of tenant %s: %w", tenantName, err)
		}
		if !r.UniqueSkippedAsDuplicate || r.Job.State != rivertype.JobStateRunning || a.Again >= maxAgain {
			return enqueued(r), nil
		}
	}
}

// maxAgain bounds the equal automatic runs running at once that a change looks past.
const maxAgain = 16

// Run enqueues a run of a tenant's flows (every flow when none is named) asked for by
// someone (by: a user of the console, the command line), in tx: the job exists
// exactly when what asked for it is committed. A run of the same flows already
// waiting or running stands for it.
func (q *Queue) Run(ctx context.Context, tx pgx.Tx, tenantName string, flows []string, by string) (Enqueued, error) {
	if err := q.checkFlows(ctx, tx, tenantName, flows); err != nil {
		return Enqueued{}, err
	}
	a := RunFlow{Tenant: tenantName, Flows: flows, Mode: pipeline.ModeManual, By: by}
	r, err := q.Client.InsertTx(ctx, tx, a, a.insertOpts())
	if err != nil {
		return Enqueued{}, fmt.Errorf("enqueue a run of tenant %s: %w", tenantName, err)
	}
	return enqueued(r), nil
}

// Export enqueues the export of given records of one flow of a tenant, in tx.
func (q *Queue) Export(ctx context.Context, tx pgx.Tx, tenantName, flow string, ids []string, by string) (Enqueued, error) {
	if err := q.checkFlows(ctx, tx, tenantName, []string{flow}); err != nil {
		return Enqueued{}, err
	}
	if len(ids) == 0 {
		return Enqueued{}, fault.Inputf("export: no record ids")
	}
	a := ExportRecords{Tenant: tenantName, Flow: flow, IDs: ids, By: by}
	r, err := q.Client.InsertTx(ctx, tx, a, opts(tenantName, whilePending, nil))
	if err != nil {
		return Enqueued{}, fmt.Errorf("enqueue an export of tenant %s: %w", tenantName, err)
	}
	return enqueued(r), nil
}

// Backfill enqueues a backfill of a tenant as one job per partition, in tx, for
// workers to export side by side. When the backfill covers undated flows (vendor
// accounts), one run of those goes first and the partitions wait for it (pending):
// payable invoices need their vendor accounts. The same backfill enqueued again adds
// nothing that is waiting, running or done.
func (q *Queue) Backfill(ctx context.Context, tx pgx.Tx, tenantName string, b backfill.Request, by string) ([]Enqueued, error) {
	if b.To.Before(b.From) {
		return nil, fault.Inputf("backfill: --to %s is before --from %s", b.To.Format(time.DateOnly), b.From.Format(time.DateOnly))
	}
	if b.Partition != "day" && b.Partition != "month" {
		return nil, fault.Inputf("backfill: --partition must be day or month, not %q", b.Partition)
	}
	flows, err := q.Flows(ctx, tx, tenantName)
	if err != nil {
		return nil, err
	}
	if err := knownFlows(tenantName, flows, b.Flows); err != nil {
		return nil, err
	}
	var undated []string
	dated := 0
	for _, f := range flows {
		if len(b.Flows) > 0 && !slices.Contains(b.Flows, f.Name) {
			continue
		}
		if f.Dated {
			dated++
		} else {
			undated = append(undated, f.Name)
		}
	}
	if dated == 0 {
		return nil, fault.Inputf("backfill: none of the flows has a document date to partition by")
	}
	id := b.ID()
	var out []Enqueued
	if len(undated) > 0 {
		a := RunFlow{Tenant: tenantName, Flows: undated, Mode: pipeline.ModeManual, By: by, Release: id}
		r, err := q.Client.InsertTx(ctx, tx, a, a.insertOpts())
		if err != nil {
			return nil, fmt.Errorf("enqueue the backfill's undated flows: %w", err)
		}
		out = append(out, enqueued(r))
	}
	var params []river.InsertManyParams
	for _, part := range backfill.Partitions(b) {
		a := BackfillPartition{Tenant: tenantName, Backfill: id, From: b.From.Format(time.DateOnly), To: b.To.Format(time.DateOnly),
			Size: b.Partition, Flows: b.Flows, Partition: part, By: by}
		o := opts(tenantName, untilDone, map[string]string{"backfill": id})
		o.Pending = len(undated) > 0
		params = append(params, river.InsertManyParams{Args: a, InsertOpts: o})
	}
	rs, err := q.Client.InsertManyTx(ctx, tx, params)
	if err != nil {
		return nil, fmt.Errorf("enqueue the backfill's partitions: %w", err)
	}
	for _, r := range rs {
		out = append(out, enqueued(r))
	}
	return out, nil
}

// Flows are a tenant's flows as the workers that serve it registered them.
func (q *Queue) Flows(ctx context.Context, tx pgx.Tx, tenantName string) ([]FlowInfo, error) {
	var data []byte
	err := tx.QueryRow(ctx, "SELECT flows FROM oimconnect.tenant WHERE name = $1", tenantName).Scan(&data)
	if err == pgx.ErrNoRows {
		names, _ := q.Tenants(ctx, tx)
		known := "none yet: a worker registers its tenants when it starts"
		if len(names) > 0 {
			known = strings.Join(names, ", ")
		}
		return nil, fault.Inputf("no tenant %q in the queue (tenants: %s)", tenantName, known)
	}
	if err != nil {
		return nil, err
	}
	var flows []FlowInfo
	if err := json.Unmarshal(data, &flows); err != nil {
		return nil, fmt.Errorf("tenant %s: %w", tenantName, err)
	}
	return flows, nil
}

// Tenants are the tenants the workers registered.
func (q *Queue) Tenants(ctx context.Context, tx pgx.Tx) ([]string, error) {
	rows, err := tx.Query(ctx, "SELECT name FROM oimconnect.tenant ORDER BY name")
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// checkFlows refuses an unknown tenant or flow.
func (q *Queue) checkFlows(ctx context.Context, tx pgx.Tx, tenantName string, names []string) error {
	flows, err := q.Flows(ctx, tx, tenantName)
	if err != nil {
		return err
	}
	return knownFlows(tenantName, flows, names)
}

func knownFlows(tenantName string, flows []FlowInfo, names []string) error {
	var known []string
	for _, f := range flows {
		known = append(known, f.Name)
	}
	for _, n := range names {
		if !slices.Contains(known, n) {
			return fault.Inputf("tenant %s has no flow %q (flows: %s)", tenantName, n, strings.Join(known, ", "))
		}
	}
	return nil
}

// noTransform plans as if no flow had plugins (the leader plans only to know which
// tables each flow reads).
type noTransform struct{}

func (noTransform) Transform(context.Context, catalog.Execer, *sql.Conn, *plan.Plan) (plan.Leftovers, error) {
	return plan.Leftovers{}, nil
}
func (noTransform) Applies(string) bool { return false }
