package catalog

import (
	"context"
	"database/sql"
	_ "embed"
	"fmt"
	"regexp"
	"slices"
)

// The contract's canonical schemas, copied unchanged from shared/contract.
var (
	//go:embed ddl/oim.sql
	OIMDDL string
	//go:embed ddl/acct.sql
	AccountingDDL string
)

// Init creates the oim and acct schemas in db when they do not exist yet.
// It is idempotent: a database that already has the schemas is left as it is.
func Init(ctx context.Context, db *sql.DB) error { return InitSchemas(ctx, db, "oim", "acct") }

// InitSchemas creates those of the contract's schemas named (oim, acct) that db does
// not have yet: a source's file needs oim only, a target's acct only.
func InitSchemas(ctx context.Context, db *sql.DB, schemas ...string) error {
	for _, s := range []struct{ schema, ddl string }{{"oim", OIMDDL}, {"acct", AccountingDDL}} {
		if !slices.Contains(schemas, s.schema) {
			continue
		}
		var n int
		if err := db.QueryRowContext(ctx,
			`SELECT count(*) FROM information_schema.tables WHERE table_schema = ?`, s.schema).Scan(&n); err != nil {
			return fmt.Errorf("catalog: look up schema %s: %w", s.schema, err)
		}
		if n > 0 {
			continue
		}
		if _, err := db.ExecContext(ctx, s.ddl); err != nil {
			return fmt.Errorf("catalog: create schema %s: %w", s.schema, err)
		}
	}
	return nil
}

// Execer runs statements on one connection (a *sql.Conn, or a transaction on one):
// CreateIn needs one, since USE holds per connection, and so does a transform, which
// changes the connection's temp tables.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Mirror is DDL without its keys and unique constraints, for a copy of another
// database's tables that the connector only reads and appends to: bulk inserts into
// it cost no index maintenance. Every table keeps NOT NULL on its key column.
func Mirror(ddl string) string {
	ddl = regexp.MustCompile(`,\s*UNIQUE \([^)]*\)`).ReplaceAllString(ddl, "")
	ddl = regexp.MustCompile(`\bPRIMARY KEY\b`).ReplaceAllString(ddl, "NOT NULL")
	return regexp.MustCompile(`\s+UNIQUE\b`).ReplaceAllString(ddl, "")
}

// CreateIn runs the contract's DDL for the given schemas ("oim", "acct") inside the
// attached DuckDB database named database, on one connection; as a mirror (see Mirror)
// when asked.
func CreateIn(ctx context.Context, conn Execer, database string, mirror bool, schemas ...string) (err error) {
	var cur string
	if err := conn.QueryRowContext(ctx, "SELECT current_database()").Scan(&cur); err != nil {
		return fmt.Errorf("catalog: current database: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "USE "+Ident(database)); err != nil {
		return fmt.Errorf("catalog: use %s: %w", database, err)
	}
	defer func() {
		if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), "USE "+Ident(cur)); uerr != nil && err == nil {
			err = fmt.Errorf("catalog: use %s: %w", cur, uerr)
		}
	}()
	for _, s := range schemas {
		ddl := map[string]string{"oim": OIMDDL, "acct": AccountingDDL}[s]
		if ddl == "" {
			return fmt.Errorf("catalog: no contract schema %q", s)
		}
		if mirror {
			ddl = Mirror(ddl)
		}
		if _, err := conn.ExecContext(ctx, ddl); err != nil {
			return fmt.Errorf("catalog: create schema %s in %s: %w", s, database, err)
		}
	}
	return nil
}
