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

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/compile"
	"github.com/oimconnect/oimconnect/pipeline/spec"
	"gopkg.in/yaml.v3"
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

func key(t *catalog.Table) string { return catalog.Ident(t.Key) }

func (b *builder) aliases() map[string]string {
	if b.lines == nil {
		return nil
	}
	return map[string]string{"header": b.parent}
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
