package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/backfill"
	"github.com/oimconnect/oimconnect/pipeline/fault"
)

func doBackfill(ctx context.Context, inv *invocation) int {
	o := inv.opt
	from, err1 := time.Parse(time.DateOnly, o.from)
	to, err2 := time.Parse(time.DateOnly, o.to)
	if err1 != nil || err2 != nil {
		return refuse(inv.cmd, inv.stderr, fmt.Errorf("backfill needs --from and --to as YYYY-MM-DD (got %q and %q)", o.from, o.to))
	}
	if o.partition != "day" && o.partition != "month" {
		return refuse(inv.cmd, inv.stderr, fmt.Errorf("--partition must be day or month, not %q", o.partition))
	}
	if o.tenant != "" || o.queue != "" {
		return enqueueBackfill(ctx, inv, from, to)
	}
	return withEngine(ctx, inv, func(eng *pipeline.Engine) int { return runBackfill(ctx, eng, inv, from, to) })
}

// runBackfill exports history partition by partition, with progress on standard error.
func runBackfill(ctx context.Context, eng *pipeline.Engine, inv *invocation, from, to time.Time) int {
	o, stdout, stderr := inv.opt, inv.stdout, inv.stderr
	tty := isTerminal(stderr)
	show := func(p backfill.Progress) {
		rate := float64(p.Records) / p.Elapsed.Seconds()
		state := ""
		if p.Skipped {
			state = " (done before)"
		}
		if tty {
			width := 30
			n := width * p.Done / p.Steps
			fmt.Fprintf(stderr, "\r\033[K[%s%s] %d/%d %s %s%s  records %d  documents %d  %.0f rec/s  ETA %s",
				strings.Repeat("#", n), strings.Repeat(" ", width-n), p.Done, p.Steps, p.Flow, p.Partition, state, p.Records, p.Docs, rate, p.ETA().Round(time.Second))
			return
		}
		fmt.Fprintf(stderr, "backfill %s %s%s: %d/%d, records %d, documents %d, %.0f rec/s, ETA %s\n",
			p.Flow, p.Partition, state, p.Done, p.Steps, p.Records, p.Docs, rate, p.ETA().Round(time.Second))
	}
	sums, err := backfill.Run(ctx, eng, backfill.Request{From: from, To: to, Partition: o.partition, Flows: o.flows, Created: o.report != "", DryRun: o.dryRun}, show)
	if tty && !o.dryRun {
		fmt.Fprintln(stderr)
	}
	failed := false
	for _, s := range sums {
		printSummary(stdout, s, o.dryRun)
		failed = failed || s.Errors > 0
	}
	if o.report != "" {
		if werr := writeReport(o.report, pipeline.Request{Mode: pipeline.ModeBackfill, DryRun: o.dryRun}, sums, err); werr != nil {
			fmt.Fprintf(stderr, "oimconnect: report: %v\n", werr)
		}
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "oimconnect: backfill interrupted: the partition in progress was rolled back; run the same command again to go on")
		return fault.ExitRun
	}
	if err != nil {
		return fail(stderr, err)
	}
	if failed {
		return fault.ExitRecords
	}
	return fault.ExitOK
}
