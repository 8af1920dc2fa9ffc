package plan

import (
	"fmt"
	"strings"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/compile"
	"github.com/oimconnect/oimconnect/pipeline/spec"
)

// derive layers derived fields over a base query as CTEs d0, d1, ...: a field that
// reads another derived field comes in a later layer. Given values win: a derived
// field that is a column keeps the column's value when it is set.
func (b *builder) derive(at []string, fields map[string]string, t *catalog.Table, base string, lines *compile.Lines, aliases map[string]string, partition string) (ctes, last string, extra []*catalog.Column) {
	levels, ok := b.layers(at, fields)
	ctes = "d0 AS (" + base + ")"
	last = "d0"
	if !ok {
		// Stand in for every field (the SQL is never run), so that what reads them is
		// still checked, and only the mistake is reported.
		var add []string
		for _, name := range spec.SortedKeys(fields) {
			if col := b.standIn(t, name); col != nil {
				extra = append(extra, col)
				add = append(add, "NULL AS "+catalog.Ident(name))
			}
		}
		if len(add) > 0 {
			ctes += ",\nd1 AS (SELECT *, " + strings.Join(add, ", ") + " FROM d0)"
			last = "d1"
		}
		return ctes, last, extra
	}
	env := b.rawEnv
	if b.env != nil {
		env = b.env
	}
	for i, names := range levels {
		q := compile.NewQuery(compile.Scope{Root: compile.Rel{SQL: last, Table: t, Extra: extra}, Lines: lines, Aliases: aliases, Partition: partition, Env: env}, &b.counter)
		var replace, add []string
		var added []*catalog.Column
		for _, name := range names {
			e, err := q.Expr(fields[name])
			if err != nil {
				b.exprError(append(at, name), err)
				if col := b.standIn(t, name); col != nil {
					// Stand in for the failed field, so what reads it is still checked.
					added = append(added, col)
					add = append(add, "NULL AS "+catalog.Ident(name))
				}
				continue
			}
			if col, isCol := t.Column(name); isCol {
				if !kindFits(e.Type.Kind, col.Type.Kind) {
					b.errorf(append(at, name), "%s is a %s column, the expression gives a %s", name, col.Type.Kind, e.Type.Kind)
					continue
				}
				given := q.Alias() + "." + catalog.Ident(name)
				isSet := given + " IS NOT NULL"
				if col.Type.Kind == catalog.String {
					isSet = "nullif(trim(" + given + "), '') IS NOT NULL"
				}
				replace = append(replace, fmt.Sprintf("CASE WHEN %s THEN %s ELSE %s END AS %s", isSet, given, e.SQL, catalog.Ident(name)))
				continue
			}
			add = append(add, e.SQL+" AS "+catalog.Ident(name))
			typ := e.Type
			if typ.Kind == catalog.Nil {
				typ.Kind = catalog.Any
			}
			added = append(added, &catalog.Column{Name: name, Type: typ})
		}
		sel := q.Alias() + ".*"
		if len(replace) > 0 {
			sel += " REPLACE (" + strings.Join(replace, ", ") + ")"
		}
		for _, a := range add {
			sel += ",\n  " + a
		}
		name := fmt.Sprintf("d%d", i+1)
		ctes += fmt.Sprintf(",\n%s AS (SELECT %s\n%s)", name, sel, q.From())
		last = name
		extra = append(extra, added...)
	}
	return ctes, last, extra
}

// standIn notes a derived field of t that failed, so that an expression reading it,
// or stepping through the reference its name makes (period for period_id), is not
// reported again; and returns the column standing in for it, of any kind, unless t has
// a column of that name.
func (b *builder) standIn(t *catalog.Table, name string) *catalog.Column {
	if b.standIns == nil {
		b.standIns = map[string]bool{}
	}
	b.standIns[catalog.Normalize(name)] = true
	if strings.HasSuffix(name, "_id") {
		b.standIns[catalog.RefName(name)] = true
	}
	if _, isCol := t.Column(name); isCol {
		return nil
	}
	return &catalog.Column{Name: name, Type: catalog.Type{Kind: catalog.Any}}
}

// layers orders derived fields so each comes after the derived fields it reads.
func (b *builder) layers(at []string, fields map[string]string) ([][]string, bool) {
	before := len(b.probs) // a mistake elsewhere does not make these fields unusable
	deps := map[string][]string{}
	for _, name := range spec.SortedKeys(fields) {
		ids, err := compile.Identifiers(fields[name])
		if err != nil {
			b.exprError(append(at, name), err)
			return nil, false
		}
		for _, other := range spec.SortedKeys(fields) {
			if other == name {
				continue
			}
			for _, id := range ids {
				if id == other || catalog.Normalize(id) == catalog.RefName(other) || catalog.Normalize(id) == catalog.Normalize(other) {
					deps[name] = append(deps[name], other)
					break
				}
			}
		}
	}
	level := map[string]int{}
	var visit func(name string, path []string) int
	visit = func(name string, path []string) int {
		if l, ok := level[name]; ok {
			return l
		}
		for _, p := range path {
			if p == name {
				b.errorf(append(at, name), "derived fields read each other in a circle: %s", strings.Join(append(path, name), " -> "))
				return 0
			}
		}
		l := 0
		for _, d := range deps[name] {
			if dl := visit(d, append(path, name)) + 1; dl > l {
				l = dl
			}
		}
		level[name] = l
		return l
	}
	var out [][]string
	for _, name := range spec.SortedKeys(fields) {
		l := visit(name, nil)
		for len(out) <= l {
			out = append(out, nil)
		}
		out[l] = append(out[l], name)
	}
	return out, len(b.probs) == before
}
