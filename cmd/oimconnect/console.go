package main

import (
	"context"
	"fmt"
	"time"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/console"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/host"
	"github.com/oimconnect/oimconnect/pipeline/watch"
)

// doConsole is `oimconnect console`: the web console alone.
func doConsole(ctx context.Context, inv *invocation) int {
	return serveConsole(ctx, inv, false)
}

// doServe is watch, and serve (watch plus the schedules, and the console when the
// configuration has its users).
func doServe(ctx context.Context, inv *invocation) int {
	if inv.cmd.name == "serve" && len(inv.cfg.Console.Users) > 0 {
		return serveConsole(ctx, inv, true)
	}
	err := watch.Serve(ctx, inv.cfg, inv.log, watch.Options{Watch: true, Schedules: inv.cmd.name == "serve", Report: inv.reportRuns})
	if err != nil {
		return fail(inv.stderr, err)
	}
	return fault.ExitOK
}

// serveConsole serves the console on one engine for the process, with watch and the
// schedules on the same engine when withWatch; until ctx is done or one of them fails.
func serveConsole(ctx context.Context, inv *invocation, withWatch bool) int {
	specs, transform, closeHost, err := watch.Load(inv.cfg, inv.log, nil)
	if err != nil {
		return fail(inv.stderr, err)
	}
	defer closeHost()
	shared := pipeline.NewShared(inv.cfg, inv.log, pipeline.WithSpecs(specs), pipeline.WithTransform(transform))
	opts := console.Options{Engine: shared, Specs: specs, Log: inv.log}
	if h, ok := transform.(*host.Host); ok {
		opts.Health = h.Health
	}
	con, err := console.New(opts)
	if err != nil {
		return fail(inv.stderr, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 2)
	running := 1
	go func() { errs <- con.Serve(ctx, nil) }()
	if withWatch {
		running++
		go func() {
			errs <- watch.Serve(ctx, inv.cfg, inv.log, watch.Options{Watch: true, Schedules: true, Idle: true, Engine: shared, Report: inv.reportRuns})
		}()
	}
	var first error
	for ; running > 0; running-- {
		if err := <-errs; err != nil && first == nil {
			first = err
			cancel() // one failed: stop the other
		}
	}
	if first != nil {
		return fail(inv.stderr, first)
	}
	return fault.ExitOK
}

// reportRuns prints what watch and the schedules did, one line per flow that did
// something (and every scheduled job), and their errors.
func (inv *invocation) reportRuns(mode string, sums []pipeline.Summary, err error) {
	stamp := time.Now().Format("15:04:05")
	for _, s := range sums {
		if s.Selected > 0 || s.Errors > 0 || mode == pipeline.ModeScheduled {
			fmt.Fprintf(inv.stdout, "%s %s %s\n", stamp, mode, s)
		}
	}
	if err != nil {
		fmt.Fprintf(inv.stderr, "%s oimconnect: %s: %v\n", stamp, mode, err)
	}
}
