package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/store"
)

// Shared is one engine for the callers of one process (serve's watcher, schedules and
// console): opened when the first needs it, shared while any uses it, and closed when
// the last is done, so OIM, which writes the same DuckDB file from another process,
// gets in between. Runs still take turns (the engine's own lock); reads never wait for
// a run. Opening waits while another process holds the file.
//
// The configuration can change while the process runs (the console saves settings and
// schedules): Reconfigure puts the new one in use. Every run planned afterwards reads
// its settings, also on an engine that was open already; the rest of it is used by the
// next engine opened; Changed tells the schedulers to look again.
type Shared struct {
	log  *slog.Logger
	opts []Option

	lock   chan struct{} // held while opening; waiting for it ends with the caller's ctx
	eng    *Engine
	engGen int // the configuration generation eng was opened with
	users  int

	cfgMu   sync.Mutex // never held while opening: Config answers at once
	cfg     *config.Config
	gen     int           // counts Reconfigure calls
	changed chan struct{} // closed by Reconfigure
}

// NewShared is a shared engine of the configuration, opened on demand with opts.
func NewShared(cfg *config.Config, log *slog.Logger, opts ...Option) *Shared {
	return &Shared{cfg: cfg, log: log, opts: opts, lock: make(chan struct{}, 1), changed: make(chan struct{})}
}

// Config is the configuration in use.
func (s *Shared) Config() *config.Config {
	cfg, _ := s.current()
	return cfg
}

func (s *Shared) current() (*config.Config, int) {
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	return s.cfg, s.gen
}

// Reconfigure puts cfg in use: its settings for every run planned from now on, the rest
// for the next engine opened (as soon as nobody uses the one open now).
func (s *Shared) Reconfigure(cfg *config.Config) {
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	s.cfg = cfg
	s.gen++
	close(s.changed)
	s.changed = make(chan struct{})
}

// Changed is closed when the configuration changes (then call it again).
func (s *Shared) Changed() <-chan struct{} {
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	return s.changed
}

// Use runs use with the engine, opening it when nobody has it open.
func (s *Shared) Use(ctx context.Context, use func(*Engine) error) error {
	eng, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer s.release()
	return use(eng)
}

func (s *Shared) acquire(ctx context.Context) (*Engine, error) {
	select {
	case s.lock <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("stopped while waiting for the database: %w", ctx.Err())
	}
	defer func() { <-s.lock }()
	cfg, gen := s.current()
	if s.eng != nil && s.engGen != gen && s.users == 0 {
		s.closeEngine()
	}
	if s.eng == nil {
		opts := append(append([]Option{}, s.opts...), liveSettings(func() config.Settings { return s.Config().Settings }))
		eng, err := OpenWhenFree(ctx, cfg, s.log, opts...)
		if err != nil {
			return nil, err
		}
		s.eng, s.engGen = eng, gen
	}
	s.users++
	return s.eng, nil
}

func (s *Shared) release() {
	s.lock <- struct{}{}
	defer func() { <-s.lock }()
	if s.users--; s.users == 0 {
		s.closeEngine()
	}
}

func (s *Shared) closeEngine() {
	if err := s.eng.Close(); err != nil {
		s.log.Warn("close the database", "error", err)
	}
	s.eng = nil
}

// OpenWhenFree opens the engine, waiting while another process holds the DuckDB file
// (OIM writing to it), until ctx ends.
func OpenWhenFree(ctx context.Context, cfg *config.Config, log *slog.Logger, opts ...Option) (*Engine, error) {
	for {
		eng, err := Open(ctx, cfg, log, opts...)
		if err == nil || !store.Busy(err) {
			return eng, err
		}
		log.Debug("database busy, waiting", "error", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("stopped while waiting for the database: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
