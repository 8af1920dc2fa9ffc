package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/oimconnect/oimconnect/cmd/oimconnect/demodata"
	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/config"
)

// generate writes the demo data set into cfg.DB. For the demo the file is made anew.
func generate(ctx context.Context, cfg *config.Config, invoices int, seed int64, fresh bool, stdout, stderr io.Writer) int {
	if cfg.DB == "" {
		return fail(stderr, &pipeline.InputError{Err: fmt.Errorf("give --db FILE")})
	}
	if invoices < 1 {
		return fail(stderr, &pipeline.InputError{Err: fmt.Errorf("--invoices must be at least 1")})
	}
	if fresh {
		for _, f := range []string{cfg.DB, cfg.DB + ".wal"} {
			if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
				return fail(stderr, err)
			}
		}
	}
	db, err := sql.Open("duckdb", cfg.DB)
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
	fmt.Fprintf(stdout, "generated %d invoices with %d lines (and the other flows' records) into %s in %s\n",
		stats.Tables["oim.invoice"], stats.Tables["oim.invoice_line"], cfg.DB, time.Since(start).Round(time.Millisecond))
	return exitOK
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
