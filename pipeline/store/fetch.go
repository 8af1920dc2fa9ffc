package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/plan"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
)

// Fetch stages a fetch statement's rows. A table of a PostgreSQL source or target is
// read there (fetchPG): only the candidates and the rows they reach cross the wire,
// not the table. The others are in the working database: the DuckDB source file, the
// attached DuckDB target, the copy of a files source.
func (l *Linked) Fetch(ctx context.Context, x Execer, st plan.Statement) error {
	f := st.Fetch
	side := l.src
	if f.Table.Schema == "acct" {
		side = l.tgt
	}
	if side.kind != pgDatabase {
		return fetchLocal(ctx, x, st)
	}
	return l.fetchPG(ctx, x, side, f)
}

// fetchPG reads a fetch's rows from PostgreSQL into its temp table: the key values are
// staged in a temporary table there (COPY), the rows selected by a semi-join on it
// (the key's index, or the lines' parent index init creates) and copied out (COPY),
// the Filter applied here. The temp table keeps the working database's column types.
func (l *Linked) fetchPG(ctx context.Context, x Execer, side endpoint, f *plan.Fetch) error {
	if _, err := x.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE TEMP TABLE %s AS SELECT %s FROM %s WHERE FALSE", f.Into, f.SelectList(), f.Table.SQLName())); err != nil {
		return err
	}
	var where []string
	if f.Where != "" {
		where = append(where, f.Where)
	}
	if len(f.Any) > 0 {
		where = append(where, "("+strings.Join(f.Any, " OR ")+")")
	}
	keys := ""
	if f.Keys != "" {
		col, ok := f.Table.Column(f.Column)
		if !ok {
			return fmt.Errorf("fetch %s: no column %s", f.Table.FullName(), f.Column)
		}
		keys = postgres.TempFile(l.dir, "keys-"+f.Into)
		defer os.Remove(keys)
		q := fmt.Sprintf("SELECT DISTINCT CAST(k AS %s) FROM (%s) AS q(k) WHERE k IS NOT NULL", col.Type.SQL, f.Keys)
		if err := postgres.Export(ctx, x, q, keys); err != nil {
			return err
		}
		if st, err := os.Stat(keys); err == nil && st.Size() == 0 {
			l.log.Debug("fetched", "table", f.Table.FullName(), "from", side.String(), "rows", 0)
			return nil // no key reaches the table: nothing to read
		}
		where = append(where, fmt.Sprintf("%s IN (SELECT v FROM oimconnect_keys)", catalog.Ident(f.Column)))
	}
	query := postgres.Select(f.Table.Schema, f.Table.Name, f.Selected())
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	var rows int64
	err := l.readSnapshot(ctx, side, "read "+f.Table.FullName(), func(tx pgx.Tx) error {
		if keys != "" {
			col, _ := f.Table.Column(f.Column)
			if _, err := tx.Exec(ctx, "CREATE TEMP TABLE oimconnect_keys (v "+pgType(col.Type.SQL)+") ON COMMIT DROP"); err != nil {
				return err
			}
			if _, err := postgres.CopyIn(ctx, tx.Conn().PgConn(), "oimconnect_keys", []string{"v"}, keys); err != nil {
				return err
			}
		}
		// The temp table is emptied first: a retried read starts over.
		if _, err := x.ExecContext(ctx, "DELETE FROM "+f.Into); err != nil {
			return err
		}
		n, err := postgres.CopyOut(ctx, tx.Conn().PgConn(), query, x, f.Into, f.Selected(), l.dir)
		rows = n
		return err
	})
	if err != nil {
		return fmt.Errorf("read %s from %s: %w", f.Table.FullName(), side, err)
	}
	l.log.Debug("fetched", "table", f.Table.FullName(), "from", side.String(), "rows", rows)
	if l.hooks.AfterFetch != nil {
		l.hooks.AfterFetch(f.Table.FullName())
	}
	if f.Filter != "" {
		alias := f.Alias
		if alias == "" {
			alias = "f"
		}
		_, err = x.ExecContext(ctx, fmt.Sprintf("DELETE FROM %s AS %s WHERE NOT coalesce(%s, false)", f.Into, alias, f.Filter))
	}
	return err
}

// readSnapshot runs read in a transaction reading the batch's snapshot of a PostgreSQL
// side, and commits it; a read whose connection was lost is tried again (retry).
func (l *Linked) readSnapshot(ctx context.Context, side endpoint, what string, read func(pgx.Tx) error) error {
	return l.retry(ctx, what, func() error {
		c, err := l.connect(ctx, side.loc)
		if err != nil {
			return err
		}
		tx, err := l.inSnapshot(ctx, c, side.loc)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		if err := read(tx); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
}

// inSnapshot begins a transaction on c reading the batch's snapshot of url. A snapshot
// whose holder lost its connection (the server restarted, the network cut) is gone:
// a new one is taken, and the batch's later reads share that one.
func (l *Linked) inSnapshot(ctx context.Context, c *pgx.Conn, url string) (pgx.Tx, error) {
	for attempt := 0; ; attempt++ {
		snap, err := l.snapshotOf(ctx, url)
		if err != nil {
			return nil, err
		}
		tx, err := c.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
		if err != nil {
			return nil, err
		}
		_, err = tx.Exec(ctx, "SET TRANSACTION SNAPSHOT "+catalog.Literal(snap))
		if err == nil {
			return tx, nil
		}
		_ = tx.Rollback(context.WithoutCancel(ctx))
		l.endSnapshots()
		var pe *pgconn.PgError
		if attempt > 0 || !errors.As(err, &pe) || pe.Code != "22023" { // invalid snapshot identifier
			return nil, err
		}
	}
}

// pgType is a DuckDB column type as PostgreSQL spells it.
func pgType(duck string) string {
	switch strings.ToUpper(duck) {
	case "VARCHAR":
		return "text"
	case "DOUBLE":
		return "double precision"
	}
	return duck
}
