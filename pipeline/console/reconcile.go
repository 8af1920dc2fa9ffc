package console

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// The reconciliation page: per flow and period, the source records' totals against
// the documents' totals, the journals that do not balance, and every record whose
// documents do not add up. The console computes nothing itself: a Reconciler does
// (the reconcile package, wired in by the command), and without one the page says
// reconciliation is not available.

// Reconciler reconciles the sources with the documents from the day from to the day
// to (YYYY-MM-DD, both included), for some flows (none: all).
type Reconciler interface {
	Reconcile(ctx context.Context, from, to string, flows []string) (*ReconcileReport, error)
}

// ReconcileReport is a reconciliation: per flow, its periods and its mismatches.
type ReconcileReport struct {
	From, To string
	Flows    []ReconcileFlow
}

// ReconcileFlow is one flow's reconciliation.
type ReconcileFlow struct {
	Flow       string
	Periods    []ReconcilePeriod
	Mismatches []ReconcileMismatch
}

// ReconcilePeriod is one month of a flow: its exported records, the source and
// document totals (decimals as text: money is never a float), their difference, and
// the journals that do not balance.
type ReconcilePeriod struct {
	Period                        string // YYYY-MM
	Records                       int64
	Source, Documents, Difference string
	Unbalanced                    int64
}

// ReconcileMismatch is a record whose documents do not add up to it.
type ReconcileMismatch struct {
	Record, Period, Source, Documents, Difference, Reason string
}

// reconcileData is the page's.
type reconcileData struct {
	Available bool
	From, To  string
	Flow      string
	Report    *ReconcileReport
	Err       string
}

func (s *Server) reconciliation(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := s.now()
	d := reconcileData{Available: s.reconciler != nil, From: q.Get("from"), To: q.Get("to"), Flow: q.Get("flow")}
	if d.From == "" {
		d.From = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, now.Location()).AddDate(0, -2, 0).Format(time.DateOnly)
	}
	if d.To == "" {
		d.To = now.Format(time.DateOnly)
	}
	if d.Available && q.Get("run") != "" {
		var flows []string
		if d.Flow != "" {
			flows = strings.Split(d.Flow, ",")
		}
		rep, err := s.reconciler.Reconcile(r.Context(), d.From, d.To, flows)
		if err != nil {
			d.Err = s.reason(err)
		}
		d.Report = rep
	}
	s.render(w, r, http.StatusOK, "reconcile", view{Title: "Reconciliation", Nav: "reconciliation", Data: d})
}
