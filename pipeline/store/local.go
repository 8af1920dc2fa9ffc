package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/plan"
)

// Hooks let tests fail a commit at its riskiest moments. Nil hooks do nothing.
type Hooks struct {
	// BeforeCommit runs after a flow's writes and before their commit; an error rolls
	// the flow back.
	BeforeCommit func(flow string) error
	// AfterTarget runs when a linked target has committed a flow's documents and before
	// the source's write-back (between the two steps).
	AfterTarget func(flow string) error
	// AfterFetch runs when a linked store has read a table from PostgreSQL for a batch.
	AfterFetch func(table string)
	// AfterPrepare runs when a linked store has prepared a run (Prepare), before its
	// flows read anything.
	AfterPrepare func()
}

func (h Hooks) beforeCommit(flow string) error {
	if h.BeforeCommit == nil {
		return nil
	}
	return h.BeforeCommit(flow)
}

// Local is one DuckDB file holding both schemas: plans read and write it in place, and
// a flow's documents, write-back and run history commit in one transaction.
type Local struct {
	db       *sql.DB
	name     string
	file     bool // opened from a file by OpenLocal
	readOnly bool // ... to write nothing: closed as it was found
	hooks    Hooks
	release  func() // lets another database of this process open the file
}

// OpenLocal opens a DuckDB file holding the oim and acct schemas. readOnly is for
// commands that write nothing (dry runs, explain, plan, runs, reconcile): the file and
// its log are left byte for byte as they were, neither checkpointed at open or close
// nor their state noted (state.go).
func OpenLocal(ctx context.Context, path string, d config.DuckDB, hooks Hooks, readOnly bool) (*Local, error) {
	release, err := hold(path)
	if err != nil {
		return nil, err
	}
	db, err := openFile(ctx, path, readOnly)
	if err == nil {
		if err = tune(ctx, db, d); err != nil {
			db.Close()
		}
	}
	if err != nil {
		release()
		return nil, err
	}
	return &Local{db: db, name: path, file: true, readOnly: readOnly, hooks: hooks, release: release}, nil
}

// NewLocal is a store over an open DuckDB database holding both schemas (an in-memory
// one for the specs' unit tests and for checking specs against the contract). Close
// closes it.
func NewLocal(db *sql.DB, name string, hooks Hooks) *Local {
	return &Local{db: db, name: name, hooks: hooks}
}

// DB is the database plans run in.
func (l *Local) DB() *sql.DB { return l.db }

// Name names the database in messages.
func (l *Local) Name() string { return l.name }

// Schemas are where the planner finds the oim and acct tables.
func (l *Local) Schemas() []string { return []string{"oim", "acct"} }

// Recovers is false: documents and write-back commit together, so a record whose
// documents exist was exported, or reset by hand.
func (l *Local) Recovers() bool { return false }

// DryRunsTogether is true: one transaction of the file holds every flow's writes, so a
// dry run is one rolled-back unit in which later flows see earlier flows' documents.
func (l *Local) DryRunsTogether() bool { return true }

// Lock does nothing: DuckDB itself admits one writing process per file.
func (l *Local) Lock(context.Context, ...string) (func(), error) { return func() {}, nil }

// Prepare makes the run history ready for a run that writes (dry runs write nothing).
func (l *Local) Prepare(ctx context.Context, _ *catalog.Catalog, _ []*plan.Plan, dryRun bool) error {
	if dryRun {
		return nil
	}
	if _, err := l.db.ExecContext(ctx, historyDDL("")); err != nil {
		return fmt.Errorf("run history: %w", err)
	}
	return nil
}

// Execer runs statements and queries: a connection of the working database, or a
// transaction of it.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Fetch stages a fetch statement's rows: the tables are in the file.
func (l *Local) Fetch(ctx context.Context, x Execer, st plan.Statement) error {
	return fetchLocal(ctx, x, st)
}

// Refresh does nothing: the plans read the file's tables where they are.
func (l *Local) Refresh(context.Context, Execer, *plan.Plan) error { return nil }

// pointLookups bounds the keys a fetch looks up one by one by index; with more, one
// semi-join reads the key column once instead.
const pointLookups = 64

// fetchLocal runs a fetch in the working database. Rows reached by a few keys of an
// indexed table (a run of a few records: ten new invoices reach ten sales orders of a
// million) are read by index, one equality each; otherwise the statement's semi-join.
func fetchLocal(ctx context.Context, x Execer, st plan.Statement) error {
	f := st.Fetch
	if f.Keys != "" && f.Column == f.Table.Key && f.Table.Indexed {
		keys, few, err := fewKeys(ctx, x, f.Keys)
		if err != nil {
			return err
		}
		if few {
			_, err = x.ExecContext(ctx, f.Lookup(keys))
			return err
		}
	}
	_, err := x.ExecContext(ctx, st.SQL)
	return err
}

// fewKeys reads the distinct values of a keys query when there are at most
// pointLookups of them.
func fewKeys(ctx context.Context, x Execer, keys string) ([]string, bool, error) {
	rows, err := x.QueryContext(ctx, fmt.Sprintf("SELECT DISTINCT CAST(k AS VARCHAR) FROM (%s) AS q(k) WHERE k IS NOT NULL LIMIT %d", keys, pointLookups+1))
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, false, err
		}
		out = append(out, k)
	}
	sort.Strings(out)
	return out, len(out) <= pointLookups, rows.Err()
}

// Commit writes a staged flow in its transaction: documents, write-back, export
// errors and the run's history entry, all or nothing.
func (l *Local) Commit(ctx context.Context, conn *sql.Conn, tx *sql.Tx, p *plan.Plan, e *Entry, last bool, step Step) error {
	if err := exec(ctx, tx, p.Write, step); err != nil {
		return err
	}
	if e != nil {
		e.Ended = time.Now()
	}
	if err := recordDuck(ctx, tx, "", e); err != nil {
		return err
	}
	if err := l.hooks.beforeCommit(p.Flow); err != nil {
		return err
	}
	t := time.Now()
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	step.done("commit", time.Since(t))
	return nil
}

// Record keeps a flow run that was rolled back, on its own.
func (l *Local) Record(ctx context.Context, e Entry) error {
	if _, err := l.db.ExecContext(ctx, historyDDL("")); err != nil {
		return err
	}
	return recordDuck(ctx, l.db, "", &e)
}

// Runs lists the latest flow runs, newest first.
func (l *Local) Runs(ctx context.Context, limit int) ([]Entry, error) {
	return runsDuck(ctx, l.db, "", limit)
}

// Close closes the database; a file opened by OpenLocal is closed without a
// checkpoint while its log is small (see state.go).
func (l *Local) Close() error {
	if !l.file {
		return l.db.Close()
	}
	if l.release == nil {
		return nil // closed already
	}
	defer func() { l.release(); l.release = nil }()
	if l.readOnly {
		return closeUnchanged(context.Background(), l.db, l.name)
	}
	return closeFile(context.Background(), l.db, l.name)
}

// Step reports the statements a commit runs, for progress and debug logs; nil reports
// nothing.
type Step func(name string, took time.Duration, starting bool)

func (s Step) start(name string) {
	if s != nil {
		s(name, 0, true)
	}
}

func (s Step) done(name string, took time.Duration) {
	if s != nil {
		s(name, took, false)
	}
}

// exec runs statements in order in one transaction, reporting each.
func exec(ctx context.Context, x execer, stmts []plan.Statement, step Step) error {
	for _, st := range stmts {
		step.start(st.Name)
		t := time.Now()
		if _, err := x.ExecContext(ctx, st.SQL); err != nil {
			return fmt.Errorf("%s: %w", st.Name, err)
		}
		step.done(st.Name, time.Since(t))
	}
	return nil
}
