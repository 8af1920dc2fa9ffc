package explain_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/explain"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
)

var salesDump = []string{
	fixture.Table("acct.sales_invoice"),
	fixture.Table("acct.sales_invoice_line_item"),
	"SELECT id, export_status, export_error, sales_invoice_id FROM oim.invoice ORDER BY id",
	"SELECT id, sales_invoice_line_item_id FROM oim.invoice_line ORDER BY id",
}

func TestExplain(t *testing.T) {
	e := fixture.Engine(t, fixture.DB(t, "sales-invoices.sql"), func(c *config.Config) {
		c.Settings.SalesInvoiceLineLimit = 3
		c.Settings.DefaultCompany = "Acme UK Ltd"
		c.Settings.TaxSummaryLine = true
	})
	ctx := context.Background()
	before := fixture.Dump(t, e.DB(), salesDump...)
	cases := []struct {
		id   string
		want []string
	}{
		{"INV-DISC", []string{
			"sales-invoices: record INV-DISC (export status New)",
			"  pass  status not in [\"Open\", \"Proforma\"]\n          status = Closed",
			"  account_id = A-BILL  (derived: present(billing_account_id) ?? customer_account_id)",
			"  pass  line IL-DISC-1: product != nil",
			"outcome: exported: 4 row(s) written",
			"      unit_price                   -5.50",
			"      unit_price                   12.34",
		}},
		{"INV-GIVEN", []string{"  accounting_company_id = C2  (given on the record)"}},
		{"INV-BADLINES", []string{
			"  FAIL  line IL-BAD-2: product != nil\n          -> no product: item ITM-3 has no product group",
			"  pass  line IL-BAD-1: product != nil",
			"outcome: Export Error: line IL-BAD-2: no product: item ITM-3 has no product group; line IL-BAD-3",
			"derived line fields:\n  product_id  (derived: line_type in item_types ? item.product_group.product_id : line_type_product(line_type).product_id)\n" +
				"    line IL-BAD-1 = PR-WIDGET\n    line IL-BAD-2 = null\n    line IL-BAD-3 = null\n    line IL-BAD-4 = null\n    line IL-BAD-5 = PR-NOPE  (given on the line)\n",
		}},
		{"INV-NOCO", []string{"  FAIL  accounting_company != nil\n          -> no company: no Accounting company is named \"Nobody Ltd\"", "  n/a   accounting_currency != nil"}},
		{"INV-SHIPOPEN", []string{"  FAIL  shipment.status == \"Completed\"", "          shipment.status = Open", "outcome: waits: a ready condition does not hold yet"}},
		{"INV-BILLDOC", []string{"  FAIL  empty(billing_document_id)\n          billing_document_id = BD-1", "outcome: left untouched: a select condition does not hold"}},
	}
	for _, c := range cases {
		x, err := explain.Record(ctx, e, "sales-invoices", c.id)
		if err != nil {
			t.Fatalf("%s: %v", c.id, err)
		}
		got := x.String()
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: explanation lacks %q:\n%s", c.id, w, got)
			}
		}
	}
	if after := fixture.Dump(t, e.DB(), salesDump...); after != before {
		t.Errorf("explain wrote:\n%s", after)
	}
	if _, err := e.Run(ctx, pipeline.Request{Flows: []string{"sales-invoices"}, IDs: []string{"INV-OK"}}); err != nil {
		t.Fatal(err)
	}
	x, err := explain.Record(ctx, e, "sales-invoices", "INV-OK")
	if err != nil || !strings.Contains(x.Outcome, `not a candidate: its export_status is "Exported"`) {
		t.Errorf("an exported record: %v %v", x, err)
	}
	var in *fault.InputError
	if _, err := explain.Record(ctx, e, "sales-invoices", "NOPE"); !errors.As(err, &in) {
		t.Errorf("an unknown record is an input error, got %v", err)
	}
}

// A list a condition reads (a spec's constant, a setting) is shown with its items.
func TestExplainShowsLists(t *testing.T) {
	e := fixture.Engine(t, fixture.DB(t, "journals.sql"), func(c *config.Config) {
		c.Settings.DefaultCompany = "Acme UK Ltd"
		c.Settings.JournalCustomTransactionTypes = []string{"Quarantine"}
	})
	x, err := explain.Record(context.Background(), e, "journals", "T-OWN")
	if err != nil {
		t.Fatal(err)
	}
	got := x.String()
	for _, want := range []string{"          eligible_types = [Accrual Reversal, Add Logistics Cost, ", ", Void PPV]\n",
		"          settings.journal_custom_transaction_types = [Quarantine]\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("the explanation lacks %q:\n%s", want, got)
		}
	}
}
