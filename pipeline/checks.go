package pipeline

import (
	"errors"
	"os"
	"strconv"

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
