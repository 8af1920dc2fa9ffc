package pipeline

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
)

// Modes a run is recorded under.
const (
	ModeManual    = "manual"
	ModeAutomatic = "automatic"
	ModeScheduled = "scheduled"
	ModeBackfill  = "backfill"
)

// historyDDL creates the run history in the target database (qualified by db when it
// is an attached DuckDB database): one row per flow run. It runs unchanged on PostgreSQL.
func historyDDL(db string) string {
	schema := "connector"
	if db != "" {
		schema = catalog.Ident(db) + ".connector"
	}
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
)`
}

func newRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b)
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// runRecord writes a run's flows into the history; nil records nothing (dry runs).
type runRecord struct {
	id, mode, detail string
}

const insertRun = `INSERT INTO %s.run VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func (r *runRecord) values(s Summary, runErr error) []any {
	var msg, det any
	if runErr != nil {
		msg = runErr.Error()
	}
	if r.detail != "" {
		det = r.detail
	}
	started := time.Now().Add(-s.Duration)
	return []any{r.id, r.mode, s.Flow, det, started.UTC(), time.Now().UTC(), s.Selected, s.Exported, s.Documents, s.Lines, s.Waiting, s.Errors, msg}
}

func (r *runRecord) idle(s Summary, runErr error) bool {
	return r == nil || (r.mode == ModeAutomatic && runErr == nil && s.Selected == 0 && s.Errors == 0)
}

// record writes one flow run into a DuckDB history (db: the attached database holding
// it, "" for the default). In the flow's transaction it commits with the export
// itself; after a rollback it is written on its own.
func (r *runRecord) record(ctx context.Context, x execer, db string, s Summary, runErr error) error {
	if r.idle(s, runErr) {
		return nil
	}
	schema := "connector"
	if db != "" {
		schema = catalog.Ident(db) + ".connector"
	}
	if _, err := x.ExecContext(ctx, fmt.Sprintf(insertRun, schema), r.values(s, runErr)...); err != nil {
		return fmt.Errorf("record the run: %w", err)
	}
	return nil
}

// recordPG writes one flow run into a PostgreSQL target's history.
func (r *runRecord) recordPG(ctx context.Context, tx pgx.Tx, s Summary, runErr error) error {
	if r.idle(s, runErr) {
		return nil
	}
	q := fmt.Sprintf(insertRun, "connector")
	for i := 1; strings.Contains(q, "?"); i++ {
		q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
	}
	if _, err := tx.Exec(ctx, q, r.values(s, runErr)...); err != nil {
		return fmt.Errorf("record the run: %w", err)
	}
	return nil
}

// Run is one recorded flow run.
type Run struct {
	ID, Mode, Flow, Detail, Error string
	Started, Ended                time.Time
	Summary                       Summary
}

// Runs lists the most recent flow runs, newest first, from the target's history.
func (e *Engine) Runs(ctx context.Context, limit int) ([]Run, error) {
	const q = `SELECT run_id, mode, flow, coalesce(detail, ''), started_at, ended_at,
		selected, exported, documents, lines, waiting, errors, coalesce(error, '')
		FROM %s.run ORDER BY started_at DESC, flow LIMIT %d`
	scan := func(next func() bool, sc func(...any) error) ([]Run, error) {
		var out []Run
		for next() {
			var r Run
			s := &r.Summary
			if err := sc(&r.ID, &r.Mode, &r.Flow, &r.Detail, &r.Started, &r.Ended,
				&s.Selected, &s.Exported, &s.Documents, &s.Lines, &s.Waiting, &s.Errors, &r.Error); err != nil {
				return nil, err
			}
			s.Flow = r.Flow
			s.Duration = r.Ended.Sub(r.Started)
			out = append(out, r)
		}
		return out, nil
	}
	if l := e.link; l != nil && l.tgt.kind == pgDatabase {
		c, err := l.connect(ctx, l.tgt.loc)
		if err != nil {
			return nil, err
		}
		if _, err := c.Exec(ctx, historyDDL("")); err != nil {
			return nil, err
		}
		rows, err := c.Query(ctx, fmt.Sprintf(q, "connector", limit))
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out, err := scan(rows.Next, rows.Scan)
		if err != nil {
			return nil, err
		}
		return out, rows.Err()
	}
	db := e.targetDB()
	if _, err := e.DB.ExecContext(ctx, historyDDL(db)); err != nil {
		return nil, err
	}
	schema := "connector"
	if db != "" {
		schema = catalog.Ident(db) + ".connector"
	}
	rows, err := e.DB.QueryContext(ctx, fmt.Sprintf(q, schema, limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out, err := scan(rows.Next, rows.Scan)
	if err != nil {
		return nil, err
	}
	return out, rows.Err()
}

// targetDB is the attached DuckDB database holding the target ("": the default one).
func (e *Engine) targetDB() string {
	if e.link != nil {
		return e.link.tgt.db
	}
	return ""
}
