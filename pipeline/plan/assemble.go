package plan

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/compile"
	"github.com/oimconnect/oimconnect/pipeline/spec"
)

// kind is a line kind with its resolved target.
type kind struct {
	spec.LineKind
	index   int
	target  *catalog.Table
	tindex  int // index of the target among the line targets
	fromHdr bool
}

func (b *builder) kinds() []kind {
	var out []kind
	targets := map[string]int{}
	for i, lk := range b.f.Document.Lines {
		at := []string{"document", "lines", fmt.Sprint(i)}
		k := kind{LineKind: lk, index: i}
		switch lk.From {
		case "lines":
			if b.lines == nil {
				b.errorf(append(at, "from"), "from: lines needs source.lines")
			}
		case "header":
			k.fromHdr = true
		default:
			b.errorf(append(at, "from"), "from must be lines or header, not %q", lk.From)
		}
		if lk.Name == "" {
			k.Name = fmt.Sprintf("line kind %d", i+1)
		}
		if lk.Skip {
			if k.fromHdr {
				b.errorf(append(at, "skip"), "skip applies to source lines (from: lines)")
			}
			out = append(out, k)
			continue
		}
		k.target = b.table(append(at, "into"), lk.Into)
		if k.target != nil {
			if lk.Parent == "" {
				b.errorf(at, "missing key \"parent\": the target column holding the document id")
			} else {
				b.column(append(at, "parent"), k.target, lk.Parent)
			}
			ti, ok := targets[k.target.FullName()]
			if !ok {
				ti = len(targets) + 1
				targets[k.target.FullName()] = ti
			}
			k.tindex = ti
		}
		if lk.WriteBack.Link != "" {
			if k.fromHdr {
				b.errorf(append(at, "write_back", "link"), "an extra line has no source line to write back to")
			} else if b.lines != nil {
				b.column(append(at, "write_back", "link"), b.lines, lk.WriteBack.Link)
			}
		}
		out = append(out, k)
	}
	return out
}

// lineLimit compiles the line_limit expression to a constant.
func (b *builder) lineLimit() string {
	src := b.f.Document.LineLimit
	if src == "" {
		return ""
	}
	q := compile.NewQuery(compile.Scope{Root: compile.Rel{SQL: "(SELECT 1)", Table: b.header}, Env: &compile.Env{Constants: b.rawEnv.Constants}}, &b.counter)
	e, err := q.Expr(src)
	if err != nil {
		b.exprError([]string{"document", "line_limit"}, err)
		return ""
	}
	if n, err := strconv.Atoi(e.SQL); err != nil || n < 1 {
		b.errorf([]string{"document", "line_limit"}, "line_limit must be a whole number of at least 1, got %s", e.SQL)
	}
	return e.SQL
}

// stageSequence builds seq (every document line in output order, with its split,
// document id and line number) and docs (one row per document).
func (b *builder) stageSequence() {
	kinds := b.kinds()
	limit := b.lineLimit()
	b.kindList = kinds
	var order []string
	if b.lines != nil {
		for i := range b.f.Source.Lines.Order {
			order = append(order, fmt.Sprintf("_o%d", i+1))
		}
	}
	orderSQL := strings.Join(append(append([]string{"_grp"}, order...), "_lkey"), ", ")
	var branches []string
	// Source lines take the first kind whose condition holds.
	var cases []string
	lq := compile.NewQuery(compile.Scope{Root: b.linesRel(), Aliases: b.aliases(), Env: b.env}, &b.counter)
	for _, k := range kinds {
		if k.fromHdr || b.lines == nil {
			continue // without source lines, kinds() has reported the mistake
		}
		when := "TRUE"
		if k.When != "" {
			e, err := lq.Bool(k.When)
			if err != nil {
				b.exprError([]string{"document", "lines", fmt.Sprint(k.index), "when"}, err)
				continue
			}
			when = e.SQL
		}
		cases = append(cases, fmt.Sprintf("WHEN %s THEN %d", when, k.index))
	}
	targetOf := func(kindCol string) string {
		s := "CASE " + kindCol
		for _, k := range kinds {
			if !k.Skip {
				s += fmt.Sprintf(" WHEN %d THEN %d", k.index, k.tindex)
			}
		}
		return s + " END"
	}
	var skips []string
	conditional := false
	for _, k := range kinds {
		if k.Skip {
			skips = append(skips, fmt.Sprint(k.index))
		}
		conditional = conditional || (!k.fromHdr && k.When != "")
	}
	if len(cases) > 0 {
		t := lq.Alias()
		cols := []string{t + "." + catalog.Ident(b.parent) + " AS _hkey", t + "." + key(b.lines) + " AS _lkey", "CASE " + strings.Join(cases, " ") + " END AS _kind", "0 AS _grp"}
		for i, o := range b.f.Source.Lines.Order {
			cols = append(cols, t+"."+catalog.Ident(o)+fmt.Sprintf(" AS _o%d", i+1))
		}
		assign := fmt.Sprintf("SELECT %s\n%s", strings.Join(cols, ", "), lq.From())
		if conditional {
			// Keep every line's kind (NULL: none applies) to report unmatched lines.
			b.temp("k", assign)
			assign = "SELECT * FROM " + b.tmp("k")
			b.kinded = true
		}
		keep := "_kind IS NOT NULL"
		if len(skips) > 0 {
			keep += " AND _kind NOT IN (" + strings.Join(skips, ", ") + ")"
		}
		branches = append(branches, fmt.Sprintf("SELECT * FROM (%s) WHERE %s", assign, keep))
	}
	grp := 0
	for _, k := range kinds {
		if !k.fromHdr {
			continue
		}
		grp++
		q := compile.NewQuery(compile.Scope{Root: b.headerRel(), Lines: b.stagedLines(), Env: b.env}, &b.counter)
		when := "TRUE"
		if k.When != "" {
			e, err := q.Bool(k.When)
			if err != nil {
				b.exprError([]string{"document", "lines", fmt.Sprint(k.index), "when"}, err)
				continue
			}
			when = e.SQL
		}
		cols := []string{q.Alias() + "." + key(b.header) + " AS _hkey", "NULL AS _lkey", fmt.Sprintf("%d AS _kind", k.index), fmt.Sprintf("%d AS _grp", grp)}
		for i := range order {
			cols = append(cols, fmt.Sprintf("NULL AS _o%d", i+1))
		}
		branches = append(branches, fmt.Sprintf("SELECT %s\n%s\nWHERE %s._ready AND %s", strings.Join(cols, ", "), q.From(), q.Alias(), when))
	}
	prefix := catalog.Literal(b.f.Document.IDPrefix)
	if len(branches) > 0 {
		split := "0"
		if limit != "" {
			split = fmt.Sprintf("(row_number() OVER (PARTITION BY _hkey ORDER BY %s) - 1) // %s", orderSQL, limit)
		}
		b.temp("seq", fmt.Sprintf(`WITH u AS (
%s
),
n AS (SELECT u.*, %s AS _target, %s AS _split FROM u)
SELECT n.*,
  row_number() OVER (PARTITION BY _hkey, _split, _target ORDER BY %s) AS _line_number,
  %s || _hkey || '/' || (_split + 1) AS _doc_id
FROM n`, strings.Join(branches, "\nUNION ALL\n"), targetOf("u._kind"), split, orderSQL, prefix))
	}
	docs := ""
	if len(branches) > 0 {
		docs = fmt.Sprintf("SELECT _hkey, _split, _doc_id, count(*) AS _lines FROM %s GROUP BY ALL", b.tmp("seq"))
	}
	if len(branches) == 0 || b.f.Document.WhenEmpty == "document" {
		// Records without lines: one document each.
		q := compile.NewQuery(compile.Scope{Root: b.headerRel(), Lines: b.stagedLines(), Env: b.env}, &b.counter)
		t := q.Alias()
		id := fmt.Sprintf("%s || %s.%s || '/1'", prefix, t, key(b.header))
		if b.f.Document.ID != "" {
			e, err := q.Expr(b.f.Document.ID)
			if err != nil {
				b.exprError([]string{"document", "id"}, err)
				return
			}
			if len(branches) > 0 {
				b.errorf([]string{"document", "id"}, "an id expression is for documents without lines; with lines use id_prefix")
			}
			id = "CAST(" + e.SQL + " AS VARCHAR)"
		}
		empty := fmt.Sprintf("SELECT %s.%s AS _hkey, 0 AS _split, %s AS _doc_id, 0 AS _lines\n%s\nWHERE %s._ready",
			t, key(b.header), id, q.From(), t)
		if len(branches) > 0 {
			empty += fmt.Sprintf(" AND %s.%s NOT IN (SELECT _hkey FROM %s)", t, key(b.header), b.tmp("seq"))
			docs += "\nUNION ALL\n" + empty
		} else {
			docs = empty
		}
	}
	switch b.f.Document.WhenEmpty {
	case "", "error", "skip", "document":
	default:
		b.errorf([]string{"document", "when_empty"}, "when_empty must be error, skip or document, not %q", b.f.Document.WhenEmpty)
	}
	b.temp("docs", docs)
	b.kindList = kinds
	b.hasSeq = len(branches) > 0
}

func (b *builder) stagedLines() *compile.Lines {
	if b.lines == nil {
		return nil
	}
	return &compile.Lines{Rel: b.linesRel(), Parent: b.parent, Order: b.f.Source.Lines.Order}
}

// mapped compiles one target field's source in a query.
func (b *builder) mapped(q *compile.Query, at []string, f spec.Field) (compile.Expr, bool) {
	var e compile.Expr
	var err error
	switch f.Kind() {
	case "value":
		e, err = staticValue(f.Value)
		if err != nil {
			b.errorf(at, "%v", err)
			return e, false
		}
		return e, true
	case "expr":
		e, err = q.Expr(f.Expr)
		if err != nil {
			b.exprError(append(at, "expr"), err)
			return e, false
		}
	default:
		if n := b.f.Pos.Node(at...); n != nil && n.Kind == yaml.MappingNode { // {path: ...}
			at = append(at, "path")
		}
		e, err = q.Path(f.Path)
		if err != nil {
			b.exprError(at, err)
			return e, false
		}
	}
	return e, true
}

func staticValue(v any) (compile.Expr, error) {
	switch x := v.(type) {
	case nil:
		return compile.Expr{SQL: "NULL", Type: catalog.Type{Kind: catalog.Nil}}, nil
	case bool:
		if x {
			return compile.Expr{SQL: "TRUE", Type: catalog.Type{Kind: catalog.Bool}}, nil
		}
		return compile.Expr{SQL: "FALSE", Type: catalog.Type{Kind: catalog.Bool}}, nil
	case int, int64:
		return compile.Expr{SQL: fmt.Sprint(x), Type: catalog.Type{Kind: catalog.Number}}, nil
	case float64:
		return compile.Expr{SQL: strconv.FormatFloat(x, 'f', -1, 64), Type: catalog.Type{Kind: catalog.Number}}, nil
	case string:
		return compile.Expr{SQL: catalog.Literal(x), Type: catalog.Type{Kind: catalog.String}}, nil
	}
	return compile.Expr{}, fmt.Errorf("a static value must be text, a number, true/false or null, not %T", v)
}

// outputColumn is one mapped target column of one query.
type outputColumn struct {
	col *catalog.Column
	sql string
}

// mapFields compiles a fields map against a target table.
func (b *builder) mapFields(q *compile.Query, at []string, target *catalog.Table, fields map[string]spec.Field, filled map[string]bool) map[string]outputColumn {
	out := map[string]outputColumn{}
	for _, name := range spec.SortedKeys(fields) {
		fat := append(append([]string{}, at...), name)
		s, ok := target.Resolve(name)
		if !ok {
			b.errorf(fat, "%s has no field %q (fields: %s)", target.FullName(), name, strings.Join(target.ColumnNames(), ", "))
			continue
		}
		col := s.Column
		if filled[col.Name] {
			b.errorf(fat, "%s.%s is filled by the connector and cannot be mapped", target.FullName(), col.Name)
			continue
		}
		if _, dup := out[col.Name]; dup {
			b.errorf(fat, "%s.%s is mapped twice", target.FullName(), col.Name)
			continue
		}
		e, ok := b.mapped(q, fat, fields[name])
		if !ok {
			continue
		}
		if !kindFits(e.Type.Kind, col.Type.Kind) {
			b.errorf(fat, "%s.%s is a %s field, but its source gives a %s", target.FullName(), col.Name, col.Type.Kind, e.Type.Kind)
			continue
		}
		out[col.Name] = outputColumn{col: col, sql: fmt.Sprintf("CAST(%s AS %s)", e.SQL, col.Type.SQL)}
	}
	for _, c := range target.Columns {
		if c.NotNull && !c.HasDefault && !filled[c.Name] {
			if _, ok := out[c.Name]; !ok {
				b.errorf(at, "%s.%s is required (NOT NULL) but not mapped", target.FullName(), c.Name)
			}
		}
	}
	return out
}

// stageOutputs builds one output table per target: o0 for the documents, o1... for
// each line target, holding the rows exactly as they will be inserted.
func (b *builder) stageOutputs() {
	doc := b.f.Document
	target := b.table([]string{"document", "into"}, doc.Into)
	if target == nil {
		return
	}
	b.target = target
	// Documents.
	root := compile.Rel{
		SQL: fmt.Sprintf("(SELECT h.*, d._split, d._doc_id, d._split + 1 AS _doc_split FROM %s d JOIN %s h ON h.%s = d._hkey)",
			b.tmp("docs"), b.tmp("h"), key(b.header)),
		Table: b.header, Extra: b.hExtra, Doc: map[string]string{"id": "_doc_id", "split": "_doc_split"},
	}
	q := compile.NewQuery(compile.Scope{Root: root, Lines: b.stagedLines(), Env: b.env}, &b.counter)
	cols := b.mapFields(q, []string{"document", "fields"}, target, doc.Fields, map[string]bool{target.Key: true})
	if doc.WriteBack.Link != "" {
		b.column([]string{"document", "write_back", "link"}, b.header, doc.WriteBack.Link)
	}
	names := []string{target.Key}
	sel := []string{q.Alias() + "." + key(b.header) + " AS _hkey", q.Alias() + "._split AS _split", q.Alias() + "._doc_id AS " + key(target)}
	if u := doc.Upsert; u != nil {
		existing, update := "NULL", "FALSE"
		if e, err := q.Expr(u.Existing); err != nil {
			b.exprError([]string{"document", "upsert", "existing"}, err)
		} else {
			existing = e.SQL
		}
		if u.Update != "" {
			if e, err := q.Bool(u.Update); err != nil {
				b.exprError([]string{"document", "upsert", "update"}, err)
			} else {
				update = e.SQL
			}
		}
		sel = append(sel, "CAST("+existing+" AS VARCHAR) AS _existing", update+" AS _update")
	}
	for _, c := range target.Columns {
		if oc, ok := cols[c.Name]; ok {
			names = append(names, c.Name)
			sel = append(sel, oc.sql+" AS "+catalog.Ident(c.Name))
		}
	}
	o := Output{Temp: b.tmp("o0"), Target: target, Columns: names, Header: true}
	b.plan.Outputs = append(b.plan.Outputs, o)
	b.temp("o0", fmt.Sprintf("SELECT %s\n%s", strings.Join(sel, ",\n  "), q.From()))

	// Lines, one output per target table.
	var order []*catalog.Table
	byTarget := map[int][]kind{}
	for _, k := range b.kindList {
		if k.target == nil || k.Skip || (!k.fromHdr && b.lines == nil) {
			continue
		}
		if _, seen := byTarget[k.tindex]; !seen {
			order = append(order, k.target)
		}
		byTarget[k.tindex] = append(byTarget[k.tindex], k)
	}
	for ti, t := range order {
		ks := byTarget[ti+1]
		filled := map[string]bool{t.Key: true}
		for _, k := range ks {
			filled[k.Parent] = true
		}
		type branch struct {
			q     *compile.Query
			scope compile.Scope
			cols  map[string]outputColumn
			k     kind
		}
		var brs []branch
		used := map[string]bool{}
		for _, k := range ks {
			at := []string{"document", "lines", fmt.Sprint(k.index), "fields"}
			var scope compile.Scope
			docCols := map[string]string{"id": "_doc_id", "split": "_doc_split", "line_number": "_line_number"}
			seqCols := "s._hkey AS _hkey, s._lkey AS _lkey, s._kind AS _kind, s._doc_id AS _doc_id, s._line_number AS _line_number, s._split + 1 AS _doc_split"
			if k.fromHdr {
				scope = compile.Scope{Root: compile.Rel{
					SQL:   fmt.Sprintf("(SELECT h.*, %s FROM %s s JOIN %s h ON h.%s = s._hkey WHERE s._kind = %d)", seqCols, b.tmp("seq"), b.tmp("h"), key(b.header), k.index),
					Table: b.header, Extra: b.hExtra, Doc: docCols,
				}, Lines: b.stagedLines(), Env: b.env}
			} else {
				scope = compile.Scope{Root: compile.Rel{
					SQL:   fmt.Sprintf("(SELECT l.*, %s FROM %s s JOIN %s l ON l.%s = s._lkey WHERE s._kind = %d)", seqCols, b.tmp("seq"), b.tmp("l"), key(b.lines), k.index),
					Table: b.lines, Extra: b.lExtra, Doc: docCols,
				}, Aliases: b.aliases(), Env: b.env}
			}
			lq := compile.NewQuery(scope, &b.counter)
			cols := b.mapFields(lq, at, t, k.Fields, filled)
			for c := range cols {
				used[c] = true
			}
			brs = append(brs, branch{q: lq, scope: scope, cols: cols, k: k})
		}
		names := []string{t.Key}
		var colOrder []*catalog.Column
		for _, c := range t.Columns {
			if used[c.Name] || (filled[c.Name] && c.Name != t.Key) {
				names = append(names, c.Name)
				colOrder = append(colOrder, c)
			}
		}
		// The required columns some kind of line may leave empty, for the check.
		var need []*catalog.Column
		for _, c := range colOrder {
			if !c.NotNull || c.Name == t.Key {
				continue
			}
			for _, br := range brs {
				if f, ok := fieldFor(t, br.k.Fields, c.Name); c.Name != br.k.Parent && !(ok && f.Kind() == "value" && f.Value != nil) {
					need = append(need, c)
					break
				}
			}
		}
		var parts, checks []string
		for _, br := range brs {
			if check, ok := b.requiredCheck(br.scope, br.k, t, need); ok {
				checks = append(checks, check)
			}
			a := br.q.Alias()
			sel := []string{a + "._hkey AS _hkey", a + "._lkey AS _lkey", a + "._kind AS _kind",
				a + "._doc_id || '/' || " + a + "._line_number AS " + key(t)}
			for _, c := range colOrder {
				switch {
				case c.Name == br.k.Parent:
					sel = append(sel, a+"._doc_id AS "+catalog.Ident(c.Name))
				case br.cols[c.Name].sql != "":
					sel = append(sel, br.cols[c.Name].sql+" AS "+catalog.Ident(c.Name))
				default:
					sel = append(sel, "CAST(NULL AS "+c.Type.SQL+") AS "+catalog.Ident(c.Name))
				}
			}
			parts = append(parts, fmt.Sprintf("SELECT %s\n%s", strings.Join(sel, ",\n  "), br.q.From()))
		}
		name := fmt.Sprintf("o%d", ti+1)
		out := Output{Temp: b.tmp(name), Target: t, Columns: names}
		if !b.opt.Materialize && len(checks) == len(brs) {
			out.Check = strings.Join(checks, "\nUNION ALL\n")
			for _, c := range need {
				out.CheckColumns = append(out.CheckColumns, c.Name)
			}
		}
		b.plan.Outputs = append(b.plan.Outputs, out)
		if b.opt.Materialize {
			b.temp(name, strings.Join(parts, "\nUNION ALL\n"))
		} else {
			// Lines are the bulk: computed once more for the empty-field check, and
			// by the insert itself, rather than stored and read back.
			b.view(name, strings.Join(parts, "\nUNION ALL\n"))
		}
	}
}

// requiredCheck is one line kind's query for the required-field check: _hkey, _lkey,
// _kind and the given columns, compiled in a query of its own so that it joins only
// what those columns read.
func (b *builder) requiredCheck(scope compile.Scope, k kind, t *catalog.Table, cols []*catalog.Column) (string, bool) {
	if len(b.probs) > 0 {
		return "", false
	}
	q := compile.NewQuery(scope, &b.counter)
	a := q.Alias()
	sel := []string{a + "._hkey AS _hkey", a + "._lkey AS _lkey", a + "._kind AS _kind"}
	for _, c := range cols {
		expr := "NULL"
		if c.Name == k.Parent {
			expr = a + "._doc_id"
		} else if f, ok := fieldFor(t, k.Fields, c.Name); ok {
			e, ok := b.mapped(q, nil, f)
			if !ok {
				return "", false
			}
			expr = e.SQL
		}
		sel = append(sel, fmt.Sprintf("CAST(%s AS %s) AS %s", expr, c.Type.SQL, catalog.Ident(c.Name)))
	}
	return fmt.Sprintf("SELECT %s\n%s", strings.Join(sel, ",\n  "), q.From()), true
}

// fieldFor finds the mapping of a target column among fields named by label or column.
func fieldFor(t *catalog.Table, fields map[string]spec.Field, column string) (spec.Field, bool) {
	for name, f := range fields {
		if s, ok := t.Resolve(name); ok && s.Column.Name == column {
			return f, true
		}
	}
	return spec.Field{}, false
}
