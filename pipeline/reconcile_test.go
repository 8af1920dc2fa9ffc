package pipeline_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
)

// Every flow over generated data: each exported source's documents add up to its
// totals, every journal balances, and a second run creates nothing.
func TestAllFlowsReconcile(t *testing.T) {
	t.Parallel()
	path := fixture.Generated(t, t.TempDir(), 800)
	e := engine(t, path, func(c *config.Config) {
		c.Settings.DefaultCompany = benchCompany
		c.Settings.SalesInvoiceLineLimit = 5
		c.Settings.PayableInvoiceLineLimit = 3
		c.Settings.AutoPost = config.AutoPost{SalesInvoices: true, SalesCreditNotes: true, PayableInvoices: true, PayableCreditNotes: true, Journals: true}
	})
	sums := run(t, e, pipeline.Request{})
	if len(sums) != 6 {
		t.Fatalf("want all six flows, got %v", sums)
	}
	for _, s := range sums {
		if s.Documents == 0 || s.Exported == 0 {
			t.Errorf("%s created no documents on the generated data: %v", s.Flow, s)
		}
	}
	if bad := fixture.Mismatches(t, e.DB(), ""); len(bad) > 0 {
		t.Errorf("exports that do not reconcile (check, id, source, documents):\n%s", strings.Join(bad, "\n"))
	}
	for _, s := range run(t, e, pipeline.Request{}) {
		if s.Documents != 0 || s.Selected != s.Errors {
			t.Errorf("a second run created documents: %v", s)
		}
	}
}

// Running in small batches (each its own transaction) exports exactly what one
// transaction per flow does.
func TestBatchesChangeNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := fixture.Generated(t, dir, 500)
	settings := func(batch int) func(*config.Config) {
		return func(c *config.Config) {
			c.Settings.DefaultCompany = benchCompany
			c.Settings.SalesInvoiceLineLimit = 5
			c.Settings.AutoPost = config.AutoPost{SalesInvoices: true, SalesCreditNotes: true, PayableInvoices: true, PayableCreditNotes: true, Journals: true}
			c.BatchSize = batch
		}
	}
	whole := engine(t, fixture.Copy(t, src, filepath.Join(dir, "whole.duckdb")), settings(0))
	batched := engine(t, fixture.Copy(t, src, filepath.Join(dir, "batched.duckdb")), settings(37))
	a, b := run(t, whole, pipeline.Request{}), run(t, batched, pipeline.Request{})
	for i := range a {
		a[i].Duration, b[i].Duration = 0, 0
		a[i].Failures, b[i].Failures = nil, nil
		if fmt.Sprint(a[i]) != fmt.Sprint(b[i]) {
			t.Errorf("summaries differ:\nwhole   %v\nbatched %v", a[i], b[i])
		}
	}
	tables := []string{"acct.account", "acct.sales_invoice", "acct.sales_invoice_line_item", "acct.sales_credit_note_line_item",
		"acct.payable_invoice", "acct.payable_invoice_line_item", "acct.payable_invoice_expense_line_item",
		"acct.payable_credit_note", "acct.journal", "acct.journal_line_item"}
	var queries []string
	for _, tb := range tables {
		queries = append(queries, fixture.Table(tb))
	}
	queries = append(queries, "SELECT id, export_status, export_error FROM oim.invoice ORDER BY id",
		"SELECT id, export_status, export_error FROM oim.inventory_transaction ORDER BY id")
	if fixture.Dump(t, whole.DB(), queries...) != fixture.Dump(t, batched.DB(), queries...) {
		t.Error("the batched run's documents or statuses differ from the whole run's")
	}
	var batches int
	if err := batched.DB().QueryRow("SELECT count(*) FROM connector.run WHERE detail LIKE '%batch%'").Scan(&batches); err != nil || batches < 20 {
		t.Errorf("want the batches in the run history, got %d (%v)", batches, err)
	}
}
