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
type Shared struct {
	cfg  *config.Config
	log  *slog.Logger
	opts []Option

	mu    sync.Mutex
	eng   *Engine
	users int
}

// NewShared is a shared engine of the configuration, opened on demand with opts.
func NewShared(cfg *config.Config, log *slog.Logger, opts ...Option) *Shared {
	return &Shared{cfg: cfg, log: log, opts: opts}
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
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.eng == nil {
		eng, err := OpenWhenFree(ctx, s.cfg, s.log, s.opts...)
		if err != nil {
			return nil, err
		}
		s.eng = eng
	}
	s.users++
	return s.eng, nil
}

func (s *Shared) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users--; s.users == 0 {
		if err := s.eng.Close(); err != nil {
			s.log.Warn("close the database", "error", err)
		}
		s.eng = nil
	}
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
