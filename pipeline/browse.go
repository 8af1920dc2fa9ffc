package pipeline

import (
	"context"
	"database/sql"

	"fmt"
	"strings"

	"github.com/oimconnect/oimconnect/pipeline/config"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/plan"
	"github.com/oimconnect/oimconnect/pipeline/spec"
	"github.com/oimconnect/oimconnect/pipeline/store"
)

// What the console shows of a flow's records and documents, read where they live on
// connections of their own: the reads never wait for a run.

// Row is one row of a table, as text.
type Row struct {
	Table  string
	Fields [][2]string // column, value
}

// Get is a field's value ("" when the row has no such field).
func (r Row) Get(col string) string {
	for _, f := range r.Fields {
		if f[0] == col {
			return f[1]
		}
	}
	return ""
}

// RecordQuery asks for a page of a flow's source records.
type RecordQuery struct {
	Flow string
	// Status is an export status (New, Export Error, Exported), or "" for all.
	Status string
	// Search finds records whose id, name or export error holds it (any case).
	Search        string
	Offset, Limit int
}

// RecordPage is a page of records, and how many the query finds in all.
type RecordPage struct {
	Records []Record
	Total   int64
}

// Record is a flow's source record as the console lists it.
type Record struct {
	ID, Name, Status, Error, Date string
	// Link is the write-back link: the last document created from it.
	Link string
}

// Model is the engine's object model over the store's catalog, read once: for
// planners beside the runs' (reconciliation).
func (e *Engine) Model(ctx context.Context) (*plan.Model, error) {
	e.modelMu.Lock()
	defer e.modelMu.Unlock()
	if e.cached != nil {
		return e.cached, nil
	}
	cat, err := catalog.Read(ctx, e.store.DB(), e.store.Schemas()...)
	if err != nil {
		return nil, err
	}
	m, err := plan.NewModel(e.specs.Model, cat)
	if err != nil {
		return nil, fault.Input(err)
	}
	e.cached = m
	return m, nil
}

func (e *Engine) flowTable(ctx context.Context, flow string) (*spec.Flow, *catalog.Table, *plan.Model, error) {
	f := e.specs.Flows[flow]
	if f == nil {
		_, err := e.flows([]string{flow})
		return nil, nil, nil, err
	}
	m, err := e.Model(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	t, ok := m.Catalog.Table(f.Source.Table)
	if !ok {
		return nil, nil, nil, fault.Inputf("flow %s: no table %s", flow, f.Source.Table)
	}
	return f, t, m, nil
}

// like is a case-insensitive contains-match of col, in SQL DuckDB and PostgreSQL share.
func like(col, text string) string {
	esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(text)
	return "CAST(" + catalog.Ident(col) + " AS VARCHAR) ILIKE " + catalog.Literal("%"+esc+"%") + ` ESCAPE '\'`
}

// Records lists a page of a flow's source records, by id.
func (e *Engine) Records(ctx context.Context, q RecordQuery) (RecordPage, error) {
	f, t, _, err := e.flowTable(ctx, q.Flow)
	if err != nil {
		return RecordPage{}, err
	}
	status, errCol := f.Source.Status, f.Source.Error
	if status == "" {
		status = "export_status"
	}
	if errCol == "" {
		errCol = "export_error"
	}
	tracked := status != "none"
	cols := []string{t.Key}
	pick := func(c string) int {
		if _, ok := t.Column(c); !ok || c == "" {
			return -1
		}
		cols = append(cols, c)
		return len(cols) - 1
	}
	iName, iDate, iLink := pick("name"), pick(f.Source.Date), pick(f.Document.WriteBack.Link)
	iStatus, iErr := -1, -1
	if tracked {
		iStatus, iErr = pick(status), pick(errCol)
	}
	var where []string
	if q.Status != "" && tracked {
		where = append(where, catalog.Ident(status)+" = "+catalog.Literal(q.Status))
	}
	if s := strings.TrimSpace(q.Search); s != "" {
		or := []string{like(t.Key, s)}
		if iName >= 0 {
			or = append(or, like("name", s))
		}
		if iErr >= 0 {
			or = append(or, like(errCol, s))
		}
		where = append(where, "("+strings.Join(or, " OR ")+")")
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	rows, total, err := e.store.Page(ctx, store.Query{Table: t, Cols: cols, Where: strings.Join(where, " AND "),
		Order: catalog.Ident(t.Key), Limit: q.Limit, Offset: q.Offset})
	if err != nil {
		return RecordPage{}, err
	}
	get := func(r []string, i int) string {
		if i < 0 {
			return ""
		}
		return r[i]
	}
	page := RecordPage{Total: total}
	for _, r := range rows {
		page.Records = append(page.Records, Record{ID: r[0], Name: get(r, iName), Status: get(r, iStatus), Error: get(r, iErr), Date: get(r, iDate), Link: get(r, iLink)})
	}
	return page, nil
}

// Document is a written document: its header row and its lines.
type Document struct {
	Row
	Lines []Row
}

// Documents are the documents written from one record of a flow, with their lines:
// the document ids are deterministic (<id_prefix><record>/<split>), or, for a flow that
// links existing documents (upsert), the record's link.
func (e *Engine) Documents(ctx context.Context, flow, id string) ([]Document, error) {
	f, src, m, err := e.flowTable(ctx, flow)
	if err != nil {
		return nil, err
	}
	target, ok := m.Catalog.Table(f.Document.Into)
	if !ok {
		return nil, fault.Inputf("flow %s: no table %s", flow, f.Document.Into)
	}
	where := catalog.Ident(target.Key) + " LIKE " + catalog.Literal(strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(f.Document.IDPrefix+id)+"/%") + ` ESCAPE '\'`
	if f.Document.Upsert != nil {
		link := f.Document.WriteBack.Link
		if link == "" {
			return nil, nil
		}
		rows, _, err := e.store.Page(ctx, store.Query{Table: src, Cols: []string{link}, Where: catalog.Ident(src.Key) + " = " + catalog.Literal(id)})
		if err != nil || len(rows) == 0 || rows[0][0] == "" {
			return nil, err
		}
		where = catalog.Ident(target.Key) + " = " + catalog.Literal(rows[0][0])
	}
	docs, err := e.rowsOf(ctx, target, where)
	if err != nil || len(docs) == 0 {
		return nil, err
	}
	out := make([]Document, len(docs))
	ids := make([]string, len(docs))
	for i, d := range docs {
		out[i].Row = d
		ids[i] = catalog.Literal(d.Get(target.Key))
	}
	seen := map[string]bool{}
	for _, k := range f.Document.Lines {
		lt, ok := m.Catalog.Table(k.Into)
		if k.Skip || !ok || seen[lt.FullName()+k.Parent] {
			continue
		}
		seen[lt.FullName()+k.Parent] = true
		lines, err := e.rowsOf(ctx, lt, catalog.Ident(k.Parent)+" IN ("+strings.Join(ids, ", ")+")")
		if err != nil {
			return nil, err
		}
		for _, l := range lines {
			for i := range out {
				if out[i].Get(target.Key) == l.Get(k.Parent) {
					out[i].Lines = append(out[i].Lines, l)
				}
			}
		}
	}
	return out, nil
}

// Source is one source record of a flow as it is now, every column, with its source
// lines (in source line order) when the flow has lines; nil when there is no such
// record.
func (e *Engine) Source(ctx context.Context, flow, id string) (*Document, error) {
	f, t, m, err := e.flowTable(ctx, flow)
	if err != nil {
		return nil, err
	}
	rows, err := e.rowsOf(ctx, t, catalog.Ident(t.Key)+" = "+catalog.Literal(id))
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	rec := &Document{Row: rows[0]}
	if f.Source.Lines == nil {
		return rec, nil
	}
	lt, ok := m.Catalog.Table(f.Source.Lines.Table)
	if !ok {
		return nil, fault.Inputf("flow %s: no table %s", flow, f.Source.Lines.Table)
	}
	order := []string{}
	for _, c := range append(append([]string{}, f.Source.Lines.Order...), lt.Key) {
		order = append(order, catalog.Ident(c))
	}
	res, _, err := e.store.Page(ctx, store.Query{Table: lt, Cols: lt.ColumnNames(),
		Where: catalog.Ident(f.Source.Lines.Parent) + " = " + catalog.Literal(id), Order: strings.Join(order, ", ")})
	if err != nil {
		return nil, err
	}
	for _, r := range res {
		row := Row{Table: lt.FullName()}
		for j, c := range lt.ColumnNames() {
			row.Fields = append(row.Fields, [2]string{c, r[j]})
		}
		rec.Lines = append(rec.Lines, row)
	}
	return rec, nil
}

// rowsOf reads every column of the rows where selects, by key.
func (e *Engine) rowsOf(ctx context.Context, t *catalog.Table, where string) ([]Row, error) {
	rows, _, err := e.store.Page(ctx, store.Query{Table: t, Cols: t.ColumnNames(), Where: where, Order: catalog.Ident(t.Key)})
	if err != nil {
		return nil, err
	}
	out := make([]Row, len(rows))
	for i, r := range rows {
		out[i].Table = t.FullName()
		for j, c := range t.ColumnNames() {
			out[i].Fields = append(out[i].Fields, [2]string{c, r[j]})
		}
	}
	return out, nil
}

// Stage runs statements that only stage (fetches and temp tables, such as a
// plan.Reconciliation's) on a connection of its own, calls look on it, and drops the
// temp tables and views: nothing is written. It takes its turn with the runs.
func (e *Engine) Stage(ctx context.Context, stmts []plan.Statement, temps, views []string, look func(ctx context.Context, q *sql.Conn) error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	conn, err := e.store.DB().Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	defer drop(ctx, conn, temps, views)
	if err := e.runStatements(ctx, conn, stmts, e.stepper("reconcile", nil)); err != nil {
		return err
	}
	return look(ctx, conn)
}

// Config is the engine's configuration.
func (e *Engine) Config() *config.Config { return e.cfg }

// Report is what a run did with each record (at most limit): its documents, or why it
// failed.
func (e *Engine) Report(ctx context.Context, runID string, limit int) ([]store.Outcome, error) {
	return e.store.Report(ctx, runID, limit)
}

// Audit records an action a user took (in the console).
func (e *Engine) Audit(ctx context.Context, a store.AuditEntry) error {
	return e.store.Audit(ctx, a)
}

// AuditLog lists the latest actions users took.
func (e *Engine) AuditLog(ctx context.Context, limit int) ([]store.AuditEntry, error) {
	return e.store.AuditLog(ctx, limit)
}

// Census is where a flow's records stand now: by export status, and of the records
// still to export, how many are eligible now, would fail, wait (and for which ready
// condition), or are left untouched (and by which select condition).
type Census struct {
	Flow     string
	ByStatus map[string]int64 // New, Export Error, Exported; "" for a source without
	Eligible int64            // selected, ready and valid
	Failing  int64            // selected and ready, but would fail
	Waiting  []Reason         // per ready condition that does not hold
	Left     []Reason         // per select condition that does not hold
}

// Reason is a condition and how many records it holds back.
type Reason struct {
	Condition string
	Records   int64
}

// Census evaluates a flow's records still to export, without writing anything: it
// costs what a dry run of the flow costs (the records still to export, not history).
func (e *Engine) Census(ctx context.Context, flow string) (Census, error) {
	f, t, _, err := e.flowTable(ctx, flow)
	if err != nil {
		return Census{}, err
	}
	c := Census{Flow: flow, ByStatus: map[string]int64{}}
	status := f.Source.Status
	if status == "" {
		status = "export_status"
	}
	if status == "none" {
		_, n, err := e.store.Page(ctx, store.Query{Table: t, Cols: []string{t.Key}, Limit: 1})
		if err != nil {
			return c, err
		}
		c.ByStatus[""] = n
	} else {
		for _, st := range []string{"New", "Export Error", "Exported"} {
			_, n, err := e.store.Page(ctx, store.Query{Table: t, Cols: []string{t.Key}, Where: catalog.Ident(status) + " = " + catalog.Literal(st), Limit: 1})
			if err != nil {
				return c, err
			}
			c.ByStatus[st] = n
		}
	}
	// A flow's candidates may run in several batches: look adds each batch's counts.
	left, waiting := make([]int64, len(f.Select)), make([]int64, len(f.Ready))
	var ready int64
	look := func(ctx context.Context, tx *sql.Tx, p *plan.Plan, s Summary) error {
		c.Failing += s.Errors
		var cols []string
		for i := range f.Select {
			cols = append(cols, fmt.Sprintf("count(*) FILTER (WHERE NOT _sel%d)", i))
		}
		for i := range f.Ready {
			cols = append(cols, fmt.Sprintf("count(*) FILTER (WHERE _selected AND NOT _rdy%d)", i))
		}
		cols = append(cols, "count(*) FILTER (WHERE _ready)")
		vals := make([]int64, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := tx.QueryRowContext(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+p.Temp("h")).Scan(ptrs...); err != nil {
			return err
		}
		for i := range f.Select {
			left[i] += vals[i]
		}
		for i := range f.Ready {
			waiting[i] += vals[len(f.Select)+i]
		}
		ready += vals[len(vals)-1]
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	req := Request{Flows: []string{flow}, DryRun: true, explain: true, look: look}
	cat, plans, err := e.plan(ctx, req)
	if err != nil {
		return c, err
	}
	if err := e.store.Prepare(ctx, cat, plans, true); err != nil {
		return c, err
	}
	if _, err = e.runPlan(ctx, plans[0], req, false, nil); err != nil {
		return c, err
	}
	for i, cond := range f.Select {
		if left[i] > 0 {
			c.Left = append(c.Left, Reason{cond, left[i]})
		}
	}
	for i, cond := range f.Ready {
		if waiting[i] > 0 {
			c.Waiting = append(c.Waiting, Reason{cond, waiting[i]})
		}
	}
	c.Eligible = ready - c.Failing
	return c, nil
}
