package specs_test

import (
	"context"
	"strings"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
)

// The sales-invoices flow (sales-invoices.yaml) on its fixture
// (testdata/fixtures/sales-invoices.sql): the golden file, and what each record
// shows.

func TestSalesInvoicesGolden(t *testing.T) {
	path := fixture.DB(t, "sales-invoices.sql")
	e := engine(t, path, fixture.SalesInvoiceSettings)
	sums, err := e.Run(context.Background(), pipeline.Request{Flows: []string{"sales-invoices"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(sums)
	fixture.Golden(t, "sales-invoices.txt", fixture.Dump(t, e.DB(), fixture.SalesInvoiceDump...))
}

func TestRerunCreatesNothingNew(t *testing.T) {
	e := engine(t, fixture.DB(t, "sales-invoices.sql"), fixture.SalesInvoiceSettings)
	req := pipeline.Request{Flows: []string{"sales-invoices"}}
	first := run(t, e, req)[0]
	before := fixture.Dump(t, e.DB(), fixture.SalesInvoiceDump...)
	second := run(t, e, req)[0]
	if first.Documents == 0 || second.Documents != 0 || second.Lines != 0 || second.Exported != first.Errors-second.Errors {
		t.Fatalf("second run must create nothing and retry only the failed records: first %v, second %v", first, second)
	}
	if second.Selected != first.Errors {
		t.Errorf("second run selects the %d records still in Export Error, got %d", first.Errors, second.Selected)
	}
	if after := fixture.Dump(t, e.DB(), fixture.SalesInvoiceDump...); after != before {
		t.Errorf("a rerun changed the data:\n%s", after)
	}
}

func TestOnlyTheGivenIDs(t *testing.T) {
	e := engine(t, fixture.DB(t, "sales-invoices.sql"), fixture.SalesInvoiceSettings)
	s := run(t, e, pipeline.Request{Flows: []string{"sales-invoices"}, IDs: []string{"INV-DISC", "INV-NOCO", "INV-OPEN"}})[0]
	if s.Selected != 2 || s.Exported != 1 || s.Errors != 1 || s.Documents != 1 || s.Lines != 3 {
		t.Fatalf("summary %v", s)
	}
	got := fixture.Dump(t, e.DB(), "SELECT id, export_status FROM oim.invoice WHERE export_status <> 'New' ORDER BY id",
		"SELECT oim_invoice_id, count(*) FROM acct.sales_invoice GROUP BY 1")
	want := "## SELECT id, export_status FROM oim.invoice WHERE export_status <> 'New' ORDER BY id\nid\texport_status\n" +
		"INV-DISC\tExported\nINV-NOCO\tExport Error\nINV-OK\tExport Error\n\n" +
		"## SELECT oim_invoice_id, count(*) FROM acct.sales_invoice GROUP BY 1\noim_invoice_id\tcount_star()\nINV-DISC\t1\n\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestAutoPostAndExtraLineStartsANewDocument(t *testing.T) {
	e := engine(t, fixture.DB(t, "sales-invoices.sql"), func(c *config.Config) {
		fixture.SalesInvoiceSettings(c)
		c.Settings.SalesInvoiceLineLimit = 5
		c.Settings.AutoPost.SalesInvoices = true
	})
	run(t, e, pipeline.Request{Flows: []string{"sales-invoices"}, IDs: []string{"INV-SPLIT"}})
	got := fixture.Dump(t, e.DB(), "SELECT sales_invoice_id, line_number, line_description FROM acct.sales_invoice_line_item ORDER BY 1, 2",
		"SELECT DISTINCT status FROM acct.sales_invoice")
	want := "## SELECT sales_invoice_id, line_number, line_description FROM acct.sales_invoice_line_item ORDER BY 1, 2\n" +
		"sales_invoice_id\tline_number\tline_description\n" +
		"SIN-INV-SPLIT/1\t1\tone\nSIN-INV-SPLIT/1\t2\ttwo\nSIN-INV-SPLIT/1\t3\tthree\nSIN-INV-SPLIT/1\t4\tfour, product given\nSIN-INV-SPLIT/1\t5\tfive\n" +
		"SIN-INV-SPLIT/2\t1\tDiscount\n\n" +
		"## SELECT DISTINCT status FROM acct.sales_invoice\nstatus\nComplete\n\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestEditedSpecChangesTheOutput(t *testing.T) {
	dir := fixture.CopySpecs(t, func(name, text string) string {
		if name != "sales-invoices.yaml" {
			return text
		}
		text = strings.Replace(text, "Derive Period: {value: true}", "Derive Period: {value: false}", 1)
		return strings.Replace(text, `status not in ["Open", "Proforma"]`, `status not in ["Open", "Proforma", "Voided"]`, 1)
	})
	e := engine(t, fixture.DB(t, "sales-invoices.sql"), func(c *config.Config) { fixture.SalesInvoiceSettings(c); c.Specs = dir })
	run(t, e, pipeline.Request{Flows: []string{"sales-invoices"}})
	got := fixture.Dump(t, e.DB(), "SELECT DISTINCT derive_period FROM acct.sales_invoice",
		"SELECT export_status FROM oim.invoice WHERE id = 'INV-SC'")
	want := "## SELECT DISTINCT derive_period FROM acct.sales_invoice\nderive_period\nfalse\n\n" +
		"## SELECT export_status FROM oim.invoice WHERE id = 'INV-SC'\nexport_status\nNew\n\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
