package plan

import (
	"fmt"
	"strings"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/compile"
)

func (b *builder) idFilter(col string) string {
	if len(b.opt.IDs) == 0 {
		return ""
	}
	ids := make([]string, len(b.opt.IDs))
	for i, id := range b.opt.IDs {
		ids[i] = catalog.Literal(id)
	}
	return " AND " + col + " IN (" + strings.Join(ids, ", ") + ")"
}

// stageHeaders builds h: the header records still to export (New or Export Error),
// with derived fields, that pass every select condition, and whether they are ready.
func (b *builder) stageHeaders() {
	f := b.f
	base := fmt.Sprintf("SELECT * FROM %s WHERE %s IN ('New', 'Export Error')%s",
		b.header.SQLName(), catalog.Ident(f.Source.Status), b.idFilter(key(b.header)))
	if !b.tracked() {
		base = fmt.Sprintf("SELECT * FROM %s WHERE TRUE%s", b.header.SQLName(), b.idFilter(key(b.header)))
	}
	if b.opt.KeyFrom != "" {
		base += " AND " + key(b.header) + " >= " + catalog.Literal(b.opt.KeyFrom)
	}
	if b.opt.KeyTo != "" {
		base += " AND " + key(b.header) + " < " + catalog.Literal(b.opt.KeyTo)
	}
	if b.opt.Criteria != "" {
		c, ok := b.header.Column(b.opt.Criteria)
		switch {
		case !ok:
			b.errorf([]string{"source", "table"}, "automation criteria: %s has no column %s", b.header.FullName(), b.opt.Criteria)
		case c.Type.Kind != catalog.Bool:
			b.errorf([]string{"source", "table"}, "automation criteria: %s.%s must be a boolean column, it is %s", b.header.FullName(), c.Name, c.Type.SQL)
		default:
			base += " AND " + catalog.Ident(c.Name) + " IS TRUE"
		}
	}
	if b.opt.From != "" && f.Source.Date != "" {
		base += fmt.Sprintf(" AND %s >= DATE %s AND %s < DATE %s", catalog.Ident(f.Source.Date), catalog.Literal(b.opt.From),
			catalog.Ident(f.Source.Date), catalog.Literal(b.opt.To))
	}
	var lines *compile.Lines
	if b.lines != nil {
		lines = &compile.Lines{Rel: compile.Rel{SQL: b.lines.SQLName(), Table: b.lines}, Parent: b.parent, Order: f.Source.Lines.Order,
			Range: [2]string{b.opt.KeyFrom, b.opt.KeyTo}}
	}
	if b.opt.Explain {
		base = "SELECT *" + b.givenColumns() + " FROM (" + base + ")"
	}
	ctes, last, extra := b.derive([]string{"derive", "header"}, f.Derive.Header, b.header, base, lines, nil, "")
	b.hExtra = extra
	q := compile.NewQuery(compile.Scope{Root: compile.Rel{SQL: last, Table: b.header, Extra: extra}, Lines: lines, Env: b.rawEnv}, &b.counter)
	where := b.conditions(q, "select", f.Select)
	ready := b.conditions(q, "ready", f.Ready)
	if b.opt.Explain {
		cols := b.explainConditions(q, "select", "_sel", f.Select) + b.explainConditions(q, "ready", "_rdy", f.Ready)
		b.temp("h", fmt.Sprintf("WITH %s\nSELECT %s.*%s, %s AS _selected, %s AND %s AS _ready\n%s", ctes, q.Alias(), cols, where, where, ready, q.From()))
		return
	}
	b.temp("h", fmt.Sprintf("WITH %s\nSELECT %s.*, %s AS _ready\n%s\nWHERE %s", ctes, q.Alias(), ready, q.From(), where))
}

func (b *builder) conditions(q *compile.Query, section string, conds []string) string {
	if len(conds) == 0 {
		return "TRUE"
	}
	parts := make([]string, 0, len(conds))
	for i, c := range conds {
		e, err := q.Bool(c)
		if err != nil {
			b.exprError([]string{section, fmt.Sprint(i)}, err)
			continue
		}
		parts = append(parts, e.SQL)
	}
	return "(" + strings.Join(parts, "\n  AND ") + ")"
}
