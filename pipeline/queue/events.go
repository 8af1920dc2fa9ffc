package queue

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/plan"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
	"github.com/oimconnect/oimconnect/pipeline/store"
	"github.com/oimconnect/oimconnect/pipeline/tenant"
)

// watchSources turns every tenant's source changes into automatic runs, until ctx
// ends: a PostgreSQL source's NOTIFY (the table OIM changed) enqueues the automated
// flows that read it and those after them (they may read what the first ones write),
// and its change counter, read every poll interval, catches what was announced while
// nobody listened; a DuckDB file or a directory of files is looked at every poll
// interval (store.Probe), between its tenant's jobs (fileTurn: what changes while one
// runs is its own writing, which it notes when it is done). How each source looked
// when its changes last became jobs is kept in oimconnect.source, so a new leader
// enqueues only what changed since.
func (w *Worker) watchSources(ctx context.Context) {
	done := make(chan struct{})
	n := 0
	for _, name := range w.tenants.Names() {
		t := w.tenants.Tenants[name]
		if len(automated(t)) == 0 {
			continue
		}
		n++
		go func() {
			defer func() { done <- struct{}{} }()
			for ctx.Err() == nil {
				var err error
				if postgres.IsURL(t.Source()) {
					err = w.listen(ctx, t)
				} else {
					err = w.poll(ctx, t)
				}
				if ctx.Err() != nil {
					return
				}
				w.log.Warn("watching a tenant's source", "tenant", t.Name, "error", err)
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
		}()
	}
	for ; n > 0; n-- {
		<-done
	}
}

// automated are the tenant's automated flows, in run order.
func automated(t *tenant.Tenant) []string {
	var out []string
	for _, f := range t.Specs.Ordered() {
		if on, _ := t.Config.Settings.Automation.Automated(f.Name); on {
			out = append(out, f.Name)
		}
	}
	return out
}

// listen follows a PostgreSQL source on one connection: LISTEN, and between
// notifications the change counter every poll interval.
func (w *Worker) listen(ctx context.Context, t *tenant.Tenant) error {
	conn, err := postgres.Connect(ctx, t.Source())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+postgres.Channel); err != nil {
		return err
	}
	for {
		tables := map[string]bool{}
		wait, cancel := context.WithTimeout(ctx, w.pollEvery)
		n, err := conn.WaitForNotification(wait)
		cancel()
		for err == nil { // every notification already here
			tables[n.Payload] = true
			quick, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			n, err = conn.WaitForNotification(quick)
			cancel()
		}
		if ctx.Err() != nil {
			return nil
		}
		if conn.IsClosed() {
			return fmt.Errorf("connection lost: %w", err)
		}
		count, ok, err := postgres.Changes(ctx, conn)
		if err != nil {
			return err
		}
		seen := ""
		if ok {
			seen = fmt.Sprint(count)
			// An open writer may have moved the counter (postgres.Pending): its count is
			// not a state seen. Only notifications count until it commits.
			pending, err := postgres.Pending(ctx, conn)
			if err != nil {
				return err
			}
			if pending {
				seen = ""
			}
		}
		if err := w.inTx(ctx, func(tx pgx.Tx) error { return w.sourceChanged(ctx, tx, t, seen, tables) }); err != nil {
			return err
		}
	}
}

// poll looks at a DuckDB file's or a directory's state every poll interval, while
// none of the tenant's jobs holds its files: the leader's look shares the tenant's
// turn (fileTurn), which a job holds alone from before it opens the file until it has
// noted the state it left. A look while a job wrote would take the job's own writes
// for OIM's (and note a state the job's note no longer follows): a run longer than the
// poll interval would enqueue another, and so on forever.
func (w *Worker) poll(ctx context.Context, t *tenant.Tenant) error {
	probe, err := store.NewProbe(ctx, t.Source())
	if err != nil {
		return err
	}
	defer probe.Close()
	for {
		err := w.inTx(ctx, func(tx pgx.Tx) error {
			var free bool
			if err := tx.QueryRow(ctx, "SELECT pg_try_advisory_xact_lock_shared($1, $2)", fileTurnClass, fileTurnKey(t.Name)).Scan(&free); err != nil {
				return err
			}
			if !free {
				return nil // a job holds the file: look again at the next poll
			}
			state, err := probe.State(ctx)
			if err != nil {
				return err
			}
			return w.sourceChanged(ctx, tx, t, state, nil)
		})
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(w.pollEvery):
		}
	}
}

// inTx runs do in a transaction of the queue database, committed when do succeeds.
func (w *Worker) inTx(ctx context.Context, do func(pgx.Tx) error) error {
	tx, err := w.q.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := do(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// sourceChanged enqueues the runs a source's changes call for, in tx with the note of
// the state they stand for: the flows reading the notified tables, or every automated
// flow when the source's state differs from the one last turned into runs (seen "" is
// no state: only notifications count); and the flows whose failed records' back-off
// ended (dueRetries).
func (w *Worker) sourceChanged(ctx context.Context, tx pgx.Tx, t *tenant.Tenant, seen string, tables map[string]bool) error {
	var last string
	err := tx.QueryRow(ctx, "SELECT seen FROM oimconnect.source WHERE tenant = $1", t.Name).Scan(&last)
	if err != nil && err != pgx.ErrNoRows {
		return err
	}
	var flows []string
	by := "event"
	switch {
	case len(tables) > 0:
		flows = w.affected(ctx, t, tables)
		for tb := range tables {
			by += " oim." + tb
		}
	case seen != "" && seen != last:
		flows, by = automated(t), "change"
	}
	due, err := w.dueRetries(ctx, tx, t)
	if err != nil {
		return err
	}
	if due {
		// Every automated flow, as for a change: one run (waiting, it stands for the
		// next retries and changes too) whichever flows' back-offs end, one after the
		// other, as the flows of a run failed them.
		if len(flows) == 0 {
			by = "retry"
		}
		flows = automated(t)
	}
	if len(flows) > 0 {
		if _, err := w.q.runAutomatic(ctx, tx, t.Name, flows, by); err != nil {
			return err
		}
	}
	if seen != "" && seen != last {
		_, err := tx.Exec(ctx, `INSERT INTO oimconnect.source (tenant, seen) VALUES ($1, $2)
			ON CONFLICT (tenant) DO UPDATE SET seen = EXCLUDED.seen`, t.Name, seen)
		return err
	}
	return nil
}

// affected are the automated flows from the first that reads one of the tables on,
// in run order (every automated flow when the plans cannot be read).
func (w *Worker) affected(ctx context.Context, t *tenant.Tenant, tables map[string]bool) []string {
	all := automated(t)
	reads, err := w.reads(ctx, t)
	if err != nil {
		w.log.Warn("which flows read the changed tables: running every automated flow", "tenant", t.Name, "error", err)
		return all
	}
	for i, f := range all {
		for tb := range tables {
			if slices.Contains(reads[f], "oim."+tb) {
				return all[i:]
			}
		}
	}
	return nil
}

// reads are the oim tables each automated flow reads, planned once per tenant against
// the contract's schemas (no database is opened).
func (w *Worker) reads(ctx context.Context, t *tenant.Tenant) (map[string][]string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if r, ok := w.tableReads[t.Name]; ok {
		return r, nil
	}
	eng, err := pipeline.OpenContract(ctx, t.Config, w.log, pipeline.WithSpecs(t.Specs), pipeline.WithTransform(noTransform{}))
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	plans, err := eng.Plan(ctx, pipeline.Request{Flows: automated(t), Mode: pipeline.ModeAutomatic})
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, p := range plans {
		out[p.Flow] = oimTables(p)
	}
	w.tableReads[t.Name] = out
	return out, nil
}

// oimTables are the oim tables a plan reads.
func oimTables(p *plan.Plan) []string {
	var out []string
	add := func(full string) {
		if !slices.Contains(out, full) && len(full) > 4 && full[:4] == "oim." {
			out = append(out, full)
		}
	}
	for _, tb := range p.Whole {
		add(tb.FullName())
	}
	for _, st := range append(append([]plan.Statement{}, p.Prelude...), p.Stage...) {
		if st.Fetch != nil {
			add(st.Fetch.Table.FullName())
		}
	}
	return out
}
