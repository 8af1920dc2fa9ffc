package plan

import (
	"fmt"
	"strings"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/compile"
	"github.com/oimconnect/oimconnect/pipeline/spec"
)

// givenColumns keeps, for explain, the source's own value of each derived field that is
// a column of the table (the record's or its lines'), as _given_<field>.
func givenColumns(fields map[string]string, t *catalog.Table) string {
	out := ""
	for _, name := range spec.SortedKeys(fields) {
		if _, ok := t.Column(name); ok {
			out += ", " + catalog.Ident(name) + " AS " + catalog.Ident("_given_"+name)
		}
	}
	return out
}

// explainConditions gives, for explain, each condition's outcome and the values it read.
func (b *builder) explainConditions(q *compile.Query, section, prefix string, conds []string) string {
	out := ""
	for i, c := range conds {
		e, err := q.Bool(c)
		if err != nil {
			continue
		}
		out += fmt.Sprintf(", %s AS %s%d", e.SQL, prefix, i)
		for j, op := range compile.Operands(c) {
			v, err := q.Expr(op)
			if err != nil {
				v, err = q.List(op) // a constant or setting used after `in`
			}
			if err == nil {
				out += fmt.Sprintf(", CAST(%s AS VARCHAR) AS _v_%s_%d_%d", v.SQL, section, i, j)
			}
		}
	}
	return out
}

// explainRules keeps, for explain, every rule's outcome per record (xh) and per line
// (xl): _applies<i> (its when), _pass<i> (its check) and _msg<i>.
func (b *builder) explainRules() {
	scopes := []struct {
		name  string
		scope compile.Scope
		rules []spec.Rule
		at    string
	}{{"xh", compile.Scope{Root: b.headerRel(), Lines: b.stagedLines(), Env: b.env}, b.f.Rules.Header, "header"}}
	if b.lines != nil {
		scopes = append(scopes, struct {
			name  string
			scope compile.Scope
			rules []spec.Rule
			at    string
		}{"xl", compile.Scope{Root: b.linesRel(), Aliases: b.aliases(), Env: b.env}, b.f.Rules.Lines, "lines"})
	}
	for _, sc := range scopes {
		q := compile.NewQuery(sc.scope, &b.counter)
		cols := []string{q.Alias() + "." + key(sc.scope.Root.Table) + " AS _key"}
		for i, r := range sc.rules {
			when, check, msg := "TRUE", "TRUE", "''"
			if r.When != "" {
				if e, err := q.Bool(r.When); err == nil {
					when = e.SQL
				}
			}
			if e, err := q.Bool(r.Check); err == nil {
				check = e.SQL
			}
			if e, err := q.Template(r.Message); err == nil {
				msg = e.SQL
			}
			cols = append(cols, fmt.Sprintf("%s AS _applies%d, %s AS _pass%d, %s AS _msg%d", when, i, check, i, msg, i))
		}
		b.temp(sc.name, fmt.Sprintf("SELECT %s\n%s", strings.Join(cols, ", "), q.From()))
	}
}
