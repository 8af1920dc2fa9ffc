// Package compile translates spec expressions (expr-lang syntax) and relationship paths
// ("Item > Product Group > Dimension 1") into DuckDB SQL over a scope. Every path step
// becomes one LEFT JOIN by key, shared by all expressions of a query, so a whole flow is
// evaluated set-based, never a query per record.
//
// The translation keeps expr's meaning where SQL could differ: equality treats nil as a
// value (IS NOT DISTINCT FROM), nil is false in a condition, a comparison with nil is
// false, and nil concatenates as the empty string. The package tests compare the SQL
// results with expr's own evaluation on the same rows.
package compile

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/fault"
)

// Rel is a relation rows come from: a table, a staged temp table or a subquery.
type Rel struct {
	SQL   string         // FROM item
	Table *catalog.Table // whose columns, references and labels apply
	// Extra are columns beyond the table's: fields derived by the spec.
	Extra []*catalog.Column
	// Doc are the document fields an output mapping can read as doc.<name>
	// (name -> column of the relation).
	Doc map[string]string
}

func (r Rel) resolve(step string) (catalog.Step, bool) {
	for _, c := range r.Extra {
		if c.Name == step {
			return catalog.Step{Column: c}, true
		}
	}
	n := catalog.Normalize(step)
	for _, c := range r.Extra {
		if c.Type.Ref != nil && strings.HasSuffix(c.Name, "_id") && catalog.RefName(c.Name) == n {
			return catalog.Step{Column: c, Row: true}, true
		}
	}
	if s, ok := r.Table.Resolve(step); ok {
		return s, true
	}
	for _, c := range r.Extra {
		if catalog.Normalize(c.Name) == n {
			return catalog.Step{Column: c}, true
		}
	}
	return catalog.Step{}, false
}

func (r Rel) columnNames() []string {
	names := r.Table.ColumnNames()
	for _, c := range r.Extra {
		names = append(names, c.Name)
	}
	return names
}

// noField says the relation has no field of that name, and which it is likely a typo
// of, if any.
func (r Rel) noField(name string) string {
	var extra []string
	for _, c := range r.Extra {
		extra = append(extra, c.Name)
	}
	hint := ""
	if col := Suggest(r.Table, name, extra...); col != "" {
		hint = ": did you mean " + col + "?"
	}
	return fmt.Sprintf("%s has no field %q%s (fields: %s)", r.Table.FullName(), name, hint, strings.Join(r.columnNames(), ", "))
}

// Suggest is the column of a table (or one of extra) that a name no step resolves is
// likely a typo of ("Acount" for the label Account: account_id), or "".
func Suggest(t *catalog.Table, name string, extra ...string) string {
	spellings := t.Spellings()
	for _, c := range extra {
		spellings[catalog.Normalize(c)] = c
	}
	return spellings[fault.Nearest(catalog.Normalize(name), slices.Sorted(maps.Keys(spellings)))]
}

// Lines is the collection of a header's lines, which header expressions aggregate
// with any/all/none/count/sum, and min/max/first/last of map(lines, .x).
type Lines struct {
	Rel    Rel
	Parent string   // the line column holding the header key
	Order  []string // the columns giving source line order, for first and last
}

// Lookup finds a row of Table by value: `company_named(name)`, `period_for(company, date)`.
type Lookup struct {
	Name  string
	Table *catalog.Table
	Match []string // columns equal to the leading arguments
	// Within, when set, names a start and an end column: the last argument must lie
	// between them (inclusive).
	Within []string
	// Fold compares text trimmed and case-insensitively.
	Fold bool
	// Where restricts the rows searched: column -> required value.
	Where map[string]string
	Doc   string
}

func (l Lookup) arity() int {
	if len(l.Within) == 2 {
		return len(l.Match) + 1
	}
	return len(l.Match)
}

// Env is what every expression of a flow can name besides its root row.
type Env struct {
	Lookups map[string]Lookup
	// Constants are named values: the spec's constants, and "settings" (a nested map).
	Constants map[string]any
	// Overrides replace a table by a staged relation wherever a path steps into it,
	// so lines see their header's derived fields, and a table narrowed to the rows the
	// candidates reach is read as that narrowed copy.
	Overrides map[string]Rel
	// Reads, when set, records what the queries read.
	Reads *Reads
}

// Reads is what a flow's queries read of each table: every step through a reference
// column (the table and column it starts from, the table it reaches), every column a
// path reads, and every table a lookup searches. A planner stages from it only the
// rows the candidates reach, and of them only the columns read.
type Reads struct {
	Refs    []Ref
	Lookups []*catalog.Table
	// Columns are the columns read of each table (by full name), through paths and
	// fields: a table's key, read to join it, is not listed.
	Columns map[string]map[string]bool
}

// Ref is one step through a reference column: From's Column holds keys of To.
type Ref struct {
	From   *catalog.Table
	Column string
	To     *catalog.Table
}

func (r *Reads) ref(from *catalog.Table, column string, to *catalog.Table) {
	if r == nil {
		return
	}
	for _, x := range r.Refs {
		if x.From == from && x.Column == column && x.To == to {
			return
		}
	}
	r.Refs = append(r.Refs, Ref{From: from, Column: column, To: to})
}

func (r *Reads) column(t *catalog.Table, name string) {
	if r == nil || t == nil {
		return
	}
	if r.Columns == nil {
		r.Columns = map[string]map[string]bool{}
	}
	cols := r.Columns[t.FullName()]
	if cols == nil {
		cols = map[string]bool{}
		r.Columns[t.FullName()] = cols
	}
	cols[name] = true
}

func (r *Reads) lookup(t *catalog.Table) {
	if r == nil {
		return
	}
	for _, x := range r.Lookups {
		if x == t {
			return
		}
	}
	r.Lookups = append(r.Lookups, t)
}

// Scope is where a query's expressions are evaluated.
type Scope struct {
	Root  Rel
	Lines *Lines // header scopes only
	// Aliases are identifiers that step through a root reference column,
	// e.g. "header" -> "invoice_id" on a line.
	Aliases map[string]string
	// Partition names the root column grouping sibling rows (a line's header key), for
	// window functions such as balanced().
	Partition string
	Env       *Env
}

func (e *Env) rel(t *catalog.Table) Rel {
	if e != nil {
		if r, ok := e.Overrides[t.FullName()]; ok {
			return r
		}
	}
	return Rel{SQL: t.SQLName(), Table: t}
}

func (e *Env) function(name string) (Function, bool) { return FunctionNamed(name) }
