package plan

import (
	"fmt"
	"strings"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/compile"
	"github.com/oimconnect/oimconnect/pipeline/spec"
)

// Reconciliation is what `oimconnect reconcile` runs for one flow (the spec's reconcile
// section): its statements stage the exported records of a date range, their lines,
// their documents and the documents' lines, read where they live (fetches, as a run
// reads them), and its queries compare them.
type Reconciliation struct {
	Flow  string
	Stage []Statement
	Temps []string // temp tables, dropped after
	Views []string // temp views, dropped before the tables
	// Records lists each exported record: record, period (YYYY-MM of the document
	// date), source total, documents' total (as text), and whether they agree.
	Records string
	// Unbalanced lists the documents whose balance amounts do not sum to zero: record,
	// period, document, total.
	Unbalanced string
	// Periods counts the exported records per period: period, records.
	Periods string
}

// Reconcile plans a flow's reconciliation over the records whose document date is in
// [from, to) (empty: every exported record); nil when the spec has no reconcile section.
func Reconcile(f *spec.Flow, m *Model, settings map[string]any, from, to string) (*Reconciliation, error) {
	if f.Reconcile == nil {
		return nil, nil
	}
	b := newBuilder(f, m, Options{Settings: settings, From: from, To: to, Prefix: "_rc_"})
	r, err := b.reconcile()
	if err != nil {
		return nil, err
	}
	if len(b.probs) > 0 {
		return nil, b.probs
	}
	return r, nil
}

func (b *builder) reconcile() (*Reconciliation, error) {
	f := b.f
	rc := f.Reconcile
	at := []string{"reconcile"}
	b.header = b.table([]string{"source", "table"}, f.Source.Table)
	target := b.table([]string{"document", "into"}, f.Document.Into)
	if f.Source.Lines != nil {
		b.lines = b.table([]string{"source", "lines", "table"}, f.Source.Lines.Table)
	}
	if len(b.probs) > 0 {
		return nil, nil
	}
	link := f.Document.WriteBack.Link
	status := f.Source.Status
	if status == "" {
		status = "export_status"
	}
	switch {
	case status == "none" || f.Document.Upsert != nil:
		b.errorf(at, "reconcile needs a source with an export status whose records create documents")
	case link == "":
		b.errorf(at, "reconcile needs document.write_back.link: it finds a record's documents by it")
	case rc.Source == "" && rc.Balance == "":
		b.errorf(at, "reconcile needs source (with lines), or balance")
	case rc.Source != "" && len(rc.Lines) == 0:
		b.errorf(append(at, "lines"), "reconcile.lines gives each line table's amount, to add up against reconcile.source")
	}
	if len(b.probs) > 0 {
		return nil, nil
	}
	r := &Reconciliation{Flow: f.Name}
	add := func(name string, st Statement, temp string) {
		r.Stage = append(r.Stage, st)
		r.Temps = append(r.Temps, temp)
	}
	tmp := func(n string) string { return b.tmp(n) }
	hk := key(b.header)
	where := catalog.Ident(status) + " = 'Exported'"
	period := func(alias string) string { return "''" }
	if d := f.Source.Date; d != "" {
		if b.opt.From != "" {
			where += fmt.Sprintf(" AND %s >= DATE %s AND %s < DATE %s", catalog.Ident(d), catalog.Literal(b.opt.From), catalog.Ident(d), catalog.Literal(b.opt.To))
		}
		period = func(alias string) string { return "coalesce(strftime(" + alias + catalog.Ident(d) + ", '%Y-%m'), '')" }
	}
	add("records", (&Fetch{Table: b.header, Into: tmp("c"), Where: where}).Statement("records"), tmp("c"))
	r.Periods = fmt.Sprintf("SELECT %s AS _period, count(*) FROM %s GROUP BY 1 ORDER BY 1", period(""), tmp("c"))
	var lines *compile.Lines
	if b.lines != nil {
		add("lines", (&Fetch{Table: b.lines, Into: tmp("lc"), Column: f.Source.Lines.Parent, Keys: "SELECT " + hk + " FROM " + tmp("c")}).Statement("lines"), tmp("lc"))
		lines = &compile.Lines{Rel: compile.Rel{SQL: tmp("lc"), Table: b.lines}, Parent: f.Source.Lines.Parent, Order: f.Source.Lines.Order}
	}
	// Each record's documents: <id_prefix><record>/1 .. /<n>, n from its link (the last).
	ids := fmt.Sprintf(`SELECT %s AS _hkey, %s AS _period, %s || %s || '/' || i AS _doc
FROM %s, range(1, coalesce(TRY_CAST(regexp_extract(%s, '/([0-9]+)$', 1) AS INTEGER), 0) + 1) AS t(i)`,
		hk, period(""), catalog.Literal(f.Document.IDPrefix), hk, tmp("c"), catalog.Ident(link))
	r.Stage = append(r.Stage, Statement{Name: "ids", SQL: "CREATE OR REPLACE TEMP TABLE " + tmp("ids") + " AS\n" + ids})
	r.Temps = append(r.Temps, tmp("ids"))
	add("documents", (&Fetch{Table: target, Into: tmp("d"), Column: target.Key, Keys: "SELECT _doc FROM " + tmp("ids")}).Statement("documents"), tmp("d"))

	// The document lines of each table the sums read, by the document they belong to.
	parents := map[string]string{}
	for _, k := range f.Document.Lines {
		if k.Into != "" && k.Parent != "" {
			parents[k.Into] = k.Parent
		}
	}
	amounts := rc.Lines
	if rc.Balance != "" {
		amounts = map[string]string{}
		for into := range parents {
			amounts[into] = rc.Balance
		}
	}
	var sums []string
	names := spec.SortedKeys(amounts)
	for i, into := range names {
		lat := append(append([]string{}, at...), "lines", into)
		if rc.Balance != "" {
			lat = append(at, "balance")
		}
		lt := b.table(lat, into)
		parent, ok := parents[into]
		if lt == nil || !ok {
			if lt != nil {
				b.errorf(lat, "%s is not a line table of this flow's documents (%s)", into, strings.Join(spec.SortedKeys(parents), ", "))
			}
			continue
		}
		fetched, widened := tmp(fmt.Sprintf("l%d", i)), tmp(fmt.Sprintf("w%d", i))
		add("document lines "+into, (&Fetch{Table: lt, Into: fetched, Column: parent, Keys: "SELECT " + key(target) + " FROM " + tmp("d")}).Statement("document lines "+into), fetched)
		// Products of DECIMAL(18,x) values overflow 18 digits in DuckDB: widened first.
		var repl []string
		for _, c := range lt.Columns {
			if strings.HasPrefix(strings.ToUpper(c.Type.SQL), "DECIMAL") {
				scale := "0"
				if i := strings.LastIndex(c.Type.SQL, ","); i > 0 {
					scale = strings.TrimSpace(strings.TrimSuffix(c.Type.SQL[i+1:], ")"))
				}
				repl = append(repl, fmt.Sprintf("CAST(%s AS DECIMAL(38,%s)) AS %s", catalog.Ident(c.Name), scale, catalog.Ident(c.Name)))
			}
		}
		sel := "*"
		if len(repl) > 0 {
			sel = "* REPLACE (" + strings.Join(repl, ", ") + ")"
		}
		r.Stage = append(r.Stage, Statement{Name: "widen " + into, SQL: "CREATE OR REPLACE TEMP VIEW " + widened + " AS SELECT " + sel + " FROM " + fetched})
		r.Views = append(r.Views, widened)
		q := compile.NewQuery(compile.Scope{Root: compile.Rel{SQL: widened, Table: lt}, Env: &compile.Env{Constants: map[string]any{"settings": b.opt.Settings}}}, &b.counter)
		e, err := q.Expr(amounts[into])
		if err != nil {
			b.exprError(lat, err)
			continue
		}
		if e.Type.Kind != catalog.Number && e.Type.Kind != catalog.Any {
			b.errorf(lat, "a line's amount must be a number, %s is a %s", amounts[into], e.Type.Kind)
			continue
		}
		sums = append(sums, fmt.Sprintf("SELECT %s.%s AS _doc, CAST(%s AS DECIMAL(38,9)) AS _amount\n%s", q.Alias(), catalog.Ident(parent), e.SQL, q.From()))
	}
	if len(b.probs) > 0 || len(sums) == 0 {
		return r, nil
	}
	lineAmounts := "(" + strings.Join(sums, "\nUNION ALL\n") + ")"
	if rc.Balance != "" {
		r.Unbalanced = fmt.Sprintf(`SELECT i._hkey, i._period, a._doc, CAST(sum(a._amount) AS VARCHAR)
FROM %s a JOIN %s i ON i._doc = a._doc GROUP BY ALL HAVING sum(a._amount) <> 0 ORDER BY 2, 1, 3`, lineAmounts, tmp("ids"))
		return r, nil
	}
	// The source total reads the record, its lines and the settings, nothing else.
	reads := &compile.Reads{}
	q := compile.NewQuery(compile.Scope{Root: compile.Rel{SQL: tmp("c"), Table: b.header}, Lines: lines,
		Env: &compile.Env{Constants: map[string]any{"settings": b.opt.Settings}, Reads: reads}}, &b.counter)
	e, err := q.Expr(rc.Source)
	if err != nil {
		b.exprError(append(at, "source"), err)
		return r, nil
	}
	for _, ref := range reads.Refs {
		if ref.To != b.lines {
			b.errorf(append(at, "source"), "reconcile.source reads the record, its lines and the settings: %s is another table", ref.To.FullName())
			return r, nil
		}
	}
	if len(reads.Lookups) > 0 {
		b.errorf(append(at, "source"), "reconcile.source reads the record, its lines and the settings, not lookups")
		return r, nil
	}
	src := fmt.Sprintf("SELECT %s.%s AS _hkey, %s AS _period, CAST(%s AS DECIMAL(38,9)) AS _total\n%s", q.Alias(), hk, period(q.Alias()+"."), e.SQL, q.From())
	r.Records = fmt.Sprintf(`WITH s AS (%s),
d AS (SELECT i._hkey, sum(a._amount) AS _total FROM %s a JOIN %s i ON i._doc = a._doc GROUP BY 1)
SELECT CAST(s._hkey AS VARCHAR), s._period, CAST(s._total AS VARCHAR), CAST(coalesce(d._total, 0) AS VARCHAR),
  s._total IS NOT DISTINCT FROM coalesce(d._total, 0)
FROM s LEFT JOIN d ON d._hkey = s._hkey
ORDER BY 2, 1`, src, lineAmounts, tmp("ids"))
	return r, nil
}
