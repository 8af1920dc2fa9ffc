package plan

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/compile"
	"github.com/oimconnect/oimconnect/pipeline/spec"
	"gopkg.in/yaml.v3"
)

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
	// link is set when the column holds the source row's own key ("OIM Invoice:
	// Record ID"): the document's link back to its record.
	link bool
}

// mapFields compiles a fields map against a target table.
func (b *builder) mapFields(q *compile.Query, at []string, target *catalog.Table, fields map[string]spec.Field, filled map[string]bool) map[string]outputColumn {
	out := map[string]outputColumn{}
	named := map[string]bool{} // columns a field names, or is likely a typo of: mapped, if broken
	for _, name := range spec.SortedKeys(fields) {
		fat := append(append([]string{}, at...), name)
		s, ok := target.Resolve(name)
		if !ok {
			hint := ""
			if col := compile.Suggest(target, name); col != "" {
				named[col] = true
				hint = ": did you mean " + col + "?"
			}
			b.probs = append(b.probs, b.f.Pos.KeyErrorf(fat, "%s has no field %q%s (fields: %s)", target.FullName(), name, hint, strings.Join(target.ColumnNames(), ", ")))
			continue
		}
		col := s.Column
		named[col.Name] = true
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
		out[col.Name] = outputColumn{col: col, sql: fmt.Sprintf("CAST(%s AS %s)", e.SQL, col.Type.SQL), link: isKey(q, e)}
	}
	for _, c := range target.Columns {
		if c.NotNull && !c.HasDefault && !filled[c.Name] && !named[c.Name] {
			if _, ok := out[c.Name]; !ok {
				b.errorf(at, "%s.%s is required (NOT NULL) but not mapped", target.FullName(), c.Name)
			}
		}
	}
	return out
}

// isKey says a compiled expression is the query's source row's key, as it is.
func isKey(q *compile.Query, e compile.Expr) bool {
	root := q.Root()
	if root == nil || root.Key == "" {
		return false
	}
	k, err := q.Path(root.Key)
	return err == nil && k.SQL == e.SQL
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
		latest := "NULL"
		if u.Latest != "" {
			if e, err := q.Expr(u.Latest); err != nil {
				b.exprError([]string{"document", "upsert", "latest"}, err)
			} else {
				latest = e.SQL
			}
		}
		sel = append(sel, "CAST("+existing+" AS VARCHAR) AS _existing", update+" AS _update", latest+" AS _latest")
		for i, name := range u.Linked {
			at := []string{"document", "upsert", "linked", strconv.Itoa(i)}
			st, ok := target.Resolve(name)
			if !ok {
				b.errorf(at, "%s has no field %q", target.FullName(), name)
				continue
			}
			if _, mapped := cols[st.Column.Name]; !mapped {
				b.errorf(at, "%s.%s is not mapped: only mapped fields can be written when a row is linked", target.FullName(), st.Column.Name)
				continue
			}
			b.linked = append(b.linked, st.Column.Name)
		}
	}
	var links []string
	for _, c := range target.Columns {
		if oc, ok := cols[c.Name]; ok {
			names = append(names, c.Name)
			sel = append(sel, oc.sql+" AS "+catalog.Ident(c.Name))
			if oc.link {
				links = append(links, c.Name)
			}
		}
	}
	o := Output{Temp: b.tmp("o0"), Target: target, Columns: names, Header: true, Links: links, Empty: map[string]map[int]string{}}
	emptyReasons(target, 0, doc.Fields, o.Empty)
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
				if _, f, ok := fieldFor(t, br.k.Fields, c.Name); c.Name != br.k.Parent && !(ok && f.Kind() == "value" && f.Value != nil) {
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
		out := Output{Temp: b.tmp(name), Target: t, Columns: names, Empty: map[string]map[int]string{}}
		for _, br := range brs {
			emptyReasons(t, br.k.index, br.k.Fields, out.Empty)
		}
		for _, c := range colOrder {
			if slices.ContainsFunc(brs, func(br branch) bool { return br.cols[c.Name].link }) {
				out.Links = append(out.Links, c.Name)
			}
		}
		if !b.opt.Materialize && len(checks) == len(brs) {
			out.Check = strings.Join(checks, "\nUNION ALL\n")
			for _, c := range need {
				out.CheckColumns = append(out.CheckColumns, c.Name)
			}
		}
		b.plan.Outputs = append(b.plan.Outputs, out)
		if b.opt.Materialize {
			// Stored for a plugin, which reads them a batch (a range of _hkey) at a
			// time: in key order, a batch's rows are together, and DuckDB skips the
			// row groups whose key statistics are out of its range (1M lines in 22
			// batches: the reads took 0.75 s instead of 1.04 s, for 0.13 s of sorting).
			b.temp(name, "SELECT * FROM (\n"+strings.Join(parts, "\nUNION ALL\n")+"\n) ORDER BY _hkey")
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
		} else if _, f, ok := fieldFor(t, k.Fields, c.Name); ok {
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
func fieldFor(t *catalog.Table, fields map[string]spec.Field, column string) (string, spec.Field, bool) {
	for _, name := range spec.SortedKeys(fields) {
		if s, ok := t.Resolve(name); ok && s.Column.Name == column {
			return name, fields[name], true
		}
	}
	return "", spec.Field{}, false
}

// emptyReasons says, for each required column of an output that a kind's mapping may
// leave empty, why the record cannot be exported, in the words of its spec: the field,
// that Accounting requires it, and what it comes from ("no Invoice Date: Accounting
// requires one (sales_invoice.invoice_date), and Invoice Date is empty"). kind is the
// line kind's index (0: the document).
func emptyReasons(t *catalog.Table, kind int, fields map[string]spec.Field, into map[string]map[int]string) {
	for _, c := range t.Columns {
		if !c.NotNull || c.Name == t.Key {
			continue
		}
		name, f, ok := fieldFor(t, fields, c.Name)
		if !ok {
			continue
		}
		from := f.Path + " is empty"
		if f.Kind() == "expr" {
			from = "the expression " + strings.TrimSpace(f.Expr) + " gives none"
		}
		if into[c.Name] == nil {
			into[c.Name] = map[int]string{}
		}
		into[c.Name][kind] = fmt.Sprintf("no %s: Accounting requires one (%s.%s), and %s", name, t.Name, c.Name, from)
	}
}
