package console

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline"
)

// The page reconciles the period and flows asked, as `oimconnect reconcile` does: per
// flow and month the totals, and every record whose documents do not add up, linked to
// its page; a mistake in the request is shown as such.
func TestReconciliationPage(t *testing.T) {
	h := newHarness(t, nil)
	h.run(pipeline.Request{Flows: []string{"sales-invoices"}})
	c := h.login("vic")
	r := c.get("/reconciliation")
	wantIn(t, "form", r, `name="from"`, `name="to"`, "Reconcile")
	if strings.Contains(r.body, "<h2>") {
		t.Errorf("the form alone reconciled")
	}
	from, to := h.query("SELECT min(invoice_date)::VARCHAR FROM oim.invoice"), h.query("SELECT max(invoice_date)::VARCHAR FROM oim.invoice")
	exported := h.query("SELECT count(*)::VARCHAR FROM oim.invoice WHERE export_status = 'Exported'")
	r = c.get("/reconciliation?run=1&from=" + from + "&to=" + to + "&flow=sales-invoices")
	wantIn(t, "report", r, "<h2>sales-invoices</h2>", "Every record adds up.")
	if strings.Count(r.body, `<td class="num">0.00</td>`) == 0 || exported == "0" {
		t.Errorf("the months of %s exported invoices, each with no difference:\n%s", exported, r.body)
	}

	// Someone edits a document line by hand: the invoice is listed, with its link.
	var invoice string
	if err := h.engine.Use(context.Background(), func(e *pipeline.Engine) error {
		if err := e.DB().QueryRow(`SELECT i.id FROM acct.sales_invoice_line_item l JOIN oim.invoice i ON l.sales_invoice_id LIKE 'SIN-' || i.id || '/%' ORDER BY l.id LIMIT 1`).Scan(&invoice); err != nil {
			return err
		}
		_, err := e.DB().Exec(`UPDATE acct.sales_invoice_line_item SET unit_price = unit_price + 1, quantity = 1
			WHERE id = (SELECT min(id) FROM acct.sales_invoice_line_item WHERE sales_invoice_id LIKE 'SIN-' || ? || '/%')`, invoice)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	r = c.get("/reconciliation?run=1&from=" + from + "&to=" + to)
	wantIn(t, "mismatch", r, "Records that do not add up", `href="/flows/sales-invoices/records/`+invoice+`"`, "its documents total")

	r = c.get("/reconciliation?run=1&from=" + from + "&to=2024-13-45")
	wantIn(t, "a date that is none", r, `class="problem"`, `name="from"`)
	if r.status != http.StatusBadRequest {
		t.Errorf("a date that is none: status %d, want 400", r.status)
	}
	r = c.get("/reconciliation?run=1&from=" + from + "&to=" + to + "&flow=vendor-accounts")
	wantIn(t, "a flow with nothing to reconcile", r, `class="problem"`, "vendor-accounts")
	if r.status != http.StatusBadRequest {
		t.Errorf("a flow with nothing to reconcile: status %d, want 400", r.status)
	}
}
