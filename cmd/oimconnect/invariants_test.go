package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
)

// The invariants an export must keep whatever happens mid-run (crashes, two runs at
// once), checked with SQL on a DuckDB file holding both schemas. Each check lists the
// offending rows; none means the invariant holds.

// lineLink pairs a source line's write-back column with the document lines it points to.
type lineLink struct {
	link   string // write-back column on the source line
	table  string // acct line table
	parent string // its document column
	back   string // its column holding the source line's id
}

// shape is what the checks need to know of a flow with an export status.
type shape struct {
	flow          string
	src, link     string // source table and its write-back column (the last document)
	doc, docSrc   string // document table and its column holding the source id
	prefix        string // document id prefix
	limit         string // the setting holding the line limit ("" when none)
	lines, parent string // source lines table and its header column
	links         []lineLink
	// zeroLines: source lines whose value rounds to 0 make no document line (journals'
	// skip kind), and a record of only such lines is exported with no document
	// (when_empty: skip).
	zeroLines string
}

var shapes = []shape{
	{flow: "payable-invoices", src: "oim.ap_voucher", link: "payable_invoice_id", doc: "acct.payable_invoice", docSrc: "ap_voucher_id",
		prefix: "PIN-", limit: "payable_invoice_line_limit", lines: "oim.ap_voucher_line", parent: "ap_voucher_id",
		links: []lineLink{
			{"payable_invoice_line_item_id", "acct.payable_invoice_line_item", "payable_invoice_id", "ap_voucher_line_id"},
			{"payable_invoice_expense_line_item_id", "acct.payable_invoice_expense_line_item", "payable_invoice_id", "ap_voucher_line_id"},
		}},
	{flow: "payable-credit-notes", src: "oim.ap_voucher_credit", link: "payable_credit_note_id", doc: "acct.payable_credit_note", docSrc: "ap_voucher_credit_id",
		prefix: "PCN-", limit: "payable_credit_note_line_limit", lines: "oim.ap_voucher_line_credit", parent: "ap_voucher_credit_id",
		links: []lineLink{
			{"payable_credit_note_line_item_id", "acct.payable_credit_note_line_item", "payable_credit_note_id", "ap_voucher_line_credit_id"},
			{"payable_credit_note_expense_line_item_id", "acct.payable_credit_note_expense_line_item", "payable_credit_note_id", "ap_voucher_line_credit_id"},
		}},
	{flow: "sales-invoices", src: "oim.invoice", link: "sales_invoice_id", doc: "acct.sales_invoice", docSrc: "oim_invoice_id",
		prefix: "SIN-", limit: "sales_invoice_line_limit", lines: "oim.invoice_line", parent: "invoice_id",
		links: []lineLink{{"sales_invoice_line_item_id", "acct.sales_invoice_line_item", "sales_invoice_id", "oim_invoice_line_id"}}},
	{flow: "sales-credit-notes", src: "oim.credit_invoice", link: "sales_credit_note_id", doc: "acct.sales_credit_note", docSrc: "oim_credit_invoice_id",
		prefix: "SCN-", limit: "sales_credit_note_line_limit", lines: "oim.credit_invoice_line", parent: "credit_invoice_id",
		links: []lineLink{{"sales_credit_note_line_item_id", "acct.sales_credit_note_line_item", "sales_credit_note_id", "oim_credit_invoice_line_id"}}},
	{flow: "journals", src: "oim.inventory_transaction", link: "journal_id", doc: "acct.journal", docSrc: "inventory_transaction_id",
		prefix: "JNL-", lines: "oim.inventory_transaction_financial_record", parent: "inventory_transaction_id",
		links:     []lineLink{{"journal_line_item_id", "acct.journal_line_item", "journal_id", "inventory_transaction_financial_record_id"}},
		zeroLines: "round(icp_value_amount, 2) = 0"},
}

// check is one invariant as a query listing what breaks it (one text column).
type check struct{ name, query string }

// invariantChecks are the checks for every flow; limits maps a line limit setting to
// its value in the run's configuration (the default 1000 when absent).
func invariantChecks(limits map[string]int) []check {
	var out []check
	add := func(name, query string) { out = append(out, check{name, query}) }
	for _, f := range shapes {
		r := strings.NewReplacer("{S}", f.src, "{LINK}", f.link, "{D}", f.doc, "{DS}", f.docSrc, "{P}", catalog.Literal(f.prefix),
			"{SL}", f.lines, "{PARENT}", f.parent)
		q := func(s string) string { return r.Replace(s) }
		// Every document line of a document, whatever its table.
		var docLines []string
		var anyLink []string
		for _, l := range f.links {
			docLines = append(docLines, fmt.Sprintf("SELECT %s AS doc FROM %s", l.parent, l.table))
			anyLink = append(anyLink, "sl."+l.link)
		}
		linked := "coalesce(" + strings.Join(anyLink, ", ") + ")"

		emptyOK := "FALSE"
		if f.zeroLines != "" {
			// Exported with no document: allowed when every line rounds to 0.
			emptyOK = q("(s.{LINK} IS NULL AND NOT EXISTS (SELECT 1 FROM {SL} z WHERE z.{PARENT} = s.id AND NOT (" + f.zeroLines + ")))")
		}
		add(f.flow+": exported without its documents", q(`SELECT s.id FROM {S} s WHERE s.export_status = 'Exported'
			AND NOT EXISTS (SELECT 1 FROM {D} d WHERE d.{DS} = s.id) AND NOT `+emptyOK))
		add(f.flow+": a document whose source is not exported", q(`SELECT d.id || ' (source ' || coalesce(s.id, 'missing') || ', ' || coalesce(s.export_status, '') || ')'
			FROM {D} d LEFT JOIN {S} s ON s.id = d.{DS} WHERE s.id IS NULL OR s.export_status <> 'Exported'`))
		// Documents of a source are <prefix><source>/1..n, each id once (the key).
		add(f.flow+": document ids not <prefix><source>/1..n", q(`SELECT id FROM (
			SELECT id, {DS} AS src, count(*) OVER (PARTITION BY {DS}) AS cnt, TRY_CAST(substr(id, length({P} || {DS} || '/') + 1) AS INTEGER) AS n FROM {D})
			WHERE n IS NULL OR n < 1 OR n > cnt OR id <> {P} || src || '/' || n`))
		add(f.flow+": link is not the last document", q(`SELECT s.id || ' links ' || coalesce(s.{LINK}, 'nothing') FROM {S} s
			LEFT JOIN (SELECT {DS} AS src, count(*) AS cnt FROM {D} GROUP BY 1) d ON d.src = s.id
			WHERE s.export_status = 'Exported' AND s.{LINK} IS DISTINCT FROM CASE WHEN d.cnt IS NULL THEN NULL ELSE {P} || s.id || '/' || d.cnt END`))
		add(f.flow+": a record not exported carries a link", q(`SELECT s.id FROM {S} s WHERE s.export_status <> 'Exported' AND s.{LINK} IS NOT NULL`))
		// Document lines: none without its document, every document has some, and the
		// splits follow the line limit.
		perDoc := q(`SELECT d.id, d.{DS} AS src, count(l.doc) AS lines, TRY_CAST(substr(d.id, length({P} || d.{DS} || '/') + 1) AS INTEGER) AS n,
			count(*) OVER (PARTITION BY d.{DS}) AS cnt
			FROM {D} d LEFT JOIN (` + strings.Join(docLines, " UNION ALL ") + `) l ON l.doc = d.id GROUP BY d.id, d.{DS}`)
		add(f.flow+": a document without lines", "SELECT id FROM ("+perDoc+") WHERE lines = 0")
		if f.limit != "" {
			limit := 1000
			if v, ok := limits[f.limit]; ok {
				limit = v
			}
			add(f.flow+": splits do not follow the line limit", fmt.Sprintf(`SELECT id || ' (' || lines || ' lines, split ' || n || ' of ' || cnt || ')' FROM (%s)
				WHERE lines > %d OR (n < cnt AND lines <> %d)`, perDoc, limit, limit))
			add(f.flow+": documents per source <> expected splits", fmt.Sprintf(`SELECT src || ': ' || count(*) || ' documents for ' || sum(lines) || ' lines' FROM (%s)
				GROUP BY src HAVING count(*) <> ceil(sum(lines) / %d)`, perDoc, limit))
		}
		for _, l := range f.links {
			lr := strings.NewReplacer("{L}", l.link, "{T}", l.table, "{TP}", l.parent, "{B}", l.back)
			ql := func(s string) string { return lr.Replace(q(s)) }
			add(f.flow+": a line without its document ("+l.table+")", ql(`SELECT t.id FROM {T} t WHERE NOT EXISTS (SELECT 1 FROM {D} d WHERE d.id = t.{TP})`))
			add(f.flow+": a source line's link is wrong ("+l.link+")", ql(`SELECT sl.id || ' -> ' || sl.{L} FROM {SL} sl
				LEFT JOIN {T} t ON t.id = sl.{L} LEFT JOIN {D} d ON d.id = t.{TP}
				WHERE sl.{L} IS NOT NULL AND (t.id IS NULL OR t.{B} IS DISTINCT FROM sl.id OR d.{DS} IS DISTINCT FROM sl.{PARENT})`))
			add(f.flow+": a document line not linked back ("+l.table+")", ql(`SELECT t.id FROM {T} t LEFT JOIN {SL} sl ON sl.id = t.{B}
				WHERE t.{B} IS NOT NULL AND sl.{L} IS DISTINCT FROM t.id`))
		}
		zero := "FALSE"
		if f.zeroLines != "" {
			zero = f.zeroLines
		}
		add(f.flow+": a line of an exported record without a link", q(`SELECT sl.id FROM {SL} sl JOIN {S} s ON s.id = sl.{PARENT}
			WHERE s.export_status = 'Exported' AND `+linked+` IS NULL AND NOT (`+zero+`)`))
		add(f.flow+": a line of a record not exported carries a link", q(`SELECT sl.id FROM {SL} sl JOIN {S} s ON s.id = sl.{PARENT}
			WHERE s.export_status <> 'Exported' AND `+linked+` IS NOT NULL`))
	}
	add("vendor-accounts: a site linked to no account", `SELECT s.id || ' -> ' || s.account_id FROM oim.supplier_site s
		WHERE s.account_id IS NOT NULL AND s.account_id NOT IN (SELECT id FROM acct.account)`)
	add("vendor-accounts: a site with two accounts", `SELECT oim_supplier_site_id FROM acct.account WHERE oim_supplier_site_id IS NOT NULL
		GROUP BY 1 HAVING count(*) > 1`)
	add("reconcile (testdata/reconcile.sql)", `SELECT "check" || ' ' || id || ': source ' || coalesce(CAST(src AS VARCHAR), '-') || ', documents ' || coalesce(CAST(tgt AS VARCHAR), '-')
		FROM (`+reconcileSQL()+`)`)
	return out
}

// reconcileSQL is testdata/reconcile.sql as one query: a row per exported source whose
// documents do not add up, and per journal that does not balance.
func reconcileSQL() string {
	data, err := os.ReadFile(fixture.Path("reconcile.sql"))
	if err != nil {
		panic(err)
	}
	var keep []string
	for _, l := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			keep = append(keep, l)
		}
	}
	return strings.TrimRight(strings.Join(keep, "\n"), "; \n")
}

// violations runs every invariant check on db and returns one line per broken
// invariant, with its count and a few offending rows.
func violations(t testing.TB, db *sql.DB, limits map[string]int) []string {
	t.Helper()
	var out []string
	for _, c := range invariantChecks(limits) {
		var n int
		var some sql.NullString
		q := fmt.Sprintf(`SELECT count(*), string_agg(what, '; ' ORDER BY what) FILTER (WHERE rn <= 5)
			FROM (SELECT w.*, row_number() OVER (ORDER BY w.what) AS rn FROM (SELECT * FROM (%s) AS x(what)) w)`, c.query)
		if err := db.QueryRow(q).Scan(&n, &some); err != nil {
			t.Fatalf("invariant %q: %v\n%s", c.name, err, c.query)
		}
		if n > 0 {
			out = append(out, fmt.Sprintf("%s: %d, e.g. %s", c.name, n, some.String))
		}
	}
	return out
}

// contractTables lists the tables of the given schemas, as the contract creates them.
func contractTables(t testing.TB, db *sql.DB, schemas ...string) []*catalog.Table {
	t.Helper()
	cat, err := catalog.Read(context.Background(), db, schemas...)
	if err != nil {
		t.Fatal(err)
	}
	var out []*catalog.Table
	for _, name := range cat.Tables() {
		tb, _ := cat.Table(name)
		out = append(out, tb)
	}
	return out
}

// differences compares the given schemas of db with those of the database attached
// as ref, table by table, row for row (EXCEPT ALL both ways): one line per table that
// differs.
func differences(t testing.TB, db *sql.DB, ref string, schemas ...string) []string {
	t.Helper()
	var out []string
	for _, tb := range contractTables(t, db, schemas...) {
		name := tb.SQLName()
		var extra, missing int
		q := fmt.Sprintf(`SELECT (SELECT count(*) FROM (SELECT * FROM %[1]s EXCEPT ALL SELECT * FROM %[2]s.%[1]s)),
			(SELECT count(*) FROM (SELECT * FROM %[2]s.%[1]s EXCEPT ALL SELECT * FROM %[1]s))`, name, ref)
		if err := db.QueryRow(q).Scan(&extra, &missing); err != nil {
			t.Fatalf("compare %s: %v", name, err)
		}
		if extra > 0 || missing > 0 {
			var sample sql.NullString
			_ = db.QueryRow(fmt.Sprintf(`SELECT string_agg(r, ' | ') FROM (SELECT CAST(x AS VARCHAR) AS r FROM
				(SELECT * FROM %[1]s EXCEPT ALL SELECT * FROM %[2]s.%[1]s) x LIMIT 3)`, name, ref)).Scan(&sample)
			out = append(out, fmt.Sprintf("%s: %d rows only here, %d only in the uninterrupted run (e.g. %s)", tb.FullName(), extra, missing, sample.String))
		}
	}
	return out
}

// openDuck opens a DuckDB file for the checks.
func openDuck(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(); err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	return db
}

// attach attaches another DuckDB file to db, read only, as alias. db must hold one
// connection (SetMaxOpenConns(1)) for the attachment to stay visible.
func attach(t testing.TB, db *sql.DB, path, alias string) {
	t.Helper()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(fmt.Sprintf("ATTACH %s AS %s (READ_ONLY)", catalog.Literal(path), alias)); err != nil {
		t.Fatal(err)
	}
}

// merged builds a DuckDB file holding the acct tables of a PostgreSQL target and the
// oim tables of a DuckDB source file, of another PostgreSQL database (a tenant's), or
// of the same PostgreSQL database when source is empty, so a linked export is checked
// like a single file.
func merged(t testing.TB, pg, source string) string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "merged.duckdb")
	db := fixture.Open(t, path)
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := postgres.Connect(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	schemas := []string{"acct"}
	if source == "" {
		schemas = append(schemas, "oim")
	}
	for _, tb := range contractTables(t, db, schemas...) {
		if _, err := postgres.CopyOut(ctx, conn.PgConn(), postgres.Select(tb.Schema, tb.Name, tb.Columns), db, tb.SQLName(), tb.Columns, dir); err != nil {
			t.Fatalf("read %s from PostgreSQL: %v", tb.FullName(), err)
		}
	}
	if postgres.IsURL(source) {
		src, err := postgres.Connect(ctx, source)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close(ctx)
		for _, tb := range contractTables(t, db, "oim") {
			if _, err := postgres.CopyOut(ctx, src.PgConn(), postgres.Select(tb.Schema, tb.Name, tb.Columns), db, tb.SQLName(), tb.Columns, dir); err != nil {
				t.Fatalf("read %s from PostgreSQL: %v", tb.FullName(), err)
			}
		}
	} else if source != "" {
		attach(t, db, source, "src")
		for _, tb := range contractTables(t, db, "oim") {
			if _, err := db.Exec(fmt.Sprintf("INSERT INTO %[1]s SELECT * FROM src.%[1]s", tb.SQLName())); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.Exec("DETACH src"); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// The invariant checks are not vacuous: an export of generated data keeps them all, and
// each kind of damage a crash or a double run could do breaks the one meant to catch it.
func TestInvariantChecksCatchDamage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "exported.duckdb")
	if r := cli(t, nil, "generate", "--db", db, "--invoices", "300"); r.code != 0 {
		t.Fatalf("generate: %s", r.stderr)
	}
	cfg := writeFile(t, dir, "config.yaml", invariantConfig)
	if r := cli(t, nil, "run", "--db", db, "--config", cfg); r.code > 1 {
		t.Fatalf("run: %d %s", r.code, r.stderr)
	}
	conn := openDuck(t, db)
	if bad := violations(t, conn, invariantLimits); len(bad) > 0 {
		t.Fatalf("an export breaks invariants:\n%s", strings.Join(bad, "\n"))
	}
	conn.Close()
	// A document of several, and its source.
	const split = `(SELECT id FROM acct.sales_invoice WHERE id LIKE '%/2' ORDER BY id LIMIT 1)`
	const source = `(SELECT oim_invoice_id FROM acct.sales_invoice WHERE id LIKE '%/2' ORDER BY id LIMIT 1)`
	cases := []struct{ name, sql, want string }{
		{"a document lost", "DELETE FROM acct.sales_invoice_line_item WHERE sales_invoice_id = " + split + "; DELETE FROM acct.sales_invoice WHERE id = " + split,
			"sales-invoices: link is not the last document"},
		{"a line lost", "DELETE FROM acct.sales_invoice_line_item WHERE id = (SELECT min(id) FROM acct.sales_invoice_line_item WHERE oim_invoice_line_id IS NOT NULL)",
			"sales-invoices: a source line's link is wrong"},
		{"a document twice", "INSERT INTO acct.sales_invoice SELECT * REPLACE (regexp_replace(id, '/[0-9]+$', '/9') AS id) FROM acct.sales_invoice WHERE id = " + split,
			"sales-invoices: document ids not <prefix><source>/1..n"},
		{"documents without the write-back", "UPDATE oim.invoice SET export_status = 'New', sales_invoice_id = NULL WHERE id = " + source,
			"sales-invoices: a document whose source is not exported"},
		{"write-back without documents", "DELETE FROM acct.journal_line_item WHERE journal_id = (SELECT min(id) FROM acct.journal); DELETE FROM acct.journal WHERE id = (SELECT min(id) FROM acct.journal)",
			"journals: exported without its documents"},
		{"an orphan line", "INSERT INTO acct.payable_invoice_line_item SELECT * REPLACE ('PIN-NOWHERE/1' AS payable_invoice_id, 'PIN-NOWHERE/1/1' AS id) FROM acct.payable_invoice_line_item LIMIT 1",
			"payable-invoices: a line without its document (acct.payable_invoice_line_item)"},
		{"a line's link cleared", "UPDATE oim.credit_invoice_line SET sales_credit_note_line_item_id = NULL WHERE id = (SELECT min(id) FROM oim.credit_invoice_line WHERE sales_credit_note_line_item_id IS NOT NULL)",
			"sales-credit-notes: a line of an exported record without a link"},
		{"a split too long", "UPDATE acct.sales_invoice_line_item SET sales_invoice_id = " + split + " WHERE sales_invoice_id = replace(" + split + ", '/2', '/1') AND line_number = 1",
			"sales-invoices: splits do not follow the line limit"},
		{"an amount changed", "UPDATE acct.sales_invoice_line_item SET unit_price = unit_price + 1 WHERE id = (SELECT min(id) FROM acct.sales_invoice_line_item)",
			"reconcile (testdata/reconcile.sql): 1, e.g. sales-invoices INV-"},
		{"a journal out of balance", "UPDATE acct.journal_line_item SET value = value + 0.01 WHERE id = (SELECT min(id) FROM acct.journal_line_item)",
			"reconcile (testdata/reconcile.sql): 1, e.g. journals JNL-"},
		{"a failed record linked", "UPDATE oim.ap_voucher SET payable_invoice_id = 'PIN-X/1' WHERE id = (SELECT min(id) FROM oim.ap_voucher WHERE export_status = 'Export Error')",
			"payable-invoices: a record not exported carries a link"},
		{"a vendor account lost", "DELETE FROM acct.account WHERE id = (SELECT min(account_id) FROM oim.supplier_site)",
			"vendor-accounts: a site linked to no account"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := copyFile(t, db, filepath.Join(t.TempDir(), "damaged.duckdb"))
			conn := openDuck(t, path)
			defer conn.Close()
			res, err := conn.Exec(c.sql)
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				t.Fatalf("the damage changed nothing: %s", c.sql)
			}
			bad := violations(t, conn, invariantLimits)
			if !strings.Contains(strings.Join(bad, "\n"), c.want) {
				t.Errorf("want %q among:\n%s", c.want, strings.Join(bad, "\n"))
			}
			attach(t, conn, db, "ref")
			if len(differences(t, conn, "ref", "oim", "acct")) == 0 {
				t.Error("the comparison with the undamaged file finds no difference")
			}
		})
	}
}

const invariantConfig = `settings:
  default_company: Acme UK Ltd
  sales_invoice_line_limit: 5
  payable_invoice_line_limit: 3
  auto_post: {sales_invoices: true, sales_credit_notes: true, payable_invoices: true, payable_credit_notes: true, journals: true}
`

var invariantLimits = map[string]int{"sales_invoice_line_limit": 5, "payable_invoice_line_limit": 3}

// copyFile copies a file (a DuckDB database) to dst.
func copyFile(t testing.TB, src, dst string) string {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// cleanEnv is the environment without OIMCONNECT_ variables (as cli uses).
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OIMCONNECT_") && !strings.HasPrefix(kv, "TMPDIR=") {
			env = append(env, kv)
		}
	}
	return env
}

// snapshot copies a DuckDB file as a kill or a fault left it (with its write-ahead log) into a
// new directory, so checks read it without recovering the file in place: the next run
// must do that itself.
func snapshot(t *testing.T, path string) string {
	t.Helper()
	dir, err := os.MkdirTemp(t.TempDir(), "snapshot")
	if err != nil {
		t.Fatal(err)
	}
	cp := copyFile(t, path, filepath.Join(dir, "snapshot.duckdb"))
	if _, err := os.Stat(path + ".wal"); err == nil {
		copyFile(t, path+".wal", cp+".wal")
	}
	return cp
}

// crashSettings are the crash test's and the workers' test's settings: short line
// limits, so records split into several documents.
const crashSettings = `settings:
  default_company: Acme UK Ltd
  sales_invoice_line_limit: 5
  payable_invoice_line_limit: 3
  sales_credit_note_line_limit: 4
  payable_credit_note_line_limit: 2
  auto_post: {sales_invoices: true, sales_credit_notes: true, payable_invoices: true, payable_credit_notes: true, journals: true}
`

// crashLimits are crashSettings' line limits, for violations.
var crashLimits = map[string]int{"sales_invoice_line_limit": 5, "payable_invoice_line_limit": 3,
	"sales_credit_note_line_limit": 4, "payable_credit_note_line_limit": 2}
