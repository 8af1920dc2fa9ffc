package console

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/store"
)

// who is the logged-in user of a request: checked against the configuration in use at
// every request, so a user removed or given another role is so at once.
type who struct {
	name, role string
	sid, csrf  string
}

type whoKey struct{}

func whoOf(r *http.Request) (who, bool) {
	w, ok := r.Context().Value(whoKey{}).(who)
	return w, ok
}

// allow serves h to logged-in users whose role allows at least role; state-changing
// requests must also carry the session's form token. Anyone else gets the login page
// (a page), 401 (a fragment or an action), or 403 with what their role allows.
func (s *Server) allow(role string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cfg := s.config.get()
		k := cfg.Console
		c, _ := r.Cookie(cookieName(k.TLS()))
		var se session
		ok := false
		if c != nil {
			se, ok = s.sessions.get(c.Value, k.IdleTimeout(), k.MaxAge(), r.Header.Get(pollHeader) == "")
		}
		u, known := k.User(se.user)
		if ok && known && !se.samePassword(u.PasswordHash.Reveal()) {
			// The password changed (oimconnect user passwd), or the user was removed and
			// added again, since this session began: it ends.
			s.sessions.end(c.Value)
			s.log.Info("session ended: the password changed", "user", u.Name)
			ok = false
		}
		if !ok || !known {
			s.anonymous(w, r)
			return
		}
		me := who{name: u.Name, role: u.Role, sid: c.Value, csrf: se.csrf}
		r = r.WithContext(context.WithValue(r.Context(), whoKey{}, me))
		if config.RoleRank(u.Role) < config.RoleRank(role) {
			s.log.Warn("refused: role", "user", u.Name, "role", u.Role, "needs", role, "method", r.Method, "path", r.URL.Path)
			s.render(w, r, http.StatusForbidden, "error", view{Title: "Not allowed",
				Error: fmt.Sprintf("Your role (%s) does not allow this: it needs %s.", u.Role, role)})
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !se.tokenOK(r.PostFormValue("csrf")) {
			s.log.Warn("refused: no form token", "user", u.Name, "method", r.Method, "path", r.URL.Path)
			s.render(w, r, http.StatusForbidden, "error", view{Title: "Refused",
				Error: "This form is out of date or did not come from the console: reload the page and try again."})
			return
		}
		h(w, r)
	})
}

// pollHeader marks a request a page's script makes again on its own (a list of running
// exports every few seconds): it does not keep the session alive.
const pollHeader = "X-Poll"

// anonymous answers a request without a live session.
func (s *Server) anonymous(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.Header.Get("X-Fragment") == "" {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
	fmt.Fprintln(w, "Your session has ended: log in again.")
}

// loginView is the login page's data.
type loginView struct {
	Next, Name string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "login", view{Title: "Log in", Data: loginView{Next: safeNext(r.FormValue("next"))}})
}

// dummies are hashes compared against when the user does not exist, so that an unknown
// name takes as long as a wrong password: one per cost, made when first needed.
var dummies = struct {
	sync.Mutex
	byCost map[int][]byte
}{byCost: map[int][]byte{}}

// dummyHash is a hash of the cost the configured users' hashes have.
func dummyHash(users []config.User) []byte {
	cost := bcrypt.DefaultCost
	if len(users) > 0 {
		if c, err := bcrypt.Cost([]byte(users[0].PasswordHash.Reveal())); err == nil {
			cost = c
		}
	}
	dummies.Lock()
	defer dummies.Unlock()
	if h, ok := dummies.byCost[cost]; ok {
		return h
	}
	h, _ := bcrypt.GenerateFromPassword([]byte("no such user"), cost)
	dummies.byCost[cost] = h
	return h
}

// login checks a user's password, rate-limited per user name and per client address,
// and starts a session.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	name, password := strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	addr := clientAddr(r)
	shown := name // in the form again
	if !config.ValidUserName(name) {
		// No user has such a name: it is not kept, echoed, logged or audited as it came
		// (it may be megabytes long).
		name, shown = fmt.Sprintf("(not a user name: %d bytes)", len(name)), ""
	}
	again := func(status int, msg string) {
		s.render(w, r, status, "login", view{Title: "Log in", Error: msg, Data: loginView{Next: next, Name: shown}})
	}
	wait, done := s.limiter.try(name, addr)
	if wait > 0 {
		s.log.Warn("login refused: too many failed attempts", "user", name, "addr", addr)
		w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds())+1))
		again(http.StatusTooManyRequests, fmt.Sprintf("Too many failed logins: try again in %s.", wait.Round(time.Minute)))
		return
	}
	cfg := s.config.get()
	u, ok := cfg.Console.User(name)
	hash := dummyHash(cfg.Console.Users)
	if ok {
		hash = []byte(u.PasswordHash.Reveal())
	}
	if err := bcrypt.CompareHashAndPassword(hash, []byte(password)); err != nil || !ok {
		done(false)
		s.log.Warn("login failed", "user", name, "addr", addr)
		_ = s.audit(r.Context(), name, "login failed", "from "+addr) // refused either way; a failure is logged
		again(http.StatusUnauthorized, "The name or the password is wrong.")
		return
	}
	done(true)
	if err := s.audit(r.Context(), u.Name, "login", "from "+addr); err != nil {
		why := strings.TrimPrefix(s.reason(err), errNotAudited.Error()+": ")
		again(http.StatusServiceUnavailable, "You cannot log in now: every login is recorded in the audit log, and it could not record this one: "+why)
		return
	}
	id := s.sessions.start(u.Name, u.PasswordHash.Reveal())
	http.SetCookie(w, sessionCookie(id, cfg.Console.TLS()))
	s.log.Info("login", "user", u.Name, "addr", addr)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout ends the session. It ends even when the audit log cannot record it (the
// failure is logged): refusing would keep alive a session its user wants ended.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	me, _ := whoOf(r)
	s.sessions.end(me.sid)
	http.SetCookie(w, clearCookie(s.config.get().Console.TLS()))
	_ = s.audit(r.Context(), me.name, "logout", "")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a redirect after login inside the console: a path of its own, with no
// backslash or control character (browsers drop tabs and newlines and read a backslash
// as /, so "/<tab>/evil.example" would lead to another site).
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/login") ||
		strings.ContainsFunc(next, func(r rune) bool { return r == '\\' || unicode.IsControl(r) || r == utf8.RuneError }) {
		return "/"
	}
	return next
}

// clientAddr is the address a request came from (the connection's, never a header a
// client could forge).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// errNotAudited is an action refused because the audit log could not record it: an
// action nobody could trace afterwards is not done (503, saying why).
var errNotAudited = errors.New("not done, since the audit log could not record it")

// audit records an action in the connector's audit log, one entry per detail. It waits
// for the database as long as a page's reads do (readTimeout), not for as long as
// another process holds the file, and goes on if the client leaves meanwhile. Its
// error is errNotAudited: the caller does not do the action.
func (s *Server) audit(ctx context.Context, actor, action string, details ...string) error {
	ctx = context.WithoutCancel(ctx)
	err := s.read(ctx, func(e *pipeline.Engine) error { return s.writeAudit(ctx, e, actor, action, details...) })
	if err != nil && !errors.Is(err, errNotAudited) {
		err = fmt.Errorf("%w: %w", errNotAudited, err)
	}
	if err != nil {
		s.log.Error("audit log", "actor", actor, "action", action, "error", s.reason(err))
	}
	return err
}

// writeAudit writes audit entries on an engine in use.
func (s *Server) writeAudit(ctx context.Context, e *pipeline.Engine, actor, action string, details ...string) error {
	for _, d := range details {
		if err := e.Audit(ctx, store.AuditEntry{At: s.now(), Actor: actor, Action: action, Detail: d}); err != nil {
			return fmt.Errorf("%w: %w", errNotAudited, err)
		}
	}
	return nil
}
