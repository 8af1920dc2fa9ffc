package plan

import (
	"sort"
	"strings"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/compile"
)

// stageReach stages the candidates' lines (lc) and, hop by hop, the rows of every other
// table their paths reach (r_<schema>_<table>): the rows whose key is among the values
// of a reference column of rows staged before. Every path then joins these narrowed
// copies, never a whole table, so a run over ten candidates reads ten candidates' worth
// of each table, whatever history holds, and of those rows only the columns the flow
// reads (columnsRead). DuckDB finds the rows with one semi-join on the key (building
// its hash table on the few keys, not on the table), or by the primary key's index
// when the keys are few (the store's point lookups); a LEFT JOIN of a whole table could
// build its hash table on millions of rows.
func (b *builder) stageReach() {
	if b.lines != nil {
		fe := &Fetch{Table: b.lines, Into: b.tmp("lc"), Column: b.parent, Keys: "SELECT " + key(b.header) + " FROM " + b.cands}
		if b.opt.KeyFrom != "" || b.opt.KeyTo != "" {
			fe.Filter = b.keyRange(catalog.Ident(b.parent)) // lets DuckDB skip row groups
		}
		b.fetch("lc", fe)
	}
	for _, t := range b.narrowOrder {
		var keys []string
		for _, r := range b.first.refsInto(t) {
			keys = append(keys, "SELECT "+catalog.Ident(r.Column)+" FROM "+b.stagedRel(r.From))
		}
		b.fetch("r "+t.FullName(), &Fetch{Table: t, Into: b.narrow[t.FullName()], Column: t.Key, Keys: strings.Join(keys, " UNION "),
			Columns: b.first.columnsRead(t)})
	}
}

// columnsRead are the columns of t the flow reads, in the table's order: its key, the
// columns its paths and fields read, and those its rows' references leave from. Nil
// when that is every column.
func (b *builder) columnsRead(t *catalog.Table) []*catalog.Column {
	read := map[string]bool{t.Key: true}
	for c := range b.reads.Columns[t.FullName()] {
		read[c] = true
	}
	for _, r := range b.reads.Refs {
		if r.From == t {
			read[r.Column] = true
		}
	}
	var out []*catalog.Column
	for _, c := range t.Columns {
		if read[c.Name] {
			out = append(out, c)
		}
	}
	if len(out) == len(t.Columns) {
		return nil
	}
	return out
}

// fetch adds a fetch statement to the stage.
func (b *builder) fetch(name string, fe *Fetch) {
	b.plan.Temps = append(b.plan.Temps, fe.Into)
	b.plan.Stage = append(b.plan.Stage, fe.Statement(name))
}

// stagedRel is the staged relation holding every row of t a run may read: the
// candidates for the header table (h is a subset), the candidates' lines for the
// lines (l is a subset), a narrowed table's copy.
func (b *builder) stagedRel(t *catalog.Table) string {
	switch t {
	case b.header:
		return b.cands
	case b.lines:
		return b.tmp("lc")
	}
	return b.narrow[t.FullName()]
}

// refsInto lists the recorded steps into t, in a stable order.
func (b *builder) refsInto(t *catalog.Table) []compile.Ref {
	var out []compile.Ref
	for _, r := range b.reads.Refs {
		if r.To == t {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].From.FullName() != out[j].From.FullName() {
			return out[i].From.FullName() < out[j].From.FullName()
		}
		return out[i].Column < out[j].Column
	})
	return out
}

// narrowing decides, from what the first pass read, which tables are staged narrowed
// and in which order, and which are read whole. A table is narrowed when every step
// into it starts from a column of the candidates or their lines that the spec does not
// derive, or from a table narrowed before it; a table a lookup searches (it finds rows
// by other columns), or that a derived field or a table read whole reaches, is read
// whole. Steps into the header table read the staged candidates (h) already.
func (b *builder) narrowing() (order, whole []*catalog.Table) {
	derived := map[*catalog.Table]map[string]bool{b.header: {}}
	for name := range b.f.Derive.Header {
		derived[b.header][name] = true
	}
	if b.lines != nil {
		derived[b.lines] = map[string]bool{}
		for name := range b.f.Derive.Lines {
			derived[b.lines][name] = true
		}
	}
	into := map[*catalog.Table]bool{}
	isWhole := map[*catalog.Table]bool{}
	for _, t := range b.reads.Lookups {
		isWhole[t] = true
	}
	for _, r := range b.reads.Refs {
		if r.To != b.header {
			into[r.To] = true
		}
	}
	var tables []*catalog.Table
	for t := range into {
		tables = append(tables, t)
	}
	sort.Slice(tables, func(i, j int) bool { return tables[i].FullName() < tables[j].FullName() })
	for {
		// Settle which tables must be read whole: one bad step makes a table whole, and
		// a whole table makes whole what it reaches.
		for changed := true; changed; {
			changed = false
			for _, t := range tables {
				if isWhole[t] {
					continue
				}
				for _, r := range b.refsInto(t) {
					staged := r.From == b.header || r.From == b.lines
					if (staged && derived[r.From][r.Column]) || (!staged && (!into[r.From] || isWhole[r.From] || r.From == t)) {
						isWhole[t], changed = true, true
						break
					}
				}
			}
		}
		// Order the rest so each comes after the tables its keys come from; the tables
		// of a cycle are read whole, and the rest settled again.
		order = order[:0]
		placed := map[*catalog.Table]bool{b.header: true}
		if b.lines != nil {
			placed[b.lines] = true
		}
		for progress := true; progress; {
			progress = false
			for _, t := range tables {
				if isWhole[t] || placed[t] {
					continue
				}
				ready := true
				for _, r := range b.refsInto(t) {
					ready = ready && placed[r.From]
				}
				if ready {
					order, placed[t], progress = append(order, t), true, true
				}
			}
		}
		cycle := false
		for _, t := range tables {
			if !isWhole[t] && !placed[t] {
				isWhole[t], cycle = true, true
			}
		}
		if !cycle {
			break
		}
	}
	for _, t := range tables {
		if isWhole[t] {
			whole = append(whole, t)
		}
	}
	for _, t := range b.reads.Lookups {
		if !into[t] {
			whole = append(whole, t)
		}
	}
	sort.Slice(whole, func(i, j int) bool { return whole[i].FullName() < whole[j].FullName() })
	return order, whole
}

// narrowTemp is the temp table a narrowed table is staged into.
func (b *builder) narrowTemp(t *catalog.Table) string {
	return b.tmp("r_" + t.Schema + "_" + t.Name)
}
