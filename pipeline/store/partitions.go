package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// partitionsDDL keeps the partitions of each backfill that are done (table
// connector.backfill in the target, beside the run history).
func partitionsDDL(db string) string {
	schema := connectorSchema(db)
	return `CREATE SCHEMA IF NOT EXISTS ` + schema + `;
CREATE TABLE IF NOT EXISTS ` + schema + `.backfill (
    backfill  VARCHAR NOT NULL,  -- from, to, partition and flows of the backfill
    partition VARCHAR NOT NULL,
    done_at   TIMESTAMP NOT NULL
)`
}

func partitionsDuck(ctx context.Context, db *sql.DB, database, backfill string) (map[string]bool, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables()
		WHERE schema_name = 'connector' AND table_name = 'backfill' AND database_name = coalesce(nullif(?, ''), current_database())`, database).Scan(&n)
	if err != nil || n == 0 {
		return map[string]bool{}, err
	}
	rows, err := db.QueryContext(ctx, fmt.Sprintf("SELECT partition FROM %s.backfill WHERE backfill = ?", connectorSchema(database)), backfill)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scanPartitions(rows.Next, rows.Scan, rows.Err)
}

func markDuck(ctx context.Context, db *sql.DB, database, backfill, partition string) error {
	if _, err := db.ExecContext(ctx, partitionsDDL(database)); err != nil {
		return err
	}
	_, err := db.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s.backfill VALUES (?, ?, ?)", connectorSchema(database)), backfill, partition, time.Now().UTC())
	return err
}

func partitionsPG(ctx context.Context, c *pgx.Conn, backfill string) (map[string]bool, error) {
	var exists bool
	if err := c.QueryRow(ctx, "SELECT to_regclass('connector.backfill') IS NOT NULL").Scan(&exists); err != nil || !exists {
		return map[string]bool{}, err
	}
	rows, err := c.Query(ctx, "SELECT partition FROM connector.backfill WHERE backfill = $1", backfill)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scanPartitions(rows.Next, rows.Scan, rows.Err)
}

func markPG(ctx context.Context, c *pgx.Conn, backfill, partition string) error {
	if _, err := c.Exec(ctx, partitionsDDL("")); err != nil {
		return err
	}
	_, err := c.Exec(ctx, "INSERT INTO connector.backfill VALUES ($1, $2, $3)", backfill, partition, time.Now().UTC())
	return err
}

func scanPartitions(next func() bool, scan func(...any) error, errf func() error) (map[string]bool, error) {
	done := map[string]bool{}
	for next() {
		var p string
		if err := scan(&p); err != nil {
			return nil, err
		}
		done[p] = true
	}
	return done, errf()
}

// Partitions are the partitions of a backfill done so far.
func (l *Local) Partitions(ctx context.Context, backfill string) (map[string]bool, error) {
	return partitionsDuck(ctx, l.db, "", backfill)
}

// MarkPartition records a backfill's partition as done.
func (l *Local) MarkPartition(ctx context.Context, backfill, partition string) error {
	return markDuck(ctx, l.db, "", backfill, partition)
}

// Partitions are the partitions of a backfill done so far, from the target.
func (l *Linked) Partitions(ctx context.Context, backfill string) (map[string]bool, error) {
	if l.tgt.kind != pgDatabase {
		return partitionsDuck(ctx, l.db, l.tgt.db, backfill)
	}
	var done map[string]bool
	err := l.retry(ctx, "backfill progress", func() error {
		c, err := l.connect(ctx, l.tgt.loc)
		if err == nil {
			done, err = partitionsPG(ctx, c, backfill)
		}
		return err
	})
	return done, err
}

// MarkPartition records a backfill's partition as done, in the target.
func (l *Linked) MarkPartition(ctx context.Context, backfill, partition string) error {
	if l.tgt.kind != pgDatabase {
		return markDuck(ctx, l.db, l.tgt.db, backfill, partition)
	}
	return l.retry(ctx, "backfill progress", func() error {
		c, err := l.connect(ctx, l.tgt.loc)
		if err == nil {
			err = markPG(ctx, c, backfill, partition)
		}
		return err
	})
}
