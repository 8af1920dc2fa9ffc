package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/plan"
)

// Partition is a slice of history by document date, [From, To) as YYYY-MM-DD: the
// unit a backfill selects, batches, commits and resumes by.
type Partition struct {
	Name, From, To string
}

// runPartitions runs a dated flow of a backfill. Its candidates (staged by the prelude
// over the backfill's dates) are counted per partition, and consecutive partitions are
// batched up to batch_size records: each batch is staged and committed at once, with
// the marks of its partitions, so a partition is never half committed, the same
// backfill run again leaves out what was committed, and the backfill costs what one run
// over the same records costs (committing every month on its own cost 15 times that at
// 2,000 invoices: the write statements' fixed costs and their scans of the written
// tables, once per partition).
func (e *Engine) runPartitions(ctx context.Context, p *plan.Plan, req Request, sh *shared) (Summary, error) {
	s := Summary{Flow: p.Flow}
	x := sh.execer()
	done, err := e.store.Partitions(ctx, req.Backfill)
	if err != nil {
		return s, err
	}
	parts := req.Partitions
	ranges := make([]string, len(parts))
	for i, pt := range parts {
		ranges[i] = fmt.Sprintf("(%d, %s, %s)", i, catalog.Literal(pt.From), catalog.Literal(pt.To))
	}
	counts, fresh := make([]int64, len(parts)), make([]int64, len(parts))
	rows, err := x.QueryContext(ctx, p.DateCounts(strings.Join(ranges, ", ")))
	if err != nil {
		return s, fmt.Errorf("count the candidates per partition: %w", err)
	}
	for rows.Next() {
		var i int
		var n, f int64
		if err := rows.Scan(&i, &n, &f); err != nil {
			rows.Close()
			return s, err
		}
		counts[i], fresh[i] = n, f
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s, err
	}
	report := func(i int, bs Summary, skipped bool) {
		if req.PartitionDone != nil {
			req.PartitionDone(p.Flow, parts[i], bs, skipped)
		}
	}
	// Batches of consecutive partitions still to do: whole partitions up to
	// batch_size records (one partition, however large, at least); a partition done
	// before, or without a record, ends a batch.
	var batch []int
	var size int64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		bs, err := e.runDates(ctx, p, req, sh, batch)
		s.add(bs)
		for k, i := range batch {
			if k < len(batch)-1 {
				report(i, Summary{Flow: p.Flow}, false)
			} else {
				report(i, bs, false)
			}
		}
		batch, size = nil, 0
		return err
	}
	for i, pt := range parts {
		// A partition done before is left out, its failed records with it, unless some
		// of its records still say New: a linked source's write-back cut short after
		// the target committed the documents with the mark (the run finds them and
		// writes back only), or records dated there since.
		mark := partitionMark(p.Flow, pt)
		if (done[mark] && fresh[i] == 0) || counts[i] == 0 {
			if err := flush(); err != nil {
				return s, err
			}
			report(i, Summary{Flow: p.Flow}, done[mark])
			continue
		}
		if e.cfg.BatchSize > 0 && size > 0 && size+counts[i] > int64(e.cfg.BatchSize) {
			if err := flush(); err != nil {
				return s, err
			}
		}
		batch = append(batch, i)
		size += counts[i]
	}
	return s, flush()
}

// partitionMark is how a committed partition of a flow is recorded.
func partitionMark(flow string, pt Partition) string { return flow + "/" + pt.Name }

// runDates runs one batch of a backfill: the candidates of consecutive partitions,
// staged and committed at once with the partitions' marks.
func (e *Engine) runDates(ctx context.Context, p *plan.Plan, req Request, sh *shared, batch []int) (Summary, error) {
	parts := req.Partitions
	first, last := parts[batch[0]], parts[batch[len(batch)-1]]
	bp, err := p.Within(first.From, last.To)
	if err != nil {
		return Summary{Flow: p.Flow}, err
	}
	breq := req
	breq.Detail = first.Name
	if len(batch) > 1 {
		breq.Detail += ".." + last.Name
	}
	for _, i := range batch {
		breq.marks = append(breq.marks, partitionMark(p.Flow, parts[i]))
	}
	s, err := e.runBatch(ctx, bp, breq, false, sh)
	if err != nil {
		return s, fmt.Errorf("flow %s: %w (%s)", p.Flow, err, "rolled back: partitions "+breq.Detail+" of this flow were not written; the partitions before them are exported")
	}
	return s, nil
}
