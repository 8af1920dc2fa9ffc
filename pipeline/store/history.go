package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/plan"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
)

// Entry is one flow run as the history keeps it (table connector.run in the target).
type Entry struct {
	RunID, Mode, Flow                                     string
	Detail                                                string // e.g. a backfill partition, a batch
	Started, Ended                                        time.Time
	Selected, Exported, Documents, Lines, Waiting, Errors int64
	// Error is the run's error when the flow was rolled back.
	Error string
	// By says who or what started the run: a console user, watch, a schedule, the
	// command line.
	By string
	// Backfill, when set, names the backfill whose partitions (Marks: flow/partition)
	// this entry commits: they go into connector.backfill in the same transaction.
	Backfill string
	Marks    []string
	// Outcomes, when set, is a query over the staged flow giving each record's outcome
	// (record, outcome, documents, reason: plan.Plan.Outcomes): the run's report, kept
	// in connector.run_record in the same transaction.
	Outcomes string
}

// recount counts the staged flow again (plan.Plan.Counts), after records were left out.
func (e *Entry) recount(ctx context.Context, x *sql.Conn, p *plan.Plan) error {
	var recovered int64
	if err := x.QueryRowContext(ctx, p.Counts).Scan(&e.Selected, &e.Waiting, &e.Errors, &e.Documents, &e.Lines, &recovered); err != nil {
		return fmt.Errorf("count: %w", err)
	}
	e.Exported = e.Selected - e.Errors - recovered
	return nil
}

// Outcome is what a run did with one record: exported (with its documents),
// recovered, failed (with the reason), or waiting (OIM changed it meanwhile).
type Outcome struct {
	Flow, Record, Outcome, Documents, Reason string
}

// NewRunID is a run id: the start time and a random suffix, sortable.
func NewRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b)
}

// historyDDL creates the run history in the target database (qualified by db when it
// is an attached DuckDB database): one row per flow run. It runs unchanged on PostgreSQL.
func historyDDL(db string) string {
	schema := connectorSchema(db)
	return `CREATE SCHEMA IF NOT EXISTS ` + schema + `;
CREATE TABLE IF NOT EXISTS ` + schema + `.run (
    run_id     VARCHAR NOT NULL,
    mode       VARCHAR NOT NULL,
    flow       VARCHAR NOT NULL,
    detail     VARCHAR,            -- e.g. the backfill partition
    started_at TIMESTAMP NOT NULL,
    ended_at   TIMESTAMP NOT NULL,
    selected   BIGINT NOT NULL,
    exported   BIGINT NOT NULL,
    documents  BIGINT NOT NULL,
    lines      BIGINT NOT NULL,
    waiting    BIGINT NOT NULL,
    errors     BIGINT NOT NULL,
    error      VARCHAR             -- the run error, when the flow was rolled back
);
ALTER TABLE ` + schema + `.run ADD COLUMN IF NOT EXISTS started_by VARCHAR;
CREATE TABLE IF NOT EXISTS ` + schema + `.run_record (
    run_id     VARCHAR NOT NULL,
    flow       VARCHAR NOT NULL,
    record     VARCHAR NOT NULL,
    outcome    VARCHAR NOT NULL,   -- exported, recovered, failed, waiting (changed by OIM meanwhile)
    documents  VARCHAR,            -- the documents written, comma-separated
    reason     VARCHAR             -- why it failed or waits
);
CREATE TABLE IF NOT EXISTS ` + schema + `.audit (
    at     TIMESTAMP NOT NULL,
    actor  VARCHAR NOT NULL,       -- the console user
    action VARCHAR NOT NULL,       -- e.g. export, settings
    detail VARCHAR
);
` + partitionsDDL(db)
}

func connectorSchema(db string) string {
	if db == "" {
		return "connector"
	}
	return catalog.Ident(db) + ".connector"
}

const insertRun = `INSERT INTO %s.run (run_id, mode, flow, detail, started_at, ended_at, selected, exported, documents, lines, waiting, errors, error, started_by)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func (e Entry) values() []any {
	return []any{e.RunID, e.Mode, e.Flow, orNull(e.Detail), e.Started.UTC(), e.Ended.UTC(), e.Selected, e.Exported, e.Documents, e.Lines, e.Waiting, e.Errors, orNull(e.Error), orNull(e.By)}
}

func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// outcomesQuery is an entry's outcomes with its run and flow, as run_record's rows.
func (e *Entry) outcomesQuery() string {
	return fmt.Sprintf("SELECT %s AS run_id, %s AS flow, record, outcome, documents, reason FROM (%s)",
		catalog.Literal(e.RunID), catalog.Literal(e.Flow), e.Outcomes)
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// recordDuck writes one flow run into a DuckDB history (db: the attached database
// holding it, "" for the default), in the caller's transaction.
func recordDuck(ctx context.Context, x execer, db string, e *Entry) error {
	if e == nil {
		return nil
	}
	if _, err := x.ExecContext(ctx, fmt.Sprintf(insertRun, connectorSchema(db)), e.values()...); err != nil {
		return fmt.Errorf("record the run: %w", err)
	}
	for _, m := range e.Marks {
		if _, err := x.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s.backfill VALUES (?, ?, ?)", connectorSchema(db)), e.Backfill, m, e.Ended.UTC()); err != nil {
			return fmt.Errorf("record the backfill's partition: %w", err)
		}
	}
	if e.Outcomes != "" {
		if _, err := x.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s.run_record %s", connectorSchema(db), e.outcomesQuery())); err != nil {
			return fmt.Errorf("record the run's report: %w", err)
		}
	}
	return nil
}

// recordPG writes one flow run into a PostgreSQL target's history; outcomes is the CSV
// file of its report's rows (exportOutcomes), or "".
func recordPG(ctx context.Context, tx pgx.Tx, e *Entry, outcomes string) error {
	if e == nil {
		return nil
	}
	q := fmt.Sprintf(insertRun, "connector")
	for i := 1; strings.Contains(q, "?"); i++ {
		q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
	}
	if _, err := tx.Exec(ctx, q, e.values()...); err != nil {
		return fmt.Errorf("record the run: %w", err)
	}
	for _, m := range e.Marks {
		if _, err := tx.Exec(ctx, "INSERT INTO connector.backfill VALUES ($1, $2, $3)", e.Backfill, m, e.Ended.UTC()); err != nil {
			return fmt.Errorf("record the backfill's partition: %w", err)
		}
	}
	if outcomes != "" {
		if _, err := postgres.CopyIn(ctx, tx.Conn().PgConn(), "connector.run_record", []string{"run_id", "flow", "record", "outcome", "documents", "reason"}, outcomes); err != nil {
			return fmt.Errorf("record the run's report: %w", err)
		}
	}
	return nil
}

const selectRuns = `SELECT run_id, mode, flow, coalesce(detail, ''), started_at, ended_at,
	selected, exported, documents, lines, waiting, errors, coalesce(error, ''), coalesce(started_by, '')
	FROM %s.run ORDER BY started_at DESC, flow LIMIT %d`

// scanRuns reads history rows from any driver's rows.
func scanRuns(next func() bool, scan func(...any) error, errf func() error) ([]Entry, error) {
	var out []Entry
	for next() {
		var e Entry
		if err := scan(&e.RunID, &e.Mode, &e.Flow, &e.Detail, &e.Started, &e.Ended,
			&e.Selected, &e.Exported, &e.Documents, &e.Lines, &e.Waiting, &e.Errors, &e.Error, &e.By); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, errf()
}

// runsDuck lists the latest runs from a DuckDB history (none before the first run:
// reading creates nothing).
func runsDuck(ctx context.Context, db *sql.DB, database string, limit int) ([]Entry, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables()
		WHERE schema_name = 'connector' AND table_name = 'run' AND database_name = coalesce(nullif(?, ''), current_database())`, database).Scan(&n)
	if err != nil || n == 0 {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, fmt.Sprintf(selectRuns, connectorSchema(database), limit))
	if err != nil {
		return nil, fmt.Errorf("run history: %w", err)
	}
	defer rows.Close()
	return scanRuns(rows.Next, rows.Scan, rows.Err)
}

// runsPG lists the latest runs from a PostgreSQL history (none before the first run).
func runsPG(ctx context.Context, c *pgx.Conn, limit int) ([]Entry, error) {
	var exists bool
	if err := c.QueryRow(ctx, "SELECT to_regclass('connector.run') IS NOT NULL").Scan(&exists); err != nil || !exists {
		return nil, err
	}
	rows, err := c.Query(ctx, fmt.Sprintf(selectRuns, "connector", limit))
	if err != nil {
		return nil, fmt.Errorf("run history: %w", err)
	}
	defer rows.Close()
	return scanRuns(rows.Next, rows.Scan, rows.Err)
}
