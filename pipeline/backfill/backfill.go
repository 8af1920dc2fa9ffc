// Package backfill exports history partition by partition of document date, each
// partition's flows in their own transactions, resumable: a partition is marked done
// in the target when its flows are committed, so the same backfill started again goes
// on where it stopped, and a record is never exported twice (exported records are not
// selected again).
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
	"github.com/oimconnect/oimconnect/pipeline/spec"
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

// Progress is reported after each partition.
type Progress struct {
	Partition        string // e.g. 2024-03
	Done, Partitions int
	Skipped          bool // done by an earlier, interrupted backfill
	Records, Docs    int64
	Elapsed          time.Duration
}

// ETA estimates the time left from the pace so far.
func (p Progress) ETA() time.Duration {
	if p.Done == 0 {
		return 0
	}
	return time.Duration(float64(p.Elapsed) / float64(p.Done) * float64(p.Partitions-p.Done))
}

// Run exports every partition in turn, each flow of a partition in one transaction.
// Flows without a document date run once, first. A partition is recorded as done in
// the same database, so the same backfill, interrupted and started again, goes on where
// it stopped; a record is never exported twice, since exported records are not selected
// again. Memory stays bounded by one partition's records.
func Run(ctx context.Context, e *pipeline.Engine, b Request, progress func(Progress)) ([]pipeline.Summary, error) {
	if b.To.Before(b.From) {
		return nil, fault.Inputf("backfill: --to %s is before --from %s", b.To.Format(time.DateOnly), b.From.Format(time.DateOnly))
	}
	if b.Partition != "day" && b.Partition != "month" {
		return nil, fault.Inputf("backfill: --partition must be day or month, not %q", b.Partition)
	}
	if b.DryRun {
		return e.Run(ctx, pipeline.Request{Flows: b.Flows, Mode: pipeline.ModeBackfill, DryRun: true, Created: b.Created,
			From: b.From.Format(time.DateOnly), To: b.To.AddDate(0, 0, 1).Format(time.DateOnly)})
	}
	var flows []*spec.Flow
	for _, f := range e.Specs().Ordered() {
		if len(b.Flows) == 0 || slices.Contains(b.Flows, f.Name) {
			flows = append(flows, f)
		}
	}
	if len(flows) < len(b.Flows) {
		// The engine names the unknown flow and the known ones.
		if _, err := e.Plan(ctx, pipeline.Request{Flows: b.Flows}); err != nil {
			return nil, err
		}
	}
	var dated, undated []string
	for _, f := range flows {
		if f.Source.Date != "" {
			dated = append(dated, f.Name)
		} else {
			undated = append(undated, f.Name)
		}
	}
	names := append([]string{}, b.Flows...)
	sort.Strings(names)
	id := fmt.Sprintf("%s..%s/%s/%s", b.From.Format(time.DateOnly), b.To.Format(time.DateOnly), b.Partition, strings.Join(names, ","))
	done, err := e.Partitions(ctx, id)
	if err != nil {
		return nil, err
	}

	totals := map[string]*pipeline.Summary{}
	var order []string
	add := func(sums []pipeline.Summary) {
		for _, s := range sums {
			t := totals[s.Flow]
			if t == nil {
				t = &pipeline.Summary{Flow: s.Flow}
				totals[s.Flow] = t
				order = append(order, s.Flow)
			}
			t.Selected += s.Selected
			t.Exported += s.Exported
			t.Documents += s.Documents
			t.Lines += s.Lines
			t.Waiting = s.Waiting // waiting is a state, not a sum: the last partition's
			t.Errors += s.Errors
			t.Duration += s.Duration
			t.Failures = append(t.Failures, s.Failures...)
			t.Created = append(t.Created, s.Created...)
		}
	}
	if len(undated) > 0 {
		sums, err := e.Run(ctx, pipeline.Request{Flows: undated, Mode: pipeline.ModeBackfill, Created: b.Created})
		add(sums)
		if err != nil {
			return collect(order, totals), err
		}
	}
	parts := partitions(b)
	start := time.Now()
	p := Progress{Partitions: len(parts)}
	for _, part := range parts {
		if err := ctx.Err(); err != nil {
			return collect(order, totals), err
		}
		p.Partition, p.Skipped = part.name, done[part.name]
		if !p.Skipped && len(dated) > 0 {
			sums, err := e.Run(ctx, pipeline.Request{Flows: dated, Mode: pipeline.ModeBackfill, Detail: part.name, From: part.from, To: part.to, Created: b.Created})
			add(sums)
			if err != nil {
				return collect(order, totals), err
			}
			for _, s := range sums {
				p.Records += s.Selected
				p.Docs += s.Documents
			}
			if err := e.MarkPartition(ctx, id, part.name); err != nil {
				return collect(order, totals), err
			}
		}
		p.Done++
		p.Elapsed = time.Since(start)
		if progress != nil {
			progress(p)
		}
	}
	return collect(order, totals), nil
}

func collect(order []string, totals map[string]*pipeline.Summary) []pipeline.Summary {
	out := make([]pipeline.Summary, 0, len(order))
	for _, f := range order {
		out = append(out, *totals[f])
	}
	return out
}

type partition struct{ name, from, to string }

func partitions(b Request) []partition {
	var out []partition
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
		out = append(out, partition{name: name, from: d.Format(time.DateOnly), to: to.Format(time.DateOnly)})
		d = next
	}
	return out
}
