// Package tenant loads the tenants an operator runs the connector for: a directory of
// tenant files, one per tenant, each a configuration file as --config reads it (source,
// target, specs, settings with schedules and automation, plugins), named
// <tenant>.yaml. Relative paths in a file are taken relative to its directory. Each file
// is checked as the command line checks a configuration (every mistake at its
// file:line:column) and against its specs (flow-keyed settings, plugins), and no two
// tenants may share a source or a target: one tenant's documents, locks, history and
// failures live in its own databases and never touch another's.
package tenant

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
	"github.com/oimconnect/oimconnect/pipeline/spec"
)

// Tenant is one tenant: its name (the file's, without .yaml), its file and its
// configuration, with its specs loaded.
type Tenant struct {
	Name   string
	File   string
	Config *config.Config
	Specs  *spec.Set
}

// Source is where the tenant's OIM records are read.
func (t *Tenant) Source() string { return or(t.Config.Source, t.Config.DB) }

// Target is where the tenant's documents are written.
func (t *Tenant) Target() string { return or(t.Config.Target, t.Config.DB) }

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Set is the tenants of a directory, by name.
type Set struct {
	Dir     string
	Tenants map[string]*Tenant
}

// Names are the tenants' names, sorted.
func (s *Set) Names() []string {
	out := make([]string, 0, len(s.Tenants))
	for n := range s.Tenants {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Get is the named tenant, or an input error naming the known ones.
func (s *Set) Get(name string) (*Tenant, error) {
	if t := s.Tenants[name]; t != nil {
		return t, nil
	}
	return nil, fault.Inputf("no tenant %q in %s (tenants: %s)", name, s.Dir, strings.Join(s.Names(), ", "))
}

// namePattern is what a tenant's name may be: it names jobs, schedules and logs.
var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// LoadDir loads every <tenant>.yaml (or .yml) of dir. Every mistake of every file is
// reported at once, each at its place: an input error (exit status 2).
func LoadDir(dir string) (*Set, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fault.Inputf("tenants: %w", err)
	}
	set := &Set{Dir: dir, Tenants: map[string]*Tenant{}}
	var msgs []string
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		t, err := Load(filepath.Join(dir, e.Name()))
		if err != nil {
			msgs = append(msgs, err.Error())
			continue
		}
		if set.Tenants[t.Name] != nil {
			msgs = append(msgs, fmt.Sprintf("%s: tenant %s is already defined by %s", t.File, t.Name, set.Tenants[t.Name].File))
			continue
		}
		set.Tenants[t.Name] = t
	}
	msgs = append(msgs, shared(set)...)
	if len(msgs) > 0 {
		return nil, fault.Inputf("%s", strings.Join(msgs, "\n"))
	}
	if len(set.Tenants) == 0 {
		return nil, fault.Inputf("tenants: no tenant file (<tenant>.yaml) in %s", dir)
	}
	return set, nil
}

// Load loads one tenant file and checks it against its specs.
func Load(file string) (*Tenant, error) {
	base := filepath.Base(file)
	name := strings.TrimSuffix(base, filepath.Ext(base))
	if !namePattern.MatchString(name) {
		return nil, fault.Inputf("%s: a tenant file is named <tenant>.yaml, the tenant's name in lower-case letters, digits, - and _ (at most 63), not %q", file, name)
	}
	cfg, err := config.LoadFile(file)
	if err != nil {
		return nil, err
	}
	t := &Tenant{Name: name, File: file, Config: cfg}
	if t.Source() == "" || t.Target() == "" {
		return nil, fault.Inputf("%s: tenant %s has no database: give db (a DuckDB file or postgres:// URL holding both schemas), or source and target", file, name)
	}
	if t.Specs, err = pipeline.CheckConfig(cfg); err != nil {
		return nil, err
	}
	return t, nil
}

// shared names the databases two tenants would share.
func shared(set *Set) []string {
	var out []string
	seen := map[string]string{}
	for _, n := range set.Names() {
		t := set.Tenants[n]
		for _, loc := range dedupe(t.Source(), t.Target()) {
			key := loc
			if !postgres.IsURL(loc) {
				if abs, err := filepath.Abs(loc); err == nil {
					key = abs
				}
			}
			if other, ok := seen[key]; ok {
				out = append(out, fmt.Sprintf("%s: tenant %s uses %s, which is tenant %s's: tenants never share a database", t.File, n, postgres.Redact(loc), other))
				continue
			}
			seen[key] = n
		}
	}
	return out
}

func dedupe(a, b string) []string {
	if a == b {
		return []string{a}
	}
	return []string{a, b}
}
