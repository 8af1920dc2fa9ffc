package console

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/store"
)

// The run history: each flow run with its mode, who or what started it, its counts and
// duration; and each run's report: the documents created with their sources, the
// records that failed with their reasons.

// runRow is one flow run as the history lists it.
type runRow struct {
	store.Entry
	StartedBy string
	Duration  time.Duration
}

// runsData is the runs page's.
type runsData struct {
	Flow, Mode string
	Modes      []string
	Rows       []runRow
	Limit      int
	More       string // the link to more, "" when all are shown
}

var modes = []string{pipeline.ModeManual, pipeline.ModeAutomatic, pipeline.ModeScheduled, pipeline.ModeBackfill}

// startedBy says who or what started a run.
func startedBy(e store.Entry) string {
	switch {
	case e.By != "":
		return e.By
	case e.Mode == pipeline.ModeAutomatic:
		return "watch"
	case e.Mode == pipeline.ModeScheduled:
		return "the schedule"
	}
	return "the command line"
}

func newRunRow(e store.Entry) runRow {
	return runRow{Entry: e, StartedBy: startedBy(e), Duration: e.Ended.Sub(e.Started)}
}

// maxRuns is the most runs the history reads, and so the most a page lists.
const maxRuns = 5000

func (s *Server) runs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := runsData{Flow: q.Get("flow"), Mode: q.Get("mode"), Modes: modes}
	d.Limit, _ = strconv.Atoi(q.Get("limit"))
	if d.Limit <= 0 {
		d.Limit = 100
	}
	d.Limit = min(d.Limit, maxRuns) // more than there is to show is all of it, not the first page again
	var entries []store.Entry
	err := s.read(r.Context(), func(e *pipeline.Engine) error {
		var err error
		entries, err = e.Runs(r.Context(), maxRuns)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, e := range entries {
		if (d.Flow != "" && e.Flow != d.Flow) || (d.Mode != "" && e.Mode != d.Mode) {
			continue
		}
		if len(d.Rows) == d.Limit {
			more := url.Values{"limit": {strconv.Itoa(min(d.Limit*2, maxRuns))}}
			if d.Flow != "" {
				more.Set("flow", d.Flow)
			}
			if d.Mode != "" {
				more.Set("mode", d.Mode)
			}
			d.More = "?" + more.Encode()
			break
		}
		d.Rows = append(d.Rows, newRunRow(e))
	}
	s.render(w, r, http.StatusOK, "runs", view{Title: "Runs", Nav: "runs", Data: d})
}

// reportData is a run's report page's.
type reportData struct {
	Run      runRow
	Created  []store.Outcome
	Failed   []store.Outcome
	Waiting  []store.Outcome // left for the next run: OIM changed them meanwhile
	Others   []store.Outcome // recovered
	Limit    int
	Complete bool // every outcome is shown
}

// reportLimit bounds the outcomes a report page shows.
const reportLimit = 2000

func (s *Server) runReport(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("run")
	d := reportData{Limit: reportLimit}
	found := false
	err := s.read(r.Context(), func(e *pipeline.Engine) error {
		entries, err := e.Runs(r.Context(), maxRuns)
		if err != nil {
			return err
		}
		for _, en := range entries {
			if en.RunID == id {
				d.Run, found = newRunRow(en), true
				break
			}
		}
		if !found {
			return notFound("no run %s among the latest %d", id, maxRuns)
		}
		outcomes, err := e.Report(r.Context(), id, reportLimit+1)
		if err != nil {
			return err
		}
		d.Complete = len(outcomes) <= reportLimit
		if !d.Complete {
			outcomes = outcomes[:reportLimit]
		}
		for _, o := range outcomes {
			switch o.Outcome {
			case "exported":
				d.Created = append(d.Created, o)
			case "failed":
				d.Failed = append(d.Failed, o)
			case "waiting":
				d.Waiting = append(d.Waiting, o)
			default:
				d.Others = append(d.Others, o)
			}
		}
		return nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Run.Error = scrub(s.config.get(), d.Run.Error)
	s.render(w, r, http.StatusOK, "report", view{Title: "Run " + id, Nav: "runs", Data: d})
}
