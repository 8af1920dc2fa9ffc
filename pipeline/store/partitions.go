package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// partitionsDDL keeps the partitions of each backfill that are done, per flow (table
// connector.backfill in the target, beside the run history; the mark commits with the
// partition's documents).
func partitionsDDL(db string) string {
	schema := connectorSchema(db)
	return `CREATE SCHEMA IF NOT EXISTS ` + schema + `;
CREATE TABLE IF NOT EXISTS ` + schema + `.backfill (
    backfill  VARCHAR NOT NULL,  -- from, to, partition and flows of the backfill
    partition VARCHAR NOT NULL,  -- flow/partition
    done_at   TIMESTAMP NOT NULL
)`
}

func partitionsDuck(ctx context.Context, db *sql.DB, database, backfill string) (map[string]bool, error) {
	if backfill == "" {
		return map[string]bool{}, nil
	}
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

func partitionsPG(ctx context.Context, c *pgx.Conn, backfill string) (map[string]bool, error) {
	if backfill == "" {
		return map[string]bool{}, nil
	}
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
