package console

import (
	"sync"
	"time"
)

// limiter slows down password guessing: after too many failed logins within a window
// for one user name, or from one client address, further attempts are refused for a
// while, before any password is checked. A successful login clears its user's count.
type limiter struct {
	now     func() time.Time
	mu      sync.Mutex
	strikes map[string]*strike
}

type strike struct {
	n      int
	first  time.Time
	locked time.Time // refused until then
}

// The limits: per user name, and (more, shared by everyone behind one address) per
// client address, within the window; then locked out for the lockout.
const (
	userAttempts = 5
	addrAttempts = 20
	window       = 15 * time.Minute
	lockout      = 15 * time.Minute
)

func newLimiter(now func() time.Time) *limiter {
	return &limiter{now: now, strikes: map[string]*strike{}}
}

// wait says how long the user or address must wait before trying again (0: go on).
func (l *limiter) wait(user, addr string) time.Duration {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var d time.Duration
	for _, k := range []string{"user:" + user, "addr:" + addr} {
		if s, ok := l.strikes[k]; ok && now.Before(s.locked) {
			d = max(d, s.locked.Sub(now))
		}
	}
	return d
}

// failed counts a failed login against the user and the address.
func (l *limiter) failed(user, addr string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, limit := range map[string]int{"user:" + user: userAttempts, "addr:" + addr: addrAttempts} {
		s, ok := l.strikes[k]
		if !ok || now.Sub(s.first) > window {
			s = &strike{first: now}
			l.strikes[k] = s
		}
		if s.n++; s.n >= limit {
			s.locked = now.Add(lockout)
			s.n, s.first = 0, now
		}
	}
	l.sweep(now)
}

// succeeded clears the user's failures.
func (l *limiter) succeeded(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.strikes, "user:"+user)
}

// sweep forgets strikes past their window and lockout, so the map stays small.
func (l *limiter) sweep(now time.Time) {
	for k, s := range l.strikes {
		if now.Sub(s.first) > window && !now.Before(s.locked) {
			delete(l.strikes, k)
		}
	}
}
