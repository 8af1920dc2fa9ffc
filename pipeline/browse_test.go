package pipeline_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
	"github.com/oimconnect/oimconnect/pipeline/store"
)

// What the console reads: a page of records by status and search, the documents a
// record became, where records stand (census), a run's report and the audit log.
func TestBrowse(t *testing.T) {
	e := engine(t, fixture.DB(t, "sales-invoices.sql"), fixture.SalesInvoiceSettings)
	ctx := context.Background()

	c, err := e.Census(ctx, "sales-invoices")
	if err != nil {
		t.Fatal(err)
	}
	if c.ByStatus["New"] != 17 || c.ByStatus["Export Error"] != 1 || c.Eligible != 7 || c.Failing != 6 {
		t.Errorf("census before the run: %+v", c)
	}
	if len(c.Waiting) != 1 || !strings.Contains(c.Waiting[0].Condition, `shipment.status == "Completed"`) || c.Waiting[0].Records != 2 {
		t.Errorf("waiting: %+v", c.Waiting)
	}
	if len(c.Left) != 2 || c.Left[0].Records != 1 || c.Left[1].Records != 2 {
		t.Errorf("untouched by a select condition (a billing document, Open or Proforma): %+v", c.Left)
	}

	// In batches (of 5 candidates here), the census adds them up: the same counts.
	batched, err := engine(t, fixture.DB(t, "sales-invoices.sql"), func(c *config.Config) { fixture.SalesInvoiceSettings(c); c.BatchSize = 5 }).Census(ctx, "sales-invoices")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(batched) != fmt.Sprint(c) {
		t.Errorf("census in batches:\n%+v\nwant\n%+v", batched, c)
	}

	sums := run(t, e, pipeline.Request{Flows: []string{"sales-invoices"}, By: "alice"})
	if sums[0].Exported != 7 {
		t.Fatalf("run: %v", sums)
	}
	page, err := e.Records(ctx, pipeline.RecordQuery{Flow: "sales-invoices", Status: "Export Error", Limit: 4})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 6 || len(page.Records) != 4 || page.Records[0].ID != "INV-BADLINES" || page.Records[0].Error == "" {
		t.Errorf("failed records, first page: total %d, %+v", page.Total, page.Records)
	}
	page, err = e.Records(ctx, pipeline.RecordQuery{Flow: "sales-invoices", Status: "Export Error", Limit: 4, Offset: 4})
	if err != nil || len(page.Records) != 2 {
		t.Errorf("second page: %+v %v", page.Records, err)
	}
	page, err = e.Records(ctx, pipeline.RecordQuery{Flow: "sales-invoices", Search: "nobody ltd"})
	if err != nil || page.Total != 1 || page.Records[0].ID != "INV-NOCO" {
		t.Errorf("search in the reasons: %+v %v", page, err)
	}
	page, err = e.Records(ctx, pipeline.RecordQuery{Flow: "sales-invoices", Search: "50%_"})
	if err != nil || page.Total != 0 {
		t.Errorf("a search is text, not a pattern: %+v %v", page, err)
	}

	docs, err := e.Documents(ctx, "sales-invoices", "INV-SPLIT")
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 || docs[0].Get("id") != "SIN-INV-SPLIT/1" || len(docs[0].Lines) != 3 || docs[1].Get("id") != "SIN-INV-SPLIT/2" || len(docs[1].Lines) == 0 {
		t.Errorf("INV-SPLIT's two documents (line limit 3) with their lines: %+v", docs)
	}
	if docs, err := e.Documents(ctx, "sales-invoices", "INV-NOCO"); err != nil || len(docs) != 0 {
		t.Errorf("a failed record has no document: %v %v", docs, err)
	}
	src, err := e.Source(ctx, "sales-invoices", "INV-SPLIT")
	if err != nil {
		t.Fatal(err)
	}
	if src.Table != "oim.invoice" || src.Get("id") != "INV-SPLIT" || src.Get("export_status") != "Exported" || len(src.Lines) < 4 ||
		src.Lines[0].Table != "oim.invoice_line" || src.Lines[0].Get("invoice_id") != "INV-SPLIT" || src.Lines[0].Get("line_number") != "1" {
		t.Errorf("INV-SPLIT as it is now, with its lines in order: %+v", src)
	}
	if src, err := e.Source(ctx, "sales-invoices", "INV-NONE"); err != nil || src != nil {
		t.Errorf("no such record: %v %v", src, err)
	}

	runs, err := e.Runs(ctx, 5)
	if err != nil || len(runs) != 1 || runs[0].By != "alice" {
		t.Fatalf("runs: %+v %v", runs, err)
	}
	rep, err := e.Report(ctx, runs[0].RunID, 100)
	if err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]store.Outcome{}
	for _, o := range rep {
		outcomes[o.Record] = o
	}
	if len(rep) != 13 || outcomes["INV-SPLIT"].Documents != "SIN-INV-SPLIT/1, SIN-INV-SPLIT/2" || outcomes["INV-NOCO"].Outcome != "failed" ||
		!strings.Contains(outcomes["INV-NOCO"].Reason, "Nobody Ltd") {
		t.Errorf("the run's report: %+v", rep)
	}

	if err := e.Audit(ctx, store.AuditEntry{At: time.Now(), Actor: "alice", Action: "export", Detail: "sales-invoices INV-OK"}); err != nil {
		t.Fatal(err)
	}
	log, err := e.AuditLog(ctx, 10)
	if err != nil || len(log) != 1 || log[0].Actor != "alice" || log[0].Detail != "sales-invoices INV-OK" {
		t.Errorf("audit log: %+v %v", log, err)
	}
}
