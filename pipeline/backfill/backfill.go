// Package backfill exports history partition by partition of document date, resumable:
// each flow's records of a partition commit together with the partition's mark in the
// target, so the same backfill started again goes on where it stopped, and a record is
// never exported twice (exported records are not selected again either).
//
// Flows run in their order, each over the whole date range: vendor accounts first
// (undated), then each dated flow partition by partition, so a credit note finds the
// invoices of every earlier partition already exported. Consecutive partitions are
// staged together up to batch_size records and committed one by one (see
// pipeline.Request.Partitions): a backfill costs about one run over the same records.
package backfill

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/fault"
)

// Request asks for history to be exported partition by partition.
type Request struct {
	From, To  time.Time // days, both included
	Partition string    // day or month
	Flows     []string  // empty: every flow
	Created   bool      // list every created document in the summaries
	// DryRun computes the whole backfill as one dry run (pipeline.Request.DryRun) over
	// its dates: every count and failure, nothing written, no partition marked.
	DryRun bool
}

// Progress is reported after each partition of each dated flow.
type Progress struct {
	Flow, Partition string // e.g. sales-invoices, 2024-03
	Done, Steps     int    // partitions of dated flows done, and in all
	Skipped         bool   // done by an earlier, interrupted backfill
	Records, Docs   int64  // so far
	Elapsed         time.Duration
}

// ETA estimates the time left from the pace so far.
func (p Progress) ETA() time.Duration {
	if p.Done == 0 {
		return 0
	}
	return time.Duration(float64(p.Elapsed) / float64(p.Done) * float64(p.Steps-p.Done))
}

// ID names a backfill by its dates, partition size and flows: the same command run
// again is the same backfill, and finds its partitions done.
func (b Request) ID() string {
	names := append([]string{}, b.Flows...)
	sort.Strings(names)
	return fmt.Sprintf("%s..%s/%s/%s", b.From.Format(time.DateOnly), b.To.Format(time.DateOnly), b.Partition, strings.Join(names, ","))
}

// Run exports the backfill's history, reporting each partition of each dated flow.
func Run(ctx context.Context, e *pipeline.Engine, b Request, progress func(Progress)) ([]pipeline.Summary, error) {
	if b.To.Before(b.From) {
		return nil, fault.Inputf("backfill: --to %s is before --from %s", b.To.Format(time.DateOnly), b.From.Format(time.DateOnly))
	}
	if b.Partition != "day" && b.Partition != "month" {
		return nil, fault.Inputf("backfill: --partition must be day or month, not %q", b.Partition)
	}
	from, to := b.From.Format(time.DateOnly), b.To.AddDate(0, 0, 1).Format(time.DateOnly)
	req := pipeline.Request{Flows: b.Flows, Mode: pipeline.ModeBackfill, Created: b.Created, From: from, To: to}
	if b.DryRun {
		req.DryRun = true
		return e.Run(ctx, req)
	}
	req.Partitions, req.Backfill = Partitions(b), b.ID()
	dated := 0
	for _, f := range e.Specs().Ordered() {
		if f.Source.Date != "" && (len(b.Flows) == 0 || slices.Contains(b.Flows, f.Name)) {
			dated++
		}
	}
	start := time.Now()
	p := Progress{Steps: dated * len(req.Partitions)}
	req.PartitionDone = func(flow string, part pipeline.Partition, s pipeline.Summary, skipped bool) {
		p.Flow, p.Partition, p.Skipped = flow, part.Name, skipped
		p.Done++
		p.Records += s.Selected
		p.Docs += s.Documents
		p.Elapsed = time.Since(start)
		if progress != nil {
			progress(p)
		}
	}
	return e.Run(ctx, req)
}

// Partitions are the backfill's partitions of document date: days, or calendar
// months (the first and last cut to the backfill's dates).
func Partitions(b Request) []pipeline.Partition {
	var out []pipeline.Partition
	end := b.To.AddDate(0, 0, 1)
	for d := b.From; d.Before(end); {
		var next time.Time
		name := d.Format(time.DateOnly)
		if b.Partition == "month" {
			next = time.Date(d.Year(), d.Month()+1, 1, 0, 0, 0, 0, time.UTC)
			name = d.Format("2006-01")
		} else {
			next = d.AddDate(0, 0, 1)
		}
		to := next
		if to.After(end) {
			to = end
		}
		out = append(out, pipeline.Partition{Name: name, From: d.Format(time.DateOnly), To: to.Format(time.DateOnly)})
		d = next
	}
	return out
}

// RunPartition exports one partition of a backfill: its dated flows' records of the
// partition's dates, committed with the partition's marks (the same partition run
// again does nothing). It holds only that partition's scope of a PostgreSQL target, so
// workers export a backfill's partitions side by side, never two over the same
// records; a run of everything waits for them.
func RunPartition(ctx context.Context, e *pipeline.Engine, b Request, part pipeline.Partition) ([]pipeline.Summary, error) {
	var flows, scopes []string
	for _, f := range e.Specs().Ordered() {
		if f.Source.Date != "" && (len(b.Flows) == 0 || slices.Contains(b.Flows, f.Name)) {
			flows = append(flows, f.Name)
			scopes = append(scopes, f.Name+"/"+part.Name)
		}
	}
	if len(flows) == 0 {
		return nil, fault.Inputf("backfill: none of the flows has a document date to partition by")
	}
	return e.Run(ctx, pipeline.Request{Flows: flows, Mode: pipeline.ModeBackfill, Detail: part.Name, From: part.From, To: part.To,
		Partitions: []pipeline.Partition{part}, Backfill: b.ID(), Scopes: scopes, Created: b.Created})
}
