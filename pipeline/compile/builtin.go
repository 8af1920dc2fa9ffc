package compile

import (
	"fmt"
	"strings"
	"time"

	"github.com/expr-lang/expr/ast"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
)

func functionNames() []string {
	var names []string
	for _, f := range Functions() {
		names = append(names, f.Name)
	}
	return names
}

// builtin translates expr's built-in functions: aggregates over lines and a few scalars.
func (q *Query) builtin(x *ast.BuiltinNode) (value, error) {
	switch x.Name {
	case "any", "all", "none", "count", "sum", "min", "max", "len", "first", "last":
		// min(map(lines, .x)), max(...) and sum(...): expr accepts .x in min and max only
		// inside map().
		if len(x.Arguments) == 1 && (x.Name == "min" || x.Name == "max" || x.Name == "sum" || x.Name == "first" || x.Name == "last") {
			if m, ok := x.Arguments[0].(*ast.BuiltinNode); ok && m.Name == "map" && len(m.Arguments) == 2 {
				if first, err := q.node(m.Arguments[0]); err == nil && first.lines {
					agg := &ast.BuiltinNode{Name: x.Name, Arguments: m.Arguments}
					agg.SetLocation(x.Location())
					return q.aggregate(agg)
				}
			}
		}
		if len(x.Arguments) > 0 {
			if first, err := q.node(x.Arguments[0]); err == nil && first.lines {
				return q.aggregate(x)
			}
		}
	}
	args, err := q.scalars(x.Arguments)
	if err != nil {
		return value{}, err
	}
	one := func(kind catalog.Kind) error {
		if len(args) != 1 {
			return q.errAt(x, "%s takes one argument", x.Name)
		}
		return q.want(x.Arguments[0], args[0], kind)
	}
	switch x.Name {
	case "len":
		if err := one(catalog.String); err != nil {
			return value{}, err
		}
		return value{sql: "length(" + args[0].sql + ")", typ: catalog.Type{Kind: catalog.Number, SQL: "BIGINT"}}, nil
	case "upper", "lower":
		if err := one(catalog.String); err != nil {
			return value{}, err
		}
		return value{sql: x.Name + "(" + args[0].sql + ")", typ: stringType}, nil
	case "trim":
		if err := one(catalog.String); err != nil {
			return value{}, err
		}
		return value{sql: TrimSQL(args[0].sql), typ: stringType}, nil
	case "abs":
		if err := one(catalog.Number); err != nil {
			return value{}, err
		}
		return value{sql: "abs(" + args[0].sql + ")", typ: args[0].typ}, nil
	case "date":
		if err := one(catalog.String); err != nil {
			return value{}, err
		}
		if lit, ok := x.Arguments[0].(*ast.StringNode); ok {
			// A date written in the spec is checked here, not by the run's cast.
			if _, err := time.Parse(time.DateOnly, lit.Value); err != nil {
				return value{}, q.errAt(x.Arguments[0], "not a date: write it as YYYY-MM-DD, e.g. 2024-01-31")
			}
		}
		return value{sql: "CAST(" + args[0].sql + " AS DATE)", typ: catalog.Type{Kind: catalog.Date, SQL: "DATE"}}, nil
	}
	if f, ok := q.scope.Env.function(x.Name); ok {
		return q.apply(x, f, args)
	}
	return value{}, q.errAt(x, "built-in %s() is not supported here (supported: any, all, none, count, sum over lines, min, max, first, last of map(lines, .x); len, upper, lower, trim, abs, date)", x.Name)
}

// aggregate translates any/all/none/count/sum/min/max over the lines into one grouped
// subquery joined by the header key.
func (q *Query) aggregate(x *ast.BuiltinNode) (value, error) {
	lines := q.scope.Lines
	if q.agg == nil {
		// Every aggregate of this query shares one pass over the lines: one subquery,
		// one column each.
		sub := NewQuery(Scope{Root: lines.Rel, Env: q.scope.Env}, q.counter)
		sub.predicate = true
		q.agg = &lineAgg{sub: sub, alias: q.newAlias(), join: len(q.joins)}
		q.joins = append(q.joins, "")
	}
	sub := q.agg.sub
	sub.src = q.src
	var inner string
	var typ catalog.Type
	if len(x.Arguments) > 1 {
		body := x.Arguments[1]
		if p, ok := body.(*ast.PredicateNode); ok {
			body = p.Node
		}
		v, err := sub.scalar(body)
		if err != nil {
			return value{}, err
		}
		inner, typ = v.sql, v.typ
	}
	needs := func(kind catalog.Kind) error {
		if len(x.Arguments) != 2 {
			return q.errAt(x, "%s(lines, ...) needs a second argument, e.g. %s(lines, .amount)", x.Name, x.Name)
		}
		return q.want(x.Arguments[1], value{typ: typ}, kind)
	}
	var agg, empty string
	out := boolType
	switch x.Name {
	case "any", "none", "all":
		if err := needs(catalog.Bool); err != nil {
			return value{}, err
		}
		agg, empty = "bool_or(coalesce("+inner+", false))", "false"
		if x.Name == "all" {
			agg, empty = "bool_and(coalesce("+inner+", false))", "true"
		}
	case "count", "len":
		out = catalog.Type{Kind: catalog.Number, SQL: "BIGINT"}
		agg, empty = "count(*)", "0"
		if inner != "" {
			if err := needs(catalog.Bool); err != nil {
				return value{}, err
			}
			agg = "count_if(coalesce(" + inner + ", false))"
		}
	case "first", "last":
		if len(x.Arguments) != 2 {
			return value{}, q.errAt(x, "%s needs the field to read: %s(map(lines, .amount))", x.Name, x.Name)
		}
		dir := ""
		if x.Name == "last" {
			dir = " DESC"
		}
		var order []string
		for _, o := range append(append([]string{}, lines.Order...), lines.Rel.Table.Key) {
			order = append(order, sub.alias+"."+catalog.Ident(o)+dir)
		}
		out, agg, empty = typ, "first("+inner+" ORDER BY "+strings.Join(order, ", ")+")", "NULL"
	case "sum", "min", "max":
		if len(x.Arguments) != 2 {
			return value{}, q.errAt(x, "%s needs the field to aggregate: %s(lines, .amount) or %s(map(lines, .amount))", x.Name, x.Name, x.Name)
		}
		out, agg, empty = typ, x.Name+"("+inner+")", "NULL"
		if x.Name == "sum" {
			if err := needs(catalog.Number); err != nil {
				return value{}, err
			}
			empty = "0"
		}
	}
	a := q.agg.alias
	parent := sub.alias + "." + catalog.Ident(lines.Parent)
	col := fmt.Sprintf("v%d", len(q.agg.cols)+1)
	q.agg.cols = append(q.agg.cols, agg+" AS "+col)
	q.joins[q.agg.join] = fmt.Sprintf("LEFT JOIN (SELECT %s AS k, %s\n    %s\n    GROUP BY 1) %s ON %s.k = %s.%s",
		parent, strings.Join(q.agg.cols, ", "), strings.ReplaceAll(sub.From(), "\n", "\n    "), a, a, q.alias, catalog.Ident(q.scope.Root.Table.Key))
	res := a + "." + col
	if x.Name == "none" {
		return value{sql: "(NOT coalesce(" + res + ", false))", typ: boolType}, nil
	}
	return value{sql: "coalesce(" + res + ", " + empty + ")", typ: out}, nil
}

// lineAgg is a query's one grouped pass over the lines, holding all its aggregates.
type lineAgg struct {
	sub   *Query
	alias string
	join  int      // its place in the query's joins
	cols  []string // "aggregate AS vN"
}
