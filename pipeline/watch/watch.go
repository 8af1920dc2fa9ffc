// Package watch exports automatically and on schedules: Watch runs the automated flows
// whenever OIM changed something (a look at the source every poll interval, a
// PostgreSQL source's NOTIFY at once), Serve adds each flow's scheduled job. Both open
// the engine per run and close it after, so OIM, which writes the same DuckDB file from
// another process, gets in between.
//
// A watcher does near-zero work while nothing changes: each poll looks at the source
// through a store.Probe (two stat calls of a DuckDB file; one read of a PostgreSQL
// source's change counter) and opens nothing. Records that failed are tried again when
// they change or their back-off ends (pipeline.Retries), not at every poll, and the
// connector's own writes never wake it.
package watch

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/host"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
	"github.com/oimconnect/oimconnect/pipeline/spec"
	"github.com/oimconnect/oimconnect/pipeline/store"
)

// Clock tells the time and waits; tests use a fast one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// RealClock is the wall clock.
var RealClock Clock = realClock{}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Options say what Serve runs.
type Options struct {
	// Idle keeps Serve running with nothing automated or scheduled (serve's console is
	// there, and schedules saved in it start at once).
	Idle bool
	// Watch runs the automated flows (settings.automation) when OIM changes something.
	Watch bool
	// Schedules runs the scheduled jobs (settings.schedules).
	Schedules bool
	Clock     Clock
	// Report is told the summaries of every run that found something to do and every
	// scheduled job.
	Report func(mode string, sums []pipeline.Summary, err error)
	// Transform, when set, is every run's transform (the plugin host, started once for
	// all runs); else Serve starts the configuration's plugins once.
	Transform pipeline.Transformer
	// Engine, when set, is the engine the process shares (serve's console uses it too);
	// else Serve makes its own.
	Engine *pipeline.Shared
}

// Watch exports automatically: Serve without the schedules.
func Watch(ctx context.Context, cfg *config.Config, log *slog.Logger, report func([]pipeline.Summary, error)) error {
	return Serve(ctx, cfg, log, Options{Watch: true, Clock: RealClock, Report: func(_ string, s []pipeline.Summary, err error) {
		if report != nil {
			report(s, err)
		}
	}})
}

// server is one Serve: what every run shares.
type server struct {
	cfg    *config.Config
	log    *slog.Logger
	engine *pipeline.Shared
	probe  *store.Probe
	mu     sync.Mutex // one run at a time: runs of a flow never overlap
}

// Serve runs watch and the scheduled jobs in one process: each flow with a schedule
// runs all its eligible records at the schedule's times, like the list action. All
// access to the database is serialized, so runs of the same flow never overlap (and
// the process never opens the file twice). The vendor's default triggers (a shipment
// completed, a voucher matched, a site created or changed, ...) are the moments records
// become selected and ready, so each automatic run exports exactly those; custom
// criteria add a boolean source column that must be true. Serve returns when ctx is
// done, after rolling back the flow in progress.
func Serve(ctx context.Context, cfg *config.Config, log *slog.Logger, o Options) error {
	if o.Clock == nil {
		o.Clock = RealClock
	}
	s := &server{cfg: cfg, log: log, engine: o.Engine}
	if s.engine == nil {
		specs, transform, closeHost, err := Load(cfg, log, o.Transform)
		if err != nil {
			return err
		}
		defer closeHost()
		s.engine = pipeline.NewShared(cfg, log, pipeline.WithSpecs(specs), pipeline.WithTransform(transform))
	}
	var specs *spec.Set
	var automated []string
	err := s.engine.Use(ctx, func(e *pipeline.Engine) error {
		specs = e.Specs()
		for _, f := range specs.Ordered() {
			if on, _ := cfg.Settings.Automation.Automated(f.Name); on {
				automated = append(automated, f.Name)
			}
		}
		if !o.Watch {
			return nil
		}
		// A spec or criteria mistake stops here at once, not at every poll.
		_, err := e.Plan(ctx, pipeline.Request{Flows: automated, Mode: pipeline.ModeAutomatic})
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if o.Schedules {
		for key := range cfg.Settings.Schedules {
			if flow := strings.ReplaceAll(key, "_", "-"); specs.Flows[flow] == nil {
				return fault.Inputf("settings.schedules.%s: no flow %s", key, flow)
			}
		}
	}
	watch := o.Watch && len(automated) > 0
	if !watch && !o.Idle && len(s.schedules(specs)) == 0 {
		return fault.Inputf("nothing to do: no flow is automated (settings.automation.flows) or scheduled (settings.schedules)")
	}
	src := cfg.Source
	if src == "" {
		src = cfg.DB
	}
	if s.probe, err = store.NewProbe(ctx, src); err != nil {
		return err
	}
	defer s.probe.Close()
	if !s.probe.Counter {
		log.Warn("the source has no change counter: every poll runs the automated flows; run `oimconnect init --source` on it to install it", "source", postgres.Redact(src))
	}
	report := o.Report
	if report == nil {
		report = func(string, []pipeline.Summary, error) {}
	}
	var wg sync.WaitGroup
	if o.Schedules {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.schedule(ctx, o, specs, report)
		}()
	}
	if watch {
		s.watch(ctx, o, automated, src, report)
	}
	<-ctx.Done()
	wg.Wait()
	return nil
}

// watch runs the automated flows whenever the source changed, a NOTIFY woke it, or a
// failed record's retry is due; until ctx is done.
func (s *server) watch(ctx context.Context, o Options, automated []string, src string, report func(string, []pipeline.Summary, error)) {
	interval := s.engine.Config().Settings.Automation.Interval()
	wake := make(chan struct{}, 1)
	if postgres.IsURL(src) {
		// OIM's changes are announced (init installs the triggers): export at once.
		go postgres.Listen(ctx, src, wake, func(err error) { s.log.Warn("listening for OIM changes", "error", err) })
	}
	s.log.Info("watching", "db", postgres.Redact(s.cfg.DB), "source", postgres.Redact(s.cfg.Source), "target", postgres.Redact(s.cfg.Target),
		"flows", strings.Join(automated, ","), "interval", interval)
	retries := pipeline.NewRetries(o.Clock.Now)
	woken := true // the first poll runs
	for ctx.Err() == nil {
		changed, err := s.probe.Changed(ctx)
		if err != nil {
			s.log.Warn("looking for OIM changes", "error", err)
			changed = true
		}
		due := retries.Due()
		if woken || changed || (!due.IsZero() && !o.Clock.Now().Before(due)) {
			sums, err := s.run(ctx, pipeline.Request{Flows: automated, Mode: pipeline.ModeAutomatic, Retries: retries})
			if ctx.Err() != nil {
				// Stopping: the flow in progress was rolled back; those done before it
				// are committed, and said so.
				report(pipeline.ModeAutomatic, sums, nil)
				break
			}
			if err != nil || busy(sums) {
				report(pipeline.ModeAutomatic, sums, err)
			}
		}
		woken = false
		interval = s.engine.Config().Settings.Automation.Interval() // the console may change it
		select {
		case <-ctx.Done():
		case <-o.Clock.After(interval):
		case <-wake:
			woken = true
		}
	}
	s.log.Info("watch stopped")
}

func busy(sums []pipeline.Summary) bool {
	for _, s := range sums {
		if s.Selected > 0 || s.Errors > 0 {
			return true
		}
	}
	return false
}

// schedule runs each flow's scheduled job at its times (settings.schedules, disabled
// ones left out) until ctx is done. When the configuration changes (the console saved
// it), the jobs start over from the new schedules; a job that is running finishes
// first.
func (s *server) schedule(ctx context.Context, o Options, specs *spec.Set, report func(string, []pipeline.Summary, error)) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		changed := s.engine.Changed()
		stop := make(chan struct{})
		for flow, sc := range s.schedules(specs) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.job(ctx, stop, o.Clock, flow, sc, report)
			}()
		}
		select {
		case <-ctx.Done():
			close(stop)
			return
		case <-changed:
			close(stop)
			s.log.Info("schedules changed")
		}
	}
}

// job runs one flow's scheduled job at each of its times, until ctx is done or stop
// is closed (while it waits).
func (s *server) job(ctx context.Context, stop <-chan struct{}, clock Clock, flow string, sc config.Schedule, report func(string, []pipeline.Summary, error)) {
	for {
		next := sc.Next(clock.Now())
		s.log.Info("scheduled", "flow", flow, "next", next.Format(time.RFC3339))
		select {
		case <-ctx.Done():
			return
		case <-stop:
			return
		case <-clock.After(next.Sub(clock.Now())):
		}
		sums, err := s.run(ctx, pipeline.Request{Flows: []string{flow}, Mode: pipeline.ModeScheduled})
		if ctx.Err() != nil {
			report(pipeline.ModeScheduled, sums, nil) // what committed before the stop
			return
		}
		report(pipeline.ModeScheduled, sums, err)
	}
}

// schedules are the jobs of the configuration in use, by flow: the disabled ones and
// keys naming no flow (refused when Serve starts) left out.
func (s *server) schedules(specs *spec.Set) map[string]config.Schedule {
	out := map[string]config.Schedule{}
	for key, sc := range s.engine.Config().Settings.Schedules {
		if flow := strings.ReplaceAll(key, "_", "-"); specs.Flows[flow] != nil && !sc.Disabled {
			out[flow] = sc
		}
	}
	return out
}

// run runs the request on the shared engine (opened for it when nobody has it open, and
// closed after), and notes how the source looks, so the connector's own writes are not
// taken for OIM's.
func (s *server) run(ctx context.Context, req pipeline.Request) (sums []pipeline.Summary, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.probe.Start(ctx)
	err = s.engine.Use(ctx, func(e *pipeline.Engine) error {
		sums, err = e.Run(ctx, req)
		return err
	})
	s.probe.Done(ctx)
	return sums, err
}

// Load loads the configuration's specs and, unless transform is given, starts its
// plugin host once for every run of the process; closeHost stops it.
func Load(cfg *config.Config, log *slog.Logger, transform pipeline.Transformer) (specs *spec.Set, _ pipeline.Transformer, closeHost func(), err error) {
	specs, err = pipeline.LoadSpecs(cfg.Specs)
	if err != nil {
		return nil, nil, nil, err
	}
	closeHost = func() {}
	if transform == nil && len(cfg.Plugins) > 0 {
		h, err := host.New(cfg.Plugins, specs, log)
		if err != nil {
			return nil, nil, nil, err
		}
		transform, closeHost = h, func() { h.Close() }
	}
	return specs, transform, closeHost, nil
}
