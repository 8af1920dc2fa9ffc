// Package host runs tenants' transform plugins (plugins/shared, over
// github.com/hashicorp/go-plugin) as the engine's Transformer: after a flow's
// documents are mapped and checked, and before they are written, each plugin declared
// for the flow gets them in batches of whole documents as Arrow records, and its
// changes and refusals are applied to the staged tables (temp tables: nothing is
// written until the flow's write commits).
//
// Failure is contained per batch: a plugin that crashes, hangs past its timeout,
// answers garbage, cannot start (another protocol version), or breaks the rules (rows
// added, dropped or reordered, keys or column types changed) fails the documents of
// that batch with a reason naming the plugin, and nothing of its reply is kept; the
// other batches and flows go on. A plugin that crashed or timed out is killed and
// started again for the next batch, up to three times in a row within one transform
// (one batch of a flow's run). A plugin whose executable does not match its checksum is
// refused before anything runs (a configuration error).
package host

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"

	"github.com/marcboeker/go-duckdb"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/plan"
	"github.com/oimconnect/oimconnect/pipeline/spec"
	"github.com/oimconnect/oimconnect/plugins/shared"
)

// Host runs the configured plugins. It starts each one once, when a flow first needs
// it, and reuses it for every batch until Close.
type Host struct {
	mu      sync.Mutex
	specs   *spec.Set
	log     *slog.Logger
	runners []*runner
}

// New checks the plugins' declarations (flows known to specs, when given, and each
// executable against its checksum) and returns a host that starts them on demand. A
// mistake is a *fault.InputError: nothing has run.
func New(plugins []config.Plugin, specs *spec.Set, log *slog.Logger) (*Host, error) {
	h := &Host{specs: specs, log: log}
	for _, p := range plugins {
		if specs != nil {
			for _, f := range p.Flows {
				if specs.Flows[f] == nil {
					return nil, &fault.InputError{Err: fmt.Errorf("plugin %s: unknown flow %q (flows: %s)", p.Name, f, strings.Join(flowNames(specs), ", "))}
				}
			}
		}
		sum, err := verify(p)
		if err != nil {
			return nil, err
		}
		h.runners = append(h.runners, &runner{
			name: p.Name, flows: p.Flows, settings: p.Settings, timeout: p.CallTimeout(), rows: p.Rows(), log: log,
			start: processStarter(p, sum, log, p.CallTimeout()),
		})
	}
	return h, nil
}

// Check verifies the plugins as New does before anything starts (flows known to
// specs, when given; each executable present and matching its checksum), without
// starting them: for validating a configuration. A mistake is a *fault.InputError.
func Check(plugins []config.Plugin, specs *spec.Set) error {
	h, err := New(plugins, specs, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	return h.Close()
}

// InProcess is a plugin whose transform runs in the host's own process (no gRPC, no
// IPC), checked like any plugin: for benchmarks and tests.
type InProcess struct {
	Name      string
	Flows     []string
	Settings  map[string]any
	BatchSize int
	Impl      shared.Transform
}

// NewInProcess is a host running transforms in process.
func NewInProcess(specs *spec.Set, log *slog.Logger, plugins ...InProcess) *Host {
	h := &Host{specs: specs, log: log}
	for _, p := range plugins {
		c := config.Plugin{BatchSize: p.BatchSize}
		impl := p.Impl
		h.runners = append(h.runners, &runner{
			name: p.Name, flows: p.Flows, settings: p.Settings, timeout: c.CallTimeout(), rows: c.Rows(), log: log,
			start: func() (*instance, error) {
				return &instance{ep: inProcess{impl: impl}, crash: &crashNotes{}, cols: map[string]map[string][]string{}}, nil
			},
		})
	}
	return h
}

// Transform runs the flow's plugins, in configuration order, over its staged
// documents (the engine's Transformer). It returns the outputs it made views of their
// changes and the tables behind them, for the engine to drop after the write.
func (h *Host) Transform(ctx context.Context, x catalog.Execer, conn *sql.Conn, p *plan.Plan) (left plan.Leftovers, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var runners []*runner
	for _, r := range h.runners {
		if r.applies(p.Flow) {
			runners = append(runners, r)
		}
	}
	if len(runners) == 0 {
		return left, nil
	}
	var ar *duckdb.Arrow
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(driver.Conn)
		if !ok {
			return fmt.Errorf("not a database/sql driver connection: %T", dc)
		}
		var err error
		ar, err = duckdb.NewArrowFromConn(c)
		return err
	})
	if err != nil {
		return left, fmt.Errorf("arrow: %w", err)
	}
	for i, r := range runners {
		r.reset()
		ps := &pass{ctx: ctx, x: x, ar: ar, p: p, left: &left, r: r, parents: h.parents(p), prefix: fmt.Sprintf("%spx%d_", strings.TrimSuffix(p.Bad, "bad"), i)}
		err := ps.run()
		ps.cleanup()
		if err != nil {
			return left, fmt.Errorf("plugin %s: %w", r.name, err)
		}
	}
	return left, nil
}

// parents lists, per line target table, the column holding the document id: a key
// the plugin may not change.
func (h *Host) parents(p *plan.Plan) map[string]string {
	out := map[string]string{}
	if h.specs == nil || h.specs.Flows[p.Flow] == nil {
		return out
	}
	for _, k := range h.specs.Flows[p.Flow].Document.Lines {
		if k.Into != "" && k.Parent != "" {
			out[k.Into] = k.Parent
		}
	}
	return out
}

// Applies reports whether a plugin is declared for the flow: only those flows stage
// their lines as tables for it.
func (h *Host) Applies(flow string) bool {
	for _, r := range h.runners {
		if r.applies(flow) {
			return true
		}
	}
	return false
}

// Close stops every running plugin.
func (h *Host) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.runners {
		r.stop(false)
	}
	return nil
}

func flowNames(s *spec.Set) []string {
	var out []string
	for name := range s.Flows {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// isFail reports whether err fails a batch's documents (rather than the flow).
func isFail(err error) (*fail, bool) {
	var f *fail
	ok := errors.As(err, &f)
	return f, ok
}
