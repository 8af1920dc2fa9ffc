package catalog

import (
	"context"
	"database/sql"
	_ "embed"
	"fmt"
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
func Init(ctx context.Context, db *sql.DB) error {
	for _, s := range []struct{ schema, ddl string }{{"oim", OIMDDL}, {"acct", AccountingDDL}} {
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
