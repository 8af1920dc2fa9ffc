package plan

import (
	"fmt"
	"strings"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/compile"
)

// stageHeaders builds h: the candidates with derived fields that pass every select
// condition, and whether they are ready. Aggregates over lines read the candidates'
// lines (lc).
func (b *builder) stageHeaders() {
	f := b.f
	base := "SELECT * FROM " + b.cands
	var lines *compile.Lines
	if b.lines != nil {
		lines = &compile.Lines{Rel: compile.Rel{SQL: b.tmp("lc"), Table: b.lines}, Parent: b.parent, Order: f.Source.Lines.Order}
	}
	if b.opt.Explain {
		base = "SELECT *" + givenColumns(f.Derive.Header, b.header) + " FROM (" + base + ")"
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

func key(t *catalog.Table) string { return catalog.Ident(t.Key) }
