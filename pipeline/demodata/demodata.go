// Package demodata generates a realistic, deterministic OIM data set, with the
// Accounting reference data it needs, straight into a DuckDB database whose oim
// and acct schemas already exist (see catalog.Init).
//
// It feeds the `oimconnect demo` and `oimconnect generate` commands (a few
// thousand invoices), the tests through pipeline/fixture (a few hundred) and the
// benchmark (a million invoices with about ten million lines), so all the work
// is set-based DuckDB SQL: every table is one INSERT ... SELECT over range(n),
// and every "random" value is DuckDB's hash() of (seed, row number, salt).
// Nothing is generated row by row in Go, and the same seed and options always
// give the same rows.
//
// The data exercises every rule of the connector's contract (shared/contract):
// most records export, some are not selected yet (Open invoices, open
// shipments, billing documents, Open vouchers, transaction types the journals
// flow ignores), and a small, deliberate share (about 1-3% per flow) is
// invalid in a nameable way: a company name that is not a company, a currency
// the company lacks, an unknown customer, an item without a product group, a
// product group without a product, an unmapped line type ('Deposit'), an
// invoice dated in a closed period, a description PO line without a GLA, a
// category without a purchase analysis GLA, a voucher whose PO lines disagree
// on the company, a line credit without a quantity, an inventory transaction
// that does not balance or whose GL account category maps nowhere ('WIP').
// Small data sets still contain every case: the first rows of the document
// tables are a fixed showcase of them (invoices and sales orders 1-16, purchase
// orders and vouchers 1-10, inventory transactions 1-8); the other rows draw
// their cases at random and never reference a showcase row.
//
// Ids are readable and zero-padded (INV-0000001, IL-00000001, ...). Content
// and physical row order are the same on every run with the same options, but
// the large tables are not stored in id order: read them with ORDER BY id.
package demodata

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// Options say how much to generate. The master and reference data have a fixed
// size; the documents scale with Invoices.
type Options struct {
	// Seed selects the data set: the same seed and options give identical rows.
	Seed int64
	// Invoices is the number of oim.invoice rows. Sales orders are about 80% of
	// it, service contracts 2%, credit invoices about 10%, purchase orders and
	// AP vouchers 30%, AP voucher credits about 2.5%, inventory transactions 50%.
	// Zero generates the reference and master data only.
	Invoices int
	// MaxLines bounds the lines per invoice: 1..MaxLines, skewed small, with a
	// mean of about MaxLines/4 (about 10 for the default 40; a third of the
	// invoices have one line).
	MaxLines int
}

// DefaultOptions are the options of `oimconnect demo`.
func DefaultOptions() Options {
	return Options{Seed: 1, Invoices: 3000, MaxLines: 40}
}

// Stats reports what Generate inserted.
type Stats struct {
	// Tables maps a qualified table name ("oim.invoice") to the rows inserted.
	Tables map[string]int64
}

// Fixed sizes of the reference and master data; the SQL below relies on them
// (item number ranges, list lengths), so they are not options.
const (
	supplierSites = 200
)

// Generate inserts the data set into db, in one transaction: on error nothing is
// left behind. The oim and acct tables must exist and be empty.
func Generate(ctx context.Context, db *sql.DB, opt Options) (Stats, error) {
	if opt.Invoices < 0 {
		return Stats{}, fmt.Errorf("demodata: invoices must not be negative, got %d", opt.Invoices)
	}
	if opt.MaxLines < 1 {
		return Stats{}, fmt.Errorf("demodata: max lines must be at least 1, got %d", opt.MaxLines)
	}

	conn, err := db.Conn(ctx) // temporary macros and tables live on one connection
	if err != nil {
		return Stats{}, fmt.Errorf("demodata: get connection: %w", err)
	}
	defer conn.Close()

	for _, t := range []string{"acct.company", "oim.item", "oim.invoice"} {
		var n int64
		if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM "+t).Scan(&n); err != nil {
			return Stats{}, fmt.Errorf("demodata: check %s (did catalog.Init run?): %w", t, err)
		}
		if n > 0 {
			return Stats{}, fmt.Errorf("demodata: %s already has %d rows; generate into empty schemas", t, n)
		}
	}

	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return Stats{}, fmt.Errorf("demodata: begin: %w", err)
	}
	defer tx.Rollback() // no-op after Commit; drops the temporary objects on error

	r := replacer(opt)
	stats := Stats{Tables: map[string]int64{}}
	for _, s := range steps {
		res, err := tx.ExecContext(ctx, r.Replace(s.sql))
		if err != nil {
			return Stats{}, fmt.Errorf("demodata: %s: %w", s.name, err)
		}
		if strings.Contains(s.name, ".") { // a target table, not a helper
			n, err := res.RowsAffected()
			if err != nil {
				return Stats{}, fmt.Errorf("demodata: %s: rows inserted: %w", s.name, err)
			}
			stats.Tables[s.name] += n
		}
	}
	if _, err := tx.ExecContext(ctx, cleanupSQL); err != nil {
		return Stats{}, fmt.Errorf("demodata: drop helpers: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Stats{}, fmt.Errorf("demodata: commit: %w", err)
	}
	return stats, nil
}

// replacer fills the {placeholders} of the SQL steps. Only integers are
// substituted, so there is nothing to quote.
func replacer(opt Options) *strings.Replacer {
	n := int64(opt.Invoices)
	ceil := func(num, den int64) int64 { return (num + den - 1) / den }
	salesOrders := ceil(n*8, 10)
	if salesOrders < min(n, 16) { // invoices 1..16 use sales orders 1..16
		salesOrders = min(n, 16)
	}
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	return strings.NewReplacer(
		"{seed}", i(opt.Seed),
		"{invoices}", i(n),
		"{max_lines}", i(int64(opt.MaxLines)),
		"{sales_orders}", i(salesOrders),
		"{service_contracts}", i(ceil(n*2, 100)),
		"{purchase_orders}", i(ceil(n*3, 10)),
		"{inventory_transactions}", i(ceil(n, 2)),
		"{supplier_sites}", i(supplierSites),
	)
}

type step struct {
	name string // "schema.table" for an insert (counted in Stats), else a helper
	sql  string
}
