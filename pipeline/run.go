package pipeline

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/plan"
	"github.com/oimconnect/oimconnect/pipeline/store"
)

// Modes a run is recorded under.
const (
	ModeManual    = "manual"
	ModeAutomatic = "automatic"
	ModeScheduled = "scheduled"
	ModeBackfill  = "backfill"
)

// Request says what to run.
type Request struct {
	Flows []string // empty: every flow, in order
	IDs   []string // empty: every selected record
	// DryRun computes every flow, counts and failures included, then rolls it back.
	// Where the store allows it (one DuckDB file), the whole dry run is one rolled-back
	// unit: a later flow sees what an earlier one would have written.
	DryRun bool
	// Mode is recorded in the run history (default manual); Detail beside it, and By:
	// who or what started it (a console user, watch, a schedule).
	Mode, Detail, By string
	// From and To (YYYY-MM-DD, To exclusive) limit dated flows to one partition.
	From, To string
	// Created asks for every created document in the summaries (for --report).
	Created bool
	// Progress, when set, is told each step as it starts (a terminal's progress line,
	// the console's live view).
	Progress func(flow, step string)
	// Scopes, when set, confine the run to these scopes (flow/partition of a backfill):
	// it holds the target shared with runs of other scopes, each of its scopes alone
	// (workers export a backfill's partitions in parallel), where a run of everything
	// holds the target alone.
	Scopes []string
	// Partitions, when set (a backfill over From..To), batch each dated flow's records
	// by partitions of document date: consecutive whole partitions up to batch_size
	// records per transaction. Undated flows run as usual. Backfill names the backfill:
	// the partitions a transaction commits for a flow are recorded with it, in it, and
	// left out when the same backfill runs again. PartitionDone, when set, is told each
	// partition of each flow, committed or left out.
	Partitions    []Partition
	Backfill      string
	PartitionDone func(flow string, part Partition, s Summary, skipped bool)
	// Retries, when set, defers records that failed before and have not changed since,
	// until their back-off ends, and learns from this run's failures (watch's
	// automatic runs).
	Retries *Retries
	// explain keeps what `explain` shows in the staged tables.
	explain bool
	// look, when set, reads the staged tables in the flow's transaction before it is
	// committed or rolled back (Inspect).
	look Look
	// marks are the backfill partitions (flow/partition) a batch commits.
	marks []string
}

// Look reads a flow's staged tables (plan.Plan's Temp, Bad and Outputs) in its
// transaction, before anything is written.
type Look func(ctx context.Context, tx *sql.Tx, p *plan.Plan, s Summary) error

// Summary is what one flow did in a run.
type Summary struct {
	Flow      string `json:"flow"`
	Selected  int64  `json:"selected"` // ready to export now
	Exported  int64  `json:"exported"`
	Documents int64  `json:"documents"`
	Lines     int64  `json:"lines"`
	Waiting   int64  `json:"waiting"` // selected but waiting for something (e.g. a shipment)
	Errors    int64  `json:"errors"`  // marked Export Error
	// Recovered records were found exported already (their documents exist in the
	// target) and were written back only: after a crash between a linked target's
	// commit and the source's write-back, or on every run of a files source.
	Recovered int64         `json:"recovered,omitempty"`
	Duration  time.Duration `json:"duration_ns"`
	// Note says what a dry run could not know (flows that read what earlier flows of
	// the same dry run would have written, where the store cannot hold both).
	Note string `json:"note,omitempty"`
	// Failures are the records that could not be exported, with their reasons (at most
	// maxFailures of them).
	Failures []Failure `json:"failures"`
	// Created lists, when the request asks for it, each exported record's documents.
	Created []Created `json:"created,omitempty"`
}

// Created is one exported record and the documents made from it.
type Created struct {
	Source    string   `json:"source"`
	Documents []string `json:"documents"`
}

// Failure is one record that could not be exported.
type Failure struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

const maxFailures = 100000

func (s Summary) String() string {
	rec := ""
	if s.Recovered > 0 {
		rec = fmt.Sprintf(", recovered %d", s.Recovered)
	}
	return fmt.Sprintf("%s: selected %d, exported %d, documents %d, lines %d, waiting %d, errors %d%s (%s)",
		s.Flow, s.Selected, s.Exported, s.Documents, s.Lines, s.Waiting, s.Errors, rec, s.Duration.Round(time.Millisecond))
}

func (s *Summary) add(b Summary) {
	s.Selected += b.Selected
	s.Exported += b.Exported
	s.Documents += b.Documents
	s.Lines += b.Lines
	s.Waiting += b.Waiting
	s.Errors += b.Errors
	s.Recovered += b.Recovered
	s.Duration += b.Duration
	s.Failures = append(s.Failures, b.Failures...)
	s.Created = append(s.Created, b.Created...)
}

// dryRunsTogether is a store whose working database can hold every flow's writes in
// one transaction, so a dry run is one rolled-back unit.
type dryRunsTogether interface{ DryRunsTogether() bool }

// Run plans the requested flows, then runs them in order, each in batches of its own
// transactions.
func (e *Engine) Run(ctx context.Context, req Request) ([]Summary, error) {
	if e.readOnly && !req.DryRun {
		return nil, errors.New("the engine was opened to write nothing (pipeline.ReadOnly): only a dry run may run")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	unlock, err := e.store.Lock(ctx, req.Scopes...)
	if err != nil {
		return nil, err
	}
	defer unlock()
	cat, plans, err := e.plan(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := e.store.Prepare(ctx, cat, plans, req.DryRun); err != nil {
		return nil, err
	}
	if err := e.checkIDs(ctx, plans, req.IDs); err != nil {
		return nil, err
	}
	together := false
	if t, ok := e.store.(dryRunsTogether); ok {
		together = t.DryRunsTogether()
	}
	if req.DryRun && together {
		return e.dryRun(ctx, plans, req)
	}
	var out []Summary
	for pi, p := range plans {
		s, err := e.runPlan(ctx, p, req, pi == len(plans)-1, nil)
		if req.DryRun {
			s.Note = e.unknowable(plans[:pi], p)
		}
		if err != nil {
			if !req.DryRun && wrote(append(out, s)) {
				// Earlier flows or batches are committed: a database lost now, or a
				// connection refused, no longer means nothing was written.
				err = fault.Midway(err)
			}
			return out, err
		}
		out = append(out, s)
	}
	return out, nil
}

// wrote reports whether the summaries of committed work (flows, or a flow's batches)
// count anything written.
func wrote(sums []Summary) bool {
	for _, s := range sums {
		if s.Selected > 0 || s.Errors > 0 || s.Recovered > 0 {
			return true
		}
	}
	return false
}

// runPlan runs one flow on a connection of its own: the prelude stages its candidates,
// then batch by batch (key ranges of at most batch_size candidates), each committed on
// its own. Within a shared dry run, everything runs in its transaction.
func (e *Engine) runPlan(ctx context.Context, p *plan.Plan, req Request, lastPlan bool, sh *shared) (s Summary, err error) {
	s.Flow = p.Flow
	if sh == nil {
		conn, err := e.store.DB().Conn(ctx)
		if err != nil {
			return s, err
		}
		defer conn.Close()
		sh = &shared{conn: conn}
	}
	x := sh.execer()
	start := time.Now()
	defer drop(ctx, x, []string{p.Candidates, deferredTable}, nil)
	retries := req.Retries != nil && p.Fingerprint != ""
	var deferred map[string]uint64
	if retries {
		var err error
		if deferred, err = req.Retries.stageDeferred(ctx, x, p.Flow); err != nil {
			return s, fmt.Errorf("flow %s: %w", p.Flow, err)
		}
	}
	if err := e.runStatements(ctx, x, sh.dry.fetches(p.Prelude), e.stepper(p.Flow, req.Progress)); err != nil {
		return s, fmt.Errorf("flow %s: %w", p.Flow, err)
	}
	var n int64
	if err := x.QueryRowContext(ctx, "SELECT count(*) FROM "+p.Candidates).Scan(&n); err != nil {
		return s, fmt.Errorf("flow %s: count the candidates: %w", p.Flow, err)
	}
	if n > 0 || req.explain {
		if err := e.store.Refresh(ctx, x, p); err != nil {
			return s, fmt.Errorf("flow %s: %w", p.Flow, err)
		}
	}
	if len(req.Partitions) > 0 && p.Dated() && !req.DryRun {
		ps, err := e.runPartitions(ctx, p, req, sh)
		s.add(ps)
		e.logFlow(ctx, req, s)
		return s, err
	}
	if n == 0 && !req.explain {
		// Nothing to export: no stage. A manual or scheduled run is still history.
		if retries && !req.DryRun {
			req.Retries.learn(p.Flow, nil, nil, deferred) // what it remembers is no candidate
		}
		s.Duration = time.Since(start)
		if en := e.entry(req, s, start, nil); en != nil && !req.DryRun {
			en.Ended = time.Now()
			if err := e.store.Record(ctx, *en); err != nil {
				return s, fmt.Errorf("flow %s: %w", p.Flow, err)
			}
		}
		e.logFlow(ctx, req, s)
		return s, nil
	}
	ranges, err := e.batches(ctx, x, p, req)
	if err != nil {
		return s, fmt.Errorf("flow %s: %w", p.Flow, err)
	}
	for i, r := range ranges {
		bp, batch, err := e.batch(p, req, r, i, len(ranges))
		if err != nil {
			return s, err
		}
		bs, err := e.runBatch(ctx, bp, batch, lastPlan && i == len(ranges)-1, sh)
		if err != nil {
			if sh.tx != nil {
				return s, fmt.Errorf("flow %s: %w (dry run: nothing was written)", p.Flow, err)
			}
			return s, flowError(p.Flow, err, i, len(ranges))
		}
		s.add(bs)
	}
	if retries && !req.DryRun {
		if err := req.Retries.learnFrom(ctx, x, p, s.Failures, deferred); err != nil {
			return s, fmt.Errorf("flow %s: %w", p.Flow, err)
		}
	}
	e.logFlow(ctx, req, s)
	return s, nil
}

// batch is the plan and request of batch i of n over the key range r.
func (e *Engine) batch(p *plan.Plan, req Request, r [2]string, i, n int) (*plan.Plan, Request, error) {
	if n == 1 {
		return p, req, nil
	}
	bp, err := p.Range(r[0], r[1])
	if err != nil {
		return nil, req, err
	}
	req.Detail = strings.TrimSpace(fmt.Sprintf("%s batch %d/%d", req.Detail, i+1, n))
	return bp, req, nil
}

func (e *Engine) logFlow(ctx context.Context, req Request, s Summary) {
	level := slog.LevelInfo
	if req.Mode == ModeBackfill || (req.Mode == ModeAutomatic && s.Selected == 0 && s.Errors == 0) {
		level = slog.LevelDebug // progress per partition instead; an idle poll
	}
	attrs := []any{"flow", s.Flow, "selected", s.Selected, "exported", s.Exported, "documents", s.Documents,
		"lines", s.Lines, "waiting", s.Waiting, "errors", s.Errors, "duration", s.Duration.Round(time.Millisecond)}
	if req.Detail != "" {
		attrs = append(attrs, "detail", req.Detail)
	}
	if req.DryRun {
		attrs = append(attrs, "dry_run", true)
	}
	e.log.Log(ctx, level, "flow done", attrs...)
}

// dryRun runs every flow and batch in one transaction of the working database, each
// flow's writes applied so later flows see them, and rolls it all back.
func (e *Engine) dryRun(ctx context.Context, plans []*plan.Plan, req Request) ([]Summary, error) {
	conn, err := e.store.DB().Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var out []Summary
	o := &overlays{tables: map[*catalog.Table]string{}, prefix: strings.TrimSuffix(plans[0].Bad, "bad")}
	for i, p := range plans {
		s, err := e.runPlan(ctx, p, req, false, &shared{conn: conn, tx: tx, dry: o, writes: o.dryWrites(plans[i:])})
		if err != nil {
			return out, err
		}
		out = append(out, s)
	}
	return out, nil
}

// unknowable says what a dry run of p, run on its own after the plans before it were
// rolled back, cannot know: the tables it reads that they would have written.
func (e *Engine) unknowable(before []*plan.Plan, p *plan.Plan) string {
	var tables []string
	seen := map[string]bool{}
	for _, b := range before {
		for _, st := range b.Write {
			t := st.Write.Table
			if !seen[t.FullName()] && p.Reads(t) {
				seen[t.FullName()] = true
				tables = append(tables, t.FullName())
			}
		}
	}
	if len(tables) == 0 {
		return ""
	}
	return fmt.Sprintf("counts assume the earlier flows of this dry run wrote nothing: it reads %s, which they would write, and a dry run against %s cannot hold their writes",
		strings.Join(tables, ", "), e.store.Name())
}

// shared is the connection a flow runs on, and the transaction a dry run holds across
// flows (nil: each batch begins its own).
type shared struct {
	conn   *sql.Conn
	tx     *sql.Tx
	dry    *overlays  // a dry run's (see dryrun.go)
	writes *writesFor // what a dry run does with the flow's writes
}

func (sh *shared) execer() catalog.Execer {
	if sh.tx != nil {
		return sh.tx
	}
	return sh.conn
}

// runBatch runs one batch of a flow: the stage and the transform (committed before
// the flow's transaction begins, see below), then the counts and failures in the flow's
// transaction, and the store's commit. A run stopped meanwhile reports that it was.
// Within a shared dry run everything runs in its transaction, writes included, and
// nothing is committed.
func (e *Engine) runBatch(ctx context.Context, p *plan.Plan, req Request, last bool, sh *shared) (s Summary, err error) {
	start := time.Now()
	s.Flow = p.Flow
	defer func() { s.Duration = time.Since(start) }()
	conn, tx := sh.conn, sh.tx
	dryTogether := tx != nil
	step := e.stepper(p.Flow, req.Progress)
	x := sh.execer()
	var left plan.Leftovers // what the transform made for the write to read
	defer func() {
		if stop := ctx.Err(); err != nil && stop != nil && !errors.Is(err, stop) {
			// Stopped: what failed meanwhile (a statement, a connection the driver
			// closed) follows from it.
			err = fmt.Errorf("stopped (%w) during: %v", stop, err)
		}
		if err != nil && tx != nil && !dryTogether {
			_ = tx.Rollback()
		}
		drop(ctx, x, append(slices.Clone(p.Temps), left.Temps...), append(slices.Clone(p.Views), left.Views...))
	}()
	// Each stage statement commits on its own: it only makes this connection's temp
	// tables and views, so nothing is written yet (runs of one engine take turns, and
	// another process cannot write the file meanwhile). DuckDB 1.1 has no statistics for
	// a table made in the running transaction: it takes it for empty and plans the
	// joins that read it backwards (building hash tables of millions of rows to probe
	// them with a small lookup table, the rows coming out shuffled, so the key index
	// grows slowly). Committed, the stage and the writes took half the time at 9M lines.
	// A shared dry run stages in its transaction instead: slower, but one unit.
	if err = e.runStatements(ctx, x, sh.dry.fetches(p.Stage), step); err != nil {
		return s, err
	}
	// The transform, like the stage, changes only this connection's temp tables, and
	// commits them before the flow's transaction begins, so that the write's plans know
	// the sizes of the tables it made (see above and Transformer). A shared dry run
	// transforms in its transaction.
	if err = e.transformFlow(ctx, conn, x, p, step, &left); err != nil {
		return s, err
	}
	if tx == nil {
		if tx, err = conn.BeginTx(ctx, nil); err != nil {
			return s, err
		}
	}
	if s, err = e.tally(ctx, tx, p, req); err != nil {
		return s, err
	}
	s.Duration = time.Since(start)
	if req.DryRun {
		if dryTogether { // later flows of the dry run see this one's writes
			writes, err := sh.writes.statements(ctx, tx, p.Write)
			if err != nil {
				return s, err
			}
			return s, e.runStatements(ctx, tx, writes, step)
		}
		return s, tx.Rollback()
	}
	entry := e.entry(req, s, start, nil)
	if entry != nil {
		entry.Outcomes = p.Outcomes
	}
	if err = e.store.Commit(ctx, conn, tx, p, entry, last, step); err != nil {
		_ = tx.Rollback() // when the store has not committed it
		failed := e.entry(req, s, start, err)
		failed.Ended = time.Now()
		_ = e.store.Record(context.WithoutCancel(ctx), *failed)
		return s, err
	}
	if entry != nil && entry.Selected != s.Selected { // the store left out records OIM changed meanwhile
		s.Selected, s.Exported, s.Documents, s.Lines, s.Waiting, s.Errors = entry.Selected, entry.Exported, entry.Documents, entry.Lines, entry.Waiting, entry.Errors
		s.Recovered = s.Selected - s.Errors - s.Exported
		if int64(len(s.Failures)) != s.Errors { // some of them failed a rule: they wait now
			if s.Failures, err = failures(ctx, conn, p); err != nil {
				return s, err
			}
		}
	}
	return s, nil
}

// transformFlow runs the transform (the plugins) over the flow's staged outputs, its
// statements on x.
func (e *Engine) transformFlow(ctx context.Context, conn *sql.Conn, x catalog.Execer, p *plan.Plan, step store.Step, left *plan.Leftovers) error {
	if e.transform == nil || !e.transforms(p.Flow) {
		return nil
	}
	step("transform", 0, true)
	t := time.Now()
	var err error
	if *left, err = e.transform.Transform(ctx, x, conn, p); err != nil {
		return fmt.Errorf("transform: %w", err)
	}
	step("transform", time.Since(t), false)
	return nil
}

// tally counts what the staged flow (or its Part) will do, and reads its failures (and
// the created documents, when asked).
func (e *Engine) tally(ctx context.Context, tx *sql.Tx, p *plan.Plan, req Request) (s Summary, err error) {
	s.Flow = p.Flow
	if err = tx.QueryRowContext(ctx, p.Counts).Scan(&s.Selected, &s.Waiting, &s.Errors, &s.Documents, &s.Lines, &s.Recovered); err != nil {
		return s, fmt.Errorf("count: %w", err)
	}
	s.Exported = s.Selected - s.Errors - s.Recovered
	if s.Errors > 0 {
		if s.Failures, err = failures(ctx, tx, p); err != nil {
			return s, err
		}
		if !req.explain {
			for i, f := range s.Failures {
				if i == 5 {
					e.log.Warn("more records not exported", "flow", p.Flow, "count", len(s.Failures)-i)
					break
				}
				e.log.Warn("record not exported", "flow", p.Flow, "id", f.ID, "reason", f.Reason)
			}
		}
	}
	if req.Created {
		if s.Created, err = createdDocuments(ctx, tx, p); err != nil {
			return s, err
		}
	}
	if req.look != nil {
		if err = req.look(ctx, tx, p, s); err != nil {
			return s, err
		}
	}
	return s, nil
}

// Inspect stages one record of one flow with everything `explain` shows (each select
// and ready condition's outcome and the values it read, the given values of derived
// fields, each rule's outcome per record and per line) and calls look in the flow's
// transaction, then rolls it back: nothing is written. The record need not be a
// candidate: look finds it missing from the staged tables.
func (e *Engine) Inspect(ctx context.Context, flow, id string, look Look) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	req := Request{Flows: []string{flow}, IDs: []string{id}, DryRun: true, explain: true, look: look}
	cat, plans, err := e.plan(ctx, req)
	if err != nil {
		return err
	}
	if err := e.store.Prepare(ctx, cat, plans, true); err != nil {
		return err
	}
	_, err = e.runPlan(ctx, plans[0], req, false, nil)
	return err
}

// entry is a batch's history entry: nil for an automatic run that found nothing to do
// (an idle poll is not history).
func (e *Engine) entry(req Request, s Summary, start time.Time, runErr error) *store.Entry {
	if runErr == nil && req.Mode == ModeAutomatic && s.Selected == 0 && s.Errors == 0 {
		return nil
	}
	mode := req.Mode
	if mode == "" {
		mode = ModeManual
	}
	en := &store.Entry{RunID: e.runID(req), Mode: mode, Flow: s.Flow, Detail: req.Detail, Started: start,
		Selected: s.Selected, Exported: s.Exported, Documents: s.Documents, Lines: s.Lines, Waiting: s.Waiting, Errors: s.Errors}
	if len(req.marks) > 0 && runErr == nil {
		en.Backfill, en.Marks = req.Backfill, req.marks
	}
	en.By = req.By
	if runErr != nil {
		en.Error = runErr.Error()
	}
	return en
}

// runID is the id of the run the request belongs to: a run's batches and flows share
// it only through their own timestamps today, so each batch gets its own.
func (e *Engine) runID(Request) string { return store.NewRunID() }

// stepper reports each statement: to the request's progress, and timed at debug level.
func (e *Engine) stepper(flow string, progress func(flow, step string)) store.Step {
	return func(name string, took time.Duration, starting bool) {
		if starting {
			if progress != nil {
				progress(flow, name)
			}
			return
		}
		e.log.Debug("step", "flow", flow, "step", name, "duration", took.Round(time.Microsecond))
	}
}

// runStatements runs statements in order, reporting each; the store runs the fetches.
func (e *Engine) runStatements(ctx context.Context, x catalog.Execer, stmts []plan.Statement, step store.Step) error {
	for _, st := range stmts {
		step(st.Name, 0, true)
		t := time.Now()
		var err error
		if st.Fetch != nil {
			err = e.store.Fetch(ctx, x, st)
		} else {
			_, err = x.ExecContext(ctx, st.SQL)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", st.Name, err)
		}
		step(st.Name, time.Since(t), false)
	}
	return nil
}

// drop removes temp views and tables from the connection.
func drop(ctx context.Context, x catalog.Execer, temps, views []string) {
	ctx = context.WithoutCancel(ctx)
	for _, v := range views {
		_, _ = x.ExecContext(ctx, "DROP VIEW IF EXISTS temp."+v)
	}
	for _, t := range temps {
		_, _ = x.ExecContext(ctx, "DROP TABLE IF EXISTS temp."+t)
	}
}

// batches splits a flow's candidates into key ranges of at most batch_size records, each
// exported in its own transaction: memory stays bounded on bulk runs, and a record's
// documents are still written all at once. One range [unbounded) when batching is off,
// for --id runs, and when the candidates fit one batch.
func (e *Engine) batches(ctx context.Context, x catalog.Execer, p *plan.Plan, req Request) ([][2]string, error) {
	whole := [][2]string{{"", ""}}
	n := e.cfg.BatchSize
	if n <= 0 || len(req.IDs) > 0 {
		return whole, nil
	}
	rows, err := x.QueryContext(ctx, fmt.Sprintf(`SELECT CAST(k AS VARCHAR) FROM (
		SELECT k, row_number() OVER (ORDER BY k) AS rn FROM (%s)) WHERE rn %% %d = 1 AND rn > 1 ORDER BY k`, p.Keys(), n))
	if err != nil {
		return nil, fmt.Errorf("split into batches: %w", err)
	}
	defer rows.Close()
	var bounds []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		bounds = append(bounds, k)
	}
	if err := rows.Err(); err != nil || len(bounds) == 0 {
		return whole, err
	}
	out := make([][2]string, 0, len(bounds)+1)
	from := ""
	for _, b := range bounds {
		out = append(out, [2]string{from, b})
		from = b
	}
	return append(out, [2]string{from, ""}), nil
}

// checkIDs refuses ids that are no record of any planned flow's source: a typo in
// --id would otherwise select nothing and succeed. The ids are fetched like
// candidates, where the source lives.
func (e *Engine) checkIDs(ctx context.Context, plans []*plan.Plan, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	conn, err := e.store.DB().Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	lits := make([]string, len(ids))
	for i, id := range ids {
		lits[i] = catalog.Literal(id)
	}
	found := map[string]bool{}
	var tables []string
	for _, p := range plans {
		tables = append(tables, p.Source.FullName())
		f := &plan.Fetch{Table: p.Source, Into: "_oc_ids", Where: catalog.Ident(p.Source.Key) + " IN (" + strings.Join(lits, ", ") + ")"}
		if err := e.store.Fetch(ctx, conn, f.Statement("ids")); err != nil {
			return fmt.Errorf("look up --id: %w", err)
		}
		rows, err := conn.QueryContext(ctx, "SELECT CAST("+catalog.Ident(p.Source.Key)+" AS VARCHAR) FROM _oc_ids")
		if err != nil {
			return fmt.Errorf("look up --id: %w", err)
		}
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				rows.Close()
				return err
			}
			found[k] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	drop(ctx, conn, []string{"_oc_ids"}, nil)
	var missing []string
	for _, id := range ids {
		if !found[id] {
			missing = append(missing, strconv.Quote(id))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	what := "no record"
	if len(missing) > 1 {
		what = "no records"
	}
	return fault.Inputf("%s %s in %s: nothing was exported", what, strings.Join(missing, ", "), strings.Join(tables, ", "))
}

// createdDocuments lists each valid record's documents, from the staged documents.
func createdDocuments(ctx context.Context, tx *sql.Tx, p *plan.Plan) ([]Created, error) {
	doc := p.Outputs[0]
	rows, err := tx.QueryContext(ctx, fmt.Sprintf(`SELECT CAST(_hkey AS VARCHAR), list(DISTINCT CAST(%s AS VARCHAR) ORDER BY CAST(%s AS VARCHAR))
		FROM %s WHERE _hkey NOT IN (SELECT _hkey FROM %s) GROUP BY 1 ORDER BY 1`,
		catalog.Ident(doc.Target.Key), catalog.Ident(doc.Target.Key), doc.Temp, p.Bad))
	if err != nil {
		return nil, fmt.Errorf("list created documents: %w", err)
	}
	defer rows.Close()
	var out []Created
	for rows.Next() {
		var c Created
		var ids any
		if err := rows.Scan(&c.Source, &ids); err != nil {
			return nil, err
		}
		if l, ok := ids.([]any); ok {
			for _, id := range l {
				c.Documents = append(c.Documents, fmt.Sprint(id))
			}
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func failures(ctx context.Context, x catalog.Execer, p *plan.Plan) ([]Failure, error) {
	rows, err := x.QueryContext(ctx, fmt.Sprintf("%s LIMIT %d", p.Failures, maxFailures))
	if err != nil {
		return nil, fmt.Errorf("read failures: %w", err)
	}
	defer rows.Close()
	var out []Failure
	for rows.Next() {
		var f Failure
		if err := rows.Scan(&f.ID, &f.Reason); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}
