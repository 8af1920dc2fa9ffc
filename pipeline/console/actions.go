package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/oimconnect/oimconnect/pipeline"
)

// The actions: export a flow's eligible records (the list view's "Create from
// Invoices"), dry-run it, export one record (the record page's "Create Sales
// Invoice"). Each runs in the background (jobs.go), audited first; the browser goes
// to the job's page, or back to the record, and watches it.

func (s *Server) exportFlow(w http.ResponseWriter, r *http.Request) { s.startFlow(w, r, false) }

func (s *Server) dryRunFlow(w http.ResponseWriter, r *http.Request) { s.startFlow(w, r, true) }

// startFlow starts an export or dry run of all of a flow's eligible records.
func (s *Server) startFlow(w http.ResponseWriter, r *http.Request, dryRun bool) {
	flow := r.PathValue("flow")
	if s.specs.Flows[flow] == nil {
		s.fail(w, r, notFound("no flow %s", flow))
		return
	}
	jb, err := s.startJob(r, flow, nil, dryRun)
	if err != nil {
		s.refuse(w, r, "/", err)
		return
	}
	http.Redirect(w, r, "/jobs/"+jb.ID, http.StatusSeeOther)
}

// recordWait is how long exporting one record waits for it to finish before showing
// its progress instead.
const recordWait = 5 * time.Second

// exportRecord exports one record, then shows it (Exported with its documents, or
// its Export Error and why).
func (s *Server) exportRecord(w http.ResponseWriter, r *http.Request) {
	flow, id := r.PathValue("flow"), r.PathValue("id")
	back := "/flows/" + url.PathEscape(flow) + "/records/" + url.PathEscape(id)
	if s.specs.Flows[flow] == nil {
		s.fail(w, r, notFound("no flow %s", flow))
		return
	}
	jb, err := s.startJob(r, flow, []string{id}, false)
	if err != nil {
		s.refuse(w, r, back, err)
		return
	}
	deadline := time.NewTimer(recordWait)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for running := true; running; {
		select {
		case <-deadline.C:
			running = false
		case <-r.Context().Done():
			return
		case <-tick.C:
			running = jb.view(s.now()).Running
		}
	}
	v := jb.view(s.now())
	back += "?job=" + jb.ID
	switch {
	case v.Running:
		s.redirectFlash(w, r, back, "The export of "+id+" is running: this page shows it when it is done.", "")
	case v.Err != "":
		s.redirectFlash(w, r, back, "", "The export of "+id+" failed: "+scrub(s.config.get(), v.Err))
	case v.Errors() > 0:
		s.redirectFlash(w, r, back, "", id+" was not exported: "+v.Failures()[0].Reason)
	default:
		s.redirectFlash(w, r, back, s.outcome(v), "")
	}
}

// outcome says what an ended job did, in a sentence.
func (s *Server) outcome(v jobView) string {
	var docs, exported, selected int64
	for _, sum := range v.Summaries {
		docs += sum.Documents
		exported += sum.Exported
		selected += sum.Selected
	}
	switch {
	case len(v.IDs) > 0 && exported == 0 && selected == 0:
		return v.IDs[0] + " was not exported: it is not eligible now (see why below)"
	case len(v.IDs) > 0:
		return v.IDs[0] + " was exported: " + plural(docs, "document") + " created"
	}
	return v.Title + " done"
}

// startJob starts an export or dry run on the shared engine, as the user; the job
// audits it first.
func (s *Server) startJob(r *http.Request, flow string, ids []string, dryRun bool) (*job, error) {
	me, _ := whoOf(r)
	action, detail := "export", flow+": all eligible records"
	if len(ids) > 0 {
		detail = flow + ": " + strings.Join(ids, ", ")
	}
	if dryRun {
		action = "dry run"
	}
	run := func(ctx context.Context, jb *job) (sums []pipeline.Summary, err error) {
		err = s.engine.Use(ctx, func(e *pipeline.Engine) error {
			// Audited as it starts, on its turn of the engine (the request does not wait
			// for it): if the audit log cannot record it, it does not run.
			if err := s.writeAudit(ctx, e, me.name, action, detail); err != nil {
				return err
			}
			sums, err = e.Run(ctx, pipeline.Request{Flows: []string{flow}, IDs: ids, DryRun: dryRun, Mode: pipeline.ModeManual,
				By: me.name, Progress: jb.progress})
			return err
		})
		return sums, err
	}
	done := func(jb *job) {
		s.census.forget(flow)
		for _, id := range ids {
			s.explains.forget(flow + "\x00" + id)
		}
		v := jb.view(s.now())
		if v.Err != "" {
			s.log.Warn("console action failed", "user", me.name, "action", action, "detail", detail, "error", scrub(s.config.get(), v.Err))
		} else {
			s.log.Info("console action done", "user", me.name, "action", action, "detail", detail, "duration", v.Elapsed.Round(time.Millisecond))
		}
	}
	return s.jobs.start(flow, ids, dryRun, me.name, run, done)
}

// refuse goes back to a page saying why an action was refused.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, back string, err error) {
	me, _ := whoOf(r)
	var busy *busyError
	if !errors.As(err, &busy) {
		s.log.Warn("console action refused", "user", me.name, "path", r.URL.Path, "error", s.reason(err))
	}
	s.redirectFlash(w, r, back, "", s.reason(err))
}

func (s *Server) jobPage(w http.ResponseWriter, r *http.Request) {
	jb, ok := s.jobs.get(r.PathValue("job"))
	if !ok {
		s.fail(w, r, notFound("no export %s here (the console remembers its latest %d)", r.PathValue("job"), keptJobs))
		return
	}
	v := jb.view(s.now())
	v.Err = scrub(s.config.get(), v.Err)
	s.render(w, r, http.StatusOK, "job", view{Title: v.Title, Nav: "overview", Data: v})
}

// jobFragment is a job's progress, asked again while it runs.
func (s *Server) jobFragment(w http.ResponseWriter, r *http.Request) {
	jb, ok := s.jobs.get(r.PathValue("job"))
	if !ok {
		s.fail(w, r, notFound("no export %s", r.PathValue("job")))
		return
	}
	v := jb.view(s.now())
	v.Err = scrub(s.config.get(), v.Err)
	s.fragment(w, r, "job", v)
}

// jobsFragment lists the console's exports, running and latest.
func (s *Server) jobsFragment(w http.ResponseWriter, r *http.Request) {
	list := s.jobs.list()
	if len(list) > 8 {
		list = list[:8]
	}
	for i := range list {
		list[i].Err = scrub(s.config.get(), list[i].Err)
	}
	s.fragment(w, r, "jobs", list)
}

// plural is n and the noun, in the plural unless n is 1.
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.FormatInt(n, 10) + " " + noun + "s"
}
