package console

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// fakeReconciler answers with a fixed report and remembers what it was asked.
type fakeReconciler struct {
	from, to string
	flows    []string
	fail     error
}

func (f *fakeReconciler) Reconcile(_ context.Context, from, to string, flows []string) (*ReconcileReport, error) {
	f.from, f.to, f.flows = from, to, flows
	if f.fail != nil {
		return nil, f.fail
	}
	return &ReconcileReport{From: from, To: to, Flows: []ReconcileFlow{{
		Flow: "journals",
		Periods: []ReconcilePeriod{
			{Period: "2024-01", Records: 1200, Source: "10500.25", Documents: "10500.25", Difference: "0.00"},
			{Period: "2024-02", Records: 980, Source: "8800.10", Documents: "8790.10", Difference: "10.00", Unbalanced: 1},
		},
		Mismatches: []ReconcileMismatch{{Record: "IT-0000042", Period: "2024-02", Source: "10.00", Documents: "0.00", Difference: "10.00", Reason: "journal does not balance"}},
	}}}, nil
}

// With a Reconciler the page asks it for the period and flows given and shows, per
// flow and month, the totals, the unbalanced journals and the records that do not add
// up; its failure is shown as such.
func TestReconciliationPage(t *testing.T) {
	rec := &fakeReconciler{}
	h := newHarness(t, nil, func(o *Options) { o.Reconciler = rec })
	c := h.login("vic")
	r := c.get("/reconciliation")
	wantIn(t, "form", r, `name="from"`, `name="to"`, "Reconcile")
	if rec.from != "" {
		t.Errorf("the form alone reconciled")
	}
	r = c.get("/reconciliation?run=1&from=2024-01-01&to=2024-03-31&flow=journals")
	if rec.from != "2024-01-01" || rec.to != "2024-03-31" || strings.Join(rec.flows, ",") != "journals" {
		t.Errorf("asked %+v", rec)
	}
	wantIn(t, "report", r, "<h2>journals</h2>", `<td>2024-02</td><td class="num">980</td><td class="num">8800.10</td><td class="num">8790.10</td><td class="num">10.00</td><td class="num">1</td>`,
		`href="/flows/journals/records/IT-0000042"`, "journal does not balance")
	rec.fail = errors.New("no period given")
	r = c.get("/reconciliation?run=1&from=2024-01-01&to=2024-03-31")
	wantIn(t, "failure", r, "no period given")
	if rec.flows != nil {
		t.Errorf("every flow is no flow named: %v", rec.flows)
	}
}
