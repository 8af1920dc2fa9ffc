package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/demodata"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/plan"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
	"github.com/oimconnect/oimconnect/pipeline/spec"
	"github.com/oimconnect/oimconnect/pipeline/store"
)

func doGenerate(ctx context.Context, inv *invocation) int {
	return generate(ctx, inv, false)
}

// doDemo generates the data set into a new file and exports it.
func doDemo(ctx context.Context, inv *invocation) int {
	if code := generate(ctx, inv, true); code != fault.ExitOK {
		return code
	}
	code := runFlows(ctx, inv, pipeline.Request{Flows: inv.opt.flows, Created: inv.opt.report != ""})
	if code == fault.ExitRecords {
		// The demo data holds invalid records on purpose: show some of their reasons.
		showErrors(ctx, inv.cfg.DB, inv.stdout)
		return fault.ExitOK
	}
	return code
}

// generate writes the demo data set into the configured database: a DuckDB file that
// holds no rows (the demo's: that does not exist), or one --force replaces; a
// PostgreSQL database that holds no rows.
func generate(ctx context.Context, inv *invocation, demo bool) int {
	cfg, o, stdout, stderr := inv.cfg, inv.opt, inv.stdout, inv.stderr
	into := cfg.DB
	if into == "" {
		into = cfg.Source
	}
	if into == "" {
		return refuse(inv.cmd, stderr, errors.New("give --db FILE|URL (or --source URL)"))
	}
	if o.invoices < 1 {
		return refuse(inv.cmd, stderr, fmt.Errorf("--invoices must be at least 1, got %d", o.invoices))
	}
	path := into
	if postgres.IsURL(into) {
		if err := emptyServer(ctx, into, o.force); err != nil {
			return fail(stderr, err)
		}
		// Generated in a scratch DuckDB file, then copied into PostgreSQL.
		dir, err := os.MkdirTemp(cfg.DuckDB.TempDirectory, "oimconnect-generate-*")
		if err != nil {
			return fail(stderr, err)
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "generated.duckdb")
	} else if err := prepareFile(ctx, inv.cmd.name, into, o.force, demo); err != nil {
		return fail(stderr, err)
	}
	db, err := store.Create(ctx, path)
	if err != nil {
		return fail(stderr, err)
	}
	defer db.Close()
	if err := catalog.Init(ctx, db); err != nil {
		return fail(stderr, err)
	}
	opt := demodata.DefaultOptions()
	opt.Invoices, opt.Seed = o.invoices, o.seed
	start := time.Now()
	stats, err := demodata.Generate(ctx, db, opt)
	if err != nil {
		return fail(stderr, err)
	}
	if postgres.IsURL(into) {
		if err := loadPostgres(ctx, db, into, filepath.Dir(path)); err != nil {
			return fail(stderr, fmt.Errorf("%s: %w", postgres.Redact(into), err))
		}
	}
	fmt.Fprintf(stdout, "generated %d invoices with %d lines (and the other flows' records) into %s in %s\n",
		stats.Tables["oim.invoice"], stats.Tables["oim.invoice_line"], postgres.Redact(into), time.Since(start).Round(time.Millisecond))
	return fault.ExitOK
}

// prepareFile readies a DuckDB file to generate into. The demo refuses a file that
// exists, generate one holding rows, each naming it, unless force: then, once no other
// process holds it, the file is removed with its write-ahead log.
func prepareFile(ctx context.Context, cmd, path string, force, demo bool) error {
	if err := store.CheckFileName(path); err != nil {
		return err
	}
	if _, err := os.Stat(path); errors.Is(err, iofs.ErrNotExist) {
		return nil
	}
	db, err := store.Create(ctx, path)
	if err != nil {
		return err
	}
	table, rows, err := firstRows(ctx, db)
	db.Close()
	switch {
	case err != nil:
		return fmt.Errorf("%s: %w", path, err)
	case force:
		for _, f := range []string{path, path + ".wal"} {
			if err := os.Remove(f); err != nil && !errors.Is(err, iofs.ErrNotExist) {
				return err
			}
		}
		return nil
	case demo:
		return fault.Inputf("%s: %s already exists: use --force to replace it (the demo makes a new database)", cmd, path)
	case table != "":
		return fault.Inputf("%s: %s already holds data (%s has %d rows): use --force to replace it, starting the file anew", cmd, path, table, rows)
	}
	return nil
}

// firstRows finds the first oim or acct table holding rows, and how many.
func firstRows(ctx context.Context, db *sql.DB) (string, int64, error) {
	rows, err := db.QueryContext(ctx, `SELECT table_schema || '.' || table_name FROM information_schema.tables
		WHERE table_schema IN ('oim', 'acct') AND table_type = 'BASE TABLE' ORDER BY table_schema DESC, table_name`)
	if err != nil {
		return "", 0, fmt.Errorf("list tables: %w", err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return "", 0, err
		}
		tables = append(tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", 0, err
	}
	for _, t := range tables {
		schema, name, _ := strings.Cut(t, ".")
		var n int64
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+catalog.Ident(schema)+"."+catalog.Ident(name)).Scan(&n); err != nil {
			return "", 0, fmt.Errorf("count %s: %w", t, err)
		}
		if n > 0 {
			return t, n, nil
		}
	}
	return "", 0, nil
}

// emptyServer refuses to generate into a PostgreSQL database whose oim or acct tables
// hold rows; --force never empties a server's database.
func emptyServer(ctx context.Context, url string, force bool) error {
	if force {
		return fault.Inputf("--force replaces a DuckDB file only: it never deletes the data of a PostgreSQL database (%s); generate into an empty database", postgres.Redact(url))
	}
	conn, err := postgres.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, schema := range []string{"oim", "acct"} {
		tables, err := postgres.Tables(ctx, conn, schema)
		if err != nil {
			return fmt.Errorf("%s: %w", postgres.Redact(url), err)
		}
		for _, t := range spec.SortedKeys(tables) {
			var held bool
			q := "SELECT EXISTS (SELECT 1 FROM " + pgx.Identifier{schema, t}.Sanitize() + ")"
			if err := conn.QueryRow(ctx, q).Scan(&held); err != nil {
				return fmt.Errorf("%s: %s.%s: %w", postgres.Redact(url), schema, t, err)
			}
			if held {
				return fault.Inputf("%s already holds data (%s.%s has rows): generate into an empty database (--force only replaces DuckDB files)", postgres.Redact(url), schema, t)
			}
		}
	}
	return nil
}

// doInit creates the contract's schemas where they are missing. Every DuckDB file's
// name is checked before anything is created.
func doInit(ctx context.Context, inv *invocation) int {
	cfg, stdout, stderr := inv.cfg, inv.stdout, inv.stderr
	type place struct {
		loc     string
		schemas []string
	}
	var places []place
	for _, p := range []place{{cfg.DB, []string{"oim", "acct"}}, {cfg.Source, []string{"oim"}}, {cfg.Target, []string{"acct"}}} {
		if p.loc != "" {
			places = append(places, p)
		}
	}
	if len(places) == 0 && inv.opt.queue == "" {
		return refuse(inv.cmd, stderr, errors.New("init needs --db FILE|URL, --source URL, --target URL or --queue URL"))
	}
	if inv.opt.queue != "" {
		if err := initQueue(ctx, inv); err != nil {
			return fail(stderr, err)
		}
	}
	for _, p := range places {
		if !postgres.IsURL(p.loc) {
			if err := store.CheckFileName(p.loc); err != nil {
				return fail(stderr, err)
			}
		}
	}
	set, err := pipeline.LoadSpecs(cfg.Specs)
	if err != nil {
		return fail(stderr, err)
	}
	for _, p := range places {
		if err := initPlace(ctx, p.loc, p.schemas, set); err != nil {
			return fail(stderr, err)
		}
		what := "schemas " + strings.Join(p.schemas, " and ")
		if len(p.schemas) == 1 {
			what = "schema " + p.schemas[0]
		}
		fmt.Fprintf(stdout, "%s ready in %s\n", what, postgres.Redact(p.loc))
	}
	return fault.ExitOK
}

// initPlace creates the schemas in a PostgreSQL database (for oim, with the triggers
// watch listens to and the indexes the flows' specs read the records still to export
// and their lines by), or in a DuckDB file.
func initPlace(ctx context.Context, loc string, schemas []string, set *spec.Set) error {
	if postgres.IsURL(loc) {
		conn, err := postgres.Connect(ctx, loc)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		err = postgres.Init(ctx, conn, schemas...)
		if err == nil && schemas[0] == "oim" {
			err = postgres.Notify(ctx, conn)
			for _, ix := range plan.SourceIndexes(set.Ordered()) {
				if err == nil {
					err = postgres.CreateIndex(ctx, conn, ix.Schema+"."+ix.Table, ix.DDL())
				}
			}
		}
		if err != nil {
			return fmt.Errorf("%s: %w", postgres.Redact(loc), err)
		}
		return nil
	}
	db, err := store.Create(ctx, loc)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := catalog.InitSchemas(ctx, db, schemas...); err != nil {
		return fmt.Errorf("%s: %w", loc, err)
	}
	return nil
}

// loadPostgres copies the generated oim tables, and the acct reference data, into a
// PostgreSQL database (creating the contract's schemas there when missing).
func loadPostgres(ctx context.Context, db *sql.DB, url, dir string) error {
	conn, err := postgres.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if err := postgres.Init(ctx, conn, "oim", "acct"); err != nil {
		return err
	}
	if err := postgres.Notify(ctx, conn); err != nil {
		return err
	}
	cat, err := catalog.Read(ctx, db, "oim", "acct")
	if err != nil {
		return err
	}
	var tables []*catalog.Table
	for _, name := range cat.Tables() {
		t, _ := cat.Table(name)
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+t.SQLName()).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			tables = append(tables, t)
		}
	}
	return postgres.Load(ctx, db, conn, tables, dir)
}

// showErrors prints a few export errors of each source table, as a user would look them up.
func showErrors(ctx context.Context, path string, stdout io.Writer) {
	db, err := sql.Open("duckdb", path)
	if err != nil {
		return
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT table_name FROM information_schema.columns
		WHERE table_schema = 'oim' AND column_name = 'export_error' ORDER BY table_name`)
	if err != nil {
		return
	}
	var tables []string
	for rows.Next() {
		var t string
		if rows.Scan(&t) == nil {
			tables = append(tables, t)
		}
	}
	rows.Close()
	fmt.Fprintln(stdout, "\nSome records carry Export Error, as planted in the demo data; a few reasons:")
	for _, t := range tables {
		rows, err := db.QueryContext(ctx, "SELECT id, export_error FROM oim."+t+
			" WHERE export_status = 'Export Error' ORDER BY hash(id) LIMIT 3")
		if err != nil {
			continue
		}
		for rows.Next() {
			var id, msg string
			if rows.Scan(&id, &msg) == nil {
				if len(msg) > 160 {
					msg = msg[:157] + "..."
				}
				fmt.Fprintf(stdout, "  oim.%s %s: %s\n", t, id, msg)
			}
		}
		rows.Close()
	}
}
