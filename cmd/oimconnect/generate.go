package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/demodata"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
)

// generate writes the demo data set into cfg.DB. For the demo the file is made anew.
func generate(ctx context.Context, cfg *config.Config, invoices int, seed int64, fresh bool, stdout, stderr io.Writer) int {
	into := cfg.DB
	if into == "" {
		into = cfg.Source
	}
	if into == "" {
		return fail(stderr, &fault.InputError{Err: fmt.Errorf("give --db FILE|URL (or --source URL)")})
	}
	if invoices < 1 {
		return fail(stderr, &fault.InputError{Err: fmt.Errorf("--invoices must be at least 1")})
	}
	path := into
	if postgres.IsURL(into) {
		// Generated in a scratch DuckDB file, then copied into PostgreSQL.
		dir, err := os.MkdirTemp(cfg.DuckDB.TempDirectory, "oimconnect-generate-*")
		if err != nil {
			return fail(stderr, err)
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "generated.duckdb")
	} else if fresh {
		for _, f := range []string{into, into + ".wal"} {
			if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
				return fail(stderr, err)
			}
		}
	}
	db, err := sql.Open("duckdb", path)
	if err != nil {
		return fail(stderr, err)
	}
	defer db.Close()
	if err := catalog.Init(ctx, db); err != nil {
		return fail(stderr, err)
	}
	opt := demodata.DefaultOptions()
	opt.Invoices, opt.Seed = invoices, seed
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
	return exitOK
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
