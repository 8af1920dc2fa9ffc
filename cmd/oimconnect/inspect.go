package main

import (
	"context"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"strings"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/explain"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/reconcile"
	"github.com/oimconnect/oimconnect/pipeline/spec"
	"github.com/oimconnect/oimconnect/pipeline/spectest"
	"github.com/oimconnect/oimconnect/specs"
)

// The commands that look without exporting: runs, explain, plan, validate, test, flows.

func doRuns(ctx context.Context, inv *invocation) int {
	return withEngine(ctx, inv, func(eng *pipeline.Engine) int {
		runs, err := eng.Runs(ctx, inv.opt.limit)
		if err != nil {
			return fail(inv.stderr, err)
		}
		stdout := inv.stdout
		fmt.Fprintf(stdout, "%-24s %-10s %-21s %-20s %8s %8s %9s %8s %7s %6s  %s\n", "run", "mode", "flow", "started (UTC)", "selected", "exported", "documents", "lines", "waiting", "errors", "detail")
		for _, r := range runs {
			detail := r.Detail
			if r.Error != "" {
				detail = strings.TrimSpace(detail + " FAILED: " + r.Error)
			}
			fmt.Fprintf(stdout, "%-24s %-10s %-21s %-20s %8d %8d %9d %8d %7d %6d  %s\n", r.RunID, r.Mode, r.Flow, r.Started.Format("2006-01-02 15:04:05"),
				r.Selected, r.Exported, r.Documents, r.Lines, r.Waiting, r.Errors, detail)
		}
		return fault.ExitOK
	})
}

func doExplain(ctx context.Context, inv *invocation) int {
	o := inv.opt
	if len(o.flows) != 1 || len(o.ids) != 1 {
		return refuse(inv.cmd, inv.stderr, errors.New("give one --flow and one --id"))
	}
	return withEngine(ctx, inv, func(eng *pipeline.Engine) int {
		x, err := explain.Record(ctx, eng, o.flows[0], o.ids[0])
		if err != nil {
			return fail(inv.stderr, err)
		}
		fmt.Fprint(inv.stdout, x)
		return fault.ExitOK
	})
}

func doPlan(ctx context.Context, inv *invocation) int {
	return withEngine(ctx, inv, func(eng *pipeline.Engine) int {
		plans, err := eng.Plan(ctx, pipeline.Request{Flows: inv.opt.flows, IDs: inv.opt.ids})
		if err != nil {
			return fail(inv.stderr, err)
		}
		stdout := inv.stdout
		for _, p := range plans {
			fmt.Fprintf(stdout, "-- flow %s\n", p.Flow)
			if len(p.Whole) > 0 {
				var names []string
				for _, t := range p.Whole {
					names = append(names, t.FullName())
				}
				fmt.Fprintf(stdout, "-- read whole (lookups, derived references): %s\n", strings.Join(names, ", "))
			}
			for _, st := range p.Prelude {
				fmt.Fprintf(stdout, "\n-- prelude: %s\n%s;\n", st.Name, st.SQL)
			}
			for _, st := range p.Stage {
				fmt.Fprintf(stdout, "\n-- stage: %s\n%s;\n", st.Name, st.SQL)
			}
			for _, st := range p.Write {
				fmt.Fprintf(stdout, "\n-- write: %s\n%s;\n", st.Name, st.SQL)
			}
			fmt.Fprintln(stdout)
		}
		return fault.ExitOK
	})
}

// doValidate checks the specs, and the configuration against them (flow names, each
// plugin as run would check it), and reports every problem with its position.
func doValidate(ctx context.Context, inv *invocation) int {
	cfg, stdout, stderr := inv.cfg, inv.stdout, inv.stderr
	open := pipeline.OpenContract
	withDB := cfg.DB != "" || cfg.Source != "" || cfg.Target != ""
	if withDB {
		open = pipeline.Open
	}
	report := func(err error) int {
		ps, ok := spec.ProblemsOf(err)
		if !ok {
			return fail(stderr, err)
		}
		for _, p := range ps {
			fmt.Fprintln(stderr, p)
		}
		fmt.Fprintf(stderr, "%d problem(s)\n", len(ps))
		return fault.ExitInput
	}
	eng, err := open(ctx, cfg, inv.log, pipeline.ReadOnly())
	if err != nil {
		return report(err)
	}
	defer eng.Close()
	plans, err := eng.Plan(ctx, pipeline.Request{})
	if probs, ok := spec.ProblemsOf(err); ok || err == nil {
		// The reconcile sections too, and every mistake at once.
		if rerr := probs.Add(reconcile.Check(ctx, eng)); rerr != nil {
			return report(rerr)
		}
		if withDB {
			// The automation criteria name columns of the database's tables, which
			// the contract's schemas may lack.
			if cerr := probs.Add(eng.CheckCriteria(ctx)); cerr != nil {
				return report(cerr)
			}
		}
		if len(probs) > 0 {
			err = fault.Input(probs)
		}
	}
	if err != nil {
		return report(err)
	}
	for _, p := range plans {
		fmt.Fprintf(stdout, "ok  %s\n", p.Flow)
	}
	for _, p := range cfg.Plugins {
		fmt.Fprintf(stdout, "ok  plugin %s (%s)\n", p.Name, strings.Join(p.Flows, ", "))
	}
	return fault.ExitOK
}

func doTest(ctx context.Context, inv *invocation) int {
	cfg, stdout, stderr := inv.cfg, inv.stdout, inv.stderr
	var fsys iofs.FS = specs.FS
	dir := "specs (embedded)"
	if cfg.Specs != "" {
		fsys, dir = os.DirFS(cfg.Specs), cfg.Specs
	}
	results, err := spectest.RunDir(ctx, fsys, dir)
	if err != nil {
		return fail(stderr, &fault.InputError{Err: err})
	}
	failed := 0
	for _, r := range results {
		if r.Passed() {
			fmt.Fprintf(stdout, "PASS  %s: %s\n", r.File, r.Name)
			continue
		}
		failed++
		fmt.Fprintf(stdout, "FAIL  %s: %s\n", r.File, r.Name)
		for _, f := range r.Failures {
			fmt.Fprintf(stdout, "        %s\n", f)
		}
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", len(results)-failed, failed)
	if failed > 0 {
		return fault.ExitRecords
	}
	return fault.ExitOK
}

func doFlows(_ context.Context, inv *invocation) int {
	set, err := pipeline.LoadSpecs(inv.cfg.Specs)
	if err != nil {
		return fail(inv.stderr, err)
	}
	for _, f := range set.Ordered() {
		fmt.Fprintf(inv.stdout, "%-22s %s\n", f.Name, f.Description)
	}
	return fault.ExitOK
}
