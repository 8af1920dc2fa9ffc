package host

import (
	"context"
	"database/sql"
	"testing"

	_ "github.com/marcboeker/go-duckdb"
)

// A pass's batches run on one DuckDB thread, and the setting found is put back after;
// a database on one thread already, or a shared dry run's transaction, is left alone.
func TestOneThread(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	threads := func() string {
		var n string
		if err := db.QueryRowContext(ctx, "SELECT current_setting('threads')").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	set := func(n string) {
		if _, err := db.ExecContext(ctx, "SET threads = "+n); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name, before, during string
		tx                   bool
	}{
		{"several threads", "3", "1", false},
		{"one thread", "1", "1", false},
		{"a dry run's transaction", "3", "3", true},
	} {
		set(c.before)
		var x interface {
			ExecContext(context.Context, string, ...any) (sql.Result, error)
			QueryContext(context.Context, string, ...any) (*sql.Rows, error)
			QueryRowContext(context.Context, string, ...any) *sql.Row
		} = conn
		var tx *sql.Tx
		if c.tx {
			if tx, err = conn.BeginTx(ctx, nil); err != nil {
				t.Fatal(err)
			}
			x = tx
		}
		restore, err := oneThread(ctx, x)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := threads(); got != c.during {
			t.Errorf("%s: %s threads during the pass, want %s", c.name, got, c.during)
		}
		restore()
		if got := threads(); got != c.before {
			t.Errorf("%s: %s threads after the pass, want %s back", c.name, got, c.before)
		}
		if tx != nil {
			_ = tx.Rollback()
		}
	}
}
