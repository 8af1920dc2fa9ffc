package plan

import (
	"fmt"
	"strings"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/compile"
)

// stageCandidates plans the prelude that stages the candidates (c), and, for a batch,
// the stage's first statement taking its key range of them (b).
//
// The candidates are the header records whose export status is New or Export Error
// (every record of an untracked source), narrowed by what the run asks: --id, a
// backfill partition's dates, the automation criteria. A select condition that reads
// only the record's own columns (no path, no derived field, no lines) is applied here
// too, so records left untouched run by run (an Open invoice) are never staged again:
// it costs a scan of the header table's columns, not a stage.
func (b *builder) stageCandidates() {
	f := b.f
	var where, status []string
	if b.tracked() {
		for _, v := range []string{"New", "Export Error"} {
			status = append(status, catalog.Ident(b.status)+" = "+catalog.Literal(v))
		}
	}
	switch len(b.opt.IDs) {
	case 0:
	case 1: // an index lookup
		where = append(where, key(b.header)+" = "+catalog.Literal(b.opt.IDs[0]))
	default:
		ids := make([]string, len(b.opt.IDs))
		for i, id := range b.opt.IDs {
			ids[i] = catalog.Literal(id)
		}
		where = append(where, key(b.header)+" IN ("+strings.Join(ids, ", ")+")")
	}
	if b.opt.Criteria != "" {
		c, ok := b.header.Column(b.opt.Criteria)
		switch {
		case !ok:
			b.errorf([]string{"source", "table"}, "automation criteria: %s has no column %s", b.header.FullName(), b.opt.Criteria)
		case c.Type.Kind != catalog.Bool:
			b.errorf([]string{"source", "table"}, "automation criteria: %s.%s must be a boolean column, it is %s", b.header.FullName(), c.Name, c.Type.SQL)
		default:
			where = append(where, catalog.Ident(c.Name)+" IS TRUE")
		}
	}
	if b.opt.From != "" && f.Source.Date != "" {
		where = append(where, fmt.Sprintf("%s >= DATE %s AND %s < DATE %s", catalog.Ident(f.Source.Date), catalog.Literal(b.opt.From),
			catalog.Ident(f.Source.Date), catalog.Literal(b.opt.To)))
	}
	c := b.tmp("c")
	filter, alias := b.ownSelect()
	if b.tracked() {
		// The record's own columns, but for its export status and error: what a failed
		// record's retry waits to see changed (Options.Deferred).
		var cols []string
		for _, col := range b.header.Columns {
			if col.Name != b.status && col.Name != b.errCol {
				cols = append(cols, catalog.Ident(col.Name))
			}
		}
		b.plan.Fingerprint = "hash(" + strings.Join(cols, ", ") + ")"
		if b.opt.Deferred != "" {
			if alias == "" {
				alias = "t0"
			}
			var qualified []string
			for _, col := range cols {
				qualified = append(qualified, alias+"."+col)
			}
			defer0 := fmt.Sprintf("NOT (%s.%s = 'Export Error' AND EXISTS (SELECT 1 FROM %s d WHERE d.k = CAST(%s.%s AS VARCHAR) AND d.fp = hash(%s)))",
				alias, catalog.Ident(b.status), b.opt.Deferred, alias, key(b.header), strings.Join(qualified, ", "))
			filter = strings.TrimPrefix(filter+" AND "+defer0, " AND ")
		}
	}
	fe := &Fetch{Table: b.header, Into: c, Any: status, Where: strings.Join(where, " AND "), Filter: filter, Alias: alias}
	b.plan.Prelude = []Statement{fe.Statement("c")}
	b.plan.Candidates = c
	b.cands = c
	switch {
	case b.opt.Dates[0] != "":
		d := catalog.Ident(f.Source.Date)
		b.temp("b", fmt.Sprintf("SELECT * FROM %s WHERE %s >= DATE %s AND %s < DATE %s", c, d, catalog.Literal(b.opt.Dates[0]), d, catalog.Literal(b.opt.Dates[1])))
	case b.opt.KeyFrom != "" || b.opt.KeyTo != "":
		b.temp("b", "SELECT * FROM "+c+" WHERE "+b.keyRange(key(b.header)))
	default:
		return
	}
	b.cands = b.tmp("b")
}

// keyRange is the SQL of col within the batch's key range.
func (b *builder) keyRange(col string) string {
	var r []string
	if b.opt.KeyFrom != "" {
		r = append(r, col+" >= "+catalog.Literal(b.opt.KeyFrom))
	}
	if b.opt.KeyTo != "" {
		r = append(r, col+" < "+catalog.Literal(b.opt.KeyTo))
	}
	return strings.Join(r, " AND ")
}

// ownSelect is the select conditions that read only the record's own columns, as SQL
// on the header table under alias ("" none). explain keeps every candidate, to show why.
func (b *builder) ownSelect() (filter, alias string) {
	if b.opt.Explain || b.opt.WholeTables {
		return "", ""
	}
	derived := map[string]bool{}
	for name := range b.f.Derive.Header {
		derived[name] = true
		derived[catalog.Normalize(name)] = true
	}
	var out []string
	alias = "t0"
	for _, c := range b.f.Select {
		q := compile.NewQuery(compile.Scope{Root: compile.Rel{SQL: b.header.SQLName(), Table: b.header}, Env: &compile.Env{Constants: b.rawEnv.Constants}}, new(int))
		e, err := q.Bool(c)
		if err != nil || len(q.Uses) == 0 || q.From() != "FROM "+b.header.SQLName()+" "+q.Alias() {
			continue // a path, a lookup or the lines: left to h (which reports mistakes)
		}
		own := true
		for col := range q.Uses {
			own = own && !derived[col] && !derived[catalog.Normalize(col)]
		}
		if own {
			out = append(out, strings.ReplaceAll(e.SQL, q.Alias()+".", alias+"."))
		}
	}
	if len(out) == 0 {
		return "", ""
	}
	return strings.Join(out, " AND "), alias
}
