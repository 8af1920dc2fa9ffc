package console

import (
	"context"
	"sync"
	"time"
)

// lazy computes slow values (a flow's census, a record's explanation: each a dry run,
// taking its turn with the runs) in the background, once per key at a time, and keeps
// each for a while. A page asks for it, waits a little, and when it is not ready shows
// that it is coming and asks again: a request never blocks behind a long export, and
// repeated requests never pile up computations.
type lazy[T any] struct {
	now  func() time.Time
	keep time.Duration
	base context.Context

	mu   sync.Mutex
	byID map[string]*lazyEntry[T]
	busy sync.WaitGroup // computations running
}

type lazyEntry[T any] struct {
	done  chan struct{}
	at    time.Time // when it was computed
	val   T
	err   error
	stale bool // forgotten while computed (under lazy.mu)
}

func newLazy[T any](now func() time.Time, keep time.Duration) *lazy[T] {
	return &lazy[T]{now: now, keep: keep, base: context.Background(), byID: map[string]*lazyEntry[T]{}}
}

// How long a census (a dry run of a flow) and a record's explanation are kept; an
// export the console runs forgets them at once.
const (
	censusKeep  = time.Minute
	explainKeep = 5 * time.Second
)

// computeTimeout bounds one computation.
const computeTimeout = 10 * time.Minute

// get waits up to wait for key's value, computing it with compute when there is none
// or it is older than keep; ok is false when it is still being computed.
func (l *lazy[T]) get(ctx context.Context, key string, wait time.Duration, compute func(context.Context) (T, error)) (val T, err error, ok bool) {
	l.mu.Lock()
	e, found := l.byID[key]
	if found {
		select {
		case <-e.done:
			if e.stale || l.now().Sub(e.at) > l.keep || e.err != nil {
				found = false
			}
		default:
		}
	}
	if !found {
		l.sweep()
		e = &lazyEntry[T]{done: make(chan struct{})}
		l.byID[key] = e
		l.busy.Add(1)
		go func() {
			defer l.busy.Done()
			cctx, cancel := context.WithTimeout(l.base, computeTimeout)
			defer cancel()
			v, err := compute(cctx)
			e.val, e.err, e.at = v, err, l.now()
			close(e.done)
		}()
	}
	l.mu.Unlock()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-e.done:
		return e.val, e.err, true
	case <-t.C:
	case <-ctx.Done():
	}
	return val, nil, false
}

// sweep drops the values no request may use any more (computed, and expired, stale or
// failed), so that the values kept are those asked for within keep, whatever the number
// of keys asked for; l.mu is held.
func (l *lazy[T]) sweep() {
	now := l.now()
	for k, e := range l.byID {
		select {
		case <-e.done:
			if e.stale || now.Sub(e.at) > l.keep || e.err != nil {
				delete(l.byID, k)
			}
		default:
		}
	}
}

// wait waits for the computations running (stopping: they hold the database).
func (l *lazy[T]) wait() { l.busy.Wait() }

// forget drops key's value (a run changed what it counts).
func (l *lazy[T]) forget(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.byID[key]; ok {
		e.stale = true // computing or not, the next request computes it again
	}
}
