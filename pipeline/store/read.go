package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
)

// The reads here are what the console shows: a page of a source or target table's rows,
// a run's report, the audit log. They read where the rows live, on connections of their
// own, so they may run while a run writes (DuckDB's snapshot, a PostgreSQL connection of
// their own) and never wait for it.

// Query is a page of a table's rows: the columns Cols (as text, NULL as ""), of the rows
// Where selects (plain SQL that DuckDB and PostgreSQL both run; "" all), by Order, from
// Offset, at most Limit (0: all).
type Query struct {
	Table         *catalog.Table
	Cols          []string
	Where, Order  string
	Limit, Offset int
}

func (q Query) sql(from string) (rows, count string) {
	cols := make([]string, len(q.Cols))
	for i, c := range q.Cols {
		cols[i] = "CAST(" + catalog.Ident(c) + " AS VARCHAR)"
	}
	where := ""
	if q.Where != "" {
		where = " WHERE " + q.Where
	}
	rows = "SELECT " + strings.Join(cols, ", ") + " FROM " + from + where
	if q.Order != "" {
		rows += " ORDER BY " + q.Order
	}
	if q.Limit > 0 {
		rows += fmt.Sprintf(" LIMIT %d OFFSET %d", q.Limit, q.Offset)
	}
	return rows, "SELECT count(*) FROM " + from + where
}

// pageDuck reads a page from a DuckDB database.
func pageDuck(ctx context.Context, db *sql.DB, from string, q Query) ([][]string, int64, error) {
	rowsSQL, countSQL := q.sql(from)
	var total int64
	if err := db.QueryRowContext(ctx, countSQL).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", q.Table.FullName(), err)
	}
	rows, err := db.QueryContext(ctx, rowsSQL)
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", q.Table.FullName(), err)
	}
	defer rows.Close()
	out, err := scanText(rows.Next, rows.Scan, rows.Err, len(q.Cols))
	return out, total, err
}

// pagePG reads a page from a PostgreSQL database, on a connection of its own.
func pagePG(ctx context.Context, url string, q Query) ([][]string, int64, error) {
	c, err := postgres.Connect(ctx, url)
	if err != nil {
		return nil, 0, err
	}
	defer c.Close(context.WithoutCancel(ctx))
	rowsSQL, countSQL := q.sql(catalog.Ident(q.Table.Schema) + "." + catalog.Ident(q.Table.Name))
	var total int64
	if err := c.QueryRow(ctx, countSQL).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", q.Table.FullName(), err)
	}
	rows, err := c.Query(ctx, rowsSQL)
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", q.Table.FullName(), err)
	}
	defer rows.Close()
	out, err := scanText(rows.Next, rows.Scan, rows.Err, len(q.Cols))
	return out, total, err
}

func scanText(next func() bool, scan func(...any) error, errf func() error, n int) ([][]string, error) {
	var out [][]string
	for next() {
		vals := make([]sql.NullString, n)
		ptrs := make([]any, n)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]string, n)
		for i, v := range vals {
			row[i] = v.String
		}
		out = append(out, row)
	}
	return out, errf()
}

// Page reads a page of a table's rows.
func (l *Local) Page(ctx context.Context, q Query) ([][]string, int64, error) {
	return pageDuck(ctx, l.db, q.Table.SQLName(), q)
}

// Page reads a page of a table's rows where the table lives: PostgreSQL, the DuckDB
// source or target, a source file.
func (l *Linked) Page(ctx context.Context, q Query) ([][]string, int64, error) {
	side := l.sideOf(q.Table)
	switch side.kind {
	case pgDatabase:
		return pagePG(ctx, side.loc, q)
	case fileDir:
		read, file, err := fileReader(side.loc, q.Table.Name)
		if err != nil {
			return nil, 0, fmt.Errorf("source file %s: %w", file, err)
		}
		if read == "" {
			return nil, 0, nil
		}
		return pageDuck(ctx, l.db, read, q)
	}
	return pageDuck(ctx, l.db, q.Table.SQLName(), q)
}

// AuditEntry is one action taken in the console: who did what, when.
type AuditEntry struct {
	At            time.Time
	Actor, Action string
	Detail        string
}

const (
	insertAudit  = "INSERT INTO %s.audit VALUES (?, ?, ?, ?)"
	selectAudit  = "SELECT at, actor, action, coalesce(detail, '') FROM %s.audit ORDER BY at DESC LIMIT %d"
	selectReport = `SELECT flow, record, outcome, coalesce(documents, ''), coalesce(reason, '') FROM %s.run_record
		WHERE run_id = ? ORDER BY flow, outcome DESC, record LIMIT %d`
)

// tableExists says a connector table exists in a DuckDB database (reading creates none).
func tableExists(ctx context.Context, db *sql.DB, database, table string) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables()
		WHERE schema_name = 'connector' AND table_name = ? AND database_name = coalesce(nullif(?, ''), current_database())`, table, database).Scan(&n)
	return n > 0, err
}

func reportDuck(ctx context.Context, db *sql.DB, database, runID string, limit int) ([]Outcome, error) {
	if ok, err := tableExists(ctx, db, database, "run_record"); !ok || err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, fmt.Sprintf(selectReport, connectorSchema(database), limit), runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scanOutcomes(rows.Next, rows.Scan, rows.Err)
}

func scanOutcomes(next func() bool, scan func(...any) error, errf func() error) ([]Outcome, error) {
	var out []Outcome
	for next() {
		var o Outcome
		if err := scan(&o.Flow, &o.Record, &o.Outcome, &o.Documents, &o.Reason); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, errf()
}

func auditLogDuck(ctx context.Context, db *sql.DB, database string, limit int) ([]AuditEntry, error) {
	if ok, err := tableExists(ctx, db, database, "audit"); !ok || err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, fmt.Sprintf(selectAudit, connectorSchema(database), limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var a AuditEntry
		if err := rows.Scan(&a.At, &a.Actor, &a.Action, &a.Detail); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Report is what a run did with each record of its flows (at most limit).
func (l *Local) Report(ctx context.Context, runID string, limit int) ([]Outcome, error) {
	return reportDuck(ctx, l.db, "", runID, limit)
}

// Audit records an action taken in the console.
func (l *Local) Audit(ctx context.Context, a AuditEntry) error {
	if _, err := l.db.ExecContext(ctx, historyDDL("")); err != nil {
		return err
	}
	_, err := l.db.ExecContext(ctx, fmt.Sprintf(insertAudit, "connector"), a.At.UTC(), a.Actor, a.Action, a.Detail)
	return err
}

// AuditLog lists the latest actions taken in the console.
func (l *Local) AuditLog(ctx context.Context, limit int) ([]AuditEntry, error) {
	return auditLogDuck(ctx, l.db, "", limit)
}

// withTarget runs work on a connection of its own to a PostgreSQL target.
func (l *Linked) withTarget(ctx context.Context, work func(c *pgx.Conn) error) error {
	c, err := postgres.Connect(ctx, l.tgt.loc)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	return work(c)
}

// Report is what a run did with each record of its flows (at most limit).
func (l *Linked) Report(ctx context.Context, runID string, limit int) ([]Outcome, error) {
	if l.tgt.kind != pgDatabase {
		return reportDuck(ctx, l.db, l.tgt.db, runID, limit)
	}
	var out []Outcome
	err := l.withTarget(ctx, func(c *pgx.Conn) error {
		var exists bool
		if err := c.QueryRow(ctx, "SELECT to_regclass('connector.run_record') IS NOT NULL").Scan(&exists); err != nil || !exists {
			return err
		}
		rows, err := c.Query(ctx, strings.Replace(fmt.Sprintf(selectReport, "connector", limit), "?", "$1", 1), runID)
		if err != nil {
			return err
		}
		defer rows.Close()
		out, err = scanOutcomes(rows.Next, rows.Scan, rows.Err)
		return err
	})
	return out, err
}

// Audit records an action taken in the console, in the target.
func (l *Linked) Audit(ctx context.Context, a AuditEntry) error {
	if l.tgt.kind != pgDatabase {
		if _, err := l.db.ExecContext(ctx, historyDDL(l.tgt.db)); err != nil {
			return err
		}
		_, err := l.db.ExecContext(ctx, fmt.Sprintf(insertAudit, connectorSchema(l.tgt.db)), a.At.UTC(), a.Actor, a.Action, a.Detail)
		return err
	}
	return l.withTarget(ctx, func(c *pgx.Conn) error {
		if _, err := c.Exec(ctx, historyDDL("")); err != nil {
			return err
		}
		_, err := c.Exec(ctx, "INSERT INTO connector.audit VALUES ($1, $2, $3, $4)", a.At.UTC(), a.Actor, a.Action, a.Detail)
		return err
	})
}

// AuditLog lists the latest actions taken in the console.
func (l *Linked) AuditLog(ctx context.Context, limit int) ([]AuditEntry, error) {
	if l.tgt.kind != pgDatabase {
		return auditLogDuck(ctx, l.db, l.tgt.db, limit)
	}
	var out []AuditEntry
	err := l.withTarget(ctx, func(c *pgx.Conn) error {
		var exists bool
		if err := c.QueryRow(ctx, "SELECT to_regclass('connector.audit') IS NOT NULL").Scan(&exists); err != nil || !exists {
			return err
		}
		rows, err := c.Query(ctx, fmt.Sprintf(selectAudit, "connector", limit))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a AuditEntry
			if err := rows.Scan(&a.At, &a.Actor, &a.Action, &a.Detail); err != nil {
				return err
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	return out, err
}
