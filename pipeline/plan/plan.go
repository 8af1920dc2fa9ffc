// Package plan turns a flow spec into the SQL statements that export it, set-based in
// DuckDB. A plan has two parts:
//
//   - Stage builds temp tables, reading the source and target but writing neither:
//     the candidate headers with their derived fields and readiness (h), their lines
//     (l), the line sequence with splits, line numbers and document ids (seq), the
//     documents (docs), one output table per target table holding the mapped rows
//     exactly as they will be inserted (o0, o1, ...), and the reasons records cannot be
//     exported (err, bad).
//   - Write inserts the outputs of valid records and writes back links and export
//     status. The caller runs Stage and Write in one transaction.
//
// The engine knows no flow by name: everything specific comes from the spec.
package plan

import (
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/compile"
	"github.com/oimconnect/oimconnect/pipeline/spec"
)

// Statement is one SQL statement with a name for logs and errors.
type Statement struct {
	Name string
	SQL  string
	// Write is what a write statement writes, for connections that replay it in
	// another database (a PostgreSQL target or source).
	Write *Write
}

// Write is the shape of one write statement: Rows inserted into Table, or, for an
// update, Table's rows whose key equals Rows' _key set to Rows' Columns.
type Write struct {
	Table   *catalog.Table
	Update  bool
	Source  bool // writes the source (write-back and errors), not the target
	Columns []string
	Rows    string // a SELECT of _key (updates) and Columns, by those names
}

func (w *Write) statement(name string) Statement {
	cols := make([]string, len(w.Columns))
	for i, c := range w.Columns {
		cols[i] = catalog.Ident(c)
	}
	if !w.Update {
		return Statement{Name: name, Write: w, SQL: fmt.Sprintf("INSERT INTO %s (%s)\n%s", w.Table.SQLName(), strings.Join(cols, ", "), w.Rows)}
	}
	set := make([]string, len(cols))
	for i, c := range cols {
		set[i] = c + " = w." + c
	}
	return Statement{Name: name, Write: w, SQL: fmt.Sprintf("UPDATE %s SET %s\nFROM (%s) w\nWHERE %s.%s = w._key",
		w.Table.SQLName(), strings.Join(set, ", "), w.Rows, catalog.Ident(w.Table.Name), catalog.Ident(w.Table.Key))}
}

// Output is a staged table of mapped rows for one target table.
type Output struct {
	Temp    string         // the temp table (or view)
	Target  *catalog.Table // where its rows go
	Columns []string       // target columns, in insert order
	Header  bool           // the documents (not lines)
	// Check, when set, is a narrower query than Temp for the required-field check: _hkey,
	// _lkey, _kind and only the required columns that may be empty, with only the joins
	// they need.
	Check        string
	CheckColumns []string
}

// Plan is everything needed to run one flow.
type Plan struct {
	Flow string
	// Source is the header table; Status its export status column ("" when it has none).
	Source  *catalog.Table
	Status  string
	Stage   []Statement
	Write   []Statement
	Counts  string   // one row: selected, waiting, errors, documents, lines, recovered
	Temps   []string // temp tables, dropped after the run
	Views   []string // temp views, dropped before the tables
	Outputs []Output
	// Bad is the temp table of records that cannot be exported (_hkey, _msg).
	Bad string

	flow  *spec.Flow
	model *Model
	opt   Options
}

// Temp is the temp table a stage of the plan made (h, l, seq, docs, xh, ...), or ""
// when the plan has no such stage.
func (p *Plan) Temp(stage string) string {
	for _, t := range p.Temps {
		if t == p.opt.Prefix+stage {
			return t
		}
	}
	return ""
}

// Range plans the same flow for the header keys in [from, to) (empty: unbounded).
func (p *Plan) Range(from, to string) (*Plan, error) {
	opt := p.opt
	opt.KeyFrom, opt.KeyTo = from, to
	return Build(p.flow, p.model, opt)
}

// Reads reports whether the plan reads a table: a statement selects from it, rather
// than only writing into it.
func (p *Plan) Reads(t *catalog.Table) bool {
	name := t.SQLName()
	if strings.Contains(p.Counts, name) {
		return true
	}
	for _, st := range p.Stage {
		if strings.Contains(st.SQL, name) {
			return true
		}
	}
	for _, st := range p.Write {
		if strings.Contains(st.Write.Rows, name) {
			return true
		}
	}
	return false
}

// Candidates is a query listing the keys a run may select, in order (the header keys
// with an export status to process, or every key of an untracked source).
func (p *Plan) Candidates() string {
	q := "SELECT " + catalog.Ident(p.Source.Key) + " AS k FROM " + p.Source.SQLName() + " WHERE TRUE"
	if p.Status != "" {
		q += " AND " + catalog.Ident(p.Status) + " IN ('New', 'Export Error')"
	}
	if d := p.flow.Source.Date; d != "" && p.opt.From != "" {
		q += fmt.Sprintf(" AND %s >= DATE %s AND %s < DATE %s", catalog.Ident(d), catalog.Literal(p.opt.From), catalog.Ident(d), catalog.Literal(p.opt.To))
	}
	return q
}

// Options narrow a plan.
type Options struct {
	// IDs limits the run to these source records (header keys).
	IDs []string
	// Criteria names a boolean source column that must be true (automation's custom
	// criteria).
	Criteria string
	// KeyFrom and KeyTo limit the run to header keys in [KeyFrom, KeyTo); empty is
	// unbounded. A run in batches plans one range per batch.
	KeyFrom, KeyTo string
	// From and To (YYYY-MM-DD, To exclusive) limit the run to records whose document
	// date (source.date) falls in between: a backfill partition.
	From, To string
	// Settings are readable as settings.<key>.
	Settings map[string]any
	// Materialize stores the line outputs as tables, for a transform that changes them
	// in place; otherwise they are views, computed by the insert itself.
	Materialize bool
	// Recover treats a record whose documents all exist already as exported: written
	// back, not written again. For connections whose target commits before the source
	// is written back (two steps), or whose source cannot be written back (files).
	Recover bool
	// Prefix starts every temp table name.
	Prefix string
	// Explain keeps candidates that fail a select condition, with every condition's
	// outcome (_sel<i>, _rdy<i>), the values it read (_v_<section>_<i>_<j>) and the
	// given values of derived fields (_given_<field>) in h, and every rule's outcome in
	// the temp tables xh (header) and xl (lines): for `oimconnect explain`.
	Explain bool
}

// Model is the compiled object model shared by every flow.
type Model struct {
	Catalog *catalog.Catalog
	Lookups map[string]compile.Lookup
}

// NewModel applies the spec model's references and labels to the catalog and
// compiles its lookups.
func NewModel(m *spec.Model, cat *catalog.Catalog) (*Model, error) {
	var probs spec.Problems
	for _, tname := range spec.SortedKeys(m.Tables) {
		t := m.Tables[tname]
		if _, ok := cat.Table(tname); !ok {
			probs = append(probs, m.Pos.KeyErrorf([]string{"tables", tname}, "unknown table %s: the database lacks it", tname))
			continue
		}
		for _, col := range spec.SortedKeys(t.References) {
			if _, ok := cat.Table(t.References[col]); !ok {
				continue // reported once, at the table's own entry
			}
			if err := cat.AddReference(tname, col, t.References[col]); err != nil {
				probs = append(probs, m.Pos.Errorf([]string{"tables", tname, "references", col}, "%v", err))
			}
		}
		for _, label := range spec.SortedKeys(t.Labels) {
			if err := cat.AddLabel(tname, label, t.Labels[label]); err != nil {
				probs = append(probs, m.Pos.Errorf([]string{"tables", tname, "labels", label}, "%v", err))
			}
		}
	}
	out := &Model{Catalog: cat, Lookups: map[string]compile.Lookup{}}
	for _, name := range spec.SortedKeys(m.Lookups) {
		l := m.Lookups[name]
		at := []string{"lookups", name}
		t, ok := cat.Table(l.Table)
		if !ok {
			probs = append(probs, m.Pos.Errorf(append(at, "table"), "unknown table %s", l.Table))
			continue
		}
		for _, c := range append(append([]string{}, l.Match...), l.Within...) {
			if _, ok := t.Column(c); !ok {
				probs = append(probs, m.Pos.Errorf(at, "table %s has no column %s (columns: %s)", l.Table, c, strings.Join(t.ColumnNames(), ", ")))
			}
		}
		if len(l.Within) != 0 && len(l.Within) != 2 {
			probs = append(probs, m.Pos.Errorf(append(at, "within"), "within names two columns: [start, end]"))
		}
		for c := range l.Where {
			if _, ok := t.Column(c); !ok {
				probs = append(probs, m.Pos.Errorf(append(at, "where"), "table %s has no column %s", l.Table, c))
			}
		}
		out.Lookups[name] = compile.Lookup{Name: name, Table: t, Match: l.Match, Within: l.Within, Fold: l.Fold, Where: l.Where, Doc: l.Doc}
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return out, nil
}

// builder carries the state of one plan being built.
type builder struct {
	f       *spec.Flow
	m       *Model
	opt     Options
	probs   spec.Problems
	counter int

	header, lines *catalog.Table
	parent        string // line column holding the header key
	hExtra        []*catalog.Column
	lExtra        []*catalog.Column
	rawEnv, env   *compile.Env
	plan          *Plan

	kindList []kind         // the document's line kinds
	hasSeq   bool           // there is a line sequence (seq)
	kinded   bool           // source lines' kinds are kept in k (some kinds are conditional)
	target   *catalog.Table // the document table
}

func (b *builder) tmp(name string) string { return b.opt.Prefix + name }

// Build plans one flow. Spec mistakes come back as spec.Problems with positions.
func Build(f *spec.Flow, m *Model, opt Options) (*Plan, error) {
	if opt.Prefix == "" {
		opt.Prefix = "_oc_"
	}
	b := &builder{f: f, m: m, opt: opt, plan: &Plan{Flow: f.Name, flow: f, model: m, opt: opt}}
	b.build()
	if len(b.probs) > 0 {
		return nil, b.probs
	}
	return b.plan, nil
}

func (b *builder) errorf(at []string, format string, args ...any) {
	b.probs = append(b.probs, b.f.Pos.Errorf(at, format, args...))
}

// exprError reports a compile error at the expression's YAML position, with the caret.
func (b *builder) exprError(at []string, err error) {
	var ce *compile.Error
	if !errors.As(err, &ce) {
		b.errorf(at, "%v", err)
		return
	}
	p := b.f.Pos.Errorf(at, "%s\n%s", ce.Msg, compile.Caret(ce.Source, ce.From, ce.To))
	if n := b.f.Pos.Node(at...); n != nil && !strings.Contains(n.Value, "\n") {
		switch n.Style {
		case 0: // plain
			p.Column += ce.From
		case yaml.SingleQuotedStyle, yaml.DoubleQuotedStyle:
			p.Column += ce.From + 1
		}
	}
	b.probs = append(b.probs, p)
}

func (b *builder) table(at []string, name string) *catalog.Table {
	if name == "" {
		b.errorf(at, "missing table name")
		return nil
	}
	t, ok := b.m.Catalog.Table(name)
	if !ok {
		b.errorf(at, "unknown table %s (known tables: %s)", name, strings.Join(b.m.Catalog.Tables(), ", "))
	}
	return t
}

func (b *builder) column(at []string, t *catalog.Table, name string) string {
	if _, ok := t.Column(name); !ok {
		b.errorf(at, "table %s has no column %s (columns: %s)", t.FullName(), name, strings.Join(t.ColumnNames(), ", "))
	}
	return name
}

func (b *builder) build() {
	f := b.f
	b.header = b.table([]string{"source", "table"}, f.Source.Table)
	if f.Source.Lines != nil {
		b.lines = b.table([]string{"source", "lines", "table"}, f.Source.Lines.Table)
	}
	if b.header == nil || (f.Source.Lines != nil && b.lines == nil) {
		return
	}
	if f.Source.Status == "" {
		f.Source.Status = "export_status"
	}
	if f.Source.Error == "" {
		f.Source.Error = "export_error"
	}
	if f.Source.Status != "none" {
		b.column([]string{"source", "status"}, b.header, f.Source.Status)
		b.column([]string{"source", "error"}, b.header, f.Source.Error)
		b.plan.Status = f.Source.Status
	}
	b.plan.Source = b.header
	if f.Source.Date != "" {
		b.column([]string{"source", "date"}, b.header, f.Source.Date)
	}
	if b.lines == nil {
		if len(f.Rules.Lines) > 0 {
			b.errorf([]string{"rules", "lines"}, "line rules need source.lines")
		}
		if len(f.Derive.Lines) > 0 {
			b.errorf([]string{"derive", "lines"}, "derived line fields need source.lines")
		}
	}
	if b.lines != nil {
		b.parent = b.column([]string{"source", "lines", "parent"}, b.lines, f.Source.Lines.Parent)
		for i, o := range f.Source.Lines.Order {
			b.column([]string{"source", "lines", "order", fmt.Sprint(i)}, b.lines, o)
		}
	}
	consts := map[string]any{"settings": b.opt.Settings}
	for k, v := range f.Constants {
		if k == "settings" || k == "lines" || k == "doc" {
			b.errorf([]string{"constants", k}, "%s is a reserved name", k)
		}
		consts[k] = v
	}
	b.rawEnv = &compile.Env{Lookups: b.m.Lookups, Constants: consts}
	if len(b.probs) > 0 {
		return
	}
	// Every stage is planned even after a problem, so one pass reports them all; SQL
	// built after a problem is never run.
	b.stageHeaders()
	b.env = &compile.Env{Lookups: b.m.Lookups, Constants: consts, Overrides: map[string]compile.Rel{
		b.header.FullName(): b.headerRel(),
	}}
	if b.lines != nil {
		b.stageLines()
	}
	b.stageSequence()
	b.stageOutputs()
	b.stageErrors()
	if b.opt.Explain && len(b.probs) == 0 {
		b.explainRules()
	}
	b.write()
}

// tracked says whether the source has an export status to select on and write back.
func (b *builder) tracked() bool { return b.f.Source.Status != "none" }

func (b *builder) headerRel() compile.Rel {
	return compile.Rel{SQL: b.tmp("h"), Table: b.header, Extra: b.hExtra}
}

func (b *builder) linesRel() compile.Rel {
	return compile.Rel{SQL: b.tmp("l"), Table: b.lines, Extra: b.lExtra}
}

func (b *builder) add(name, sql string) {
	b.plan.Stage = append(b.plan.Stage, Statement{Name: name, SQL: sql})
}

func (b *builder) temp(name, sql string) {
	t := b.tmp(name)
	b.plan.Temps = append(b.plan.Temps, t)
	b.add(name, "CREATE OR REPLACE TEMP TABLE "+t+" AS\n"+sql)
}

// view stages a query computed where it is read, not stored.
func (b *builder) view(name, sql string) {
	t := b.tmp(name)
	b.plan.Views = append(b.plan.Views, t)
	b.add(name, "CREATE OR REPLACE TEMP VIEW "+t+" AS\n"+sql)
}

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

func key(t *catalog.Table) string { return catalog.Ident(t.Key) }

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

// givenColumns keeps, for explain, the source's own value of each derived field that is
// a column, as _given_<field>.
func (b *builder) givenColumns() string {
	out := ""
	for _, name := range spec.SortedKeys(b.f.Derive.Header) {
		if _, ok := b.header.Column(name); ok {
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
			if v, err := q.Expr(op); err == nil {
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

// stageLines builds l: the lines of ready headers, with derived fields.
func (b *builder) stageLines() {
	base := fmt.Sprintf("SELECT * FROM %s WHERE %s IN (SELECT %s FROM %s WHERE _ready)",
		b.lines.SQLName(), catalog.Ident(b.parent), key(b.header), b.tmp("h"))
	// A batch's key range lets DuckDB skip the row groups of other records' lines.
	if b.opt.KeyFrom != "" {
		base += " AND " + catalog.Ident(b.parent) + " >= " + catalog.Literal(b.opt.KeyFrom)
	}
	if b.opt.KeyTo != "" {
		base += " AND " + catalog.Ident(b.parent) + " < " + catalog.Literal(b.opt.KeyTo)
	}
	ctes, last, extra := b.derive([]string{"derive", "lines"}, b.f.Derive.Lines, b.lines, base, nil, b.aliases(), b.parent)
	b.lExtra = extra
	b.temp("l", fmt.Sprintf("WITH %s\nSELECT * FROM %s", ctes, last))
}

func (b *builder) aliases() map[string]string {
	if b.lines == nil {
		return nil
	}
	return map[string]string{"header": b.parent}
}

// derive layers derived fields over a base query as CTEs d0, d1, ...: a field that
// reads another derived field comes in a later layer. Given values win: a derived
// field that is a column keeps the column's value when it is set.
func (b *builder) derive(at []string, fields map[string]string, t *catalog.Table, base string, lines *compile.Lines, aliases map[string]string, partition string) (ctes, last string, extra []*catalog.Column) {
	levels, ok := b.layers(at, fields)
	ctes = "d0 AS (" + base + ")"
	last = "d0"
	if !ok {
		return ctes, last, nil
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
				if _, isCol := t.Column(name); !isCol {
					// Stand in for the failed field, so what reads it is still checked.
					added = append(added, &catalog.Column{Name: name, Type: catalog.Type{Kind: catalog.Any}})
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

// layers orders derived fields so each comes after the derived fields it reads.
func (b *builder) layers(at []string, fields map[string]string) ([][]string, bool) {
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
	return out, len(b.probs) == 0
}

func kindFits(src, dst catalog.Kind) bool {
	switch {
	case src == dst, src == catalog.Nil, src == catalog.Any, dst == catalog.Any:
		return true
	case src == catalog.Date && dst == catalog.Timestamp, src == catalog.Timestamp && dst == catalog.Date:
		return true
	}
	return false
}
