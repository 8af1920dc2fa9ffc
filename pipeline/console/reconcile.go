package console

import (
	"net/http"
	"strings"
	"time"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/reconcile"
)

// The reconciliation page: per flow and period, the source records' totals against
// the documents' totals, the journals that do not balance, and every record whose
// documents do not add up, as `oimconnect reconcile` computes them (reconcile.Run, on
// the console's engine).

// reconcileData is the page's.
type reconcileData struct {
	From, To string
	Flow     string
	Report   *reconcile.Report
	Err      string
}

func (s *Server) reconciliation(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := s.now()
	d := reconcileData{From: q.Get("from"), To: q.Get("to"), Flow: q.Get("flow")}
	status := http.StatusOK
	if d.From == "" {
		d.From = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, now.Location()).AddDate(0, -2, 0).Format(time.DateOnly)
	}
	if d.To == "" {
		d.To = now.Format(time.DateOnly)
	}
	if q.Get("run") != "" {
		var flows []string
		if d.Flow != "" {
			flows = strings.Split(d.Flow, ",")
		}
		err := s.engine.Use(r.Context(), func(e *pipeline.Engine) error {
			rep, err := reconcile.Run(r.Context(), e, reconcile.Request{From: d.From, To: d.To, Flows: flows})
			d.Report = rep
			return err
		})
		if err != nil { // the form again, with why, and the status saying so
			d.Err, status = s.reason(err), statusOf(err)
			if status == http.StatusInternalServerError {
				s.log.Error("reconciliation failed", "error", d.Err)
			}
		}
	}
	s.render(w, r, status, "reconcile", view{Title: "Reconciliation", Nav: "reconciliation", Data: d})
}
