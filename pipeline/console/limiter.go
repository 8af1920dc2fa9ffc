package console

import (
	"sync"
	"time"
)

// limiter slows down password guessing: after too many failed logins within a window
// for one user name, or from one client address, further attempts are refused for a
// while, before any password is checked. An attempt counts from the moment it starts,
// before its password is checked, so attempts sent at once count each other; a
// successful login gives its attempt back and clears its user's count.
type limiter struct {
	now     func() time.Time
	mu      sync.Mutex
	strikes map[string]*strike
}

type strike struct {
	n      int // attempts within the window: failed, or still being checked
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

func limits(user, addr string) map[string]int {
	return map[string]int{"user:" + user: userAttempts, "addr:" + addr: addrAttempts}
}

// try starts a login attempt for the user from the address. When either is locked out
// it says how long to wait, and the password must not be checked; else the attempt is
// counted at once (the one that reaches a limit locks it for those that follow) and
// done must be called with the outcome.
func (l *limiter) try(user, addr string) (wait time.Duration, done func(ok bool)) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	for k := range limits(user, addr) {
		if s, ok := l.strikes[k]; ok && now.Before(s.locked) {
			wait = max(wait, s.locked.Sub(now))
		}
	}
	if wait > 0 {
		return wait, nil
	}
	for k, limit := range limits(user, addr) {
		s, ok := l.strikes[k]
		if !ok || now.Sub(s.first) > window {
			s = &strike{first: now}
			l.strikes[k] = s
		}
		if s.n++; s.n >= limit {
			s.locked = now.Add(lockout)
		}
	}
	return 0, func(ok bool) {
		if ok {
			l.succeeded(user, addr)
		}
	}
}

// succeeded clears the user's count and gives the address its attempt back.
func (l *limiter) succeeded(user, addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.strikes, "user:"+user)
	if s, ok := l.strikes["addr:"+addr]; ok && s.n > 0 {
		if s.n--; s.n < addrAttempts {
			s.locked = time.Time{}
		}
	}
}

// sweep forgets strikes past their window and lockout, so the map stays small; a
// lockout that has ended starts the count again.
func (l *limiter) sweep(now time.Time) {
	for k, s := range l.strikes {
		if now.Sub(s.first) > window && !now.Before(s.locked) || !s.locked.IsZero() && !now.Before(s.locked) {
			delete(l.strikes, k)
		}
	}
}
