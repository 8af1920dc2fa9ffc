package pipeline_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
	"github.com/oimconnect/oimconnect/pipeline/plan"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
	"github.com/oimconnect/oimconnect/pipeline/store"
)

// OIM changing invoices while a run exports them (after the batch read them, before it
// wrote): a line added to one, a quantity changed on another, a third set back to Open.
// None of the three is marked Exported with documents of its old state: the run writes
// nothing of them and says why, and the next run exports them as they are now. Both
// runs together leave what one run over OIM's final state leaves.
func TestPostgresRecordsChangedMidRunWaitForTheNextRun(t *testing.T) {
	t.Parallel()
	for _, target := range []string{"the source's database", "another database", "a DuckDB file"} {
		t.Run(target, func(t *testing.T) {
			t.Parallel()
			src := postgresURL(t)
			gen := fixture.Generated(t, t.TempDir(), 200)
			tgt, cfg := src, demoConfig(t, src, "", "")
			switch target {
			case "another database":
				tgt = postgresURL(t)
				cfg = demoConfig(t, "", src, tgt)
				fixture.LoadPostgres(t, src, gen, "oim")
				fixture.LoadPostgres(t, tgt, gen, "acct")
			case "a DuckDB file":
				tgt = fixture.Copy(t, gen, filepath.Join(t.TempDir(), "target.duckdb"))
				cfg = demoConfig(t, "", src, tgt)
				fixture.LoadPostgres(t, src, gen, "oim")
			default:
				fixture.LoadPostgres(t, src, gen, "oim", "acct")
			}
			ids := exportedInvoices(t, reference(t, gen), 3)
			changes := []string{
				fmt.Sprintf(`INSERT INTO oim.invoice_line (id, invoice_id, line_number, line_type, item_id, product_id, amount_description, quantity, derived_unit_price, amount)
SELECT id || '-added', invoice_id, line_number + 100, line_type, item_id, product_id, amount_description, quantity, derived_unit_price, amount
FROM oim.invoice_line WHERE id = (SELECT min(id) FROM oim.invoice_line WHERE invoice_id = '%s')`, ids[0]),
				fmt.Sprintf(`UPDATE oim.invoice_line SET quantity = quantity + 1, amount = amount + derived_unit_price
WHERE id = (SELECT min(id) FROM oim.invoice_line WHERE invoice_id = '%s')`, ids[1]),
				fmt.Sprintf(`UPDATE oim.invoice SET status = 'Open' WHERE id = '%s'`, ids[2]),
			}
			// What one run over OIM's final state writes.
			final := fixture.Copy(t, gen, filepath.Join(t.TempDir(), "final.duckdb"))
			db := fixture.Open(t, final)
			for _, q := range changes {
				if _, err := db.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			db.Close()
			ref := reference(t, final)

			ctx := context.Background()
			oim, err := postgres.Connect(ctx, src)
			if err != nil {
				t.Fatal(err)
			}
			defer oim.Close(ctx)
			var once sync.Once
			var changeErr error
			hooks := store.Hooks{AfterFetch: func(table string) {
				if table == "oim.invoice_line" { // the sales invoices' lines are read: OIM commits
					once.Do(func() {
						for _, q := range changes {
							if _, err := oim.Exec(ctx, q); err != nil {
								changeErr = err
							}
						}
					})
				}
			}}
			sums, err := runAll(t, cfg, pipeline.WithHooks(hooks))
			if err != nil {
				t.Fatal(err)
			}
			if changeErr != nil {
				t.Fatal(changeErr)
			}
			var si pipeline.Summary
			for _, s := range sums {
				if s.Flow == "sales-invoices" {
					si = s
				}
			}
			if si.Waiting < 3 {
				t.Errorf("sales-invoices: %s; want the 3 changed invoices waiting", si)
			}
			for _, id := range ids {
				var status, doc string
				if err := oim.QueryRow(ctx, "SELECT export_status, coalesce(sales_invoice_id, '') FROM oim.invoice WHERE id = $1", id).Scan(&status, &doc); err != nil {
					t.Fatal(err)
				}
				if status != "New" || doc != "" {
					t.Errorf("invoice %s after the run: %s, document %v; want New and none", id, status, doc)
				}
			}
			report := reportOf(t, tgt, ids)
			for _, id := range ids {
				if got, want := report[id], "waiting: "+plan.ChangedReason; got != want {
					t.Errorf("report of %s: %q, want %q", id, got, want)
				}
			}

			if _, err := runAll(t, cfg); err != nil {
				t.Fatal(err)
			}
			var got *sql.DB
			if target == "a DuckDB file" {
				got = fixture.Open(t, tgt)
				defer got.Close()
			} else {
				got = pgTables(t, tgt, "acct")
			}
			sameDump(t, "acct after the next run", dumpSchema(t, ref, "acct"), dumpSchema(t, got, "acct"))
			gotSrc := pgTables(t, src, "oim")
			sameDump(t, "oim after the next run", dumpSchema(t, ref, "oim"), dumpSchema(t, gotSrc, "oim"))
		})
	}
}

// exportedInvoices is n invoices the reference exported as sales invoices.
func exportedInvoices(t *testing.T, ref *sql.DB, n int) []string {
	t.Helper()
	rows, err := ref.Query(fmt.Sprintf("SELECT id FROM oim.invoice WHERE sales_invoice_id IS NOT NULL ORDER BY id LIMIT %d", n))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if len(ids) != n {
		t.Fatalf("the reference exported %d invoices, want %d", len(ids), n)
	}
	return ids
}

// reportOf is the sales invoices' outcomes of records in a target's run history, as
// "outcome: reason".
func reportOf(t *testing.T, target string, ids []string) map[string]string {
	t.Helper()
	ctx := context.Background()
	q := `SELECT record, outcome || ': ' || coalesce(reason, '') FROM connector.run_record
WHERE flow = 'sales-invoices' AND record IN ('` + strings.Join(ids, "', '") + `')`
	out := map[string]string{}
	add := func(rec, o string) { out[rec] = o }
	if !postgres.IsURL(target) {
		db := fixture.Open(t, target)
		defer db.Close()
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var rec, o string
			if err := rows.Scan(&rec, &o); err != nil {
				t.Fatal(err)
			}
			add(rec, o)
		}
		return out
	}
	conn, err := postgres.Connect(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var rec, o string
		if err := rows.Scan(&rec, &o); err != nil {
			t.Fatal(err)
		}
		add(rec, o)
	}
	return out
}
