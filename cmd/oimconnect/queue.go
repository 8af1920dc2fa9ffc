package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oimconnect/oimconnect/pipeline/backfill"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
	"github.com/oimconnect/oimconnect/pipeline/queue"
	"github.com/oimconnect/oimconnect/pipeline/tenant"
)

// doWorker is `oimconnect worker`: it checks every tenant file, then works the queue
// until SIGTERM or Ctrl-C.
func doWorker(ctx context.Context, inv *invocation) int {
	o := inv.opt
	if o.queue == "" || o.tenants == "" {
		return refuse(inv.cmd, inv.stderr, errors.New("worker needs --queue URL and --tenants DIR"))
	}
	if o.concurrency < 1 || o.concurrency > queue.MaxConcurrency {
		return refuse(inv.cmd, inv.stderr, fmt.Errorf("--concurrency must be 1 to %d (jobs this worker runs at once), got %d", queue.MaxConcurrency, o.concurrency))
	}
	if o.lease <= 0 || o.shutdown <= 0 || o.timeScale <= 0 {
		return refuse(inv.cmd, inv.stderr, errors.New("--lease, --shutdown-timeout and --time-scale must be positive"))
	}
	tenants, err := tenant.LoadDir(o.tenants)
	if err != nil {
		return fail(inv.stderr, err)
	}
	w, err := queue.NewWorker(ctx, o.queue, tenants, inv.log, queue.Options{Concurrency: o.concurrency, Lease: o.lease,
		ShutdownTimeout: o.shutdown, TimeScale: o.timeScale, Poll: poll(tenants)})
	if err != nil {
		return fail(inv.stderr, err)
	}
	if err := w.Run(ctx); err != nil {
		return fail(inv.stderr, err)
	}
	return fault.ExitOK
}

// poll is how often the leader looks at the tenants' sources: the shortest
// settings.automation.poll_interval of them, at least 200ms.
func poll(tenants *tenant.Set) time.Duration {
	d := time.Duration(0)
	for _, t := range tenants.Tenants {
		if i := t.Config.Settings.Automation.Interval(); d == 0 || i < d {
			d = i
		}
	}
	return max(d, 200*time.Millisecond)
}

// queueOnly refuses what a command enqueueing for the workers does not take: the
// tenant's file says where its databases are.
func queueOnly(inv *invocation) error {
	o, c := inv.opt, inv.cfg
	switch {
	case o.tenant == "" || o.queue == "":
		return errors.New("give both --tenant and --queue to enqueue for the workers")
	case c.DB != "" || c.Source != "" || c.Target != "" || c.Specs != "" || o.config != "":
		return errors.New("--tenant takes the tenant's databases and specs from its file: --db, --source, --target, --specs and --config do not go with it")
	case o.dryRun || o.report != "":
		return errors.New("--dry-run and --report run here: they do not go with --queue")
	}
	return nil
}

// connectQueue connects to the queue for a command.
func connectQueue(ctx context.Context, inv *invocation) (*queue.Queue, int) {
	if inv.opt.queue == "" {
		return nil, refuse(inv.cmd, inv.stderr, errors.New("give the queue: --queue URL"))
	}
	q, err := queue.Connect(ctx, inv.opt.queue, inv.log)
	if err != nil {
		return nil, fail(inv.stderr, err)
	}
	return q, fault.ExitOK
}

// inTx runs do in a transaction of the queue database, committed when it succeeds:
// the jobs exist exactly when it did.
func inTx(ctx context.Context, q *queue.Queue, do func(pgx.Tx) error) error {
	tx, err := q.Pool.Begin(ctx)
	if err != nil {
		return &fault.UnavailableError{Err: fmt.Errorf("queue: %w", err)}
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := do(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// enqueueRun is `run --tenant --queue`: a run of flows, or with --id an export of
// those records of one flow.
func enqueueRun(ctx context.Context, inv *invocation) int {
	o := inv.opt
	if err := queueOnly(inv); err != nil {
		return refuse(inv.cmd, inv.stderr, err)
	}
	if len(o.ids) > 0 && len(o.flows) != 1 {
		return refuse(inv.cmd, inv.stderr, errors.New("--id with --queue needs exactly one --flow: the records' flow"))
	}
	q, code := connectQueue(ctx, inv)
	if q == nil {
		return code
	}
	defer q.Close()
	var e queue.Enqueued
	err := inTx(ctx, q, func(tx pgx.Tx) (err error) {
		if len(o.ids) > 0 {
			e, err = q.Export(ctx, tx, o.tenant, o.flows[0], o.ids, "command line")
		} else {
			e, err = q.Run(ctx, tx, o.tenant, o.flows, "command line")
		}
		return err
	})
	if err != nil {
		return fail(inv.stderr, err)
	}
	printEnqueued(inv.stdout, e, "run")
	return fault.ExitOK
}

func printEnqueued(w io.Writer, e queue.Enqueued, what string) {
	if e.Duplicate {
		fmt.Fprintf(w, "job %d: an equal %s is already %s: it stands for this one\n", e.ID, what, e.State)
		return
	}
	fmt.Fprintf(w, "job %d: %s enqueued (%s)\n", e.ID, what, e.State)
}

// enqueueBackfill is `backfill --tenant --queue`: one job per partition.
func enqueueBackfill(ctx context.Context, inv *invocation, from, to time.Time) int {
	o := inv.opt
	if err := queueOnly(inv); err != nil {
		return refuse(inv.cmd, inv.stderr, err)
	}
	q, code := connectQueue(ctx, inv)
	if q == nil {
		return code
	}
	defer q.Close()
	b := backfill.Request{From: from, To: to, Partition: o.partition, Flows: o.flows}
	var jobs []queue.Enqueued
	err := inTx(ctx, q, func(tx pgx.Tx) (err error) {
		jobs, err = q.Backfill(ctx, tx, o.tenant, b, "command line")
		return err
	})
	if err != nil {
		return fail(inv.stderr, err)
	}
	added := 0
	for _, j := range jobs {
		if !j.Duplicate {
			added++
		}
	}
	fmt.Fprintf(inv.stdout, "backfill %s of tenant %s: %d jobs enqueued, %d already in the queue (%d partitions)\n",
		b.ID(), o.tenant, added, len(jobs)-added, len(backfill.Partitions(b)))
	fmt.Fprintf(inv.stdout, "progress: oimconnect backfill status --tenant %s --queue %s\n", o.tenant, postgres.Redact(o.queue))
	return fault.ExitOK
}

// doBackfillStatus is `backfill status`.
func doBackfillStatus(ctx context.Context, inv *invocation) int {
	if inv.opt.tenant == "" {
		return refuse(inv.cmd, inv.stderr, errors.New("give the tenant: --tenant NAME"))
	}
	q, code := connectQueue(ctx, inv)
	if q == nil {
		return code
	}
	defer q.Close()
	all, err := q.BackfillStatus(ctx, inv.opt.tenant)
	if err != nil {
		return fail(inv.stderr, err)
	}
	if len(all) == 0 {
		fmt.Fprintf(inv.stdout, "tenant %s has no backfill in the queue\n", inv.opt.tenant)
		return fault.ExitOK
	}
	ids := make([]string, 0, len(all))
	for id := range all {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		printBackfill(inv.stdout, inv.opt.tenant, id, all[id])
	}
	return fault.ExitOK
}

func printBackfill(w io.Writer, tenantName, id string, parts []queue.Partition) {
	by := map[string]int{}
	for _, p := range parts {
		by[p.Job.State]++
	}
	var counts []string
	for _, s := range queue.States {
		if by[s] > 0 {
			counts = append(counts, fmt.Sprintf("%s %d", s, by[s]))
		}
	}
	fmt.Fprintf(w, "backfill %s of tenant %s: %d partitions: %s\n", id, tenantName, len(parts), strings.Join(counts, ", "))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, p := range parts {
		line := fmt.Sprintf("  %s\t%s\tjob %d\tattempt %d", p.Name, p.Job.State, p.Job.ID, p.Job.Attempt)
		if o := p.Job.Output; o != nil {
			var rec, docs, errs int64
			for _, s := range o.Flows {
				rec, docs, errs = rec+s.Selected, docs+s.Documents, errs+s.Errors
			}
			line += fmt.Sprintf("\trecords %d, documents %d, errors %d", rec, docs, errs)
		} else if p.Job.Error != "" {
			line += "\t" + p.Job.Error
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
}

// doQueue is `oimconnect queue`: the jobs by state, then the latest.
func doQueue(ctx context.Context, inv *invocation) int {
	o := inv.opt
	if err := queue.CheckStates(o.states); err != nil {
		return refuse(inv.cmd, inv.stderr, err)
	}
	q, code := connectQueue(ctx, inv)
	if q == nil {
		return code
	}
	defer q.Close()
	counts, err := q.Counts(ctx, o.tenant)
	if err != nil {
		return fail(inv.stderr, err)
	}
	var parts []string
	for _, s := range queue.States {
		parts = append(parts, fmt.Sprintf("%s %d", s, counts[s]))
	}
	fmt.Fprintf(inv.stdout, "jobs: %s\n", strings.Join(parts, ", "))
	jobs, err := q.List(ctx, queue.Filter{States: o.states, Tenant: o.tenant, Limit: o.limit})
	if err != nil {
		return fail(inv.stderr, err)
	}
	tw := tabwriter.NewWriter(inv.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tTENANT\tJOB\tATTEMPT\tCREATED\tLAST ERROR")
	for _, j := range jobs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", j.ID, j.State, j.Tenant, j.What, j.Attempt, j.Created, firstLine(j.Error))
	}
	tw.Flush()
	return fault.ExitOK
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// doQueueAct is `queue retry` and `queue cancel`.
func doQueueAct(ctx context.Context, inv *invocation) int {
	if len(inv.opt.args) == 0 {
		return refuse(inv.cmd, inv.stderr, errors.New("give the id of at least one job"))
	}
	var ids []int64
	for _, a := range inv.opt.args {
		id, err := strconv.ParseInt(a, 10, 64)
		if err != nil || id <= 0 {
			return refuse(inv.cmd, inv.stderr, fmt.Errorf("a job id is a positive number, not %q", a))
		}
		ids = append(ids, id)
	}
	q, code := connectQueue(ctx, inv)
	if q == nil {
		return code
	}
	defer q.Close()
	act, verb := q.Retry, "available again"
	if inv.cmd.name == "queue cancel" {
		act, verb = q.Cancel, "cancelled"
	}
	status := fault.ExitOK
	for _, id := range ids {
		j, err := act(ctx, id)
		if err != nil {
			status = max(status, fail(inv.stderr, err))
			continue
		}
		what := verb
		if j.State == "completed" {
			what = "completed already: left as it is"
		} else if inv.cmd.name == "queue cancel" && j.State == "running" {
			what = "told to stop: its run rolls back the batch in progress"
		}
		fmt.Fprintf(inv.stdout, "job %d (%s, tenant %s): %s\n", j.ID, j.What, j.Tenant, what)
	}
	return status
}

// initQueue is `init --queue`: River's schema through its migrations, and the
// connector's queue tables.
func initQueue(ctx context.Context, inv *invocation) error {
	n, err := queue.Init(ctx, inv.opt.queue)
	if err != nil {
		return err
	}
	fmt.Fprintf(inv.stdout, "queue ready in %s (%d River migrations applied)\n", postgres.Redact(inv.opt.queue), n)
	return nil
}
