package main

import (
	"context"
	"fmt"
	"io"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/reconcile"
)

// doReconcile is `oimconnect reconcile`.
func doReconcile(ctx context.Context, inv *invocation) int {
	o := inv.opt
	return withEngine(ctx, inv, func(eng *pipeline.Engine) int {
		rep, err := reconcile.Run(ctx, eng, reconcile.Request{From: o.from, To: o.to, Flows: o.flows})
		if err != nil {
			return fail(inv.stderr, err)
		}
		printReconciliation(inv.stdout, rep)
		if o.report != "" {
			if err := saveReport(o.report, rep); err != nil {
				fmt.Fprintf(inv.stderr, "oimconnect: report: %v\n", err)
			}
		}
		if !rep.OK() {
			return fault.ExitRecords
		}
		return fault.ExitOK
	})
}

func printReconciliation(w io.Writer, rep *reconcile.Report) {
	for _, f := range rep.Flows {
		fmt.Fprintf(w, "%s\n", f.Flow)
		balance := false
		for _, p := range f.Periods {
			balance = balance || (p.Source == "" && p.Documents == "")
		}
		if balance {
			fmt.Fprintf(w, "  %-8s %9s %11s\n", "period", "records", "unbalanced")
			for _, p := range f.Periods {
				fmt.Fprintf(w, "  %-8s %9d %11d\n", p.Period, p.Records, p.Unbalanced)
			}
		} else {
			fmt.Fprintf(w, "  %-8s %9s %18s %18s %12s\n", "period", "records", "source", "documents", "difference")
			for _, p := range f.Periods {
				fmt.Fprintf(w, "  %-8s %9d %18s %18s %12s\n", p.Period, p.Records, p.Source, p.Documents, p.Difference)
			}
		}
		if len(f.Mismatches) == 0 {
			fmt.Fprintf(w, "  everything adds up\n")
			continue
		}
		fmt.Fprintf(w, "  %d record(s) do not add up:\n", len(f.Mismatches))
		for _, m := range f.Mismatches {
			fmt.Fprintf(w, "    %s (%s): %s\n", m.Record, m.Period, m.Reason)
		}
	}
}
