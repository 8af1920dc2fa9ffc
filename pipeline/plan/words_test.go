package plan_test

import (
	"testing"

	"github.com/oimconnect/oimconnect/pipeline/plan"
)

func TestWords(t *testing.T) {
	for step, want := range map[string]string{
		"c":                           "selecting the records",
		"lc":                          "reading their lines",
		"r oim.sales_order":           "reading oim.sales_order",
		"o0":                          "mapping the documents' rows",
		"o12":                         "mapping the documents' rows",
		"free lc":                     "freeing memory",
		"insert acct.sales_invoice":   "writing acct.sales_invoice",
		"write back oim.invoice_line": "writing back to oim.invoice_line",
		"mark errors oim.invoice":     "marking the failures in oim.invoice",
		"transform":                   "running the plugins",
		"oimconnect_acct.x_pending":   "oimconnect_acct.x_pending",
		"o":                           "o",
		"oops":                        "oops",
	} {
		if got := plan.Words(step); got != want {
			t.Errorf("Words(%q) = %q, want %q", step, got, want)
		}
	}
}

// Every step of every flow's plan says in words what it does: the progress a person
// watches never shows the plan's shorthand.
func TestEveryStepHasWords(t *testing.T) {
	set, m := model(t, nil)
	for _, f := range set.Ordered() {
		for _, opt := range []plan.Options{{}, {Explain: true, IDs: []string{"X-1"}}} {
			p := build(t, f, m, opt)
			for _, st := range append(append(append([]plan.Statement{}, p.Prelude...), p.Stage...), p.Write...) {
				if plan.Words(st.Name) == st.Name {
					t.Errorf("%s: step %q has no words", f.Name, st.Name)
				}
			}
		}
	}
}
