package console

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/host"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
	"github.com/oimconnect/oimconnect/pipeline/spec"
	"github.com/oimconnect/oimconnect/pipeline/store"
)

// The overview: per flow, its records by export status at once, and (loaded after the
// page, since it costs a dry run of the flow) how many are eligible now, would fail,
// wait and for what; the last run and the next scheduled one; the actions; the
// exports running with their progress; the plugins' health.

// Statuses are the export statuses a tracked source record can have.
var statuses = []string{"New", "Export Error", "Exported"}

// flowCard is one flow on the overview.
type flowCard struct {
	Name, Description string
	Tracked           bool             // the source has an export status
	ByStatus          map[string]int64 // by export status (untracked: "" is all)
	Total             int64
	LastRun           *store.Entry
	Schedule          string // in words; "" none
	Next              time.Time
	Automated         string // in words
	Running           *jobView
}

// overviewData is the overview page's.
type overviewData struct {
	Database string
	Flows    []flowCard
	Plugins  []pluginCard
}

// pluginCard is one plugin's health and, for admins, its settings (secret ones
// masked).
type pluginCard struct {
	host.Health
	Settings string // "" for other roles
	Started  bool   // started at least once in this process
}

func (s *Server) overview(w http.ResponseWriter, r *http.Request) {
	cfg := s.config.get()
	data := overviewData{Database: database(cfg)}
	var runs []store.Entry
	err := s.read(r.Context(), func(e *pipeline.Engine) error {
		var err error
		if runs, err = e.Runs(r.Context(), 500); err != nil {
			return err
		}
		for _, f := range s.specs.Ordered() {
			card, err := s.card(r.Context(), e, cfg, f, runs)
			if err != nil {
				return err
			}
			data.Flows = append(data.Flows, card)
		}
		return nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	me, _ := whoOf(r)
	data.Plugins = s.plugins(cfg, config.RoleRank(me.role) >= config.RoleRank(config.RoleAdmin))
	s.render(w, r, http.StatusOK, "overview", view{Title: "Overview", Nav: "overview", Data: data})
}

// card reads one flow's counts (reads that never wait for a run) and its last run.
func (s *Server) card(ctx context.Context, e *pipeline.Engine, cfg *config.Config, f *spec.Flow, runs []store.Entry) (flowCard, error) {
	c := flowCard{Name: f.Name, Description: f.Description, Tracked: f.Source.Status != "none", ByStatus: map[string]int64{}}
	if c.Tracked {
		for _, st := range statuses {
			page, err := e.Records(ctx, pipeline.RecordQuery{Flow: f.Name, Status: st, Limit: 1})
			if err != nil {
				return c, err
			}
			c.ByStatus[st] = page.Total
			c.Total += page.Total
		}
	} else {
		page, err := e.Records(ctx, pipeline.RecordQuery{Flow: f.Name, Limit: 1})
		if err != nil {
			return c, err
		}
		c.Total = page.Total
	}
	for i := range runs {
		if runs[i].Flow == f.Name {
			c.LastRun = &runs[i]
			break
		}
	}
	if sc, ok := cfg.Settings.Schedules[flowKey(f.Name)]; ok {
		c.Schedule = scheduleWords(sc)
		if !sc.Disabled {
			c.Next = sc.Next(s.now())
		}
	}
	on, criteria := cfg.Settings.Automation.Automated(f.Name)
	switch {
	case !on:
		c.Automated = "off"
	case criteria != "":
		c.Automated = "on, when " + criteria + " is true"
	default:
		c.Automated = "on"
	}
	if j, ok := s.jobs.runningFor(f.Name); ok {
		c.Running = &j
	}
	return c, nil
}

// plugins are the configured plugins with their health (a failure's message scrubbed:
// a plugin may echo its settings), and their settings when withSettings (admins only:
// the settings are the plugin's business, and a masking rule missing a credential
// named or shaped in a new way should leak it to as few as possible).
func (s *Server) plugins(cfg *config.Config, withSettings bool) []pluginCard {
	var health []host.Health
	if s.health != nil {
		health = s.health()
	}
	var out []pluginCard
	for _, p := range cfg.Plugins {
		card := pluginCard{Health: host.Health{Name: p.Name, Flows: p.Flows}}
		if withSettings {
			card.Settings = masked(p.Settings)
		}
		for _, h := range health {
			if h.Name == p.Name {
				card.Health = h
				card.LastFailure = scrub(cfg, h.LastFailure)
			}
		}
		card.Started = card.Starts > 0
		out = append(out, card)
	}
	return out
}

// censusView is the census fragment's data.
type censusView struct {
	Flow    string
	Census  pipeline.Census
	Pending bool // still counting: the fragment asks again
	Err     string
}

// censusFragment shows where a flow's records stand: a dry run of the flow, computed in
// the background (it takes its turn with the runs) and kept a minute.
func (s *Server) censusFragment(w http.ResponseWriter, r *http.Request) {
	flow := r.PathValue("flow")
	if s.specs.Flows[flow] == nil {
		s.fail(w, r, notFound("no flow %s", flow))
		return
	}
	c, err, ok := s.census.get(r.Context(), flow, 3*time.Second, func(ctx context.Context) (pipeline.Census, error) {
		var c pipeline.Census
		err := s.engine.Use(ctx, func(e *pipeline.Engine) error {
			var err error
			c, err = e.Census(ctx, flow)
			return err
		})
		return c, err
	})
	v := censusView{Flow: flow, Census: c, Pending: !ok}
	if err != nil {
		v.Err = s.reason(err)
	}
	s.fragment(w, r, "census", v)
}

// database names the database(s) in use, passwords hidden.
func database(cfg *config.Config) string {
	if cfg.Source == "" && cfg.Target == "" {
		return postgres.Redact(cfg.DB)
	}
	src, tgt := cfg.Source, cfg.Target
	if src == "" {
		src = cfg.DB
	}
	if tgt == "" {
		tgt = cfg.DB
	}
	return postgres.Redact(src) + " → " + postgres.Redact(tgt)
}

// flowKey is a flow's name as a key of the flow-keyed settings.
func flowKey(flow string) string { return strings.ReplaceAll(flow, "-", "_") }

// flowNames are the flows in run order.
func flowNames(set *spec.Set) []string {
	var out []string
	for _, f := range set.Ordered() {
		out = append(out, f.Name)
	}
	return out
}
