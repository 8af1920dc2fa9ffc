package plan_test

import (
	"context"
	"database/sql"
	"maps"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
	"github.com/oimconnect/oimconnect/pipeline/plan"
	"github.com/oimconnect/oimconnect/pipeline/spec"
)

// model compiles the default specs' object model against the DuckDB database db (the
// contract's schemas when db is nil).
func model(t testing.TB, db *sql.DB) (*spec.Set, *plan.Model) {
	t.Helper()
	ctx := context.Background()
	if db == nil {
		var err error
		if db, err = sql.Open("duckdb", ""); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := catalog.Init(ctx, db); err != nil {
			t.Fatal(err)
		}
	}
	set, err := pipeline.LoadSpecs("")
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Read(ctx, db, "oim", "acct")
	if err != nil {
		t.Fatal(err)
	}
	m, err := plan.NewModel(set.Model, cat)
	if err != nil {
		t.Fatal(err)
	}
	return set, m
}

func settings(t testing.TB) map[string]any {
	t.Helper()
	cfg, err := config.WithSettings(map[string]any{"default_company": "Acme UK Ltd", "tax_summary_line": true,
		"auto_post": map[string]any{"sales_invoices": true, "sales_credit_notes": true, "payable_invoices": true, "payable_credit_notes": true, "journals": true}})
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Settings.Map()
}

func build(t testing.TB, f *spec.Flow, m *plan.Model, opt plan.Options) *plan.Plan {
	t.Helper()
	if opt.Settings == nil {
		opt.Settings = settings(t)
	}
	p, err := plan.Build(f, m, opt)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var tableName = regexp.MustCompile(`"(oim|acct)"\."(\w+)"`)

// Candidate-first staging: only fetches read the source and target tables (the
// candidates, their lines, the rows they reach, the documents with their ids), and
// the tables read whole are those lookups search or derived fields reach. Every other
// stage statement reads temp tables.
func TestOnlyFetchesReadTables(t *testing.T) {
	set, m := model(t, nil)
	for _, f := range set.Ordered() {
		p := build(t, f, m, plan.Options{})
		whole := map[string]bool{}
		for _, w := range p.Whole {
			whole[w.FullName()] = true
		}
		for _, st := range append(append([]plan.Statement{}, p.Prelude...), p.Stage...) {
			if st.Fetch != nil {
				continue
			}
			for _, n := range tableName.FindAllStringSubmatch(st.SQL, -1) {
				if !whole[n[1]+"."+n[2]] {
					t.Errorf("%s: stage %s reads %s.%s, neither fetched nor read whole:\n%s", f.Name, st.Name, n[1], n[2], st.SQL)
				}
			}
		}
		if len(p.Prelude) != 1 || p.Prelude[0].Fetch == nil || p.Prelude[0].Fetch.Table != p.Source {
			t.Errorf("%s: the prelude fetches the candidates of %s: %+v", f.Name, p.Source.FullName(), p.Prelude)
		}
	}
}

// One mistake in a spec is one problem: a broken select or ready condition does not
// also hide the lines' derived fields from the rules and mappings that read them (it
// did: journals reported seven more problems, every one a field "not found"), nor does
// a broken derived field hide the others (sales invoices reported eight).
func TestOneMistakeIsOneProblem(t *testing.T) {
	set, m := model(t, nil)
	for _, f := range set.Ordered() {
		for _, section := range []string{"select", "ready", "derive"} {
			g := *f
			switch section {
			case "select":
				g.Select = append([]string{"1 >> 2"}, f.Select...)
			case "ready":
				g.Ready = append([]string{"1 >> 2"}, f.Ready...)
			case "derive":
				if len(f.Derive.Header) == 0 {
					continue
				}
				g.Derive.Header = maps.Clone(f.Derive.Header)
				g.Derive.Header[slices.Sorted(maps.Keys(f.Derive.Header))[0]] = "1 >> 2"
			}
			_, err := plan.Build(&g, m, plan.Options{Settings: settings(t)})
			ps, ok := spec.ProblemsOf(err)
			if !ok || len(ps) != 1 || !strings.Contains(ps[0].Msg, "unexpected token") {
				t.Errorf("%s, a broken %s: want one problem, the broken one's, got:\n%v", f.Name, section, err)
			}
		}
	}
}

// document.id is for flows whose documents have no lines: with lines it is refused,
// where it was ignored (the ids came from id_prefix all the same).
func TestDocumentIDWithLinesIsRefused(t *testing.T) {
	set, m := model(t, nil)
	for _, f := range set.Ordered() {
		if f.Source.Lines == nil {
			continue
		}
		g := *f
		g.Document.ID = `"X-" + id`
		_, err := plan.Build(&g, m, plan.Options{Settings: settings(t)})
		ps, ok := spec.ProblemsOf(err)
		if !ok || len(ps) != 1 || ps[0].Msg != "an id expression is for documents without lines; with lines use id_prefix" {
			t.Errorf("%s with document.id: %v", f.Name, err)
		}
	}
}

// line_limit is a number known before the run; a mistake says so in the spec's words.
func TestLineLimitMistakes(t *testing.T) {
	set, m := model(t, nil)
	for src, want := range map[string]string{
		"1 + 1":           "line_limit must be a whole number known before the run (a number, a constant or a setting such as settings.sales_invoice_line_limit), got 1 + 1",
		"0":               "line_limit must be at least 1, got 0",
		"discount_amount": "known before the run (a number, a constant or a setting such as settings.sales_invoice_line_limit), got discount_amount",
	} {
		g := *set.Flows["sales-invoices"]
		g.Document.LineLimit = src
		_, err := plan.Build(&g, m, plan.Options{Settings: settings(t)})
		ps, ok := spec.ProblemsOf(err)
		if !ok || len(ps) != 1 || !strings.Contains(ps[0].Msg, want) {
			t.Errorf("line_limit %s: %v, want %q", src, err, want)
		}
	}
}

// The candidates' lines (lc), every column of every candidate's line, are dropped as
// soon as the last stage reading them (l, or explain's rules) has run, not at the end
// of the batch: nothing after the stage reads them, and held through the write they
// were a second copy of a bulk batch's lines.
func TestCandidatesLinesAreFreedAfterTheirLastRead(t *testing.T) {
	set, m := model(t, nil)
	withLines := 0
	for _, f := range set.Ordered() {
		for _, opt := range []plan.Options{{}, {Explain: true, IDs: []string{"X-1"}}} {
			p := build(t, f, m, opt)
			lc := "_oc_lc"
			reads := regexp.MustCompile(`\b` + lc + `\b`)
			free := -1
			for i, st := range p.Stage {
				if st.SQL == "DROP TABLE IF EXISTS "+lc {
					free = i
				}
			}
			if f.Source.Lines == nil {
				if free >= 0 {
					t.Errorf("%s has no lines, yet its plan frees %s", f.Name, lc)
				}
				continue
			}
			withLines++
			if free < 0 {
				t.Fatalf("%s (explain %v): no stage frees %s", f.Name, opt.Explain, lc)
			}
			if !reads.MatchString(p.Stage[free-1].SQL) {
				t.Errorf("%s: %s is freed after stage %s, which does not read it", f.Name, lc, p.Stage[free-1].Name)
			}
			later := append(slices.Clone(p.Stage[free+1:]), p.Write...)
			later = append(later, plan.Statement{Name: "counts", SQL: p.Counts}, plan.Statement{Name: "outcomes", SQL: p.Outcomes})
			for _, st := range later {
				if reads.MatchString(st.SQL) {
					t.Errorf("%s: %s reads %s after it was freed:\n%s", f.Name, st.Name, lc, st.SQL)
				}
			}
		}
	}
	if withLines == 0 {
		t.Fatal("no flow has lines: the test checked nothing")
	}
}

// The rows the sales credit notes reach are staged hop by hop, each after the tables
// its keys come from; the periods a lookup searches by date are read whole.
func TestNarrowingFollowsReferencesHopByHop(t *testing.T) {
	set, m := model(t, nil)
	p := build(t, set.Flows["sales-credit-notes"], m, plan.Options{})
	var got []string
	for _, st := range p.Stage {
		if st.Fetch != nil {
			got = append(got, st.Name+" <- "+st.Fetch.Keys)
		}
	}
	want := []string{
		`lc <- SELECT "id" FROM _oc_c`,
		`r oim.invoice <- SELECT "invoice_id" FROM _oc_c`,
		`r oim.invoice_line <- SELECT "invoice_line_id" FROM _oc_lc`,
		`r oim.sales_order <- SELECT "sales_order_id" FROM _oc_r_oim_invoice`,
		`r acct.sales_invoice <- SELECT "sales_invoice_id" FROM _oc_r_oim_invoice`,
		`r acct.sales_invoice_line_item <- SELECT "sales_invoice_line_item_id" FROM _oc_r_oim_invoice_line`,
		`x <- SELECT "id" FROM _oc_o0`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fetches:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(p.Whole) != 1 || p.Whole[0].FullName() != "acct.period" {
		t.Errorf("read whole: %v, want acct.period (a lookup by date range)", p.Whole)
	}
}

// The rows reached are staged with only the columns the flow reads: the key, the
// columns its paths and fields read, and those the next hops leave from. A lookup by
// key then reads fewer column segments per row.
func TestNarrowedRowsKeepOnlyTheColumnsRead(t *testing.T) {
	set, m := model(t, nil)
	p := build(t, set.Flows["sales-credit-notes"], m, plan.Options{})
	got := map[string]string{}
	for _, st := range p.Stage {
		if f := st.Fetch; f != nil && strings.HasPrefix(st.Name, "r ") {
			got[st.Name] = f.SelectList()
			if !strings.Contains(st.SQL, "SELECT "+f.SelectList()+" FROM") {
				t.Errorf("%s does not select its columns:\n%s", st.Name, st.SQL)
			}
			if lookup := f.Lookup([]string{"K1"}); !strings.Contains(lookup, "SELECT "+f.SelectList()+" FROM") {
				t.Errorf("%s: the lookup by key does not select its columns:\n%s", st.Name, lookup)
			}
		}
	}
	want := map[string]string{
		// the original line's link to its sales invoice line, and the next hop's key
		"r oim.invoice_line": `"id", "sales_invoice_line_item_id"`,
		// the engagement, for the credit note's dimension
		"r oim.sales_order": `"id", "engagement_id"`,
		"r oim.invoice":     `"id", "sales_order_id", "accounting_company_id", "sales_invoice_id", "sales_credit_note_id"`,
	}
	for name, cols := range want {
		if got[name] != cols {
			t.Errorf("%s stages %s, want %s", name, got[name], cols)
		}
	}
}

// A table reached through a derived field (the sales invoice lines' product, derived
// from the item's product group or the line type mapping) is read whole: the raw
// column's values are not the keys the derived field reaches.
func TestDerivedReferencesAreReadWhole(t *testing.T) {
	set, m := model(t, nil)
	p := build(t, set.Flows["sales-invoices"], m, plan.Options{})
	var whole []string
	for _, w := range p.Whole {
		whole = append(whole, w.FullName())
	}
	for _, w := range []string{"acct.product", "acct.company", "acct.accounting_currency", "acct.account", "acct.period", "oim.line_type_product_mapping"} {
		if !strings.Contains(strings.Join(whole, " "), w) {
			t.Errorf("%s should be read whole (reached through a derived field or a lookup): whole %v", w, whole)
		}
	}
	for _, st := range p.Stage {
		if st.Fetch != nil && st.Fetch.Table.FullName() == "acct.product" {
			t.Errorf("acct.product narrowed by %s", st.Fetch.Keys)
		}
	}
}

// The select conditions on the record's own columns are applied to the candidates;
// explain keeps every candidate to show why it is left untouched. The status is one
// branch per value, each an equality DuckDB pushes into the scan.
func TestCandidatesApplyOwnSelectConditions(t *testing.T) {
	set, m := model(t, nil)
	f := set.Flows["sales-invoices"]
	c := build(t, f, m, plan.Options{}).Prelude[0]
	for _, w := range []string{`"export_status" = 'New'`, `"export_status" = 'Export Error'`, `t0."billing_document_id"`, `t0."status" IN ('Open', 'Proforma')`, "UNION ALL"} {
		if !strings.Contains(c.SQL, w) {
			t.Errorf("candidates lack %q:\n%s", w, c.SQL)
		}
	}
	if strings.Contains(c.SQL, "shipment") {
		t.Errorf("the ready condition (a path) is not the candidates':\n%s", c.SQL)
	}
	if x := build(t, f, m, plan.Options{Explain: true}).Prelude[0]; strings.Contains(x.SQL, "billing_document_id") {
		t.Errorf("explain applies a select condition to the candidates:\n%s", x.SQL)
	}
	one := build(t, f, m, plan.Options{IDs: []string{"INV-1"}}).Prelude[0]
	if !strings.Contains(one.SQL, `"id" = 'INV-1'`) {
		t.Errorf("one id is an equality (an index lookup):\n%s", one.SQL)
	}
}

// A batch reads its key range of the candidates the prelude staged, and only their
// lines; building a plan never changes the spec.
func TestBatchesReadTheirRangeAndTheSpecStays(t *testing.T) {
	set, m := model(t, nil)
	f := set.Flows["sales-invoices"]
	before := *f.Source.Lines
	status := f.Source.Status
	p := build(t, f, m, plan.Options{})
	bp, err := p.Range("INV-2", "INV-5")
	if err != nil {
		t.Fatal(err)
	}
	if bp.Stage[0].Name != "b" || !strings.Contains(bp.Stage[0].SQL, `FROM _oc_c WHERE "id" >= 'INV-2' AND "id" < 'INV-5'`) {
		t.Errorf("a batch's first statement takes its range of the candidates:\n%s", bp.Stage[0].SQL)
	}
	if lc := bp.Stage[1]; lc.Name != "lc" || !strings.Contains(lc.SQL, `FROM _oc_b`) || !strings.Contains(lc.SQL, `"invoice_id" >= 'INV-2'`) {
		t.Errorf("a batch fetches its own candidates' lines, within the range:\n%s", lc.SQL)
	}
	if bp.Prelude[0].SQL != p.Prelude[0].SQL {
		t.Error("every batch shares the flow's prelude")
	}
	if f.Source.Status != status || !reflect.DeepEqual(*f.Source.Lines, before) {
		t.Errorf("Build changed the spec: status %q, lines %+v", f.Source.Status, *f.Source.Lines)
	}
}

// run runs a plan as the engine does on one DuckDB connection: the prelude and the
// stage, then the writes in a transaction.
func run(t *testing.T, conn *sql.Conn, p *plan.Plan) {
	t.Helper()
	ctx := context.Background()
	for _, st := range append(append([]plan.Statement{}, p.Prelude...), p.Stage...) {
		if _, err := conn.ExecContext(ctx, st.SQL); err != nil {
			t.Fatalf("%s %s: %v", p.Flow, st.Name, err)
		}
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range p.Write {
		if _, err := tx.ExecContext(ctx, st.SQL); err != nil {
			t.Fatalf("%s %s: %v", p.Flow, st.Name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, v := range p.Views {
		conn.ExecContext(ctx, "DROP VIEW temp."+v)
	}
	for _, tt := range append(p.Temps, p.Candidates) {
		conn.ExecContext(ctx, "DROP TABLE temp."+tt)
	}
}

// Candidate-first staging exports exactly what staging from whole tables did, on
// generated data with every flow, every kind of failure and waiting record among it,
// and the records of each flow exported in two runs (every other record, then the
// rest), so the second runs find history beside their candidates.
func TestCandidateFirstExportsWhatWholeTablesDid(t *testing.T) {
	gen := fixture.Generated(t, t.TempDir(), 600)
	var dumps []string
	for _, whole := range []bool{false, true} {
		path := fixture.Copy(t, gen, filepath.Join(t.TempDir(), "oimconnect.duckdb"))
		db := fixture.Open(t, path)
		set, m := model(t, db)
		conn, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range set.Ordered() {
			first := build(t, f, m, plan.Options{WholeTables: whole, Settings: settings(t)})
			var half []string
			rows, err := conn.QueryContext(context.Background(), "SELECT CAST(k AS VARCHAR) FROM ("+strings.Replace(first.Keys(), first.Candidates, first.Source.SQLName(), 1)+") WHERE hash(k) % 2 = 0")
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var k string
				rows.Scan(&k)
				half = append(half, k)
			}
			rows.Close()
			if len(half) > 0 {
				run(t, conn, build(t, f, m, plan.Options{WholeTables: whole, IDs: half}))
			}
			run(t, conn, build(t, f, m, plan.Options{WholeTables: whole}))
		}
		conn.Close()
		dumps = append(dumps, fixture.Dump(t, db, dumpAll(t, db)...))
		db.Close()
	}
	if dumps[0] != dumps[1] {
		t.Error("candidate-first staging and whole tables exported differently")
		a, b := strings.Split(dumps[0], "\n"), strings.Split(dumps[1], "\n")
		for i := 0; i < len(a) && i < len(b); i++ {
			if a[i] != b[i] {
				t.Fatalf("first difference at line %d:\n narrowed: %s\n whole:    %s", i+1, a[i], b[i])
			}
		}
	}
	if !strings.Contains(dumps[0], "Export Error") || !strings.Contains(dumps[0], "Exported") {
		t.Error("the data holds no exported or failed record: the comparison shows nothing")
	}
}

func dumpAll(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT table_schema || '.' || table_name FROM information_schema.tables
		WHERE table_schema IN ('oim', 'acct') AND table_type = 'BASE TABLE' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		out = append(out, "SELECT COLUMNS(*)::VARCHAR FROM "+n+" ORDER BY ALL")
	}
	return out
}

// Every flow's outputs name the columns mapped straight from the OIM record's own key
// (a document's or a line's link back to its record), which a plugin may not change,
// and no other; and each flow that writes back has a guard over its header and lines.
func TestOutputsNameTheirLinksAndFlowsTheirGuard(t *testing.T) {
	set, m := model(t, nil)
	want := map[string][]string{ // every "Record ID" mapping of the specs, and vendor accounts' id
		"sales-invoices":     {"acct.sales_invoice: oim_invoice_id", "acct.sales_invoice_line_item: oim_invoice_line_id"},
		"sales-credit-notes": {"acct.sales_credit_note: oim_credit_invoice_id", "acct.sales_credit_note_line_item: oim_credit_invoice_line_id"},
		"payable-invoices": {"acct.payable_invoice: ap_voucher_id", "acct.payable_invoice_expense_line_item: ap_voucher_line_id",
			"acct.payable_invoice_line_item: ap_voucher_line_id"},
		"payable-credit-notes": {"acct.payable_credit_note: ap_voucher_credit_id", "acct.payable_credit_note_expense_line_item: ap_voucher_line_credit_id",
			"acct.payable_credit_note_line_item: ap_voucher_line_credit_id"},
		"journals":        {"acct.journal: inventory_transaction_id", "acct.journal_line_item: inventory_transaction_financial_record_id"},
		"vendor-accounts": {"acct.account: oim_supplier_site_id"},
	}
	for _, f := range set.Ordered() {
		p := build(t, f, m, plan.Options{})
		var got []string
		for _, o := range p.Outputs {
			for _, c := range o.Links {
				got = append(got, o.Target.FullName()+": "+c)
			}
		}
		if w := want[f.Name]; strings.Join(got, ", ") != strings.Join(w, ", ") {
			t.Errorf("%s: links %q, want %q", f.Name, got, w)
		}
		if p.Guard == nil || p.Guard.Header != p.Source {
			t.Errorf("%s: no guard over %s", f.Name, p.Source.FullName())
		}
	}
}
