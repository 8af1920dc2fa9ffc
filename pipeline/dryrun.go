package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/plan"
)

// A dry run of several flows on one DuckDB file runs them in one transaction, each
// flow's writes applied so that later flows see them, and rolls it back. But DuckDB 1.1
// writes the appends of a transaction to one table beyond a row group (122,880 rows)
// into new blocks of the file at once, and frees them at the rollback: a dry run of a
// bulk export would grow the file. So a dry run applies a flow's write of a table only
// when a later flow reads the table (or the flow itself, in its next batch), and an
// insert that later flows only fetch rows of by key (a credit note's invoice lines)
// goes into a temp table of the same columns instead, which those fetches read along
// with the table. The counts are the staged flow's either way.

// overlays are a dry run's temp tables standing for tables written, by table.
type overlays struct {
	tables map[*catalog.Table]string
	prefix string
}

// writesFor decides what the dry run does with a flow's writes, given the flows after
// it: nothing, for a table no one reads afterwards; an insert into an overlay, for a
// table later flows only fetch (make creates it); else the write as it is.
type writesFor struct {
	o       *overlays
	skip    map[*catalog.Table]bool
	overlay map[*catalog.Table]bool
}

// dryWrites plans the writes of plans[0] in a dry run of plans. A table is read
// whole (a lookup searching it) or only by the rows a fetch reaches, and by nothing
// else: so a store with PostgreSQL sides can run the same plan.
func (o *overlays) dryWrites(plans []*plan.Plan) *writesFor {
	p, later := plans[0], plans[1:]
	w := &writesFor{o: o, skip: map[*catalog.Table]bool{}, overlay: map[*catalog.Table]bool{}}
	for _, st := range p.Write {
		t := st.Write.Table
		read, whole := false, false
		for _, l := range plans { // the flow itself too: its next batch reads what this one wrote
			if l.Reads(t) {
				read, whole = true, whole || wholeOf(l, t)
			}
		}
		for _, l := range later {
			if writes(l, t) {
				read, whole = true, true
			}
		}
		switch {
		case !read:
			w.skip[t] = true
		case !whole && onlyInserts(p, t):
			w.overlay[t] = true
		}
	}
	return w
}

// statements are the write statements the dry run runs, on x: overlays made first.
func (w *writesFor) statements(ctx context.Context, x catalog.Execer, stmts []plan.Statement) ([]plan.Statement, error) {
	var out []plan.Statement
	for _, st := range stmts {
		t := st.Write.Table
		switch {
		case w.skip[t]:
		case w.overlay[t]:
			name, err := w.o.make(ctx, x, t)
			if err != nil {
				return nil, err
			}
			into := "INSERT INTO " + t.SQLName() + " "
			if !strings.HasPrefix(st.SQL, into) {
				return nil, fmt.Errorf("dry run: %s does not insert into %s", st.Name, t.FullName())
			}
			st.SQL = "INSERT INTO temp." + name + " " + strings.TrimPrefix(st.SQL, into)
			out = append(out, st)
		default:
			out = append(out, st)
		}
	}
	return out, nil
}

// make creates the overlay of t (once): a temp table of its columns, gone with the dry
// run's transaction.
func (o *overlays) make(ctx context.Context, x catalog.Execer, t *catalog.Table) (string, error) {
	if name, ok := o.tables[t]; ok {
		return name, nil
	}
	name := fmt.Sprintf("%sdry_%s_%s", o.prefix, t.Schema, t.Name)
	if _, err := x.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE TEMP TABLE %s AS SELECT * FROM %s LIMIT 0", name, t.SQLName())); err != nil {
		return "", fmt.Errorf("dry run: %w", err)
	}
	o.tables[t] = name
	return name, nil
}

// fetches are stmts with their fetches of an overlaid table reading the overlay too.
func (o *overlays) fetches(stmts []plan.Statement) []plan.Statement {
	if o == nil || len(o.tables) == 0 {
		return stmts
	}
	out := make([]plan.Statement, len(stmts))
	for i, st := range stmts {
		out[i] = st
		if st.Fetch == nil {
			continue
		}
		if name, ok := o.tables[st.Fetch.Table]; ok {
			f := *st.Fetch
			f.From = fmt.Sprintf("(SELECT * FROM %s UNION ALL SELECT * FROM temp.%s)", f.Table.SQLName(), name)
			out[i] = f.Statement(st.Name)
		}
	}
	return out
}

// wholeOf reports whether p reads t whole (a lookup searching it, a derived reference).
func wholeOf(p *plan.Plan, t *catalog.Table) bool {
	for _, w := range p.Whole {
		if w == t {
			return true
		}
	}
	return false
}

// writes reports whether p writes t.
func writes(p *plan.Plan, t *catalog.Table) bool {
	for _, st := range p.Write {
		if st.Write != nil && st.Write.Table == t {
			return true
		}
	}
	return false
}

// onlyInserts reports whether p's writes of t are all inserts.
func onlyInserts(p *plan.Plan, t *catalog.Table) bool {
	for _, st := range p.Write {
		if st.Write != nil && st.Write.Table == t && st.Write.Update {
			return false
		}
	}
	return true
}
