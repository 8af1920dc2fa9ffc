package console

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/oimconnect/oimconnect/pipeline"
)

// The records of a flow: a page at a time, by export status, searched by id, name or
// error text; each with its status, the reason in plain words, and its documents.

// pageSize is how many records a page lists.
const pageSize = 50

// maxPage bounds the page asked for, so that its offset cannot overflow.
const maxPage = 1 << 40

// recordRow is one record as the list shows it.
type recordRow struct {
	pipeline.Record
	Reason string
}

// recordsData is the records page's.
type recordsData struct {
	Flow, Description string
	Tracked           bool
	Status, Search    string
	Statuses          []string
	Rows              []recordRow
	Total             int64
	Page, Pages       int
	From, To          int64
	Prev, Next        string // links, "" at the ends
}

func (s *Server) records(w http.ResponseWriter, r *http.Request) {
	flow := r.PathValue("flow")
	f := s.specs.Flows[flow]
	if f == nil {
		s.fail(w, r, notFound("no flow %s", flow))
		return
	}
	q := r.URL.Query()
	d := recordsData{Flow: flow, Description: f.Description, Tracked: f.Source.Status != "none", Statuses: statuses,
		Status: q.Get("status"), Search: strings.TrimSpace(q.Get("q"))}
	if d.Status != "" && !contains(statuses, d.Status) {
		d.Status = ""
	}
	d.Page, _ = strconv.Atoi(q.Get("page"))
	d.Page = min(max(d.Page, 1), maxPage) // never an offset that overflows
	var page pipeline.RecordPage
	err := s.read(r.Context(), func(e *pipeline.Engine) error {
		var err error
		page, err = s.recordPage(r.Context(), e, flow, &d)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.From, d.To = int64((d.Page-1)*pageSize+1), int64((d.Page-1)*pageSize+len(page.Records))
	for _, rec := range page.Records {
		d.Rows = append(d.Rows, recordRow{Record: rec, Reason: plainReason(rec, d.Tracked)})
	}
	link := func(p int) string {
		v := url.Values{}
		if d.Status != "" {
			v.Set("status", d.Status)
		}
		if d.Search != "" {
			v.Set("q", d.Search)
		}
		v.Set("page", strconv.Itoa(p))
		return "?" + v.Encode()
	}
	if d.Page > 1 {
		d.Prev = link(d.Page - 1)
	}
	if d.Page < d.Pages {
		d.Next = link(d.Page + 1)
	}
	s.render(w, r, http.StatusOK, "records", view{Title: flow + ": records", Nav: "records", Data: d})
}

// recordPage reads the page of records d asks for, and sets d's Page, Pages and Total: a
// page past the last (an old link, the records exported meanwhile) is the last page,
// read again, rather than an empty page numbered beyond the records.
func (s *Server) recordPage(ctx context.Context, e *pipeline.Engine, flow string, d *recordsData) (pipeline.RecordPage, error) {
	read := func() (pipeline.RecordPage, error) {
		return e.Records(ctx, pipeline.RecordQuery{Flow: flow, Status: d.Status, Search: d.Search,
			Offset: (d.Page - 1) * pageSize, Limit: pageSize})
	}
	page, err := read()
	if err != nil {
		return page, err
	}
	d.Total = page.Total
	d.Pages = int((page.Total + pageSize - 1) / pageSize)
	switch {
	case d.Pages == 0:
		d.Page = 1
		return page, nil
	case d.Page <= d.Pages:
		return page, nil
	}
	d.Page = d.Pages
	page, err = read()
	d.Total = page.Total
	return page, err
}

// plainReason says where a record stands, in words.
func plainReason(rec pipeline.Record, tracked bool) string {
	switch {
	case !tracked && rec.Link != "":
		return "linked to " + rec.Link + "; exported again when it changes"
	case !tracked:
		return "no account yet: created by the next run"
	}
	switch rec.Status {
	case "Exported":
		if rec.Link != "" {
			return "exported: its last document is " + rec.Link
		}
		return "exported (no document was needed)"
	case "Export Error":
		return "not exported: " + rec.Error + " (tried again by the next run)"
	case "New":
		return "not exported yet: open it to see whether it is eligible now or what it waits for"
	}
	return "export status " + rec.Status
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
