package host

import (
	"sync"
	"time"
)

// Health is how one plugin has fared in this process, for the console: read without
// waiting for a transform in progress.
type Health struct {
	Name  string
	Flows []string
	// Loaded says its process is running now (started on first use, kept between
	// batches).
	Loaded bool
	// Starts counts the times it was started; Restarts those after a crash or timeout.
	Starts, Restarts int64
	// Crashes counts crashes and timeouts (each failed its batch's documents);
	// LastFailure is the latest, and when.
	Crashes       int64
	LastFailure   string
	LastFailureAt time.Time
	// Down says it is not restarted in the current transform (too many failures in a
	// row).
	Down bool
}

// stats is what a runner counts for Health, under its own lock.
type stats struct {
	mu     sync.Mutex
	h      Health
	failed bool // the last start ended in a crash or timeout: the next is a restart
}

func (s *stats) started() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed {
		s.h.Restarts++
		s.failed = false
	}
	s.h.Starts++
	s.h.Loaded, s.h.Down = true, false
}

func (s *stats) stopped() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.h.Loaded = false
}

func (s *stats) crashed(msg string, down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failed = true
	s.h.Crashes++
	s.h.LastFailure, s.h.LastFailureAt = msg, time.Now()
	s.h.Down = down
}

func (s *stats) snapshot() Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.h
}

// Health reports every configured plugin's health, in configuration order. It never
// waits for a transform.
func (h *Host) Health() []Health {
	out := make([]Health, len(h.runners))
	for i, r := range h.runners {
		out[i] = r.stats.snapshot()
		out[i].Name, out[i].Flows = r.name, append([]string(nil), r.flows...)
	}
	return out
}
