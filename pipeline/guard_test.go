package pipeline_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
	"github.com/oimconnect/oimconnect/pipeline/plan"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
	"github.com/oimconnect/oimconnect/pipeline/store"
)

// OIM changing invoices while a run exports them (after the batch read them, before it
// wrote): a line added to one, a quantity changed on another, a third set back to Open,
// and a quantity changed on a fourth that fails a rule. None of the first three is
// marked Exported with documents of its old state, nor the fourth Export Error with a
// reason about its old state: the run writes nothing of them, says why, and does not
// list the fourth among its failures; the next run exports them as they are now. Both
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
			ref0 := reference(t, gen)
			ids := invoicesWhere(t, ref0, "sales_invoice_id IS NOT NULL", 3)
			failed := invoicesWhere(t, ref0, "export_status = 'Export Error' AND id IN (SELECT invoice_id FROM oim.invoice_line)", 1)[0]
			ids = append(ids, failed)
			changes := []string{
				fmt.Sprintf(`INSERT INTO oim.invoice_line (id, invoice_id, line_number, line_type, item_id, product_id, amount_description, quantity, derived_unit_price, amount)
SELECT id || '-added', invoice_id, line_number + 100, line_type, item_id, product_id, amount_description, quantity, derived_unit_price, amount
FROM oim.invoice_line WHERE id = (SELECT min(id) FROM oim.invoice_line WHERE invoice_id = '%s')`, ids[0]),
				fmt.Sprintf(`UPDATE oim.invoice_line SET quantity = quantity + 1, amount = amount + derived_unit_price
WHERE id = (SELECT min(id) FROM oim.invoice_line WHERE invoice_id = '%s')`, ids[1]),
				fmt.Sprintf(`UPDATE oim.invoice SET status = 'Open' WHERE id = '%s'`, ids[2]),
				fmt.Sprintf(`UPDATE oim.invoice_line SET quantity = quantity + 1, amount = amount + derived_unit_price
WHERE id = (SELECT min(id) FROM oim.invoice_line WHERE invoice_id = '%s')`, failed),
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
			if si.Waiting < int64(len(ids)) {
				t.Errorf("sales-invoices: %s; want the %d changed invoices waiting", si, len(ids))
			}
			if int64(len(si.Failures)) != si.Errors {
				t.Errorf("sales-invoices: %s, and %d failures listed", si, len(si.Failures))
			}
			for _, f := range si.Failures {
				if f.ID == failed {
					t.Errorf("invoice %s, changed meanwhile, is listed among the failures: %s", failed, f.Reason)
				}
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

// invoicesWhere is the first n invoices of the reference that meet a condition.
func invoicesWhere(t *testing.T, ref *sql.DB, cond string, n int) []string {
	t.Helper()
	rows, err := ref.Query(fmt.Sprintf("SELECT id FROM oim.invoice WHERE %s ORDER BY id LIMIT %d", cond, n))
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
		t.Fatalf("the reference has %d invoices where %s, want %d", len(ids), cond, n)
	}
	return ids
}

// reportOf is the sales invoices' outcomes of records (nil: all) in a target's run
// history, as "outcome: reason" (the last of a record's, in no given order).
func reportOf(t *testing.T, target string, ids []string) map[string]string {
	t.Helper()
	ctx := context.Background()
	q := `SELECT record, outcome || ': ' || coalesce(reason, '') FROM connector.run_record WHERE flow = 'sales-invoices'`
	if ids != nil {
		q += ` AND record IN ('` + strings.Join(ids, "', '") + `')`
	}
	out := map[string]string{}
	collect := func(next func() bool, scan func(...any) error) {
		for next() {
			var rec, o string
			if err := scan(&rec, &o); err != nil {
				t.Fatal(err)
			}
			out[rec] = o
		}
	}
	if !postgres.IsURL(target) {
		db := fixture.Open(t, target)
		defer db.Close()
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		collect(rows.Next, rows.Scan)
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
	collect(rows.Next, rows.Scan)
	return out
}

// OIM writing all the while runs export in batches: adding Item lines to pending
// invoices, changing their quantities, setting some to Open, each under the invoice's
// row lock as an application would; a burst of such changes lands between every batch's
// read of the lines and its write. However the two interleave, no invoice is marked
// Exported without all its lines, a document line always has its source line's current
// quantity, every document's record is marked, and no invoice OIM opened is exported.
func TestPostgresExportsWhileOIMWrites(t *testing.T) {
	t.Parallel()
	for _, target := range []string{"the source's database", "another database"} {
		t.Run(target, func(t *testing.T) {
			t.Parallel()
			src := postgresURL(t)
			gen := fixture.Generated(t, t.TempDir(), 400)
			tgt, cfg := src, demoConfig(t, src, "", "")
			if target == "another database" {
				tgt = postgresURL(t)
				cfg = demoConfig(t, "", src, tgt)
				fixture.LoadPostgres(t, src, gen, "oim")
				fixture.LoadPostgres(t, tgt, gen, "acct")
			} else {
				fixture.LoadPostgres(t, src, gen, "oim", "acct")
			}
			cfg.BatchSize = 40
			ctx := context.Background()
			w := newOIMWriter(t, src)
			defer w.close()
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var stopOnce sync.Once
			quiet := func() { // OIM stops writing
				stopOnce.Do(func() { close(stop) })
				wg.Wait()
			}
			defer quiet()
			wg.Add(1)
			go func() { // OIM's users, all along
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					w.change(ctx, i)
				}
			}()
			hooks := store.Hooks{AfterFetch: func(table string) {
				if table == "oim.invoice_line" { // between the batch's read and its write
					for i := 0; i < 30; i++ {
						w.change(ctx, i)
					}
				}
			}}
			e, err := pipeline.Open(ctx, cfg, fixture.Quiet, pipeline.WithHooks(hooks))
			if err != nil {
				t.Fatal(err)
			}
			for run := 0; run < 4; run++ {
				if _, err := e.Run(ctx, pipeline.Request{Flows: []string{"sales-invoices"}}); err != nil {
					t.Fatalf("run %d: %v", run+1, err)
				}
			}
			e.Close()
			quiet()
			if _, err := runAll(t, cfg); err != nil { // OIM quiet: what is left
				t.Fatal(err)
			}
			if w.done == 0 {
				t.Fatal("OIM changed nothing")
			}
			srcDB, tgtDB := pgTables(t, src, "oim"), pgTables(t, tgt, "acct")
			attach(t, srcDB, tgtDB)
			for _, c := range []struct{ what, query string }{
				{"an Exported invoice's Item line without its document line, or with another quantity", `
SELECT i.id || ' line ' || l.id FROM oim.invoice i JOIN oim.invoice_line l ON l.invoice_id = i.id
LEFT JOIN t.acct.sales_invoice_line_item d ON d.id = l.sales_invoice_line_item_id
WHERE i.export_status = 'Exported' AND l.line_type = 'Item'
  AND (d.id IS NULL OR d.oim_invoice_line_id IS DISTINCT FROM l.id OR d.quantity <> l.quantity)`},
				{"a document line whose source line is gone, differs or links elsewhere", `
SELECT d.id FROM t.acct.sales_invoice_line_item d LEFT JOIN oim.invoice_line l ON l.id = d.oim_invoice_line_id
WHERE d.oim_invoice_line_id IS NOT NULL
  AND (l.id IS NULL OR l.quantity <> d.quantity OR l.sales_invoice_line_item_id IS DISTINCT FROM d.id)`},
				{"a sales invoice whose invoice is not marked Exported", `
SELECT s.id FROM t.acct.sales_invoice s JOIN oim.invoice i ON i.id = s.oim_invoice_id WHERE i.export_status <> 'Exported'`},
			} {
				if bad := fixture.Rows(t, srcDB, c.query); len(bad) > 0 {
					t.Errorf("%s: %d, e.g. %v", c.what, len(bad), bad[:min(5, len(bad))])
				}
			}
			for id := range w.opened {
				var status string
				if err := srcDB.QueryRow("SELECT export_status FROM oim.invoice WHERE id = ?", id).Scan(&status); err != nil {
					t.Fatal(err)
				}
				if status == "Exported" {
					t.Errorf("invoice %s was set to Open while pending, and is Exported", id)
				}
			}
			waiting := 0
			for _, o := range reportOf(t, tgt, nil) {
				if strings.HasPrefix(o, "waiting: ") {
					waiting++
				}
			}
			if waiting == 0 {
				t.Errorf("no run found a record OIM changed meanwhile (%d changes): the test did not race", w.done)
			}
			t.Logf("%d changes by OIM, %d records left for a later run, %d invoices opened", w.done, waiting, len(w.opened))

		})
	}
}

// oimWriter changes pending invoices as OIM's users would, each change one transaction
// holding the invoice's row lock.
type oimWriter struct {
	t      *testing.T
	conn   *pgx.Conn
	ids    []string
	mu     sync.Mutex
	done   int
	opened map[string]bool
}

func newOIMWriter(t *testing.T, pg string) *oimWriter {
	ctx := context.Background()
	conn, err := postgres.Connect(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	w := &oimWriter{t: t, conn: conn, opened: map[string]bool{}}
	rows, err := conn.Query(ctx, "SELECT id FROM oim.invoice ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		w.ids = append(w.ids, id)
	}
	return w
}

func (w *oimWriter) close() { w.conn.Close(context.Background()) }

// change makes the i-th change to a random pending invoice; a deadlock or a lock
// timeout (the connector's lock) loses the change, as it would for OIM.
func (w *oimWriter) change(ctx context.Context, i int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	id := w.ids[rand.IntN(len(w.ids))]
	tx, err := w.conn.Begin(ctx)
	if err != nil {
		return // the connection is gone: the test says why it ended
	}
	defer tx.Rollback(ctx)
	var got string
	if err := tx.QueryRow(ctx, `SELECT id FROM oim.invoice WHERE id = $1 AND export_status IN ('New', 'Export Error') FOR UPDATE`, id).Scan(&got); err != nil {
		return // exported already, or lost to a deadlock
	}
	opened := false
	switch op := rand.IntN(10); {
	case op < 5:
		_, err = tx.Exec(ctx, `INSERT INTO oim.invoice_line (id, invoice_id, line_number, line_type, item_id, product_id, amount_description, quantity, derived_unit_price, amount)
SELECT id || '-added-' || $2, invoice_id, line_number + 1000 + $3, line_type, item_id, product_id, amount_description, quantity, derived_unit_price, amount
FROM oim.invoice_line WHERE id = (SELECT min(id) FROM oim.invoice_line WHERE invoice_id = $1 AND line_type = 'Item')`, id, fmt.Sprint(w.done, "-", i), w.done)
	case op < 9:
		_, err = tx.Exec(ctx, `UPDATE oim.invoice_line SET quantity = quantity + 1, amount = amount + derived_unit_price
WHERE id = (SELECT max(id) FROM oim.invoice_line WHERE invoice_id = $1 AND line_type = 'Item')`, id)
	default:
		_, err = tx.Exec(ctx, `UPDATE oim.invoice SET status = 'Open' WHERE id = $1`, id)
		opened = true
	}
	if err == nil {
		err = tx.Commit(ctx)
	}
	if err != nil {
		return
	}
	w.done++
	if opened {
		w.opened[id] = true
	}
}

// attach makes the target's tables readable from the source's copy, as t.
func attach(t *testing.T, db, other *sql.DB) {
	t.Helper()
	var path string
	if err := other.QueryRow("SELECT path FROM duckdb_databases() WHERE NOT internal AND database_name = current_database()").Scan(&path); err != nil {
		t.Fatal(err)
	}
	other.Close()
	if _, err := db.Exec("ATTACH " + catalog.Literal(path) + " AS t (READ_ONLY)"); err != nil {
		t.Fatal(err)
	}
}

// A supplier site OIM commits after the run began (once the store is prepared) and
// before the vendor-accounts flow reads its candidates becomes a vendor account of its
// own id: the name lookup that picks a new site's account id (vendor duplicate check by
// name) searches a copy read with the candidates, so it finds the site. A copy read
// when the run began lacked it, and the site got account "VND-".
func TestPostgresSiteCommittedAsTheRunBegins(t *testing.T) {
	t.Parallel()
	pg := postgresURL(t)
	gen := fixture.Generated(t, t.TempDir(), 50)
	fixture.LoadPostgres(t, pg, gen, "oim", "acct")
	ctx := context.Background()
	oim, err := postgres.Connect(ctx, pg+"&application_name=oim")
	if err != nil {
		t.Fatal(err)
	}
	defer oim.Close(ctx)
	var once sync.Once
	var insertErr error
	hooks := store.Hooks{AfterPrepare: func() {
		once.Do(func() {
			_, insertErr = oim.Exec(ctx, "INSERT INTO oim.supplier_site (id, name, updated_at) VALUES ('SS-LATE', 'Late Supplier Ltd', now())")
		})
	}}
	if _, err := runAll(t, demoConfig(t, pg, "", ""), pipeline.WithHooks(hooks)); err != nil {
		t.Fatal(err)
	}
	if insertErr != nil {
		t.Fatal(insertErr)
	}
	var link, name string
	if err := oim.QueryRow(ctx, "SELECT coalesce(s.account_id, 'NULL'), coalesce(a.name, 'no account') FROM oim.supplier_site s LEFT JOIN acct.account a ON a.id = s.account_id WHERE s.id = 'SS-LATE'").Scan(&link, &name); err != nil {
		t.Fatal(err)
	}
	if link != "VND-SS-LATE" || name != "Late Supplier Ltd" {
		t.Errorf("the site committed as the run began is linked to %s (%s), want VND-SS-LATE (Late Supplier Ltd)", link, name)
	}
	var odd int
	if err := oim.QueryRow(ctx, "SELECT count(*) FROM acct.account WHERE id = 'VND-' OR id IS NULL").Scan(&odd); err != nil || odd != 0 {
		t.Errorf("accounts without a site's id: %d (%v)", odd, err)
	}
}
