// Package pipeline runs flows. It loads the specs (embedded, or a directory from the
// configuration), reads the database catalog, plans every requested flow before touching
// any data (so a spec mistake writes nothing), then runs each flow's plan in one
// transaction: a source record is exported completely or not at all.
package pipeline

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	_ "github.com/marcboeker/go-duckdb" // the embedded DuckDB driver

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/plan"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
	"github.com/oimconnect/oimconnect/pipeline/spec"
	"github.com/oimconnect/oimconnect/specs"
)

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

// Request says what to run.
type Request struct {
	Flows []string // empty: every flow, in order
	IDs   []string // empty: every selected record
	// DryRun computes every flow, counts and failures included, then rolls it back.
	DryRun bool
	// Mode is recorded in the run history (default manual); Detail beside it.
	Mode, Detail string
	// From and To (YYYY-MM-DD, To exclusive) limit dated flows to one partition.
	From, To string
	// Created asks for every created document in the summaries (for --report).
	Created bool
	// planOnly plans without reading data (a linked source is not copied).
	planOnly bool
}

// Engine runs flows against one DuckDB database holding both schemas.
type Engine struct {
	DB    *sql.DB
	Specs *spec.Set
	cfg   *config.Config
	log   *slog.Logger
	// BeforeCommit, when set, runs after a flow's writes and before its commit; an error
	// rolls the flow back. Tests inject failures here.
	BeforeCommit func(flow string) error
	// link is set when the source and the target are not one DuckDB file.
	link *link
	// Progress, when set, is told each step as it starts (for a terminal).
	Progress func(flow, step string)
	// AfterTarget, when set, runs when a linked target has committed a flow's documents
	// and before the source's write-back (between the two steps); tests crash here.
	AfterTarget func(flow string) error
	// Transform, when set, changes each flow's staged documents after mapping and
	// before the write (the plugin host, pipeline/host).
	Transform Transformer
}

// transforms reports whether the Transformer changes this flow (one that does not say
// changes every flow).
func (e *Engine) transforms(flow string) bool {
	if e.Transform == nil {
		return false
	}
	if a, ok := e.Transform.(interface{ Applies(string) bool }); ok {
		return a.Applies(flow)
	}
	return true
}

// Transformer changes a flow's staged outputs (plan.Outputs) in place, inside the
// flow's transaction: tx for statements, conn for the driver's Arrow interface. A
// document it cannot transform is added to the plan's Bad table with a reason; an error
// rolls the flow back.
type Transformer interface {
	Transform(ctx context.Context, tx *sql.Tx, conn *sql.Conn, p *plan.Plan) error
}

// LoadSpecs loads the spec directory named in the configuration, else the embedded defaults.
func LoadSpecs(dir string) (*spec.Set, error) {
	var fsys fs.FS = specs.FS
	name := "specs (embedded)"
	if dir != "" {
		st, err := os.Stat(dir)
		if err != nil || !st.IsDir() {
			return nil, fault.Inputf("spec directory %s: not found", dir)
		}
		fsys, name = os.DirFS(dir), dir
	}
	set, err := spec.Load(fsys, name)
	if err != nil {
		return nil, &fault.InputError{Err: err}
	}
	return set, nil
}

// Open opens the configured source and target and loads the specs. With one DuckDB
// file (db) both schemas are read and written in place; otherwise they are linked
// (see link).
func Open(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Engine, error) {
	src, tgt := cfg.Source, cfg.Target
	if src == "" {
		src = cfg.DB
	}
	if tgt == "" {
		tgt = cfg.DB
	}
	if src == "" || tgt == "" {
		return nil, fault.Inputf("no database: give --db FILE (a DuckDB file holding the oim and acct schemas), or --source and --target")
	}
	set, err := LoadSpecs(cfg.Specs)
	if err != nil {
		return nil, err
	}
	var db *sql.DB
	var l *link
	if src == tgt && classify(src).kind == duckFile {
		db, err = openFile(ctx, src)
	} else {
		db, l, err = openLinked(ctx, src, tgt, cfg.DuckDB.TempDirectory, log)
	}
	if err != nil {
		return nil, err
	}
	if err := tune(ctx, db, cfg.DuckDB); err != nil {
		db.Close()
		if l != nil {
			l.close()
		}
		return nil, err
	}
	return &Engine{DB: db, Specs: set, cfg: cfg, log: log, link: l}, nil
}

func openFile(ctx context.Context, path string) (*sql.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fault.Inputf("database %s: %v", path, errors.Unwrap(err))
	}
	if err := CheckFileName(path); err != nil {
		return nil, err
	}
	db, err := sql.Open("duckdb", path)
	if err != nil {
		return nil, opened(path, err)
	}
	if err := ping(ctx, db, path); err != nil {
		db.Close()
		return nil, err
	}
	if err := checkpoint(ctx, db, ""); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

var pidRE = regexp.MustCompile(`\(PID (\d+)\)`)

// ping opens the DuckDB file now, telling a file held by another process apart.
func ping(ctx context.Context, db *sql.DB, path string) error {
	return opened(path, db.PingContext(ctx))
}

// opened names an error opening a DuckDB file: a fault.BusyError when another process holds it.
func opened(path string, err error) error {
	if err == nil {
		return nil
	}
	if msg := err.Error(); strings.Contains(msg, "Could not set lock") || strings.Contains(msg, "Conflicting lock") {
		b := &fault.BusyError{Path: path, Err: err}
		if m := pidRE.FindStringSubmatch(msg); m != nil {
			b.PID = m[1]
		}
		return b
	}
	if denied(err) {
		why := firstParagraph(err.Error())
		if i := strings.Index(why, "IO Error: "); i >= 0 {
			why = why[i+len("IO Error: "):]
		}
		return &fault.InputError{Err: fmt.Errorf("database %s cannot be written (%s): give the user running oimconnect write access to it and its directory; nothing was written", path, why)}
	}
	return fmt.Errorf("open %s: %w", path, err)
}

// denied reports whether an error is the operating system refusing to write a file.
func denied(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "Permission denied") || strings.Contains(msg, "Operation not permitted") || strings.Contains(msg, "Read-only file system")
}

// checkpoint folds a DuckDB file's write-ahead log into the file before anything is
// written. After a crash the log may end in a torn entry; DuckDB 1.1 (go-duckdb v1.8)
// replays up to it but then appends after it, so a second crash would lose the commits
// made in between, or leave a log that no longer opens (fixed in DuckDB 1.2). A
// checkpoint at open truncates the log, so every run starts from a clean one.
func checkpoint(ctx context.Context, db *sql.DB, database string) error {
	q := "CHECKPOINT"
	if database != "" {
		q += " " + catalog.Ident(database)
	}
	if _, err := db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
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

func failures(ctx context.Context, tx *sql.Tx, bad string) ([]Failure, error) {
	rows, err := tx.QueryContext(ctx, fmt.Sprintf("SELECT CAST(_hkey AS VARCHAR), _msg FROM %s ORDER BY 1 LIMIT %d", bad, maxFailures))
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

// tune applies the configured DuckDB resource limits to the database.
func tune(ctx context.Context, db *sql.DB, d config.DuckDB) error {
	set := map[string]string{}
	if d.MemoryLimit != "" {
		set["memory_limit"] = catalog.Literal(d.MemoryLimit)
	}
	if d.TempDirectory != "" {
		set["temp_directory"] = catalog.Literal(d.TempDirectory)
	}
	if d.Threads > 0 {
		set["threads"] = fmt.Sprint(d.Threads)
	}
	if d.CheckpointThreshold != "" {
		set["checkpoint_threshold"] = catalog.Literal(d.CheckpointThreshold)
	}
	for _, k := range spec.SortedKeys(set) {
		if _, err := db.ExecContext(ctx, "SET "+k+" = "+set[k]); err != nil {
			return fault.Inputf("duckdb.%s: %v", k, err)
		}
	}
	return nil
}

// New is an engine over an open database (holding the oim and acct schemas).
func New(db *sql.DB, set *spec.Set, cfg *config.Config, log *slog.Logger) *Engine {
	return &Engine{DB: db, Specs: set, cfg: cfg, log: log}
}

// OpenContract is an engine over an empty in-memory database holding the contract's
// schemas: for checking specs when no database is at hand.
func OpenContract(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Engine, error) {
	set, err := LoadSpecs(cfg.Specs)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, err
	}
	if err := catalog.Init(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	c := *cfg
	c.DB = "the contract's schemas"
	return &Engine{DB: db, Specs: set, cfg: &c, log: log}, nil
}

// CheckFileName refuses DuckDB files named oim.*, acct.* or connector.*: DuckDB names
// the database after the file, and a database called oim makes "oim.invoice" ambiguous.
func CheckFileName(path string) error {
	base := strings.ToLower(filepath.Base(path))
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	if base == "oim" || base == "acct" || base == "connector" {
		return fault.Inputf("database file %s: DuckDB names the database after the file, and %q clashes with the schema of that name; rename the file (e.g. oimconnect.duckdb)", path, base)
	}
	return nil
}

// Close closes the databases.
func (e *Engine) Close() error {
	err := e.DB.Close()
	if e.link != nil {
		e.link.close()
	}
	return err
}

// Plan reads the catalog and plans the requested flows, in run order.
func (e *Engine) Plan(ctx context.Context, req Request) ([]*plan.Plan, error) {
	req.planOnly = true
	return e.plan(ctx, req, false)
}

func (e *Engine) plan(ctx context.Context, req Request, explain bool) ([]*plan.Plan, error) {
	flows, err := e.flows(req.Flows)
	if err != nil {
		return nil, err
	}
	schemas := []string{"oim", "acct"}
	if e.link != nil {
		schemas = e.link.schemas()
	}
	cat, err := catalog.Read(ctx, e.DB, schemas...)
	if err != nil {
		return nil, err
	}
	if len(cat.Tables()) == 0 {
		db := postgres.Redact(e.cfg.DB)
		return nil, fault.Inputf("database %s has no oim or acct tables: create them with `oimconnect init --db %s`", db, db)
	}
	model, err := plan.NewModel(e.Specs.Model, cat)
	if err != nil {
		return nil, &fault.InputError{Err: err}
	}
	var probs spec.Problems
	var plans []*plan.Plan
	for _, f := range flows {
		opt := plan.Options{IDs: req.IDs, Settings: e.cfg.Settings.Map(), Explain: explain, From: req.From, To: req.To,
			Recover: e.link != nil, Materialize: e.transforms(f.Name)}
		if req.Mode == ModeAutomatic {
			_, opt.Criteria = e.cfg.Settings.Automation.Automated(f.Name)
		}
		p, err := plan.Build(f, model, opt)
		if err != nil {
			var ps spec.Problems
			if errors.As(err, &ps) {
				probs = append(probs, ps...)
				continue
			}
			return nil, err
		}
		plans = append(plans, p)
	}
	if len(probs) > 0 {
		return nil, &fault.InputError{Err: probs}
	}
	if e.link != nil && !req.planOnly {
		reads := func(t *catalog.Table) bool {
			for _, p := range plans {
				if p.Reads(t) {
					return true
				}
			}
			return false
		}
		if err := e.link.refresh(ctx, e.DB, cat, reads); err != nil {
			return nil, err
		}
	}
	return plans, nil
}

func (e *Engine) flows(names []string) ([]*spec.Flow, error) {
	all := e.Specs.Ordered()
	if len(names) == 0 {
		return all, nil
	}
	var out []*spec.Flow
	for _, f := range all {
		for _, n := range names {
			if n == f.Name {
				out = append(out, f)
				break
			}
		}
	}
	for _, n := range names {
		if e.Specs.Flows[n] == nil {
			known := make([]string, len(all))
			for i, f := range all {
				known[i] = f.Name
			}
			return nil, fault.Inputf("unknown flow %q (flows: %s)", n, strings.Join(known, ", "))
		}
	}
	return out, nil
}

// Run plans the requested flows, then runs them in order, each in its own transaction.
func (e *Engine) Run(ctx context.Context, req Request) ([]Summary, error) {
	if e.link != nil {
		unlock, err := e.link.lock(ctx)
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	plans, err := e.plan(ctx, req, false)
	if err != nil {
		return nil, err
	}
	if err := e.checkIDs(ctx, plans, req.IDs); err != nil {
		return nil, err
	}
	var out []Summary
	for pi, p := range plans {
		ranges, err := e.batches(ctx, p, req)
		if err != nil {
			return out, fmt.Errorf("flow %s: %w", p.Flow, err)
		}
		s := Summary{Flow: p.Flow}
		for i, r := range ranges {
			bp := p
			batch := req
			if len(ranges) > 1 {
				if bp, err = p.Range(r[0], r[1]); err != nil {
					return out, err
				}
				batch.Detail = strings.TrimSpace(fmt.Sprintf("%s batch %d/%d", req.Detail, i+1, len(ranges)))
			}
			if e.link != nil {
				e.link.final = pi == len(plans)-1 && i == len(ranges)-1
			}
			rec := e.recorder(ctx, batch)
			var inspect func(*sql.Tx) error
			var created []Created
			if req.Created {
				inspect = func(tx *sql.Tx) (err error) {
					created, err = createdDocuments(ctx, tx, bp)
					return err
				}
			}
			bs, err := e.runFlow(ctx, bp, req.DryRun, inspect, rec)
			bs.Created = created
			if err != nil {
				e.recordFailure(context.WithoutCancel(ctx), rec, bs, err)
				return out, fmt.Errorf("flow %s: %w (%s)", p.Flow, err, rolledBack(err, i, len(ranges)))
			}
			s.add(bs)
		}
		level := slog.LevelInfo
		if req.Mode == ModeBackfill || (req.Mode == ModeAutomatic && s.Selected == 0 && s.Errors == 0) {
			level = slog.LevelDebug // progress per partition instead; an idle poll
		}
		attrs := []any{"flow", s.Flow, "selected", s.Selected, "exported", s.Exported, "documents", s.Documents,
			"lines", s.Lines, "waiting", s.Waiting, "errors", s.Errors, "duration", s.Duration.Round(time.Millisecond)}
		if req.Detail != "" {
			attrs = append(attrs, "detail", req.Detail)
		}
		e.log.Log(ctx, level, "flow done", attrs...)
		out = append(out, s)
	}
	return out, nil
}

// checkIDs refuses ids that are no record of any planned flow's source: a typo in
// --id would otherwise select nothing and succeed.
func (e *Engine) checkIDs(ctx context.Context, plans []*plan.Plan, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	found := map[string]bool{}
	var tables []string
	for _, p := range plans {
		tables = append(tables, p.Source.FullName())
		lits := make([]string, len(ids))
		for i, id := range ids {
			lits[i] = catalog.Literal(id)
		}
		rows, err := e.DB.QueryContext(ctx, fmt.Sprintf("SELECT CAST(%s AS VARCHAR) FROM %s WHERE %s IN (%s)",
			catalog.Ident(p.Source.Key), p.Source.SQLName(), catalog.Ident(p.Source.Key), strings.Join(lits, ", ")))
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

// batches splits a flow's candidates into key ranges of at most batch_size records, each
// exported in its own transaction: memory stays bounded on bulk runs, and a record's
// documents are still written all at once. One range [unbounded) when batching is off,
// for --id runs, and when the candidates fit one batch.
func (e *Engine) batches(ctx context.Context, p *plan.Plan, req Request) ([][2]string, error) {
	whole := [][2]string{{"", ""}}
	n := e.cfg.BatchSize
	if n <= 0 || len(req.IDs) > 0 {
		return whole, nil
	}
	rows, err := e.DB.QueryContext(ctx, fmt.Sprintf(`SELECT CAST(k AS VARCHAR) FROM (
		SELECT k, row_number() OVER (ORDER BY k) AS rn FROM (%s)) WHERE rn %% %d = 1 AND rn > 1 ORDER BY k`, p.Candidates(), n))
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

// recorder returns what writes a flow run into the target's history (nil for dry runs).
func (e *Engine) recorder(ctx context.Context, req Request) *runRecord {
	if req.DryRun {
		return nil
	}
	var err error
	if l := e.link; l != nil && l.tgt.kind == pgDatabase {
		err = l.retry(ctx, "run history", func() error {
			c, err := l.connect(ctx, l.tgt.loc)
			if err == nil {
				_, err = c.Exec(ctx, historyDDL(""))
			}
			return err
		})
	} else {
		_, err = e.DB.ExecContext(ctx, historyDDL(e.targetDB()))
	}
	if err != nil {
		e.log.Warn("no run history", "error", err)
		return nil
	}
	mode := req.Mode
	if mode == "" {
		mode = ModeManual
	}
	return &runRecord{id: newRunID(), mode: mode, detail: req.Detail}
}

// recordFailure records a flow run that was rolled back, on its own.
func (e *Engine) recordFailure(ctx context.Context, rec *runRecord, s Summary, runErr error) {
	if rec == nil {
		return
	}
	if l := e.link; l != nil && l.tgt.kind == pgDatabase {
		c, err := l.connect(ctx, l.tgt.loc)
		if err != nil {
			return
		}
		tx, err := c.Begin(ctx)
		if err != nil {
			return
		}
		defer tx.Rollback(ctx)
		if rec.recordPG(ctx, tx, s, runErr) == nil {
			_ = tx.Commit(ctx)
		}
		return
	}
	_ = rec.record(ctx, e.DB, e.targetDB(), s, runErr)
}

// runFlow runs one plan in a transaction. inspect, when set, reads the staged tables
// before anything is written; rec, when set, records the run in the same transaction.
func (e *Engine) runFlow(ctx context.Context, p *plan.Plan, dryRun bool, inspect func(*sql.Tx) error, rec *runRecord) (s Summary, err error) {
	start := time.Now()
	s.Flow = p.Flow
	defer func() { s.Duration = time.Since(start) }()
	conn, err := e.DB.Conn(ctx)
	if err != nil {
		return s, err
	}
	defer conn.Close()
	var tx *sql.Tx
	defer func() {
		if err != nil && tx != nil {
			_ = tx.Rollback()
		}
		for _, v := range p.Views {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "DROP VIEW IF EXISTS temp."+v)
		}
		for _, t := range p.Temps {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS temp."+t)
		}
	}()
	exec := func(db execer, st plan.Statement) error {
		if e.Progress != nil {
			e.Progress(p.Flow, st.Name)
		}
		t := time.Now()
		if _, err := db.ExecContext(ctx, st.SQL); err != nil {
			e.log.Debug("statement failed", "flow", p.Flow, "step", st.Name, "sql", st.SQL)
			return fmt.Errorf("%s: %w", st.Name, err)
		}
		e.log.Debug("step", "flow", p.Flow, "step", st.Name, "duration", time.Since(t).Round(time.Microsecond))
		return nil
	}
	// Each stage statement commits on its own: it only makes this connection's temp
	// tables and views, so nothing is written yet (runs of one engine take turns, and
	// another process cannot write the file meanwhile). DuckDB 1.1 has no statistics for
	// a table made in the running transaction: it takes it for empty and plans the
	// joins that read it backwards (building hash tables of millions of rows to probe
	// them with a small lookup table, the rows coming out shuffled, so the key index
	// grows slowly). Committed, the stage and the writes took half the time at 9M lines.
	for _, st := range p.Stage {
		if err = exec(conn, st); err != nil {
			return s, err
		}
	}
	if tx, err = conn.BeginTx(ctx, nil); err != nil {
		return s, err
	}
	if e.Transform != nil {
		if e.Progress != nil {
			e.Progress(p.Flow, "transform")
		}
		if err = e.Transform.Transform(ctx, tx, conn, p); err != nil {
			return s, fmt.Errorf("transform: %w", err)
		}
	}
	if err = tx.QueryRowContext(ctx, p.Counts).Scan(&s.Selected, &s.Waiting, &s.Errors, &s.Documents, &s.Lines, &s.Recovered); err != nil {
		return s, fmt.Errorf("count: %w", err)
	}
	s.Exported = s.Selected - s.Errors - s.Recovered
	if s.Errors > 0 {
		if s.Failures, err = failures(ctx, tx, p.Bad); err != nil {
			return s, err
		}
		for i, f := range s.Failures {
			if inspect != nil {
				break // explaining, not exporting
			}
			if i == 5 {
				e.log.Warn("more records not exported", "flow", p.Flow, "count", len(s.Failures)-i)
				break
			}
			e.log.Warn("record not exported", "flow", p.Flow, "id", f.ID, "reason", f.Reason)
		}
	}
	if inspect != nil {
		if err = inspect(tx); err != nil {
			return s, err
		}
	}
	if dryRun {
		s.Duration = time.Since(start)
		return s, tx.Rollback()
	}
	if e.link != nil {
		// The stage is done: its temp tables stay on this connection.
		if err = tx.Commit(); err != nil {
			return s, fmt.Errorf("stage: %w", err)
		}
		if e.Progress != nil {
			e.Progress(p.Flow, "write")
		}
		s.Duration = time.Since(start)
		if err = e.writeLinked(ctx, conn, p, s, rec); err != nil {
			return s, err
		}
		s.Duration = time.Since(start)
		return s, nil
	}
	for _, st := range p.Write {
		if err = exec(tx, st); err != nil {
			return s, err
		}
	}
	s.Duration = time.Since(start)
	if err = rec.record(ctx, tx, "", s, nil); err != nil {
		return s, err
	}
	if e.BeforeCommit != nil {
		if err = e.BeforeCommit(p.Flow); err != nil {
			return s, err
		}
	}
	t := time.Now()
	if err = tx.Commit(); err != nil {
		return s, fmt.Errorf("commit: %w", err)
	}
	e.log.Debug("step", "flow", p.Flow, "step", "commit", "duration", time.Since(t).Round(time.Microsecond))
	s.Duration = time.Since(start)
	return s, nil
}
