package pipeline_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
	"github.com/oimconnect/oimconnect/pipeline/store"
)

func postgresURL(t testing.TB) string { return fixture.Postgres(t) }

// demoConfig is the demo's settings: documents posted, a default company.
func demoConfig(t *testing.T, db, source, target string) *config.Config {
	t.Helper()
	cfg, err := config.WithSettings(map[string]any{
		"default_company": benchCompany,
		"auto_post": map[string]any{"sales_invoices": true, "sales_credit_notes": true, "payable_invoices": true,
			"payable_credit_notes": true, "journals": true},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.DB, cfg.Source, cfg.Target = db, source, target
	cfg.BatchSize = 0
	return cfg
}

func runAll(t *testing.T, cfg *config.Config, opts ...pipeline.Option) ([]pipeline.Summary, error) {
	t.Helper()
	ctx := context.Background()
	e, err := pipeline.Open(ctx, cfg, quiet, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	return e.Run(ctx, pipeline.Request{})
}

// pgTables loads a PostgreSQL database's contract tables into a new DuckDB file, so
// both targets dump the same way.
func pgTables(t *testing.T, pg string, schemas ...string) *sql.DB {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db := fixture.Open(t, filepath.Join(dir, "copy.duckdb"))
	t.Cleanup(func() { db.Close() })
	conn, err := postgres.Connect(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	cat, err := catalog.Read(ctx, db, schemas...)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range cat.Tables() {
		tb, _ := cat.Table(name)
		if _, err := postgres.CopyOut(ctx, conn.PgConn(), postgres.Select(tb.Schema, tb.Name, tb.Columns), db, tb.SQLName(), tb.Columns, dir); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return db
}

// dumpSchema dumps every table of a schema, every column as text.
func dumpSchema(t *testing.T, db *sql.DB, schema string) string {
	t.Helper()
	cat, err := catalog.Read(context.Background(), db, schema)
	if err != nil {
		t.Fatal(err)
	}
	var qs []string
	for _, name := range cat.Tables() {
		qs = append(qs, fixture.Table(name))
	}
	return fixture.Dump(t, db, qs...)
}

// reference runs every flow on a copy of the generated file, in place: what every
// linked run must produce.
func reference(t *testing.T, generated string) *sql.DB {
	t.Helper()
	path := fixture.Copy(t, generated, filepath.Join(t.TempDir(), "reference.duckdb"))
	if _, err := runAll(t, demoConfig(t, path, "", "")); err != nil {
		t.Fatal(err)
	}
	db := fixture.Open(t, path)
	t.Cleanup(func() { db.Close() })
	return db
}

func sameDump(t *testing.T, what, want, got string) {
	t.Helper()
	if want != got {
		a, b := strings.Split(want, "\n"), strings.Split(got, "\n")
		for i := 0; i < len(a) && i < len(b); i++ {
			if a[i] != b[i] {
				t.Fatalf("%s differs from the single-DuckDB run at line %d:\nwant %s\ngot  %s", what, i+1, a[i], b[i])
			}
		}
		t.Fatalf("%s differs from the single-DuckDB run: %d lines, want %d", what, len(b), len(a))
	}
}

func exported(sums []pipeline.Summary) (docs, recovered int64) {
	for _, s := range sums {
		docs += s.Documents
		recovered += s.Recovered
	}
	return docs, recovered
}

// Source and target in one PostgreSQL database: every flow writes exactly what the
// single-DuckDB run writes, documents and write-back alike, and a rerun writes nothing.
func TestPostgresSourceAndTarget(t *testing.T) {
	t.Parallel()
	pg := postgresURL(t)
	gen := fixture.Generated(t, t.TempDir(), 300)
	ref := reference(t, gen)
	fixture.LoadPostgres(t, pg, gen, "oim", "acct")
	sums, err := runAll(t, demoConfig(t, pg, "", ""))
	if err != nil {
		t.Fatal(err)
	}
	if docs, _ := exported(sums); docs == 0 {
		t.Fatal("nothing exported")
	}
	got := pgTables(t, pg, "oim", "acct")
	sameDump(t, "acct", dumpSchema(t, ref, "acct"), dumpSchema(t, got, "acct"))
	sameDump(t, "oim", dumpSchema(t, ref, "oim"), dumpSchema(t, got, "oim"))

	sums, err = runAll(t, demoConfig(t, pg, "", ""))
	if err != nil {
		t.Fatal(err)
	}
	if docs, rec := exported(sums); docs != 0 || rec != 0 {
		t.Fatalf("rerun wrote %d documents and recovered %d records, want none", docs, rec)
	}
	got = pgTables(t, pg, "oim", "acct")
	sameDump(t, "acct after a rerun", dumpSchema(t, ref, "acct"), dumpSchema(t, got, "acct"))
}

// A DuckDB source and a PostgreSQL target: documents land in PostgreSQL, the write-back
// in the DuckDB file. A crash between the two steps (target committed, source not yet
// written back) is recovered by the next run: no document twice, none lost.
func TestDuckDBSourcePostgresTarget(t *testing.T) {
	t.Parallel()
	pg := postgresURL(t)
	gen := fixture.Generated(t, t.TempDir(), 300)
	ref := reference(t, gen)
	fixture.LoadPostgres(t, pg, gen, "acct")
	src := fixture.Copy(t, gen, filepath.Join(t.TempDir(), "source.duckdb"))
	crash := errors.New("crash between the steps")
	_, err := runAll(t, demoConfig(t, "", src, pg), pipeline.WithHooks(store.Hooks{AfterTarget: func(flow string) error {
		if flow == "sales-invoices" {
			return crash
		}
		return nil
	}}))
	if !errors.Is(err, crash) {
		t.Fatalf("run: %v, want the injected crash", err)
	}
	sums, err := runAll(t, demoConfig(t, "", src, pg))
	if err != nil {
		t.Fatal(err)
	}
	var si pipeline.Summary
	for _, s := range sums {
		if s.Flow == "sales-invoices" {
			si = s
		}
	}
	if si.Recovered == 0 || si.Documents != 0 {
		t.Fatalf("sales-invoices after the crash: %s; want every record recovered and no new document", si)
	}
	got := pgTables(t, pg, "acct")
	sameDump(t, "acct", dumpSchema(t, ref, "acct"), dumpSchema(t, got, "acct"))
	srcDB := fixture.Open(t, src)
	defer srcDB.Close()
	sameDump(t, "oim", dumpSchema(t, ref, "oim"), dumpSchema(t, srcDB, "oim"))
}

// A directory of Parquet and CSV files as the source: files are never written back, so
// every run recovers what the target holds and exports only the rest.
func TestFilesSource(t *testing.T) {
	t.Parallel()
	gen := fixture.Generated(t, t.TempDir(), 300)
	ref := reference(t, gen)
	dir := t.TempDir()
	db := fixture.Open(t, gen)
	cat, err := catalog.Read(context.Background(), db, "oim")
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range cat.Tables() {
		tb, _ := cat.Table(name)
		format, ext := "(FORMAT parquet)", ".parquet"
		if i%2 == 1 {
			format, ext = "(FORMAT csv, HEADER true)", ".csv"
		}
		if _, err := db.Exec(fmt.Sprintf("COPY %s TO '%s' %s", tb.SQLName(), filepath.Join(dir, tb.Name+ext), format)); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	target := fixture.Copy(t, gen, filepath.Join(t.TempDir(), "target.duckdb"))
	for run := 1; run <= 2; run++ {
		sums, err := runAll(t, demoConfig(t, "", dir, target))
		if err != nil {
			t.Fatal(err)
		}
		docs, rec := exported(sums)
		if run == 1 && (docs == 0 || rec != 0) || run == 2 && (docs != 0 || rec == 0) {
			t.Fatalf("run %d: %d documents, %d recovered", run, docs, rec)
		}
		tdb := fixture.Open(t, target)
		got := dumpSchema(t, tdb, "acct")
		tdb.Close()
		sameDump(t, fmt.Sprintf("acct after run %d", run), dumpSchema(t, ref, "acct"), got)
	}
}

// Two runs against one PostgreSQL database at once: the second waits for the first, then
// finds everything exported. No document twice; the result is a single run's.
func TestPostgresConcurrentRunsWait(t *testing.T) {
	t.Parallel()
	pg := postgresURL(t)
	gen := fixture.Generated(t, t.TempDir(), 200)
	ref := reference(t, gen)
	fixture.LoadPostgres(t, pg, gen, "oim", "acct")
	type result struct {
		sums []pipeline.Summary
		err  error
	}
	results := make(chan result, 2)
	for i := 0; i < 2; i++ {
		go func() {
			e, err := pipeline.Open(context.Background(), demoConfig(t, pg, "", ""), quiet)
			if err != nil {
				results <- result{err: err}
				return
			}
			defer e.Close()
			sums, err := e.Run(context.Background(), pipeline.Request{})
			results <- result{sums, err}
		}()
	}
	var docs []int64
	for i := 0; i < 2; i++ {
		r := <-results
		if r.err != nil {
			t.Fatal(r.err)
		}
		d, rec := exported(r.sums)
		if rec != 0 {
			t.Errorf("a run recovered %d records: it staged while the other wrote", rec)
		}
		docs = append(docs, d)
	}
	if min(docs[0], docs[1]) != 0 || max(docs[0], docs[1]) == 0 {
		t.Fatalf("documents written by the two runs: %v, want all by one and none by the other", docs)
	}
	got := pgTables(t, pg, "oim", "acct")
	sameDump(t, "acct", dumpSchema(t, ref, "acct"), dumpSchema(t, got, "acct"))
}

// One engine runs again and again (serve's watcher, the console): each run copies
// again the tables it reads whole, over the ones the last run copied.
func TestPostgresOneEngineRunsAgain(t *testing.T) {
	t.Parallel()
	pg := postgresURL(t)
	gen := fixture.Generated(t, t.TempDir(), 100)
	fixture.LoadPostgres(t, pg, gen, "oim", "acct")
	ctx := context.Background()
	e, err := pipeline.Open(ctx, demoConfig(t, pg, "", ""), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	first, err := e.Run(ctx, pipeline.Request{})
	if err != nil {
		t.Fatal(err)
	}
	if docs, _ := exported(first); docs == 0 {
		t.Fatal("nothing exported")
	}
	for i := 0; i < 2; i++ {
		again, err := e.Run(ctx, pipeline.Request{})
		if err != nil {
			t.Fatalf("run %d on the same engine: %v", i+2, err)
		}
		if docs, rec := exported(again); docs != 0 || rec != 0 {
			t.Fatalf("run %d wrote %d documents and recovered %d records, want none", i+2, docs, rec)
		}
	}
}

// A batch reads PostgreSQL in one snapshot: OIM committing a change to the invoices'
// lines between the read of the invoices and that of their lines does not reach the
// batch, which reads the invoices as one commit left them, headers and lines; and as
// the change came after that commit, no invoice is exported from its old lines (see
// TestPostgresRecordsChangedMidRunWaitForTheNextRun): the next run exports them all.
func TestPostgresBatchReadsOneSnapshot(t *testing.T) {
	t.Parallel()
	pg := postgresURL(t)
	gen := fixture.Generated(t, t.TempDir(), 300)
	const change = "UPDATE oim.invoice_line SET quantity = quantity + 1000"
	final := fixture.Copy(t, gen, filepath.Join(t.TempDir(), "final.duckdb"))
	db := fixture.Open(t, final)
	if _, err := db.Exec(change); err != nil {
		t.Fatal(err)
	}
	db.Close()
	ref := reference(t, final)
	fixture.LoadPostgres(t, pg, gen, "oim", "acct")
	ctx := context.Background()
	oim, err := postgres.Connect(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer oim.Close(ctx)
	var once sync.Once
	changed := false
	hooks := store.Hooks{AfterFetch: func(table string) {
		if table == "oim.invoice" { // the sales invoices' candidates: their lines come next
			once.Do(func() {
				_, err := oim.Exec(ctx, change)
				changed = err == nil
			})
		}
	}}
	sums, err := runAll(t, demoConfig(t, pg, "", ""), pipeline.WithHooks(hooks))
	if err != nil {
		t.Fatal(err)
	}
	if !changed {
		t.Fatal("OIM's change was not made between the reads")
	}
	for _, s := range sums {
		if s.Flow == "sales-invoices" && (s.Documents != 0 || s.Waiting == 0) {
			t.Errorf("sales-invoices: %s; want every invoice left for the next run", s)
		}
	}
	if _, err := runAll(t, demoConfig(t, pg, "", "")); err != nil {
		t.Fatal(err)
	}
	got := pgTables(t, pg, "acct")
	sameDump(t, "acct", dumpSchema(t, ref, "acct"), dumpSchema(t, got, "acct"))
}

// A PostgreSQL database that lacks a table or column of the contract is refused when
// the engine opens it, naming what it lacks, before anything runs: the plans are made
// against the contract, so such a run used to commit the flows before the first one
// that reads what is missing, then fail midway (exit 3).
func TestPostgresLayoutOtherThanTheContractIsRefused(t *testing.T) {
	t.Parallel()
	gen := fixture.Generated(t, t.TempDir(), 20)
	for _, c := range []struct {
		name, sql string
		target    bool // the change is to a target of its own
		want      string
	}{
		{"a source column dropped", "ALTER TABLE oim.invoice_line DROP COLUMN amount", false, "column oim.invoice_line.amount"},
		{"a source table dropped", "DROP TABLE oim.shipment CASCADE", false, "table oim.shipment"},
		{"a target column dropped", "ALTER TABLE acct.journal_line_item DROP COLUMN dimension4_id", true, "column acct.journal_line_item.dimension4_id"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			src, tgt := postgresURL(t), postgresURL(t)
			fixture.LoadPostgres(t, src, gen, "oim")
			fixture.LoadPostgres(t, tgt, gen, "acct")
			changed := src
			if c.target {
				changed = tgt
			}
			ctx := context.Background()
			conn, err := postgres.Connect(ctx, changed)
			if err != nil {
				t.Fatal(err)
			}
			_, err = conn.Exec(ctx, c.sql)
			conn.Close(ctx)
			if err != nil {
				t.Fatal(err)
			}
			e, err := pipeline.Open(ctx, demoConfig(t, "", src, tgt), quiet)
			if err == nil {
				e.Close()
				t.Fatal("opened")
			}
			var in *fault.InputError
			if !errors.As(err, &in) || !strings.Contains(err.Error(), "lacks what the contract's schema has") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("want an input error naming %s, got %v", c.want, err)
			}
		})
	}
}
