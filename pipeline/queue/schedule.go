package queue

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/tenant"
)

// maxCatchUp bounds the missed due times of one flow enqueued after a downtime: each
// exports every eligible record, so older ones would find nothing left to do.
const maxCatchUp = 24

// Schedule turns the tenants' schedules (settings.schedules) into jobs: each due time
// of each scheduled flow of each tenant up to now becomes one RunFlow job, inserted in
// the transaction that advances the flow's last due time in oimconnect.schedule. Two
// workers scheduling at once take turns on the flow's row, so each due time yields one
// job whoever leads, across restarts; after a downtime every missed due time is
// enqueued once (at most maxCatchUp, the latest ones). A flow first seen starts from
// now. It returns how many jobs it inserted.
func (q *Queue) Schedule(ctx context.Context, tenants *tenant.Set, clock Clock) (int, error) {
	n := 0
	var errs []error
	for _, name := range tenants.Names() {
		t := tenants.Tenants[name]
		keys := make([]string, 0, len(t.Config.Settings.Schedules))
		for k := range t.Config.Settings.Schedules {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			flow := strings.ReplaceAll(k, "_", "-")
			added, err := q.scheduleFlow(ctx, name, flow, t.Config.Settings.Schedules[k], clock.Now())
			n += added
			if err != nil {
				errs = append(errs, fmt.Errorf("schedule %s of tenant %s: %w", flow, name, err))
			}
		}
	}
	return n, errors.Join(errs...)
}

// scheduleFlow enqueues one flow's due times up to now.
func (q *Queue) scheduleFlow(ctx context.Context, tenantName, flow string, sc config.Schedule, now time.Time) (int, error) {
	tx, err := q.Pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `INSERT INTO oimconnect.schedule (tenant, flow, last_due) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, tenantName, flow, now); err != nil {
		return 0, err
	}
	var last time.Time
	if err := tx.QueryRow(ctx, "SELECT last_due FROM oimconnect.schedule WHERE tenant = $1 AND flow = $2 FOR UPDATE",
		tenantName, flow).Scan(&last); err != nil {
		return 0, err
	}
	dues := DueTimes(sc, last.In(now.Location()), now)
	if len(dues) == 0 {
		return 0, tx.Commit(ctx) // a flow first seen starts from now
	}
	if len(dues) > maxCatchUp {
		q.log.Warn("schedule: missed due times skipped (the latest ones run)", "tenant", tenantName, "flow", flow,
			"missed", len(dues), "skipped", len(dues)-maxCatchUp)
		dues = dues[len(dues)-maxCatchUp:]
	}
	params := make([]river.InsertManyParams, len(dues))
	for i, due := range dues {
		a := RunFlow{Tenant: tenantName, Flows: []string{flow}, Mode: pipeline.ModeScheduled, Due: FormatDue(due), By: "schedule"}
		params[i] = river.InsertManyParams{Args: a, InsertOpts: a.insertOpts()}
	}
	if _, err := q.Client.InsertManyTx(ctx, tx, params); err != nil {
		return 0, fmt.Errorf("insert: %w", err)
	}
	if _, err := tx.Exec(ctx, "UPDATE oimconnect.schedule SET last_due = $3 WHERE tenant = $1 AND flow = $2",
		tenantName, flow, dues[len(dues)-1]); err != nil {
		return 0, err
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, err
	}
	return len(dues), nil
}

// DueTimes are the schedule's due times after last, up to and including now.
func DueTimes(sc config.Schedule, last, now time.Time) []time.Time {
	var out []time.Time
	for due := sc.Next(last); !due.IsZero() && !due.After(now); due = sc.Next(due) {
		out = append(out, due)
	}
	return out
}

// FormatDue is how a due time is written in a job and in the run's history.
func FormatDue(t time.Time) string { return t.UTC().Format(time.RFC3339) }
