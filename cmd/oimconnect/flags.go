package main

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"
)

// options holds the values of the flags that are the command's own. --db, --source,
// --target, --specs and --log-level are configuration: config.Load reads them from
// the FlagSet.
type options struct {
	config        string
	flows, ids    []string
	dryRun, force bool
	report        string
	from, to      string
	partition     string
	limit         int
	invoices      int
	seed          int64
	// The queue's: where it is, whose jobs, which, and a worker's.
	queue, tenant, tenants string
	states                 []string
	concurrency            int
	lease, shutdown        time.Duration
	timeScale              float64
	args                   []string // the command's arguments (queue retry's and cancel's job ids)
	name, role             string
	action                 string // the user command's ACTION
}

// flagInfo is how a flag reads in help: the placeholder of its value ("" for a switch)
// and its meaning, which a command may say its own way.
type flagInfo struct {
	arg, meaning string
}

// flagInfos are the flags of every command, with their common meaning.
var flagInfos = map[string]flagInfo{
	"config":           {"FILE", "the YAML configuration file (db, source, target, specs, settings, log, batch_size, duckdb, plugins); OIMCONNECT_* environment variables and flags override it"},
	"db":               {"FILE|URL", "the DuckDB file, or postgres:// URL, holding both the oim and the acct schemas (the default of --source and --target)"},
	"source":           {"FILE|URL|DIR", "where OIM records are read, when not --db: a DuckDB file, a postgres:// URL, or a directory of <table>.csv / <table>.parquet files"},
	"target":           {"FILE|URL", "where documents are written, when not --db: a DuckDB file or a postgres:// URL"},
	"specs":            {"DIR", "a directory of flow specs replacing the embedded defaults"},
	"log-level":        {"LEVEL", "debug, info, warn or error (default info); structured logs go to standard error"},
	"flow":             {"NAME", "only this flow (repeatable; default: every flow, in run order)"},
	"id":               {"ID", "only this source record (repeatable): the record page action"},
	"dry-run":          {"", "compute the whole run (counts, failures and their reasons), then roll it back: nothing is written"},
	"report":           {"FILE", "also write the summary as JSON to FILE: counts per flow, every created document with its source, every failure with its reason (FILE may be a report written before, never another file)"},
	"from":             {"DATE", "the first document date, YYYY-MM-DD (required)"},
	"to":               {"DATE", "the last document date, YYYY-MM-DD, included (required)"},
	"partition":        {"day|month", "the size of each partition (default month)"},
	"limit":            {"N", "how many flow runs to list, latest first (default 20)"},
	"invoices":         {"N", "how many invoices to generate; the other flows' records come in proportion (default 3000)"},
	"seed":             {"N", "the random seed: the same seed and size give the same data (default 1)"},
	"force":            {"", "replace a DuckDB file that already exists (never a PostgreSQL database's data)"},
	"queue":            {"URL", "the postgres:// URL of the queue database workers take jobs from (prepared by `oimconnect init --queue URL`)"},
	"tenant":           {"NAME", "the tenant (its file is <NAME>.yaml in the workers' --tenants directory)"},
	"tenants":          {"DIR", "the directory of tenant files, one <tenant>.yaml per tenant: each a configuration file (source, target, specs, settings, schedules, plugins), its relative paths taken from its directory"},
	"state":            {"STATE", "only jobs in this state (repeatable): pending, scheduled, available, running, retryable, completed, cancelled, discarded"},
	"concurrency":      {"N", "how many jobs this worker runs at once (default 2)"},
	"lease":            {"DURATION", "how long a job may run before it is cancelled, rolled back and retried; a job whose worker died is run again by another once its lease has passed (River looks every 30s; default 1h)"},
	"shutdown-timeout": {"TIME", "on SIGTERM or Ctrl-C, how long the jobs in progress may take to finish before they are cancelled, rolled back and handed back to the queue (default 30s)"},
	"time-scale":       {"N", "for tests and demos: the schedules' clock runs N times as fast (every worker of the queue must use the same N; default 1)"},
	"listen":           {"ADDR", "the web console's address, host:port (default console.listen, 127.0.0.1:8080; 0.0.0.0:PORT listens on every interface)"},
	"name":             {"NAME", "the user's login name (letters, digits, . _ @ -)"},
	"role":             {"ROLE", "viewer (reads every page), operator (also exports and dry runs) or admin (also settings, schedules and users); add's default is viewer"},
}

// defineFlag defines the named flag on fs, its value kept in o.
func defineFlag(fs *pflag.FlagSet, o *options, name string) {
	u := flagInfos[name].meaning
	switch name {
	case "config":
		fs.StringVar(&o.config, name, "", u)
	case "db", "source", "target", "specs", "log-level", "listen":
		fs.String(name, "", u)
	case "name":
		fs.StringVar(&o.name, name, "", u)
	case "role":
		fs.StringVar(&o.role, name, "", u)
	case "flow":
		fs.StringArrayVar(&o.flows, name, nil, u)
	case "id":
		fs.StringArrayVar(&o.ids, name, nil, u)
	case "dry-run":
		fs.BoolVar(&o.dryRun, name, false, u)
	case "force":
		fs.BoolVar(&o.force, name, false, u)
	case "report":
		fs.StringVar(&o.report, name, "", u)
	case "from":
		fs.StringVar(&o.from, name, "", u)
	case "to":
		fs.StringVar(&o.to, name, "", u)
	case "partition":
		fs.StringVar(&o.partition, name, "month", u)
	case "limit":
		fs.IntVar(&o.limit, name, 20, u)
	case "invoices":
		fs.IntVar(&o.invoices, name, 3000, u)
	case "seed":
		fs.Int64Var(&o.seed, name, 1, u)
	case "queue":
		fs.StringVar(&o.queue, name, "", u)
	case "tenant":
		fs.StringVar(&o.tenant, name, "", u)
	case "tenants":
		fs.StringVar(&o.tenants, name, "", u)
	case "state":
		fs.StringArrayVar(&o.states, name, nil, u)
	case "concurrency":
		fs.IntVar(&o.concurrency, name, 2, u)
	case "lease":
		fs.DurationVar(&o.lease, name, time.Hour, u)
	case "shutdown-timeout":
		fs.DurationVar(&o.shutdown, name, 30*time.Second, u)
	case "time-scale":
		fs.Float64Var(&o.timeScale, name, 1, u)
	default:
		panic(fmt.Sprintf("oimconnect: no flag --%s", name))
	}
}

// flagsOf lists the commands (other than cmd) that take the flag, for a refusal.
func flagsOf(name string, except *command) []string {
	var out []string
	for _, c := range commands {
		if c == except {
			continue
		}
		for _, f := range c.flags {
			if f.name == name {
				out = append(out, c.name)
			}
		}
	}
	return out
}
