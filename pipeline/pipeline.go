// Package pipeline is the engine every caller opens: the command line, the console and
// the workers. It loads the specs (embedded, or a directory from the configuration),
// opens the store where the records and documents live (pipeline/store), plans every
// requested flow before touching any data (so a spec mistake writes nothing), then runs
// each flow's plan in batches, each batch in one transaction: a source record is
// exported completely or not at all.
//
// An engine runs one request at a time; callers that share one (the console) take
// turns. Modes (watch and serve, backfill) and explain live in their own packages on
// this API.
package pipeline

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/host"
	"github.com/oimconnect/oimconnect/pipeline/plan"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
	"github.com/oimconnect/oimconnect/pipeline/spec"
	"github.com/oimconnect/oimconnect/pipeline/store"
	"github.com/oimconnect/oimconnect/specs"
	_ "github.com/oimconnect/oimconnect/transforms" // the built-in functions specs call
)

// Store is where the engine reads records and writes documents: store.Local (one
// DuckDB file) or store.Linked (PostgreSQL, files, two DuckDB files).
type Store interface {
	// DB is the DuckDB database plans run in.
	DB() *sql.DB
	// Name names the database(s) in messages, passwords hidden.
	Name() string
	// Schemas are where the planner finds the oim and acct tables.
	Schemas() []string
	// Recovers says a record whose documents all exist counts as exported.
	Recovers() bool
	// Lock holds the target for one run against other processes: all of it, or shared
	// with runs of other scopes (flow/partition) when scopes are given.
	Lock(ctx context.Context, scopes ...string) (unlock func(), err error)
	// Prepare brings what the plans read whole into the working database.
	Prepare(ctx context.Context, cat *catalog.Catalog, plans []*plan.Plan, dryRun bool) error
	// Refresh brings what a plan reads whole up to the state its candidates were read
	// in, once they are.
	Refresh(ctx context.Context, x store.Execer, p *plan.Plan) error
	// Fetch runs a fetch statement (plan.Fetch): it stages rows of a source or target
	// table, read where the table lives.
	Fetch(ctx context.Context, x store.Execer, st plan.Statement) error
	// Commit writes a staged flow batch and its history entry (nil: none), then commits.
	Commit(ctx context.Context, conn *sql.Conn, tx *sql.Tx, p *plan.Plan, e *store.Entry, last bool, step store.Step) error
	// Record keeps a flow run that was rolled back.
	Record(ctx context.Context, e store.Entry) error
	// Runs lists the latest flow runs, newest first.
	Runs(ctx context.Context, limit int) ([]store.Entry, error)
	// Partitions are a backfill's partitions (flow/partition) committed so far.
	Partitions(ctx context.Context, backfill string) (map[string]bool, error)
	// Page reads rows of a source or target table where it lives, on a connection of
	// its own; Report a run's outcomes; Audit and AuditLog the console's actions.
	Page(ctx context.Context, q store.Query) ([][]string, int64, error)
	Report(ctx context.Context, runID string, limit int) ([]store.Outcome, error)
	Audit(ctx context.Context, a store.AuditEntry) error
	AuditLog(ctx context.Context, limit int) ([]store.AuditEntry, error)
	Close() error
}

// Transformer changes a flow's staged outputs (plan.Outputs), temp tables of conn, and
// nothing else: x runs its statements, conn serves the driver's Arrow interface. x is
// conn itself, outside any transaction: each statement commits on its own, like the
// stage's, or the transform begins transactions of its own on conn (the plugin host
// does, one per plugin), and the flow's write transaction begins after it, planned
// knowing the sizes of the tables the transform made (DuckDB takes a table made in the
// running transaction for empty). Within a shared dry run, x is the dry run's
// transaction. A document it cannot transform is added to the plan's Bad table with a
// reason; an error fails the batch. The temp tables and views it leaves for the write
// to read (an output it made a view of its changes) it returns, and the engine drops
// them after the batch, also after an error. The plugin host (pipeline/host) is one.
type Transformer interface {
	Transform(ctx context.Context, x catalog.Execer, conn *sql.Conn, p *plan.Plan) (plan.Leftovers, error)
}

// Engine runs flows against a store.
type Engine struct {
	store     Store
	specs     *spec.Set
	cfg       *config.Config
	log       *slog.Logger
	transform Transformer
	ownsHost  *host.Host // the plugins the engine started itself
	hooks     store.Hooks
	readOnly  bool                   // opened to write nothing (ReadOnly)
	settings  func() config.Settings // the settings in use (nil: cfg's), read when a run is planned
	mu        sync.Mutex             // one run, dry run, explain or census at a time
	modelMu   sync.Mutex
	cached    *plan.Model // the object model over the catalog, for reads
}

// Option configures an engine at Open or New.
type Option func(*Engine)

// WithTransform makes t every flow's transform, instead of the plugins of the
// configuration (the caller keeps and closes t: watch reuses one host across polls).
func WithTransform(t Transformer) Option { return func(e *Engine) { e.transform = t } }

// WithHooks sets the store's test hooks (failures injected at commit).
func WithHooks(h store.Hooks) Option { return func(e *Engine) { e.hooks = h } }

// ReadOnly opens the engine for commands that write nothing (dry runs, explain, plan,
// runs, reconcile, validate): DuckDB files are left byte for byte as they were, and a
// run that is not a dry run is refused.
func ReadOnly() Option { return func(e *Engine) { e.readOnly = true } }

// liveSettings makes the engine read the settings in use each time it plans a run
// (pipeline.Shared's, which the console changes while the engine is open).
func liveSettings(get func() config.Settings) Option { return func(e *Engine) { e.settings = get } }

// WithSpecs uses specs already loaded instead of loading cfg.Specs.
func WithSpecs(set *spec.Set) Option { return func(e *Engine) { e.specs = set } }

// LoadSpecs loads the spec directory named in the configuration, else the embedded defaults.
func LoadSpecs(dir string) (*spec.Set, error) {
	var fsys fs.FS = specs.FS
	name := "specs (embedded)"
	if dir != "" {
		st, err := os.Stat(dir)
		switch {
		case err != nil:
			return nil, fault.Inputf("spec directory %s: not found", dir)
		case !st.IsDir():
			return nil, fault.Inputf("spec directory %s: it is a file; --specs (specs:) names the directory holding the flows' specs and model.yaml", dir)
		}
		fsys, name = os.DirFS(dir), dir
	}
	set, err := spec.Load(fsys, name)
	if err != nil {
		return nil, fault.Input(err)
	}
	return set, nil
}

// Open loads the specs and opens the configured store: one DuckDB file (db) read and
// written in place, or a source and a target linked (see store.Linked).
func Open(ctx context.Context, cfg *config.Config, log *slog.Logger, opts ...Option) (*Engine, error) {
	e := &Engine{cfg: cfg, log: log}
	for _, o := range opts {
		o(e)
	}
	src, tgt := cfg.Source, cfg.Target
	if src == "" {
		src = cfg.DB
	}
	if tgt == "" {
		tgt = cfg.DB
	}
	if src == "" || tgt == "" {
		return nil, fault.Inputf("no database: give --db FILE (a DuckDB file holding the oim and acct schemas), or --source and --target")
	}
	if err := e.init(); err != nil {
		return nil, err
	}
	if src == tgt && store.IsDuckDBFile(src) {
		st, err := store.OpenLocal(ctx, src, cfg.DuckDB, e.hooks, e.readOnly)
		if err != nil {
			e.Close()
			return nil, err
		}
		e.store = st
	} else {
		st, err := store.OpenLinked(ctx, src, tgt, cfg.DuckDB, log, e.hooks, e.readOnly)
		if err != nil {
			e.Close()
			return nil, err
		}
		e.store = st
	}
	return e, nil
}

// New is an engine over a store already open (an in-memory database for the specs'
// unit tests, the contract's schemas for validation). Close closes the store.
func New(st Store, cfg *config.Config, log *slog.Logger, opts ...Option) (*Engine, error) {
	e := &Engine{cfg: cfg, log: log, store: st}
	for _, o := range opts {
		o(e)
	}
	if err := e.init(); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// init loads the specs, checks the configuration against them, and makes the plugin
// host (which starts each plugin when a flow first needs it).
func (e *Engine) init() error {
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.specs == nil {
		set, err := LoadSpecs(e.cfg.Specs)
		if err != nil {
			return err
		}
		e.specs = set
	}
	if err := checkConfig(e.cfg, e.specs); err != nil {
		return err
	}
	if e.transform == nil && len(e.cfg.Plugins) > 0 {
		h, err := host.New(e.cfg.Plugins, e.specs, e.log)
		if err != nil {
			return err
		}
		e.transform, e.ownsHost = h, h
	}
	return nil
}

// OpenContract is an engine over an empty in-memory database holding the contract's
// schemas: for checking specs when no database is at hand.
func OpenContract(ctx context.Context, cfg *config.Config, log *slog.Logger, opts ...Option) (*Engine, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, err
	}
	if err := catalog.Init(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return New(store.NewLocal(db, "the contract's schemas", store.Hooks{}), cfg, log, opts...)
}

// Specs are the flow specs the engine runs.
func (e *Engine) Specs() *spec.Set { return e.specs }

// DB is the DuckDB database plans run in (for tests and tools that read what a run
// did; the engine's own work goes through its methods).
func (e *Engine) DB() *sql.DB { return e.store.DB() }

// Runs lists the latest flow runs, newest first, from the target's history; it does
// not wait for a run.
func (e *Engine) Runs(ctx context.Context, limit int) ([]store.Entry, error) {
	return e.store.Runs(ctx, limit)
}

// Close closes the store and the plugins the engine started.
func (e *Engine) Close() error {
	var err error
	if e.store != nil {
		err = e.store.Close()
	}
	if e.ownsHost != nil {
		e.ownsHost.Close()
	}
	return err
}

// Plan reads the catalog and plans the requested flows, in run order, without reading
// any data.
func (e *Engine) Plan(ctx context.Context, req Request) ([]*plan.Plan, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, plans, err := e.plan(ctx, req)
	return plans, err
}

func (e *Engine) plan(ctx context.Context, req Request) (*catalog.Catalog, []*plan.Plan, error) {
	flows, err := e.flows(req.Flows)
	if err != nil {
		return nil, nil, err
	}
	cat, err := catalog.Read(ctx, e.store.DB(), e.store.Schemas()...)
	if err != nil {
		return nil, nil, err
	}
	if len(cat.Tables()) == 0 {
		db := postgres.Redact(e.store.Name())
		return nil, nil, fault.Inputf("database %s has no oim or acct tables: create them with `oimconnect init --db %s`", db, db)
	}
	model, err := plan.NewModel(e.specs.Model, cat)
	if err != nil {
		return nil, nil, fault.Input(err)
	}
	var probs spec.Problems
	var plans []*plan.Plan
	settings := e.cfg.Settings
	if e.settings != nil {
		settings = e.settings()
	}
	if req.Mode == ModeAutomatic {
		if err := checkCriteria(e.cfg, settings, flows, cat); err != nil {
			return nil, nil, err
		}
	}
	for _, f := range flows {
		opt := plan.Options{IDs: req.IDs, Settings: settings.Map(), Explain: req.explain, From: req.From, To: req.To,
			Recover: e.store.Recovers(), Materialize: e.transforms(f.Name)}
		if req.Mode == ModeAutomatic {
			_, opt.Criteria = settings.Automation.Automated(f.Name)
		}
		if req.Retries != nil {
			opt.Deferred = deferredTable
		}
		p, err := plan.Build(f, model, opt)
		if err != nil {
			var ps spec.Problems
			if errors.As(err, &ps) {
				probs = append(probs, ps...)
				continue
			}
			return nil, nil, err
		}
		plans = append(plans, p)
	}
	if len(probs) > 0 {
		return nil, nil, fault.Input(probs)
	}
	return cat, plans, nil
}

// transforms reports whether the transform changes this flow (one that does not say
// changes every flow).
func (e *Engine) transforms(flow string) bool {
	if e.transform == nil {
		return false
	}
	if a, ok := e.transform.(interface{ Applies(string) bool }); ok {
		return a.Applies(flow)
	}
	return true
}

func (e *Engine) flows(names []string) ([]*spec.Flow, error) {
	all := e.specs.Ordered()
	if len(names) == 0 {
		return all, nil
	}
	var out []*spec.Flow
	for _, f := range all {
		for _, n := range names {
			if n == f.Name {
				out = append(out, f)
				break
			}
		}
	}
	for _, n := range names {
		if e.specs.Flows[n] == nil {
			known := make([]string, len(all))
			for i, f := range all {
				known[i] = f.Name
			}
			return nil, fault.Inputf("unknown flow %q (flows: %s)", n, strings.Join(known, ", "))
		}
	}
	return out, nil
}

// flowError names the failed flow (and batch) and what the failure left behind.
func flowError(flow string, err error, batch, batches int) error {
	return fmt.Errorf("flow %s: %w (%s)", flow, err, store.RolledBack(err, batch, batches))
}
