package console

import (
	"context"
	"net/http"
	"time"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/explain"
)

// The record page: the source record as it is now (fields and lines), the documents
// it became, and (loaded after the page: it stages the record as a run would) each
// select and ready condition with the values it read, the derived fields and where each
// came from, every rule's outcome, and what it would create. Operators export it here.

// recordData is the record page's.
type recordData struct {
	Flow, ID   string
	Tracked    bool
	Status     string
	Error      string // the export error on the record
	Source     *pipeline.Document
	LineCols   []string // the source lines' columns
	Documents  []docView
	Job        *jobView // the export started from this page, when still known
	Exportable bool
}

// docView is a document with its lines as a table.
type docView struct {
	pipeline.Document
	LineCols []string
	LineRows [][]string
}

func newDocView(d pipeline.Document) docView {
	v := docView{Document: d}
	v.LineCols, v.LineRows = table(d.Lines)
	return v
}

// table is rows as columns and values.
func table(rows []pipeline.Row) (cols []string, vals [][]string) {
	if len(rows) == 0 {
		return nil, nil
	}
	for _, f := range rows[0].Fields {
		cols = append(cols, f[0])
	}
	for _, r := range rows {
		row := make([]string, len(r.Fields))
		for i, f := range r.Fields {
			row[i] = f[1]
		}
		vals = append(vals, row)
	}
	return cols, vals
}

func (s *Server) record(w http.ResponseWriter, r *http.Request) {
	flow, id := r.PathValue("flow"), r.PathValue("id")
	f := s.specs.Flows[flow]
	if f == nil {
		s.fail(w, r, notFound("no flow %s", flow))
		return
	}
	d := recordData{Flow: flow, ID: id, Tracked: f.Source.Status != "none"}
	err := s.read(r.Context(), func(e *pipeline.Engine) error {
		src, err := e.Source(r.Context(), flow, id)
		if err != nil {
			return err
		}
		if src == nil {
			return notFound("%s has no record %q", f.Source.Table, id)
		}
		d.Source = src
		docs, err := e.Documents(r.Context(), flow, id)
		for _, doc := range docs {
			d.Documents = append(d.Documents, newDocView(doc))
		}
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status := f.Source.Status
	if status == "" {
		status = "export_status"
	}
	d.Status = d.Source.Get(status)
	errCol := f.Source.Error
	if errCol == "" {
		errCol = "export_error"
	}
	d.Error = d.Source.Get(errCol)
	d.Exportable = !d.Tracked || d.Status == "New" || d.Status == "Export Error"
	d.LineCols, _ = table(d.Source.Lines)
	if jb, ok := s.jobs.get(r.URL.Query().Get("job")); ok && jb.Flow == flow {
		v := jb.view(s.now())
		d.Job = &v
	}
	s.render(w, r, http.StatusOK, "record", view{Title: id, Nav: "records", Data: d})
}

// LineRows are the source lines' values, for the page's table.
func (d recordData) LineRows() [][]string {
	_, rows := table(d.Source.Lines)
	return rows
}

// explainView is the explanation fragment's data.
type explainView struct {
	Flow, ID  string
	X         *explain.Explanation
	Documents []tableView // what it would create, by table
	Pending   bool
	Err       string
}

// tableView is rows of one table.
type tableView struct {
	Table string
	Cols  []string
	Rows  [][]string
}

// byTable groups rows of consecutive tables.
func byTable(rows []pipeline.Row) []tableView {
	var out []tableView
	for i := 0; i < len(rows); {
		j := i
		for j < len(rows) && rows[j].Table == rows[i].Table {
			j++
		}
		cols, vals := table(rows[i:j])
		out = append(out, tableView{Table: rows[i].Table, Cols: cols, Rows: vals})
		i = j
	}
	return out
}

// explainFragment explains one record (a dry run of it, computed in the background and
// kept a few seconds).
func (s *Server) explainFragment(w http.ResponseWriter, r *http.Request) {
	flow, id := r.PathValue("flow"), r.PathValue("id")
	if s.specs.Flows[flow] == nil {
		s.fail(w, r, notFound("no flow %s", flow))
		return
	}
	x, err, ok := s.explains.get(r.Context(), flow+"\x00"+id, 5*time.Second, func(ctx context.Context) (*explain.Explanation, error) {
		var x *explain.Explanation
		err := s.engine.Use(ctx, func(e *pipeline.Engine) error {
			var err error
			x, err = explain.Record(ctx, e, flow, id)
			return err
		})
		return x, err
	})
	v := explainView{Flow: flow, ID: id, X: x, Pending: !ok}
	if err != nil {
		v.Err = s.reason(err)
	}
	if x != nil {
		v.Documents = byTable(x.Documents)
	}
	s.fragment(w, r, "explain", v)
}
