package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/host"
	"github.com/oimconnect/oimconnect/pipeline/spec"
)

// checkConfig refuses a configuration the specs contradict, every mistake at its
// place in the file (or its environment variable): flow-keyed settings and plugin flows
// that name no flow, and plugins whose executable is missing or does not match its
// checksum, checked as a run checks them before starting one.
func checkConfig(cfg *config.Config, set *spec.Set) error {
	var names []string
	for _, f := range set.Ordered() {
		names = append(names, f.Name)
	}
	var probs spec.Problems
	if err := probs.Add(cfg.CheckFlows(names)); err != nil {
		return err
	}
	for i, p := range cfg.Plugins {
		err := host.Check([]config.Plugin{p}, nil)
		if err == nil {
			continue
		}
		key := "sha256"
		if _, serr := os.Stat(p.Path); serr != nil || errors.Is(err, host.ErrNotExecutable) {
			key = "path"
		}
		if probs.Add(cfg.ErrorAt(err, "plugins", strconv.Itoa(i), key)) != nil {
			return err
		}
	}
	if len(probs) > 0 {
		return fault.Input(probs)
	}
	return nil
}

// CheckConfig loads the configuration's specs and refuses a configuration they
// contradict, as Open does, without opening any database: a worker checks every
// tenant's file this way when it starts, and opens each tenant's engine with the specs
// it returns (WithSpecs).
func CheckConfig(cfg *config.Config) (*spec.Set, error) {
	set, err := LoadSpecs(cfg.Specs)
	if err != nil {
		return nil, err
	}
	if err := checkConfig(cfg, set); err != nil {
		return nil, err
	}
	return set, nil
}

// checkCriteria refuses automation criteria that name no boolean column of their
// flow's source table, each at its key in the configuration (or its environment
// variable): the plan of an automatic run finds the same mistake, but only once watch
// runs, and places it in the flow's spec, which is not where it is to be fixed. A
// flow whose source table is missing is left to the plan, which reports the table.
func checkCriteria(cfg *config.Config, settings config.Settings, flows []*spec.Flow, cat *catalog.Catalog) error {
	var probs spec.Problems
	for _, f := range flows {
		auto, col := settings.Automation.Automated(f.Name)
		if !auto || col == "" {
			continue
		}
		t, ok := cat.Table(f.Source.Table)
		if !ok {
			continue
		}
		var err error
		switch c, ok := t.Column(col); {
		case !ok:
			err = fmt.Errorf("settings.automation.flows.%s.criteria: %s has no column %s%s (criteria name a boolean column of the flow's source)",
				flowKey(f.Name), t.FullName(), col, fault.Closest(col, t.ColumnNames()))
		case c.Type.Kind != catalog.Bool:
			err = fmt.Errorf("settings.automation.flows.%s.criteria: %s.%s must be a boolean column, it is %s", flowKey(f.Name), t.FullName(), c.Name, c.Type.SQL)
		default:
			continue
		}
		if perr := probs.Add(cfg.ErrorAt(err, "settings", "automation", "flows", flowKey(f.Name), "criteria")); perr != nil {
			return perr
		}
	}
	if len(probs) > 0 {
		return fault.Input(probs)
	}
	return nil
}

// flowKey is a flow's name as a key of the flow-keyed settings: sales-invoices ->
// sales_invoices.
func flowKey(flow string) string { return strings.ReplaceAll(flow, "-", "_") }

// CheckCriteria checks the automation criteria against the database's tables, as
// watch does before its first run: validate --db reports them with the rest.
func (e *Engine) CheckCriteria(ctx context.Context) error {
	cat, err := catalog.Read(ctx, e.store.DB(), e.store.Schemas()...)
	if err != nil {
		return err
	}
	settings := e.cfg.Settings
	if e.settings != nil {
		settings = e.settings()
	}
	return checkCriteria(e.cfg, settings, e.specs.Ordered(), cat)
}
