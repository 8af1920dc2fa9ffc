package pipeline_test

import (
	"os"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
)

// Every flow over generated data: each exported source's documents add up to its
// totals, every journal balances, and a second run creates nothing.
func TestAllFlowsReconcile(t *testing.T) {
	t.Parallel()
	path := generated(t, t.TempDir(), 800)
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
	script, err := os.ReadFile(fixture.Path("reconcile.sql"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := e.DB.Query(string(script))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	checks := 0
	for rows.Next() {
		var name string
		var bad int
		if err := rows.Scan(&name, &bad); err != nil {
			t.Fatal(err)
		}
		checks++
		if bad != 0 {
			t.Errorf("%s: %d sources do not reconcile", name, bad)
		}
	}
	if checks != 6 {
		t.Errorf("want 6 reconciliation checks, ran %d", checks)
	}
	for _, s := range run(t, e, pipeline.Request{}) {
		if s.Documents != 0 || s.Selected != s.Errors {
			t.Errorf("a second run created documents: %v", s)
		}
	}
}
