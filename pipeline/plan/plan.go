// Package plan turns a flow spec into the SQL statements that export it, set-based in
// DuckDB. A plan starts from the records that can be exported now and stages only what
// they reach, so a run costs what changed, not what history holds:
//
//   - Prelude stages the candidates (c): the header records whose export status is New
//     or Export Error, narrowed by --id, a backfill partition's dates, the automation
//     criteria, and the select conditions that read only the record's own columns.
//   - Stage builds temp tables, one stage per file in build order: a batch's range of
//     the candidates (b), their lines (lc) and, hop by hop, the rows their reference
//     columns reach in every other table (r_<table>; see reach); the candidates with
//     their derived fields and readiness (h); the ready records' lines (l, after which
//     lc is dropped: see free); the line sequence with splits, line numbers and
//     document ids (seq), the documents (docs); one output per target table holding
//     the mapped rows exactly as they will be inserted (o0, o1, ...); the documents
//     that exist already (x); and the reasons records cannot be exported (err, bad).
//     It reads the source and target but writes neither.
//   - Write inserts the outputs of valid records and writes back links and export
//     status. The caller runs Write in one transaction.
//
// Statements that read a source or target table are Fetches, which a store may run
// where the table lives (a PostgreSQL database) instead of in DuckDB. Tables a lookup
// searches, or that derived fields reach, are read whole (Plan.Whole). Every other
// statement reads only temp tables.
//
// The engine knows no flow by name: everything specific comes from the spec.
package plan

import (
	"errors"
	"fmt"
	"slices"
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
	// Fetch is what a fetch statement stages of a source or target table, for stores
	// that read it where it lives (PostgreSQL) rather than run SQL.
	Fetch *Fetch
}

// Fetch stages rows of one table of the source or the target into a temp table: the
// rows Where selects that meet one of Any (when given), and, with Keys, only those
// whose Column is among the values Keys lists (a query over temp tables staged before).
// Where and Any are plain SQL on the table's columns that PostgreSQL runs as well;
// Filter, DuckDB SQL on the table's columns (qualified by Alias), is applied to what was
// read. The statement's SQL does all of it in DuckDB, each of Any a branch of its own:
// DuckDB 1.1 pushes an equality into the table scan (reading the other columns of the
// few rows that match), but an IN list or an OR is a filter over every row.
type Fetch struct {
	Table  *catalog.Table
	Into   string
	Column string
	Keys   string
	Any    []string
	Where  string
	Filter string
	Alias  string
	// Columns, when set, are the only columns staged (in the table's order): those the
	// flow reads; a Filter may read no other. A lookup by key fetches each row's column
	// segments, so fewer columns cost less (at ten million lines, 20 lines' three
	// columns took half the time of their fifteen).
	Columns []*catalog.Column
	// From, when set, is the relation read in the table's stead (a dry run's: the
	// table with the rows its earlier flows would insert).
	From string
}

// from is the relation the fetch reads.
func (f *Fetch) from() string {
	if f.From != "" {
		return f.From
	}
	return f.Table.SQLName()
}

// Selected is what the fetch stages: Columns, or every column of the table.
func (f *Fetch) Selected() []*catalog.Column {
	if f.Columns != nil {
		return f.Columns
	}
	return f.Table.Columns
}

// SelectList is the fetch's columns in SQL (* for all).
func (f *Fetch) SelectList() string {
	if f.Columns == nil {
		return "*"
	}
	names := make([]string, len(f.Columns))
	for i, c := range f.Columns {
		names[i] = catalog.Ident(c.Name)
	}
	return strings.Join(names, ", ")
}

// Statement is the fetch as a named statement, its SQL running it all in DuckDB.
func (f *Fetch) Statement(name string) Statement {
	var where []string
	if f.Keys != "" {
		where = append(where, fmt.Sprintf("%s IN (%s)", catalog.Ident(f.Column), f.Keys))
	}
	for _, w := range []string{f.Where, f.Filter} {
		if w != "" {
			where = append(where, w)
		}
	}
	from := "SELECT " + f.SelectList() + " FROM " + f.from()
	if f.Alias != "" {
		from += " " + f.Alias
	}
	branch := func(extra string) string {
		w := where
		if extra != "" {
			w = append([]string{extra}, where...)
		}
		if len(w) == 0 {
			return from
		}
		return from + "\nWHERE " + strings.Join(w, "\n  AND ")
	}
	var branches []string
	for _, a := range f.Any {
		branches = append(branches, branch(a))
	}
	if len(f.Any) == 0 {
		branches = []string{branch("")}
	}
	sql := fmt.Sprintf("CREATE OR REPLACE TEMP TABLE %s AS\n%s", f.Into, strings.Join(branches, "\nUNION ALL\n"))
	return Statement{Name: name, SQL: sql, Fetch: f}
}

// Lookup is the fetch's statement for these key values, each an equality on the key
// (a primary key: DuckDB reads one row by index for each, where the semi-join of the
// statement's SQL scans the key column of the whole table). For a Keys fetch on the
// table's key.
func (f *Fetch) Lookup(keys []string) string {
	from := "SELECT " + f.SelectList() + " FROM " + f.from()
	if f.Alias != "" {
		from += " " + f.Alias
	}
	var rest string
	for _, w := range []string{f.Where, f.Filter} {
		if w != "" {
			rest += " AND " + w
		}
	}
	branches := []string{from + " WHERE FALSE"}
	if len(keys) > 0 {
		branches = branches[:0]
	}
	for _, k := range keys {
		branches = append(branches, from+" WHERE "+catalog.Ident(f.Column)+" = "+catalog.Literal(k)+rest)
	}
	return fmt.Sprintf("CREATE OR REPLACE TEMP TABLE %s AS\n%s", f.Into, strings.Join(branches, "\nUNION ALL\n"))
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
	// Links are the columns holding the source row's own key: the link from a
	// document, or a line, back to its OIM record, which a plugin may not change.
	Links []string
	// Check, when set, is a narrower query than Temp for the required-field check: _hkey,
	// _lkey, _kind and only the required columns that may be empty, with only the joins
	// they need.
	Check        string
	CheckColumns []string
	// Empty is, per required column a mapping may leave empty and per line kind (0:
	// the document), the reason a record cannot be exported when it does, in the
	// spec's words.
	Empty map[string]map[int]string
}

// Plan is everything needed to run one flow.
type Plan struct {
	Flow string
	// Source is the header table; Status its export status column ("" when it has none).
	Source *catalog.Table
	Status string
	// Lines is the line table (nil for a flow without lines).
	Lines *catalog.Table
	// Prelude stages the flow's candidates once (Candidates); a run in batches runs it
	// once and each batch's Stage reads its key range of them.
	Prelude    []Statement
	Candidates string
	Stage      []Statement
	Write      []Statement
	Counts     string   // one row: selected, waiting, errors, documents, lines, recovered
	Temps      []string // the stage's temp tables, dropped after the batch
	Views      []string // temp views, dropped before the tables
	Outputs    []Output
	// Bad is the temp table of records that cannot be exported (_hkey, _msg).
	Bad string
	// Failures is a query over the staged flow giving the records that cannot be
	// exported and why (record, reason), in key order, but for those the store left for
	// the next run (Guard).
	Failures string
	// Outcomes is a query over the staged flow giving each record's outcome: record,
	// outcome (exported, recovered, failed, waiting), documents (comma-separated), reason.
	Outcomes string
	// Fingerprint is the SQL of a candidate's fingerprint: a hash of its columns but for
	// the export status and error ("" for an untracked source).
	Fingerprint string
	// Whole are the tables the stage reads as they are, not narrowed to the rows the
	// candidates reach: the tables lookups search (by name, by date range) and those
	// reached through derived fields. A store that copies tables copies these whole.
	Whole []*catalog.Table
	// Guard, when the flow writes back to its source, is how the store checks that OIM
	// did not change the batch's records since they were read.
	Guard *Guard

	flow  *spec.Flow
	model *Model
	opt   Options
}

// Leftovers are the temp tables and views a step outside the plan (a transform) made
// for the plan's write to read, such as an output replaced by a view over its changes:
// the engine drops them with the plan's own after the batch. The plan itself is never
// changed by them.
type Leftovers struct {
	Temps []string
	Views []string
}

// Temp is the temp table a stage of the plan made (c, h, l, seq, docs, xh, ...), or ""
// when the plan has no such stage.
func (p *Plan) Temp(stage string) string {
	for _, t := range append(append([]string{}, p.Temps...), p.Candidates) {
		if t == p.opt.Prefix+stage {
			return t
		}
	}
	return ""
}

// Range plans the same flow for the candidate keys in [from, to) (empty: unbounded):
// one batch of a run, reading the candidates the Prelude staged.
func (p *Plan) Range(from, to string) (*Plan, error) {
	opt := p.opt
	opt.KeyFrom, opt.KeyTo = from, to
	return Build(p.flow, p.model, opt)
}

// Reads reports whether the plan reads a table (as it is, or the rows it fetches),
// rather than only writing into it.
func (p *Plan) Reads(t *catalog.Table) bool {
	for _, w := range p.Whole {
		if w == t {
			return true
		}
	}
	for _, st := range append(append([]Statement{}, p.Prelude...), p.Stage...) {
		if st.Fetch != nil && st.Fetch.Table == t {
			return true
		}
	}
	return false
}

// Dated says the flow's records have a document date (source.date): a backfill
// partitions them by it.
func (p *Plan) Dated() bool { return p.flow.Source.Date != "" }

// DateCounts is a query counting the candidates per range of document date, given as
// rows (i, from, to) of VALUES: (i, n, fresh), where fresh counts those still New
// (never tried, or exported by a run whose write-back to a linked source was cut
// short), as against those that failed before.
func (p *Plan) DateCounts(ranges string) string {
	d := catalog.Ident(p.flow.Source.Date)
	fresh := "count(c." + catalog.Ident(p.Source.Key) + ")"
	if p.Status != "" {
		fresh = fmt.Sprintf("count(c.%s) FILTER (WHERE c.%s = 'New')", catalog.Ident(p.Source.Key), catalog.Ident(p.Status))
	}
	return fmt.Sprintf("SELECT r.i, count(c.%s), %s FROM (VALUES %s) r(i, f, t) LEFT JOIN %s c ON c.%s >= CAST(r.f AS DATE) AND c.%s < CAST(r.t AS DATE) GROUP BY 1 ORDER BY 1",
		catalog.Ident(p.Source.Key), fresh, ranges, p.Candidates, d, d)
}

// Within plans the same flow for the candidates whose document date is in [from, to):
// one batch of a backfill, whole partitions of it.
func (p *Plan) Within(from, to string) (*Plan, error) {
	opt := p.opt
	opt.Dates = [2]string{from, to}
	return Build(p.flow, p.model, opt)
}

// Keys is a query over the staged candidates listing their keys in order, as k.
func (p *Plan) Keys() string {
	return "SELECT " + catalog.Ident(p.Source.Key) + " AS k FROM " + p.Candidates + " ORDER BY 1"
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
	// date (source.date) falls in between: a backfill's dates.
	From, To string
	// Dates, when set, is a batch of a backfill: the candidates whose document date is
	// in [Dates[0], Dates[1]) (whole partitions).
	Dates [2]string
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
	// Deferred names a temp table (k VARCHAR, fp UBIGINT) of records in Export Error
	// whose retry is not due: a candidate in it is left out while its Fingerprint is
	// still fp (it has not changed since it failed).
	Deferred string
	// WholeTables stages from whole tables: every path joins the table itself, and no
	// select condition is applied to the candidates. The shape before candidate-first
	// staging, which the tests compare it with.
	WholeTables bool
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
	// standIns are the derived fields that failed (normalized), and the references
	// their names make: what reads them is not reported again.
	standIns map[string]bool

	header, lines  *catalog.Table
	status, errCol string // the header's export status and error columns ("": untracked)
	parent         string // line column holding the header key
	hExtra         []*catalog.Column
	lExtra         []*catalog.Column
	rawEnv, env    *compile.Env
	plan           *Plan

	// reads records what the queries read (the first pass). The second pass stages
	// narrowOrder's tables narrowed (narrow: full name -> temp table), reading first's
	// record of where their keys come from; see stageReach.
	reads       *compile.Reads
	first       *builder
	narrowOrder []*catalog.Table
	narrow      map[string]string
	cands       string // the candidates this plan reads: c, or b (a batch's range of c)

	kindList []kind         // the document's line kinds
	hasSeq   bool           // there is a line sequence (seq)
	kinded   bool           // source lines' kinds are kept in k (some kinds are conditional)
	target   *catalog.Table // the document table
	linked   []string       // the document's columns written when an existing row is only linked (upsert.linked)
}

func (b *builder) tmp(name string) string { return b.opt.Prefix + name }

// Build plans one flow. Spec mistakes come back as spec.Problems with positions.
//
// It plans twice: the first time to learn which tables the flow's paths and lookups
// read, and from which columns (compile.Reads); the second time staging, after the
// candidates, only the rows they reach, table by table (reach), every path reading
// those narrowed copies instead of whole tables.
func Build(f *spec.Flow, m *Model, opt Options) (*Plan, error) {
	if opt.Prefix == "" {
		opt.Prefix = "_oc_"
	}
	first := newBuilder(f, m, opt)
	first.reads = &compile.Reads{}
	first.build()
	if len(first.probs) > 0 {
		return nil, first.probs
	}
	b := newBuilder(f, m, opt)
	b.first = first
	b.narrowOrder, b.plan.Whole = first.narrowing()
	if opt.WholeTables {
		b.plan.Whole = append(b.plan.Whole, b.narrowOrder...)
		b.narrowOrder = nil
	}
	b.narrow = map[string]string{}
	for _, t := range b.narrowOrder {
		b.narrow[t.FullName()] = b.narrowTemp(t)
	}
	b.build()
	if len(b.probs) > 0 {
		return nil, b.probs
	}
	return b.plan, nil
}

func newBuilder(f *spec.Flow, m *Model, opt Options) *builder {
	return &builder{f: f, m: m, opt: opt, plan: &Plan{Flow: f.Name, flow: f, model: m, opt: opt}}
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
	if ce.Missing != "" && b.standIns[catalog.Normalize(ce.Missing)] {
		return // the field's own mistake is reported already
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
	if f.Source.Status != "none" {
		b.status, b.errCol = f.Source.Status, f.Source.Error
		if b.status == "" {
			b.status = "export_status"
		}
		if b.errCol == "" {
			b.errCol = "export_error"
		}
		b.column([]string{"source", "status"}, b.header, b.status)
		b.column([]string{"source", "error"}, b.header, b.errCol)
		b.plan.Status = b.status
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
		b.plan.Lines = b.lines
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
	narrowed := map[string]compile.Rel{}
	for name, temp := range b.narrow {
		t, _ := b.m.Catalog.Table(name)
		narrowed[name] = compile.Rel{SQL: temp, Table: t}
	}
	b.rawEnv = &compile.Env{Lookups: b.m.Lookups, Constants: consts, Overrides: narrowed, Reads: b.reads}
	if len(b.probs) > 0 {
		return
	}
	// Every stage is planned even after a problem, so one pass reports them all; SQL
	// built after a problem is never run. The stages, in this order, one file each:
	b.stageCandidates() // stage1: c, the records that can be exported now (b: a batch's)
	b.stageReach()      // stage2: their lines (lc) and the rows their paths reach
	b.stageHeaders()    // stage3: h, derived fields, select and ready
	overrides := map[string]compile.Rel{b.header.FullName(): b.headerRel()}
	for name, rel := range narrowed {
		overrides[name] = rel
	}
	b.env = &compile.Env{Lookups: b.m.Lookups, Constants: consts, Overrides: overrides, Reads: b.reads}
	if b.lines != nil {
		b.stageLines() // stage4: l, the ready records' lines with derived fields
	}
	b.stageSequence() // stage5: seq and docs, line numbers, splits, document ids
	b.stageOutputs()  // stage6: o0, o1, ..., the rows as they will be written
	b.stageErrors()   // stage7: err and bad, every reason a record cannot be exported
	if b.opt.Explain && len(b.opt.IDs) > 0 && len(b.probs) == 0 {
		b.explainRules() // one record's every rule; not for a census of them all
	}
	b.write() // stage8: the writes and the counts
	b.free(b.tmp("lc"))
}

// free drops a staged table right after the last stage statement reading it, unless a
// view, a write, the counts, the outcomes or the fingerprint read it too. The
// candidates' lines (lc, every column of every candidate's line) are read last by l:
// kept to the end of the batch, they would sit beside l through the write, in a bulk
// run (every record a candidate) a second copy of the batch's lines.
func (b *builder) free(t string) {
	last := -1
	for i, st := range b.plan.Stage {
		if mentions(st.SQL, t) {
			if strings.HasPrefix(st.SQL, "CREATE OR REPLACE TEMP VIEW") {
				return // read wherever the view is
			}
			last = i
		}
	}
	if last < 0 || mentions(b.plan.Counts, t) || mentions(b.plan.Outcomes, t) || mentions(b.plan.Fingerprint, t) {
		return
	}
	for _, st := range b.plan.Write {
		if mentions(st.SQL, t) {
			return
		}
	}
	for _, o := range b.plan.Outputs {
		if mentions(o.Check, t) {
			return
		}
	}
	drop := Statement{Name: "free " + strings.TrimPrefix(t, b.opt.Prefix), SQL: "DROP TABLE IF EXISTS " + t}
	b.plan.Stage = slices.Insert(b.plan.Stage, last+1, drop)
}

// mentions reports whether SQL names a temp table (as a whole name, not a part of one).
func mentions(sql, name string) bool {
	for from := 0; ; {
		i := strings.Index(sql[from:], name)
		if i < 0 {
			return false
		}
		i += from
		end := i + len(name)
		if (i == 0 || !isIdentByte(sql[i-1])) && (end == len(sql) || !isIdentByte(sql[end])) {
			return true
		}
		from = i + 1
	}
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// tracked says whether the source has an export status to select on and write back.
func (b *builder) tracked() bool { return b.status != "" }

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
