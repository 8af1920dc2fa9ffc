package reconcile_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
	"github.com/oimconnect/oimconnect/pipeline/reconcile"
)

func demo(c *config.Config) {
	c.Settings.DefaultCompany = "Acme UK Ltd"
	c.Settings.TaxSummaryLine = true
	c.Settings.AutoPost = config.AutoPost{SalesInvoices: true, SalesCreditNotes: true, PayableInvoices: true, PayableCreditNotes: true, Journals: true}
}

// Everything a run exports adds up, flow by flow and month by month; a document changed
// by hand, or a journal that no longer balances, is listed with the record, the period
// and the difference.
func TestReconcile(t *testing.T) {
	path := fixture.Copy(t, fixture.Generated(t, t.TempDir(), 400), filepath.Join(t.TempDir(), "oimconnect.duckdb"))
	e := fixture.Engine(t, path, demo)
	ctx := context.Background()
	if _, err := e.Run(ctx, pipeline.Request{}); err != nil {
		t.Fatal(err)
	}
	rep, err := reconcile.Run(ctx, e, reconcile.Request{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || len(rep.Flows) != 5 {
		t.Fatalf("a fresh export reconciles, every flow but the vendor accounts: %+v", rep)
	}
	var records int64
	for _, p := range rep.Flows[2].Periods { // sales-invoices
		records += p.Records
		if p.Difference != "0.00" {
			t.Errorf("%s %s: difference %s", rep.Flows[2].Flow, p.Period, p.Difference)
		}
	}
	if rep.Flows[2].Flow != "sales-invoices" || records == 0 {
		t.Fatalf("sales invoices reconciled: %+v", rep.Flows[2])
	}

	// Someone edits a sales invoice line and a journal line by hand.
	var line, invoice, journal string
	db := e.DB()
	if err := db.QueryRow(`SELECT l.id, i.id FROM acct.sales_invoice_line_item l JOIN oim.invoice i ON l.sales_invoice_id LIKE 'SIN-' || i.id || '/%'
		WHERE i.invoice_date >= DATE '2025-03-01' AND i.invoice_date < DATE '2025-04-01' ORDER BY 1 LIMIT 1`).Scan(&line, &invoice); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE acct.sales_invoice_line_item SET unit_price = unit_price + 1, quantity = 1 WHERE id = ?", line); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("SELECT journal_id FROM acct.journal_line_item ORDER BY 1 LIMIT 1").Scan(&journal); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE acct.journal_line_item SET value = value + 0.05 WHERE id = (SELECT min(id) FROM acct.journal_line_item WHERE journal_id = ?)", journal); err != nil {
		t.Fatal(err)
	}
	rep, err = reconcile.Run(ctx, e, reconcile.Request{From: "2025-03-01", To: "2025-03-31", Flows: []string{"sales-invoices"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Flows) != 1 || len(rep.Flows[0].Mismatches) != 1 {
		t.Fatalf("one mismatch in March 2025: %+v", rep)
	}
	m := rep.Flows[0].Mismatches[0]
	if m.Record != invoice || m.Period != "2025-03" || m.Difference == "0.00" || !strings.Contains(m.Reason, "its documents total") {
		t.Errorf("the mismatch names %s: %+v", invoice, m)
	}
	if len(rep.Flows[0].Periods) != 1 || rep.Flows[0].Periods[0].Period != "2025-03" {
		t.Errorf("only March 2025: %+v", rep.Flows[0].Periods)
	}
	rep, err = reconcile.Run(ctx, e, reconcile.Request{Flows: []string{"journals"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Flows[0].Mismatches) != 1 || !strings.Contains(rep.Flows[0].Mismatches[0].Reason, journal+" does not balance: its lines sum to 0.05") {
		t.Errorf("the journal that no longer balances: %+v", rep.Flows[0].Mismatches)
	}
	if _, err := reconcile.Run(ctx, e, reconcile.Request{Flows: []string{"vendor-accounts"}}); err == nil {
		t.Error("vendor accounts have nothing to reconcile: say so")
	}
	if _, err := reconcile.Run(ctx, e, reconcile.Request{From: "2025-03-01"}); err == nil {
		t.Error("--from without --to is refused")
	}
}
