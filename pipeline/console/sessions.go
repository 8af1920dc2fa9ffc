package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"sync"
	"time"
)

// A session is a login: kept on the server under the hash of a random id that only
// the user's cookie holds, with its own token for the forms it posts. It ends when
// unused for the idle timeout (a page polling on its own does not count as use), when
// older than the maximum age, at logout, and when its user's password changes (or the
// user is removed, and maybe added again).
type session struct {
	user          string
	password      string // the hash of the user's password hash when the session began
	csrf          string
	created, seen time.Time
	// flashes are the outcomes of actions, each kept for the one page its action went
	// to (by an id in that page's address), and shown there once; the oldest unshown
	// go beyond flashKept.
	flashes []flash
}

// flash is an action's outcome, for the page it went to.
type flash struct {
	id, notice, problem string
}

// flashKept bounds the outcomes a session keeps unshown (pages never opened).
const flashKept = 8

// sessions are the logins in progress.
type sessions struct {
	now  func() time.Time
	mu   sync.Mutex
	byID map[string]*session // by the sha256 of the cookie's id
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{now: now, byID: map[string]*session{}}
}

// randomToken is 32 random bytes, URL-safe.
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on a supported system
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashID(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:])
}

// start begins a session for user, whose password hash is passwordHash, and returns
// the id for its cookie.
func (s *sessions) start(user, passwordHash string) string {
	id := randomToken()
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byID[hashID(id)] = &session{user: user, password: hashID(passwordHash), csrf: randomToken(), created: now, seen: now}
	return id
}

// samePassword reports whether the session began with the password whose hash is
// passwordHash.
func (se session) samePassword(passwordHash string) bool {
	return subtle.ConstantTimeCompare([]byte(se.password), []byte(hashID(passwordHash))) == 1
}

// get finds the session of a cookie's id, still alive under the limits, and, unless
// the request is a page's own polling, notes it used; an expired one is ended.
func (s *sessions) get(id string, idle, maxAge time.Duration, use bool) (session, bool) {
	if id == "" {
		return session{}, false
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now, idle, maxAge)
	se, ok := s.byID[hashID(id)]
	if !ok {
		return session{}, false
	}
	if use {
		se.seen = now
	}
	return *se, true
}

// sweep ends the sessions past their limits.
func (s *sessions) sweep(now time.Time, idle, maxAge time.Duration) {
	for k, se := range s.byID {
		if now.Sub(se.seen) > idle || now.Sub(se.created) > maxAge {
			delete(s.byID, k)
		}
	}
}

// flash keeps the outcome of an action for the page it goes to, and returns the id
// that page's address carries ("" without a session).
func (s *sessions) flash(sid, notice, problem string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	se, ok := s.byID[hashID(sid)]
	if !ok {
		return ""
	}
	id := randomToken()[:12]
	se.flashes = append(se.flashes, flash{id: id, notice: notice, problem: problem})
	if len(se.flashes) > flashKept {
		se.flashes = se.flashes[len(se.flashes)-flashKept:]
	}
	return id
}

// popFlash takes the outcome kept by flash under id: once, and only for the session
// that kept it.
func (s *sessions) popFlash(sid, id string) (notice, problem string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	se, ok := s.byID[hashID(sid)]
	if !ok || id == "" {
		return "", ""
	}
	for i, f := range se.flashes {
		if f.id == id {
			se.flashes = append(se.flashes[:i], se.flashes[i+1:]...)
			return f.notice, f.problem
		}
	}
	return "", ""
}

// end ends the session of a cookie's id.
func (s *sessions) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, hashID(id))
}

// endUser ends every session of a user (removed, or their role changed).
func (s *sessions) endUser(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, se := range s.byID {
		if se.user == user {
			delete(s.byID, k)
		}
	}
}

// tokenOK compares a posted form token with the session's, in constant time.
func (se session) tokenOK(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(se.csrf)) == 1
}

// cookieName is the session cookie's name: under TLS with the __Host- prefix, which
// browsers accept only Secure, host-only and for the whole site.
func cookieName(secure bool) string {
	if secure {
		return "__Host-oimconnect_session"
	}
	return "oimconnect_session"
}

// sessionCookie carries a session id: HttpOnly (no script reads it), SameSite=Strict
// (no other site's page sends it), Secure under TLS, for the whole console, ending
// with the browser (the server ends it sooner).
func sessionCookie(id string, secure bool) *http.Cookie {
	return &http.Cookie{Name: cookieName(secure), Value: id, Path: "/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode}
}

// clearCookie removes the session cookie from the browser.
func clearCookie(secure bool) *http.Cookie {
	c := sessionCookie("", secure)
	c.MaxAge = -1
	return c
}
