package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/backfill"
	"github.com/oimconnect/oimconnect/pipeline/fault"
)

// backfill exports history partition by partition, with progress on standard error.
func runBackfill(ctx context.Context, eng *pipeline.Engine, from, to, partition string, flows []string, report string, stdout, stderr io.Writer) int {
	f, err1 := time.Parse(time.DateOnly, from)
	t, err2 := time.Parse(time.DateOnly, to)
	if err1 != nil || err2 != nil {
		return fail(stderr, &fault.InputError{Err: fmt.Errorf("backfill needs --from and --to as YYYY-MM-DD (got %q and %q)", from, to)})
	}
	tty := isTerminal(stderr)
	show := func(p backfill.Progress) {
		rate := float64(p.Records) / p.Elapsed.Seconds()
		state := ""
		if p.Skipped {
			state = " (done before)"
		}
		if tty {
			width := 30
			n := width * p.Done / p.Partitions
			fmt.Fprintf(stderr, "\r\033[K[%s%s] %d/%d %s%s  records %d  documents %d  %.0f rec/s  ETA %s",
				strings.Repeat("#", n), strings.Repeat(" ", width-n), p.Done, p.Partitions, p.Partition, state, p.Records, p.Docs, rate, p.ETA().Round(time.Second))
			return
		}
		fmt.Fprintf(stderr, "backfill %s%s: partition %d/%d, records %d, documents %d, %.0f rec/s, ETA %s\n",
			p.Partition, state, p.Done, p.Partitions, p.Records, p.Docs, rate, p.ETA().Round(time.Second))
	}
	sums, err := backfill.Run(ctx, eng, backfill.Request{From: f, To: t, Partition: partition, Flows: flows, Created: report != ""}, show)
	if tty {
		fmt.Fprintln(stderr)
	}
	failed := false
	for _, s := range sums {
		fmt.Fprintln(stdout, s)
		failed = failed || s.Errors > 0
	}
	if report != "" {
		if werr := writeReport(report, pipeline.Request{Mode: pipeline.ModeBackfill}, sums, err); werr != nil {
			fmt.Fprintf(stderr, "oimconnect: report: %v\n", werr)
		}
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "oimconnect: backfill interrupted: the partition in progress was rolled back; run the same command again to go on")
		return exitRun
	}
	if err != nil {
		return fail(stderr, err)
	}
	if failed {
		return exitRecords
	}
	return exitOK
}
