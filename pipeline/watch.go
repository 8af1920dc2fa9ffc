package pipeline

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/oimconnect/oimconnect/pipeline/config"
)

// Watch exports automatically. Every poll interval it opens the database, runs the
// automated flows (settings.automation) over whatever became selected since, and
// closes the database again: DuckDB admits one writing process per file, and the OIM
// process that writes the file gets in between polls. The vendor's default triggers
// (a shipment completed, a voucher matched, a site created or changed, ...) are the
// moments records become selected and ready, so each poll exports exactly those; custom
// criteria add a boolean source column that must be true. report is told every poll's
// summaries. Watch returns when ctx is done, after the poll in progress (whose flow
// in progress is rolled back if ctx interrupts it).
func Watch(ctx context.Context, cfg *config.Config, log *slog.Logger, report func([]Summary, error)) error {
	eng, err := Open(ctx, cfg, log)
	for err != nil && busyFile(err) && ctx.Err() == nil {
		// OIM is writing: wait for the file like every poll does.
		time.Sleep(cfg.Settings.Automation.Interval())
		eng, err = Open(ctx, cfg, log)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	var flows []string
	for _, f := range eng.Specs.Ordered() {
		if on, _ := cfg.Settings.Automation.Automated(f.Name); on {
			flows = append(flows, f.Name)
		}
	}
	// A spec or criteria mistake stops watch at once, not at every poll.
	_, err = eng.plan(ctx, Request{Flows: flows, Mode: ModeAutomatic}, false)
	eng.Close()
	if err != nil {
		return err
	}
	if len(flows) == 0 {
		return inputErrorf("watch: no flow is automated (settings.automation.flows)")
	}
	interval := cfg.Settings.Automation.Interval()
	log.Info("watching", "db", cfg.DB, "flows", strings.Join(flows, ","), "interval", interval)
	for {
		sums, err := poll(ctx, cfg, log, flows)
		if ctx.Err() != nil {
			return nil // stopping: the flow in progress was rolled back
		}
		if report != nil && (err != nil || busy(sums)) {
			report(sums, err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

func busy(sums []Summary) bool {
	for _, s := range sums {
		if s.Selected > 0 || s.Errors > 0 {
			return true
		}
	}
	return false
}

// poll runs the automated flows once, holding the database only meanwhile.
func poll(ctx context.Context, cfg *config.Config, log *slog.Logger, flows []string) ([]Summary, error) {
	eng, err := Open(ctx, cfg, log)
	if err != nil {
		if busyFile(err) {
			log.Debug("database busy, next poll", "error", err)
			return nil, nil
		}
		return nil, err
	}
	defer eng.Close()
	return eng.Run(ctx, Request{Flows: flows, Mode: ModeAutomatic})
}

// busyFile says the DuckDB file is held by another process (OIM writing to it).
func busyFile(err error) bool {
	return strings.Contains(err.Error(), "Could not set lock") || strings.Contains(err.Error(), "Conflicting lock")
}
