package pipeline

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"time"
)

// Modes a run is recorded under.
const (
	ModeManual    = "manual"
	ModeAutomatic = "automatic"
	ModeScheduled = "scheduled"
	ModeBackfill  = "backfill"
)

// historyDDL creates the run history in the target database: one row per flow run.
const historyDDL = `CREATE SCHEMA IF NOT EXISTS connector;
CREATE TABLE IF NOT EXISTS connector.run (
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

func newRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b)
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// recordRun writes one flow run into the history. In the flow's transaction it commits with
// the export itself; after a rollback it is written on its own.
func recordRun(ctx context.Context, db execer, runID, mode, detail string, s Summary, started time.Time, runErr error) error {
	var msg any
	if runErr != nil {
		msg = runErr.Error()
	}
	var det any
	if detail != "" {
		det = detail
	}
	_, err := db.ExecContext(ctx, `INSERT INTO connector.run VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		runID, mode, s.Flow, det, started.UTC(), time.Now().UTC(), s.Selected, s.Exported, s.Documents, s.Lines, s.Waiting, s.Errors, msg)
	if err != nil {
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

// Runs lists the most recent flow runs, newest first.
func (e *Engine) Runs(ctx context.Context, limit int) ([]Run, error) {
	if _, err := e.DB.ExecContext(ctx, historyDDL); err != nil {
		return nil, err
	}
	rows, err := e.DB.QueryContext(ctx, `SELECT run_id, mode, flow, coalesce(detail, ''), started_at, ended_at,
		selected, exported, documents, lines, waiting, errors, coalesce(error, '')
		FROM connector.run ORDER BY started_at DESC, flow LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		var r Run
		s := &r.Summary
		if err := rows.Scan(&r.ID, &r.Mode, &r.Flow, &r.Detail, &r.Started, &r.Ended,
			&s.Selected, &s.Exported, &s.Documents, &s.Lines, &s.Waiting, &s.Errors, &r.Error); err != nil {
			return nil, err
		}
		s.Flow = r.Flow
		s.Duration = r.Ended.Sub(r.Started)
		out = append(out, r)
	}
	return out, rows.Err()
}
