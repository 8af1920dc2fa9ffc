// Package watch exports automatically and on schedules: Watch polls the automated flows
// (and hears a PostgreSQL source's NOTIFY), Serve adds each flow's scheduled job. Both
// open the engine per run and close it after, so OIM, which writes the same DuckDB file
// from another process, gets in between.
package watch

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/host"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
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
	// Watch polls the automated flows (settings.automation).
	Watch bool
	// Schedules runs the scheduled jobs (settings.schedules).
	Schedules bool
	Clock     Clock
	// Report is told the summaries of every busy poll and every scheduled job.
	Report func(mode string, sums []pipeline.Summary, err error)
	// Transform, when set, is every run's transform (the plugin host, started once for
	// all runs); else each run starts the configuration's plugins.
	Transform pipeline.Transformer
}

// Watch exports automatically. Every poll interval it opens the database, runs the
// automated flows (settings.automation) over whatever became selected since, and
// closes the database again: DuckDB admits one writing process per file, and the OIM
// process that writes the file gets in between polls. The vendor's default triggers
// (a shipment completed, a voucher matched, a site created or changed, ...) are the
// moments records become selected and ready, so each poll exports exactly those; custom
// criteria add a boolean source column that must be true. Watch returns when ctx is
// done, after rolling back the flow in progress.
func Watch(ctx context.Context, cfg *config.Config, log *slog.Logger, report func([]pipeline.Summary, error)) error {
	return Serve(ctx, cfg, log, Options{Watch: true, Clock: RealClock, Report: func(_ string, s []pipeline.Summary, err error) {
		if report != nil {
			report(s, err)
		}
	}})
}

// Serve runs watch and the scheduled jobs in one process: each flow with a schedule
// runs all its eligible records at the schedule's times, like the list action. All
// access to the database is serialized, so runs of the same flow never overlap (and
// the process never opens the file twice).
func Serve(ctx context.Context, cfg *config.Config, log *slog.Logger, o Options) error {
	if o.Clock == nil {
		o.Clock = RealClock
	}
	eng, err := openWhenFree(ctx, cfg, log, o.Transform)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if o.Transform == nil && len(cfg.Plugins) > 0 {
		// One plugin host for every run: the plugins start once, not at every poll.
		h, err := host.New(cfg.Plugins, eng.Specs(), log)
		if err != nil {
			eng.Close()
			return err
		}
		defer h.Close()
		o.Transform = h
	}
	var automated []string
	for _, f := range eng.Specs().Ordered() {
		if on, _ := cfg.Settings.Automation.Automated(f.Name); on {
			automated = append(automated, f.Name)
		}
	}
	scheduled := map[string]config.Schedule{}
	if o.Schedules {
		for key, sc := range cfg.Settings.Schedules {
			flow := strings.ReplaceAll(key, "_", "-")
			if eng.Specs().Flows[flow] == nil {
				eng.Close()
				return fault.Inputf("settings.schedules.%s: no flow %s", key, flow)
			}
			scheduled[flow] = sc
		}
	}
	// A spec or criteria mistake stops here at once, not at every poll.
	if o.Watch {
		_, err = eng.Plan(ctx, pipeline.Request{Flows: automated, Mode: pipeline.ModeAutomatic})
	}
	eng.Close()
	if err != nil {
		return err
	}
	watch := o.Watch && len(automated) > 0
	if !watch && len(scheduled) == 0 {
		return fault.Inputf("nothing to do: no flow is automated (settings.automation.flows) or scheduled (settings.schedules)")
	}
	report := o.Report
	if report == nil {
		report = func(string, []pipeline.Summary, error) {}
	}
	var mu sync.Mutex
	once := func(flows []string, mode string) ([]pipeline.Summary, error) {
		mu.Lock()
		defer mu.Unlock()
		return runOnce(ctx, cfg, log, flows, mode, o.Transform)
	}
	var wg sync.WaitGroup
	for flow, sc := range scheduled {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next := sc.Next(o.Clock.Now())
				log.Info("scheduled", "flow", flow, "next", next.Format(time.RFC3339))
				select {
				case <-ctx.Done():
					return
				case <-o.Clock.After(next.Sub(o.Clock.Now())):
				}
				sums, err := once([]string{flow}, pipeline.ModeScheduled)
				if ctx.Err() != nil {
					return
				}
				report(pipeline.ModeScheduled, sums, err)
			}
		}()
	}
	if watch {
		interval := cfg.Settings.Automation.Interval()
		wake := make(chan struct{}, 1)
		if src := cfg.Source; postgres.IsURL(src) || (src == "" && postgres.IsURL(cfg.DB)) {
			if src == "" {
				src = cfg.DB
			}
			// OIM's changes are announced (init installs the triggers): export at once.
			go postgres.Listen(ctx, src, wake, func(err error) { log.Warn("listening for OIM changes", "error", err) })
		}
		log.Info("watching", "db", postgres.Redact(cfg.DB), "source", postgres.Redact(cfg.Source), "target", postgres.Redact(cfg.Target), "flows", strings.Join(automated, ","), "interval", interval)
		for ctx.Err() == nil {
			sums, err := once(automated, pipeline.ModeAutomatic)
			if ctx.Err() != nil {
				break // stopping: the flow in progress was rolled back
			}
			if err != nil || busy(sums) {
				report(pipeline.ModeAutomatic, sums, err)
			}
			select {
			case <-ctx.Done():
			case <-o.Clock.After(interval):
			case <-wake:
			}
		}
	}
	<-ctx.Done()
	wg.Wait()
	return nil
}

func busy(sums []pipeline.Summary) bool {
	for _, s := range sums {
		if s.Selected > 0 || s.Errors > 0 {
			return true
		}
	}
	return false
}

// runOnce opens the database (waiting while OIM holds it), runs the flows, and closes it.
func runOnce(ctx context.Context, cfg *config.Config, log *slog.Logger, flows []string, mode string, transform pipeline.Transformer) ([]pipeline.Summary, error) {
	eng, err := openWhenFree(ctx, cfg, log, transform)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	return eng.Run(ctx, pipeline.Request{Flows: flows, Mode: mode})
}

// openWhenFree opens the engine, waiting while another process holds the file.
func openWhenFree(ctx context.Context, cfg *config.Config, log *slog.Logger, transform pipeline.Transformer) (*pipeline.Engine, error) {
	var opts []pipeline.Option
	if transform != nil {
		opts = append(opts, pipeline.WithTransform(transform))
	}
	for {
		eng, err := pipeline.Open(ctx, cfg, log, opts...)
		if err == nil || !store.Busy(err) {
			return eng, err
		}
		log.Debug("database busy, waiting", "error", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("stopped while waiting for the database: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
