package store

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/plan"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
)

// Linked joins OIM records and an Accounting ledger that are not one DuckDB file:
//
//   - the working database is the DuckDB source file, or a temporary DuckDB file that
//     holds a copy of a PostgreSQL source or of a files source, refreshed every run;
//   - the target's tables are there too: a DuckDB target file attached as "tgt", or a
//     mirror of a PostgreSQL target's acct tables, refreshed every run;
//   - a flow's documents are written to the target first, in one target transaction
//     (COPY into PostgreSQL), then the write-back to the source in one source
//     transaction. When source and target are the same PostgreSQL database, both go
//     in that one transaction.
//
// Between the two steps the documents are durable and the source not yet marked. The
// documents' ids are deterministic, so the next run computes the same ids, finds them
// all in the target, and writes back only (the record is "recovered"); a record whose
// documents exist only in part is an error. A files source is never written back: each
// run recovers what the target holds, and exports the rest.
type Linked struct {
	src, tgt endpoint
	db       *sql.DB              // the working database
	dir      string               // temporary files
	pg       map[string]*pgx.Conn // open PostgreSQL connections by URL
	log      *slog.Logger
	hooks    Hooks
	// locked is set while the run holds the target's advisory locks (see Lock): a lost
	// connection loses them, so connect takes them again on the new one.
	locked bool
	locks  []advisoryLock
	// reads tells the tables the run's plans read: only those are copied into the
	// working database, and only those of a PostgreSQL target mirrored.
	reads func(*catalog.Table) bool
	// releases let other databases of this process open the DuckDB files again.
	releases []func()
	// readOnly: the run writes nothing, and leaves DuckDB files as they were.
	readOnly bool
	// snaps are the PostgreSQL snapshots the reads of the batch in progress share, by
	// URL (see snapshot).
	snaps map[string]*snapshot
	// remote are the columns of each table of a PostgreSQL side, by schema and name, as
	// Prepare found them (a table missing there is empty here).
	remote map[string]map[string][]string
}

// endpoint is one side of the export.
type endpoint struct {
	kind endpointKind
	loc  string // DuckDB file, PostgreSQL URL or directory
	db   string // the DuckDB database holding its tables in the working database ("": the default)
}

type endpointKind int

const (
	duckFile endpointKind = iota
	pgDatabase
	fileDir
)

func (p endpoint) String() string {
	switch p.kind {
	case pgDatabase:
		return postgres.Redact(p.loc)
	case fileDir:
		return "files in " + p.loc
	}
	return p.loc
}

// IsDuckDBFile says a location is a DuckDB file (not a postgres:// URL, nor a
// directory of files).
func IsDuckDBFile(loc string) bool { return classify(loc).kind == duckFile }

// classify tells a DuckDB file, a PostgreSQL URL and a directory of files apart.
func classify(loc string) endpoint {
	if postgres.IsURL(loc) {
		return endpoint{kind: pgDatabase, loc: loc}
	}
	if d, ok := strings.CutPrefix(loc, "files:"); ok {
		return endpoint{kind: fileDir, loc: d}
	}
	if st, err := os.Stat(loc); err == nil && st.IsDir() {
		return endpoint{kind: fileDir, loc: loc}
	}
	return endpoint{kind: duckFile, loc: loc}
}

// OpenLinked opens the working database for a source and a target that are not one
// DuckDB file; readOnly is for commands that write nothing: a DuckDB source or target file is left
// byte for byte as it was, neither checkpointed at open nor at close.
func OpenLinked(ctx context.Context, srcLoc, tgtLoc string, d config.DuckDB, log *slog.Logger, hooks Hooks, readOnly bool) (_ *Linked, err error) {
	l := &Linked{src: classify(srcLoc), tgt: classify(tgtLoc), pg: map[string]*pgx.Conn{}, log: log, hooks: hooks, readOnly: readOnly}
	tempDir := d.TempDirectory
	var db *sql.DB
	if l.log == nil {
		l.log = slog.Default()
	}
	if l.tgt.kind == fileDir {
		return nil, fault.Inputf("target %s: a directory of files can only be a source; the target is a DuckDB file or a postgres:// URL", tgtLoc)
	}
	for _, p := range []endpoint{l.src, l.tgt} {
		if p.kind == duckFile {
			if _, err := os.Stat(p.loc); err != nil {
				return nil, fault.Inputf("database %s: %v", p.loc, errors.Unwrap(err))
			}
			if err := CheckFileName(p.loc); err != nil {
				return nil, err
			}
		}
	}
	defer func() {
		if err != nil {
			l.close()
		}
	}()
	for _, p := range []endpoint{l.src, l.tgt} {
		if p.kind == duckFile {
			release, err := hold(p.loc)
			if err != nil {
				return nil, err
			}
			l.releases = append(l.releases, release)
		}
	}
	removeOrphans(tempDir)
	if l.dir, err = os.MkdirTemp(tempDir, fmt.Sprintf("oimconnect-%d-*", os.Getpid())); err != nil {
		return nil, fmt.Errorf("temporary directory: %w", err)
	}
	defer func() {
		if err != nil {
			l.close()
			if db != nil {
				db.Close()
			}
		}
	}()
	main := filepath.Join(l.dir, "work.duckdb")
	if l.src.kind == duckFile {
		main = l.src.loc
	}
	if db, err = sql.Open("duckdb", main); err != nil {
		return nil, opened(main, err)
	}
	if l.src.kind == duckFile {
		if err := opened(main, db.PingContext(ctx)); err != nil {
			return nil, err
		}
		if !readOnly {
			if err := checkpoint(ctx, db, ""); err != nil {
				return nil, fmt.Errorf("open %s: %w", main, err)
			}
		}
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", main, err)
	}
	defer conn.Close()
	if l.src.kind != duckFile {
		if _, err := conn.ExecContext(ctx, catalog.OIMDDL); err != nil {
			return nil, fmt.Errorf("working database: %w", err)
		}
	}
	if l.src.kind == fileDir {
		cat, err := catalog.Read(ctx, conn, "oim")
		if err != nil {
			return nil, fmt.Errorf("working database: %w", err)
		}
		if err := checkFolder(l.src.loc, cat, l.log); err != nil {
			return nil, err
		}
	}
	switch {
	case l.tgt.kind == duckFile:
		l.tgt.db = "tgt"
		if _, err := conn.ExecContext(ctx, "ATTACH "+catalog.Literal(l.tgt.loc)+" AS tgt"); err != nil {
			return nil, opened(l.tgt.loc, err)
		}
		if !readOnly {
			if err := checkpoint(ctx, db, "tgt"); err != nil {
				return nil, fmt.Errorf("open target %s: %w", l.tgt.loc, err)
			}
		}
	case l.src.kind == duckFile: // a PostgreSQL target's mirror beside the source
		l.tgt.db = "tgt"
		if _, err := conn.ExecContext(ctx, "ATTACH ':memory:' AS tgt"); err != nil {
			return nil, err
		}
		if err := catalog.CreateIn(ctx, conn, "tgt", true, "acct"); err != nil {
			return nil, err
		}
	default:
		if _, err := conn.ExecContext(ctx, catalog.Mirror(catalog.AccountingDDL)); err != nil {
			return nil, fmt.Errorf("working database: %w", err)
		}
	}
	for _, side := range l.sides() {
		p, schema := side.endpoint, side.schema
		if p.kind != pgDatabase {
			continue
		}
		var tables map[string][]string
		err := l.retry(ctx, "open", func() error {
			c, err := l.connect(ctx, p.loc)
			if err != nil {
				return err
			}
			if tables, err = postgres.Tables(ctx, c, schema); err != nil {
				return fmt.Errorf("open %s: %w", p, err)
			}
			return nil
		})
		if err != nil {
			if fault.Transient(err) || postgres.Transient(err) {
				return nil, &fault.UnavailableError{Err: err} // nothing was written: try later
			}
			return nil, fault.Input(err) // nothing was written
		}
		if len(tables) == 0 {
			return nil, fault.Inputf("database %s has no %s tables: create them with `oimconnect init --%s %s`", p, schema, l.initFlag(schema), p)
		}
		name := schema
		if p.db != "" {
			name = p.db + "." + schema
		}
		want, err := catalog.Read(ctx, conn, name)
		if err != nil {
			return nil, fmt.Errorf("working database: %w", err)
		}
		if err := sameLayout(p, want, tables); err != nil {
			return nil, err
		}
	}
	l.db = db
	if err := tune(ctx, db, d); err != nil {
		return nil, err
	}
	return l, nil
}

// sideOf is the endpoint holding a table: the source for oim, the target for acct.
func (l *Linked) sideOf(t *catalog.Table) endpoint {
	if t.Schema == "acct" {
		return l.tgt
	}
	return l.src
}

// initFlag is the flag of init that creates a schema where this store expects it:
// --db for a database that is both source and target, else --source for oim and
// --target for acct (init --target creates acct alone, so it cannot be the advice for
// a source without oim).
func (l *Linked) initFlag(schema string) string {
	switch {
	case l.src.loc == l.tgt.loc:
		return "db"
	case schema == "oim":
		return "source"
	default:
		return "target"
	}
}

// sides pairs each endpoint with the contract schema it holds.
func (l *Linked) sides() []struct {
	endpoint
	schema string
} {
	return []struct {
		endpoint
		schema string
	}{{l.src, "oim"}, {l.tgt, "acct"}}
}

// sameLayout refuses a PostgreSQL database that lacks a table or column of the
// contract's schema it holds (want, the working database's copy of the contract): the
// plans are made against the contract, so a run would fail midway, at the first flow
// that reads or writes what is missing, after earlier flows committed.
func sameLayout(p endpoint, want *catalog.Catalog, got map[string][]string) error {
	var missing []string
	for _, name := range want.Tables() {
		t, _ := want.Table(name)
		cols, ok := got[t.Name]
		if !ok {
			missing = append(missing, fmt.Sprintf("table %s.%s", t.Schema, t.Name))
			continue
		}
		for _, c := range t.Columns {
			if !slices.Contains(cols, c.Name) {
				missing = append(missing, fmt.Sprintf("column %s.%s.%s", t.Schema, t.Name, c.Name))
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fault.Inputf("database %s lacks what the contract's schema has, which the flows read or write: %s", p, strings.Join(missing, ", "))
}

// removeOrphans removes the temporary directories of runs that were killed (their
// process is gone): each holds a copy of a source, as large as the source.
func removeOrphans(tempDir string) {
	if tempDir == "" {
		tempDir = os.TempDir()
	}
	dirs, _ := filepath.Glob(filepath.Join(tempDir, "oimconnect-*-*"))
	for _, d := range dirs {
		var pid int
		if _, err := fmt.Sscanf(filepath.Base(d), "oimconnect-%d-", &pid); err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.RemoveAll(d)
		}
	}
}

// Schemas names where the planner finds the oim and acct tables.
func (l *Linked) Schemas() []string {
	out := []string{"oim", "acct"}
	if l.src.db != "" {
		out[0] = l.src.db + ".oim"
	}
	if l.tgt.db != "" {
		out[1] = l.tgt.db + ".acct"
	}
	return out
}

// connect returns the open connection to a PostgreSQL database, or a new one when there
// is none or it was lost. A new connection to the target takes the run's lock again; if
// another run took it in between, this run stops: what it staged may be stale.
func (l *Linked) connect(ctx context.Context, url string) (*pgx.Conn, error) {
	if c := l.pg[url]; c != nil && !c.IsClosed() && c.Ping(ctx) == nil {
		return c, nil
	}
	lost := l.pg[url] != nil
	if lost {
		_ = l.pg[url].Close(ctx)
		delete(l.pg, url)
	}
	c, err := postgres.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	if lost {
		l.log.Warn("PostgreSQL connection lost; connected again", "database", postgres.Redact(url))
	}
	if l.locked && url == l.tgt.loc {
		for _, lk := range l.locks {
			var got bool
			if err := c.QueryRow(ctx, "SELECT "+lk.try).Scan(&got); err != nil || !got {
				_ = c.Close(ctx)
				if err == nil {
					err = errors.New("another oimconnect run took the target over while the connection was lost; nothing of this batch was written")
				}
				return nil, fmt.Errorf("lock %s again: %w", l.tgt, err)
			}
		}
	}
	l.pg[url] = c
	return c, nil
}

// retryWaits are the pauses before each new attempt of work that lost its PostgreSQL
// connection: four more attempts over 7.5 s (each connect also waits up to 7.5 s
// for a restarting server); then the run fails.
var retryWaits = []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second}

// retry runs work again, on a new connection, while it fails because a PostgreSQL
// connection was lost or the server restarted. The work must be all or nothing (one
// PostgreSQL transaction, rolled back by the server when its connection goes).
func (l *Linked) retry(ctx context.Context, what string, work func() error) error {
	for i := 0; ; i++ {
		err := work()
		var unreachable *fault.UnavailableError
		if err == nil || !postgres.Transient(err) || errors.Is(err, errCommitUnknown) || errors.As(err, &unreachable) ||
			i == len(retryWaits) || ctx.Err() != nil {
			return err
		}
		l.log.Warn("PostgreSQL connection lost; nothing of it was committed, trying again", "work", what,
			"attempt", i+2, "in", retryWaits[i], "error", err)
		select {
		case <-time.After(retryWaits[i]):
		case <-ctx.Done():
			return err
		}
	}
}

// errCommitUnknown marks a commit whose connection was lost before PostgreSQL answered:
// the transaction may or may not be committed, so it is not tried again. The next run
// finds out: documents that are there are recovered, the rest exported.
var errCommitUnknown = errors.New("the connection was lost during COMMIT, so whether it committed is unknown; run again: the next run recovers the documents that were written and exports the rest")

// snapshot is a PostgreSQL snapshot (pg_export_snapshot) held open by a transaction
// of its own, which every read of a batch takes (SET TRANSACTION SNAPSHOT): a record's
// header, its lines and what they reference are read as one committed state of OIM,
// never the header of one commit with the lines of the next. It ends when the batch
// writes (Commit), so the next batch, and the next flow, read what it wrote.
type snapshot struct {
	conn *pgx.Conn
	tx   pgx.Tx
	id   string
}

// snapshotOf is the batch's snapshot of a database, taken at its first read.
func (l *Linked) snapshotOf(ctx context.Context, url string) (string, error) {
	if s := l.snaps[url]; s != nil {
		return s.id, nil
	}
	conn, err := postgres.Connect(ctx, url)
	if err != nil {
		return "", err
	}
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	var id string
	if err == nil {
		err = tx.QueryRow(ctx, "SELECT pg_export_snapshot()").Scan(&id)
	}
	if err != nil {
		_ = conn.Close(context.WithoutCancel(ctx))
		return "", err
	}
	if l.snaps == nil {
		l.snaps = map[string]*snapshot{}
	}
	l.snaps[url] = &snapshot{conn: conn, tx: tx, id: id}
	return id, nil
}

// endSnapshots lets the batch's snapshots go.
func (l *Linked) endSnapshots() {
	for url, s := range l.snaps {
		_ = s.tx.Rollback(context.Background())
		_ = s.conn.Close(context.Background())
		delete(l.snaps, url)
	}
}

func (l *Linked) close() {
	l.endSnapshots()
	for _, c := range l.pg {
		_ = c.Close(context.Background())
	}
	if l.dir != "" {
		_ = os.RemoveAll(l.dir)
	}
	for _, release := range l.releases {
		release()
	}
	l.releases = nil
}

// Close closes the working database and the connections, and removes the temporary files.
func (l *Linked) Close() error {
	var err error
	switch {
	case l.db != nil && l.readOnly:
		err = closeUnchanged(context.Background(), l.db, "the working database")
	case l.db != nil:
		err = l.db.Close()
	}
	l.close()
	return err
}

// Prepare empties the working database's copies of the source and target, copies the
// tables of a files source that the plans read, and checks those of a PostgreSQL side
// they read whole, which each flow copies once it has read its candidates (Refresh):
// every run reads them as they are now. The others stay empty (a run of one flow does
// not copy every table of the ledger). A run that writes also makes the target's run
// history ready.
func (l *Linked) Prepare(ctx context.Context, cat *catalog.Catalog, plans []*plan.Plan, dryRun bool) error {
	// A PostgreSQL side's tables are fetched as the stage needs them (Fetch), but for
	// those a plan reads whole; a files source is copied for every table a plan reads.
	l.reads = func(t *catalog.Table) bool {
		for _, p := range plans {
			if side := l.sideOf(t); (side.kind == fileDir && p.Reads(t)) || (side.kind == pgDatabase && slices.Contains(p.Whole, t)) {
				return true
			}
		}
		return false
	}
	if err := l.retry(ctx, "read", func() error { return l.refreshOnce(ctx, l.db, cat) }); err != nil {
		return err
	}
	if l.hooks.AfterPrepare != nil {
		l.hooks.AfterPrepare()
	}
	if dryRun {
		return nil
	}
	if l.tgt.kind == pgDatabase {
		return l.retry(ctx, "run history", func() error {
			c, err := l.connect(ctx, l.tgt.loc)
			if err == nil {
				_, err = c.Exec(ctx, historyDDL(""))
			}
			return err
		})
	}
	_, err := l.db.ExecContext(ctx, historyDDL(l.tgt.db))
	return err
}

// DB is the working database plans run in.
func (l *Linked) DB() *sql.DB { return l.db }

// Name names the source and target in messages, passwords hidden.
func (l *Linked) Name() string {
	if l.src.loc == l.tgt.loc {
		return l.src.String()
	}
	return l.src.String() + " -> " + l.tgt.String()
}

// Recovers is true: the target commits before the source is written back (or the
// source cannot be written back at all), so a record whose documents all exist was
// exported by an earlier run and is written back only.
func (l *Linked) Recovers() bool { return true }

// DryRunsTogether is false: each flow reads the rows it needs where they live (or, for
// two DuckDB files, from two databases one DuckDB transaction cannot both write), so
// what an earlier flow of a dry run would have written is not there for a later one;
// each flow's summary says so where it matters.
func (l *Linked) DryRunsTogether() bool { return false }

// Record keeps a flow run that was rolled back, on its own.
func (l *Linked) Record(ctx context.Context, e Entry) error {
	if l.tgt.kind != pgDatabase {
		if _, err := l.db.ExecContext(ctx, historyDDL(l.tgt.db)); err != nil {
			return err
		}
		return recordDuck(ctx, l.db, l.tgt.db, &e)
	}
	c, err := l.connect(ctx, l.tgt.loc)
	if err != nil {
		return err
	}
	if _, err := c.Exec(ctx, historyDDL("")); err != nil {
		return err
	}
	tx, err := c.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if err := recordPG(ctx, tx, &e, ""); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// Runs lists the latest flow runs, newest first, from the target's history (on a
// connection of its own: it may run beside a run).
func (l *Linked) Runs(ctx context.Context, limit int) ([]Entry, error) {
	if l.tgt.kind != pgDatabase {
		return runsDuck(ctx, l.db, l.tgt.db, limit)
	}
	var out []Entry
	err := l.withTarget(ctx, func(c *pgx.Conn) (err error) {
		out, err = runsPG(ctx, c, limit)
		return err
	})
	return out, err
}

func (l *Linked) refreshOnce(ctx context.Context, db *sql.DB, cat *catalog.Catalog) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// The last copies go first, in a transaction of their own: DuckDB refuses a key
	// deleted and inserted again in one transaction (a limitation of its indexes).
	clear, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer clear.Rollback()
	for _, side := range l.sides() {
		if side.kind == duckFile {
			continue
		}
		for _, name := range cat.Tables() {
			if t, _ := cat.Table(name); t.Schema == side.schema {
				if _, err := clear.ExecContext(ctx, "DELETE FROM "+t.SQLName()); err != nil {
					return err
				}
			}
		}
	}
	if err := clear.Commit(); err != nil {
		return err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, side := range l.sides() {
		p, schema := side.endpoint, side.schema
		switch p.kind {
		case pgDatabase: // copied by each flow (Refresh)
			if err := l.describePG(ctx, p, cat, schema); err != nil {
				return fmt.Errorf("read %s from %s: %w", schema, p, err)
			}
		case fileDir:
			if err := copyFromFiles(ctx, tx, p.loc, cat, l.reads); err != nil {
				return err
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("copy the source into the working database %s: %w", l.dir, err)
	}
	return nil
}

// describePG notes the columns of each table of a PostgreSQL side (remote), and
// refuses a table the plans read whole that lacks one of the contract's columns.
func (l *Linked) describePG(ctx context.Context, p endpoint, cat *catalog.Catalog, schema string) error {
	c, err := l.connect(ctx, p.loc)
	if err != nil {
		return err
	}
	remote, err := postgres.Tables(ctx, c, schema)
	if err != nil {
		return err
	}
	if l.remote == nil {
		l.remote = map[string]map[string][]string{}
	}
	l.remote[schema] = remote
	for _, name := range cat.Tables() {
		t, _ := cat.Table(name)
		if t.Schema != schema || !l.reads(t) {
			continue
		}
		if _, err := l.present(p, t); err != nil {
			return err
		}
	}
	return nil
}

// present reports whether a table of a PostgreSQL side is there (one PostgreSQL lacks
// is empty here), and refuses one lacking a column.
func (l *Linked) present(p endpoint, t *catalog.Table) (bool, error) {
	have := map[string]bool{}
	for _, col := range l.remote[t.Schema][t.Name] {
		have[col] = true
	}
	if len(have) == 0 {
		return false, nil
	}
	for _, col := range t.Columns {
		if !have[col.Name] {
			return false, fmt.Errorf("table %s in %s has no column %s", t.FullName(), p, col.Name)
		}
	}
	return true, nil
}

// Refresh copies the tables of a PostgreSQL side that the plan reads whole (lookups,
// derived references) into the working database, once its candidates are read, in the
// batch's snapshot: what OIM committed before the candidates were read (a supplier site
// whose name lookup must find it, an item a new voucher line names) is there. Each flow
// copies its own: a copy taken when the run began would lack what OIM committed
// between then and the flow's first read.
func (l *Linked) Refresh(ctx context.Context, x Execer, p *plan.Plan) error {
	for _, t := range p.Whole {
		side := l.sideOf(t)
		if side.kind != pgDatabase {
			continue
		}
		var rows int64
		err := l.readSnapshot(ctx, side, "read "+t.FullName(), func(tx pgx.Tx) error {
			// Emptied first, committing on its own: DuckDB refuses a key deleted and
			// inserted again in one transaction; a retried read starts over.
			if _, err := x.ExecContext(ctx, "DELETE FROM "+t.SQLName()); err != nil {
				return err
			}
			ok, err := l.present(side, t)
			if !ok || err != nil {
				return err
			}
			rows, err = postgres.CopyOut(ctx, tx.Conn().PgConn(), postgres.Select(t.Schema, t.Name, t.Columns), x, t.SQLName(), t.Columns, l.dir)
			return err
		})
		if err != nil {
			return fmt.Errorf("read %s from %s: %w", t.FullName(), side, err)
		}
		l.log.Debug("read whole", "table", t.FullName(), "from", side.String(), "rows", rows)
	}
	return nil
}

// copyFromFiles loads <dir>/<table>.parquet or .csv (with a header) for each oim table
// the run reads; a table without a file is empty.
func copyFromFiles(ctx context.Context, tx *sql.Tx, dir string, cat *catalog.Catalog, reads func(*catalog.Table) bool) error {
	for _, name := range cat.Tables() {
		t, _ := cat.Table(name)
		if t.Schema != "oim" {
			continue
		}
		if !reads(t) {
			continue
		}
		read, file, err := fileReader(dir, t.Name)
		if err != nil || read == "" {
			if err != nil {
				return &fault.InputError{Err: fmt.Errorf("source file %s (table %s): %w", file, t.FullName(), err)}
			}
			continue
		}
		if err := knownColumns(ctx, tx, read, t); err != nil {
			return &fault.InputError{Err: fmt.Errorf("source file %s (table %s): %w", file, t.FullName(), err)}
		}
		// By name: a file may leave columns out (they stay empty); CSV text is cast
		// to each column's type.
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s BY NAME SELECT * FROM %s", t.SQLName(), read)); err != nil {
			return &fault.InputError{Err: fmt.Errorf("source file %s (table %s): %s", file, t.FullName(), firstParagraph(err.Error()))}
		}
	}
	return nil
}

// knownColumns refuses a file with a column its table does not have, naming it and the
// column it is likely a typo of: DuckDB's own words ("Binder Error: Table ... does not
// have a column with name ...") name neither the columns there are nor the likely one.
func knownColumns(ctx context.Context, tx *sql.Tx, read string, t *catalog.Table) error {
	rows, err := tx.QueryContext(ctx, "SELECT * FROM "+read+" LIMIT 0")
	if err != nil {
		return errors.New(firstParagraph(err.Error()))
	}
	cols, err := rows.Columns()
	rows.Close()
	if err != nil {
		return err
	}
	var unknown []string
	for _, c := range cols {
		if _, ok := t.Column(c); !ok {
			unknown = append(unknown, fmt.Sprintf("%q%s", c, fault.Closest(c, t.ColumnNames())))
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	return fmt.Errorf("%s has no column %s (its columns: %s)", t.FullName(), strings.Join(unknown, ", no column "), strings.Join(t.ColumnNames(), ", "))
}

// checkFolder refuses a source folder that is not there, a table file named after no OIM
// table (a misspelt name would otherwise leave its table empty, silently) and a table
// given twice (as CSV and as Parquet); a table without a file is read as empty, and
// said so in the log.
func checkFolder(dir string, cat *catalog.Catalog, log *slog.Logger) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fault.Inputf("source folder %s: %v", dir, errors.Unwrap(err))
	}
	var tables []string
	for _, name := range cat.Tables() {
		if t, _ := cat.Table(name); t.Schema == "oim" {
			tables = append(tables, t.Name)
		}
	}
	seen := map[string]string{}
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || (ext != ".csv" && ext != ".parquet") {
			continue
		}
		table := strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))
		if ext != filepath.Ext(e.Name()) {
			return fault.Inputf("source folder %s: file %s: write its extension in lower case (%s%s)", dir, e.Name(), table, ext)
		}
		if !slices.Contains(tables, table) {
			return fault.Inputf("source folder %s: file %s is named after no OIM table%s (a table's file is <table>.csv or <table>.parquet: %s)",
				dir, e.Name(), fault.Closest(strings.ToLower(table), tables), strings.Join(tables, ", "))
		}
		if other, ok := seen[table]; ok {
			return fault.Inputf("source folder %s: table oim.%s is in both %s and %s; keep one", dir, table, other, e.Name())
		}
		seen[table] = e.Name()
	}
	var missing []string
	for _, t := range tables {
		if seen[t] == "" {
			missing = append(missing, t)
		}
	}
	if len(seen) == 0 {
		return fault.Inputf("source folder %s holds no table file (a table's file is <table>.csv or <table>.parquet: %s)", dir, strings.Join(tables, ", "))
	}
	if len(missing) > 0 {
		log.Info("source folder: tables without a file are read as empty", "folder", dir, "tables", strings.Join(missing, ", "))
	}
	return nil
}

// fileReader is the DuckDB table function reading a table's file in dir ("" when there
// is none). A CSV file's header is read here, so DuckDB reads every column as text
// without sniffing (which would hide a bad line behind its guesses) and names the line
// of an unterminated quote or a value that does not convert.
func fileReader(dir, table string) (read, file string, err error) {
	if p := filepath.Join(dir, table+".parquet"); exists(p) {
		return "read_parquet(" + catalog.Literal(p) + ")", p, nil
	}
	file = filepath.Join(dir, table+".csv")
	if !exists(file) {
		return "", "", nil
	}
	f, err := os.Open(file)
	if err != nil {
		return "", file, err
	}
	defer f.Close()
	header, err := csv.NewReader(bufio.NewReader(f)).Read()
	if err == io.EOF {
		return "", file, errors.New("the file is empty: a CSV source needs at least its header line")
	}
	if err != nil {
		return "", file, fmt.Errorf("header line: %w", err)
	}
	cols := make([]string, len(header))
	for i, h := range header {
		cols[i] = catalog.Literal(strings.TrimPrefix(h, "\ufeff")) + ": 'VARCHAR'"
	}
	return fmt.Sprintf("read_csv(%s, header = true, auto_detect = false, delim = ',', quote = '\"', escape = '\"', columns = {%s})",
		catalog.Literal(file), strings.Join(cols, ", ")), file, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Commit writes a staged flow: the stage's transaction (counts, a transform's changes)
// is committed first, then the target's transaction (documents and the run's history
// entry), then the source's write-back. last says nothing of this run reads the working
// copies after this flow's batch, so they are not updated.
func (l *Linked) Commit(ctx context.Context, conn *sql.Conn, tx *sql.Tx, p *plan.Plan, e *Entry, last bool, step Step) error {
	var g *guard
	if l.src.kind == pgDatabase {
		var err error
		if g, err = l.newGuard(ctx, conn, p); err != nil {
			return err
		}
	}
	if g != nil {
		g.leaveOut = func(keys []string) error {
			l.log.Info("OIM changed records while they were exported: they are left for the next run", "flow", p.Flow,
				"records", len(keys), "first", keys[0])
			if err := g.exclude(ctx, conn, keys); err != nil {
				return err
			}
			if e == nil {
				return nil
			}
			return e.recount(ctx, conn, p)
		}
	}
	l.endSnapshots()                    // the batch has read all it reads
	if err := tx.Commit(); err != nil { // the stage is done: its temp tables stay on conn
		return fmt.Errorf("stage: %w", err)
	}
	step.start("write")
	for attempt := 1; ; attempt++ {
		err := l.write(ctx, conn, p, e, last, g)
		if err == nil || g == nil || !retryable(err) {
			return err
		}
		if attempt == guardAttempts {
			return fmt.Errorf("OIM kept changing the batch's records or holding its tables while they were exported (%d tries); nothing of the batch was written: %w", attempt, err)
		}
		var ch *errChanged
		if errors.As(err, &ch) {
			g.early = true // the next try locks first, and is the last
			if err := g.leaveOut(ch.keys); err != nil {
				return err
			}
		} else {
			l.log.Info("OIM's tables could not be locked for the write-back; trying again", "flow", p.Flow, "error", err)
		}
	}
}

// guardAttempts bounds how many times a batch is written again when OIM changes its
// records or holds its tables meanwhile.
const guardAttempts = 5

// write writes a staged flow's documents and write-back (see Commit), with g, when it
// is set, checking its records first.
func (l *Linked) write(ctx context.Context, conn *sql.Conn, p *plan.Plan, e *Entry, last bool, g *guard) error {
	defer g.release(ctx)
	var tgtW, srcW []plan.Statement
	for _, st := range p.Write {
		if st.Write.Source {
			srcW = append(srcW, st)
		} else {
			tgtW = append(tgtW, st)
		}
	}
	samePG := l.src.kind == pgDatabase && l.tgt.kind == pgDatabase && l.src.loc == l.tgt.loc
	finish := func(record func() error) error {
		if e != nil {
			e.Ended = time.Now()
			if err := record(); err != nil {
				return err
			}
		}
		return l.hooks.beforeCommit(p.Flow)
	}
	// The source is locked and checked (g) in the transaction that writes back: with
	// the documents when source and target are one database (check), else in the
	// source's own transaction (hold), begun before the target commits and committed
	// after it. It is checked as late as can be, so that OIM waits for the lock only
	// while the write-back is done; but once a check found changes, the next try
	// locks before it writes anything (early), so that OIM cannot change more
	// meanwhile and that try is the last.
	var check func(pgx.Tx) error
	var holdFirst, holdLast bool
	switch {
	case g == nil:
	case samePG:
		check = func(tx pgx.Tx) error { return g.check(ctx, tx, conn) }
	case g.early:
		holdFirst = true
		check = func(pgx.Tx) error { return l.hold(ctx, g, conn) }
	default:
		holdLast = true
	}
	if l.tgt.kind == pgDatabase {
		remote := tgtW
		if samePG {
			remote = append(append([]plan.Statement{}, tgtW...), srcW...)
		}
		err := l.push(ctx, conn, l.tgt.loc, remote, check, g != nil && g.early, func(tx pgx.Tx) error {
			if err := finish(func() error { return l.history(ctx, conn, tx, e) }); err != nil {
				return err
			}
			if holdLast {
				return l.hold(ctx, g, conn)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("write %s: %w", l.tgt, err)
		}
		if !last { // the mirror, of the tables the run reads
			var mirror []plan.Statement
			for _, st := range tgtW {
				if l.reads(st.Write.Table) {
					mirror = append(mirror, st)
				}
			}
			if err := local(ctx, conn, mirror, nil); err != nil {
				return err
			}
		}
	} else {
		if holdFirst {
			if err := l.hold(ctx, g, conn); err != nil {
				return err
			}
		}
		if err := local(ctx, conn, tgtW, func(tx *sql.Tx) error {
			if err := finish(func() error { return recordDuck(ctx, tx, l.tgt.db, e) }); err != nil {
				return err
			}
			if holdLast {
				return l.hold(ctx, g, tx)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	if l.hooks.AfterTarget != nil {
		if err := l.hooks.AfterTarget(p.Flow); err != nil {
			if samePG {
				return err // written back in the same transaction
			}
			return &writeBackError{target: l.tgt, err: err}
		}
	}
	if g != nil && g.source != nil {
		err := l.pushIn(ctx, conn, g.source, srcW)
		g.source = nil
		if err == nil {
			return l.mirrorSource(ctx, conn, srcW, last)
		}
		if !postgres.Transient(err) {
			return &writeBackError{target: l.tgt, err: fmt.Errorf("write back to %s: %w", l.src, err)}
		}
		// The connection was lost, and the lock with it: written back on a new one, as
		// without a guard (a change OIM makes in these seconds is not seen).
		l.log.Warn("PostgreSQL connection lost during the write-back; trying again", "error", err)
	}
	if l.src.kind == pgDatabase && !samePG {
		if err := l.push(ctx, conn, l.src.loc, srcW, nil, false, nil); err != nil {
			return &writeBackError{target: l.tgt, err: fmt.Errorf("write back to %s: %w", l.src, err)}
		}
	}
	return l.mirrorSource(ctx, conn, srcW, last)
}

// mirrorSource runs the write-back in the working database: the source itself when it
// is the DuckDB file, else its working copy, which later flows read.
func (l *Linked) mirrorSource(ctx context.Context, conn *sql.Conn, srcW []plan.Statement, last bool) error {
	if last && l.src.kind != duckFile {
		return nil // the working copy of the source: nothing reads it after
	}
	if err := local(ctx, conn, srcW, nil); err != nil {
		if l.src.kind == duckFile {
			err = &writeBackError{target: l.tgt, err: fmt.Errorf("write back to %s: %w", l.src, err)}
		}
		return err
	}
	return nil
}

// history records a flow's entry and its report (the outcomes, staged now: a guard
// may have left records out) in the PostgreSQL target's transaction.
func (l *Linked) history(ctx context.Context, conn *sql.Conn, tx pgx.Tx, e *Entry) error {
	outcomes := ""
	if e != nil && e.Outcomes != "" {
		outcomes = postgres.TempFile(l.dir, "outcomes-"+e.Flow)
		defer os.Remove(outcomes)
		if err := postgres.Export(ctx, conn, e.outcomesQuery(), outcomes); err != nil {
			return err
		}
	}
	return recordPG(ctx, tx, e, outcomes)
}

// writeBackError is a failure after the target committed a flow's documents: the
// source's write-back is not done. The next run finds the documents and recovers them.
type writeBackError struct {
	target endpoint
	err    error
}

func (e *writeBackError) Error() string { return e.err.Error() }
func (e *writeBackError) Unwrap() error { return e.err }

// RolledBack says what a failed flow, or its batch i of n, left: for its error message.
func RolledBack(err error, i, n int) string {
	var wb *writeBackError
	of := ""
	if n > 1 {
		of = fmt.Sprintf(" of batch %d/%d", i+1, n)
	}
	if errors.As(err, &wb) {
		return fmt.Sprintf("the documents%s are committed in %s, the write-back to the source is not done: the next run finds them and writes back only", of, wb.target)
	}
	if n > 1 {
		return fmt.Sprintf("rolled back: batch %d/%d was not written; the batches before it are exported", i+1, n)
	}
	return "rolled back: nothing of this flow was written"
}

// local runs statements in one transaction of the working database.
func local(ctx context.Context, conn *sql.Conn, stmts []plan.Statement, before func(*sql.Tx) error) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, st := range stmts {
		if _, err := tx.ExecContext(ctx, st.SQL); err != nil {
			return fmt.Errorf("%s: %w", st.Name, err)
		}
	}
	if before != nil {
		if err := before(tx); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// push replays write statements in a PostgreSQL database, in one transaction: each
// statement's rows are staged as CSV by DuckDB and copied in.
// check, when set, runs before the first write-back statement, or the first statement
// when early (a guard's).
func (l *Linked) push(ctx context.Context, conn *sql.Conn, url string, stmts []plan.Statement, check func(pgx.Tx) error, early bool, before func(pgx.Tx) error) error {
	if early && check != nil { // the rows are staged after the check, which may leave records out
		return l.retry(ctx, "write", func() error {
			return l.pushOnce(ctx, url, stmts, func(tx pgx.Tx) ([]string, error) {
				if err := check(tx); err != nil {
					return nil, err
				}
				return l.export(ctx, conn, stmts)
			}, nil, false, before)
		})
	}
	files, err := l.export(ctx, conn, stmts)
	defer func() {
		for _, f := range files {
			os.Remove(f)
		}
	}()
	if err != nil {
		return err
	}
	staged := func(pgx.Tx) ([]string, error) { return files, nil }
	return l.retry(ctx, "write", func() error { return l.pushOnce(ctx, url, stmts, staged, check, early, before) })
}

// pushIn replays write statements in a PostgreSQL transaction begun already (a
// guard's), and commits it.
func (l *Linked) pushIn(ctx context.Context, conn *sql.Conn, tx pgx.Tx, stmts []plan.Statement) error {
	defer tx.Rollback(context.WithoutCancel(ctx))
	files, err := l.export(ctx, conn, stmts)
	defer func() {
		for _, f := range files {
			os.Remove(f)
		}
	}()
	if err == nil {
		err = apply(ctx, tx, stmts, files, nil, false)
	}
	if err == nil {
		err = tx.Commit(ctx)
	}
	return err
}

// export stages each statement's rows as a CSV file for PostgreSQL's COPY.
func (l *Linked) export(ctx context.Context, conn *sql.Conn, stmts []plan.Statement) ([]string, error) {
	files := make([]string, len(stmts))
	for i, st := range stmts {
		files[i] = postgres.TempFile(l.dir, fmt.Sprint(i, "-", st.Name))
		rows := st.Write.Rows
		if st.Write.Update {
			cols := []string{"_key"}
			for _, c := range st.Write.Columns {
				cols = append(cols, catalog.Ident(c))
			}
			rows = "SELECT " + strings.Join(cols, ", ") + " FROM (" + rows + ")"
		}
		if err := postgres.Export(ctx, conn, rows, files[i]); err != nil {
			return files[:i+1], fmt.Errorf("%s: %w", st.Name, err)
		}
	}
	return files, nil
}

// pushOnce is one try of push: files gives the statements' CSV files, in the
// transaction.
func (l *Linked) pushOnce(ctx context.Context, url string, stmts []plan.Statement, files func(pgx.Tx) ([]string, error), check func(pgx.Tx) error, early bool, before func(pgx.Tx) error) error {
	c, err := l.connect(ctx, url)
	if err != nil {
		return err
	}
	tx, err := c.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	paths, err := files(tx)
	defer func() {
		for _, f := range paths {
			os.Remove(f)
		}
	}()
	if err != nil {
		return err
	}
	if err := apply(ctx, tx, stmts, paths, check, early); err != nil {
		return err
	}
	if before != nil {
		if err := before(tx); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		if postgres.Transient(err) {
			return fmt.Errorf("commit: %w (%w)", errCommitUnknown, err)
		}
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// apply runs write statements in a PostgreSQL transaction from their CSV files, check
// (when set) before the first that writes back to the source, or the first when early.
func apply(ctx context.Context, tx pgx.Tx, stmts []plan.Statement, files []string, check func(pgx.Tx) error, early bool) error {
	// The source's change triggers stay silent for the connector's own write-back.
	if _, err := tx.Exec(ctx, "SET LOCAL "+postgres.WritingSetting+" = 'on'"); err != nil {
		return err
	}
	for i, st := range stmts {
		w := st.Write
		if check != nil && (early || w.Source) {
			if err := check(tx); err != nil {
				return err
			}
			check = nil
		}
		var err error
		if w.Update {
			_, err = postgres.Update(ctx, tx, w.Table, w.Columns, files[i])
		} else {
			_, err = postgres.CopyIn(ctx, tx.Conn().PgConn(), catalog.Ident(w.Table.Schema)+"."+catalog.Ident(w.Table.Name), w.Columns, files[i])
		}
		if err != nil {
			return fmt.Errorf("%s: %w", st.Name, err)
		}
	}
	return nil
}

// Lock holds a PostgreSQL target for one run: runs of other processes against it wait
// (a watch poll behind a manual run, two manual runs), so none stages from a copy that
// another is about to change. A run confined to scopes (a backfill partition of its
// flows: scopes are flow/partition) holds the target shared and each scope alone, so
// runs of disjoint scopes go on side by side (workers exporting a backfill's partitions
// in parallel) while a run of everything waits for them, and they for it. The returned
// function releases it all.
func (l *Linked) Lock(ctx context.Context, scopes ...string) (func(), error) {
	if l.tgt.kind != pgDatabase {
		return func() {}, nil
	}
	c, err := l.connect(ctx, l.tgt.loc)
	if err != nil {
		return nil, err
	}
	l.locks = lockStatements(scopes)
	for _, lk := range l.locks {
		var got bool
		if err := c.QueryRow(ctx, "SELECT "+lk.try).Scan(&got); err != nil {
			return nil, fmt.Errorf("lock %s: %w", l.tgt, err)
		}
		if !got {
			l.log.Info("waiting for another oimconnect run on the same target to end", "target", l.tgt.String(), "lock", lk.what)
			if _, err := c.Exec(ctx, "SELECT "+lk.wait); err != nil {
				return nil, fmt.Errorf("wait for the other run on %s: %w", l.tgt, err)
			}
		}
	}
	l.locked = true
	return func() {
		l.locked = false
		if c := l.pg[l.tgt.loc]; c != nil && !c.IsClosed() {
			for _, lk := range l.locks {
				_, _ = c.Exec(context.WithoutCancel(ctx), "SELECT "+lk.unlock)
			}
		}
		l.locks = nil
	}, nil
}

// advisoryLock is one PostgreSQL advisory lock a run takes: how to try it, wait for it
// and release it.
type advisoryLock struct {
	what, try, wait, unlock string
}

// lockStatements are the locks of a run: the target alone, or the target shared and
// each scope alone.
func lockStatements(scopes []string) []advisoryLock {
	if len(scopes) == 0 {
		return []advisoryLock{{"the target", "pg_try_advisory_lock((" + lockKey + "))", "pg_advisory_lock((" + lockKey + "))", "pg_advisory_unlock((" + lockKey + "))"}}
	}
	out := []advisoryLock{{"the target, shared", "pg_try_advisory_lock_shared((" + lockKey + "))", "pg_advisory_lock_shared((" + lockKey + "))", "pg_advisory_unlock_shared((" + lockKey + "))"}}
	sorted := append([]string{}, scopes...)
	sort.Strings(sorted) // one order for every run: no deadlock between two
	for _, sc := range sorted {
		k := "hashtext(" + catalog.Literal("oimconnect scope "+sc) + ")"
		out = append(out, advisoryLock{sc, "pg_try_advisory_lock(" + k + ")", "pg_advisory_lock(" + k + ")", "pg_advisory_unlock(" + k + ")"})
	}
	return out
}

// lockKey is the advisory lock runs against one PostgreSQL target take.
const lockKey = "SELECT hashtext('oimconnect run')"
