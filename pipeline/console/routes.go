package console

import (
	"io/fs"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/oimconnect/oimconnect/pipeline/config"
)

// routes are the console's pages and actions, each with the least role it needs:
// viewers read, operators export and dry-run, admins change settings, schedules and
// users. Every request goes through the security headers and the cross-origin check.
func (s *Server) routes() http.Handler {
	const (
		viewer   = config.RoleViewer
		operator = config.RoleOperator
		admin    = config.RoleAdmin
	)
	mux := http.NewServeMux()
	assets, _ := fs.Sub(assetFS, "assets")
	mux.Handle("GET /assets/{file}", http.StripPrefix("/assets/", http.FileServerFS(assets)))
	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.login)
	mux.Handle("POST /logout", s.allow(viewer, s.logout))

	mux.Handle("GET /{$}", s.allow(viewer, s.overview))
	mux.Handle("GET /fragments/census/{flow}", s.allow(viewer, s.censusFragment))
	mux.Handle("GET /fragments/jobs", s.allow(viewer, s.jobsFragment))
	mux.Handle("GET /jobs/{job}", s.allow(viewer, s.jobPage))
	mux.Handle("GET /fragments/jobs/{job}", s.allow(viewer, s.jobFragment))
	mux.Handle("POST /flows/{flow}/export", s.allow(operator, s.exportFlow))
	mux.Handle("POST /flows/{flow}/dry-run", s.allow(operator, s.dryRunFlow))

	mux.Handle("GET /flows/{flow}/records", s.allow(viewer, s.records))
	mux.Handle("GET /flows/{flow}/records/{id}", s.allow(viewer, s.record))
	mux.Handle("GET /fragments/explain/{flow}/{id}", s.allow(viewer, s.explainFragment))
	mux.Handle("POST /flows/{flow}/records/{id}/export", s.allow(operator, s.exportRecord))

	mux.Handle("GET /runs", s.allow(viewer, s.runs))
	mux.Handle("GET /runs/{run}", s.allow(viewer, s.runReport))
	mux.Handle("GET /mappings", s.allow(viewer, s.mappings))
	mux.Handle("GET /mappings/{flow}", s.allow(viewer, s.mapping))
	mux.Handle("GET /reconciliation", s.allow(viewer, s.reconciliation))

	mux.Handle("GET /settings", s.allow(viewer, s.settingsPage))
	mux.Handle("POST /settings", s.allow(admin, s.saveSettings))
	mux.Handle("GET /schedules", s.allow(viewer, s.schedulesPage))
	mux.Handle("POST /schedules/{flow}", s.allow(admin, s.saveSchedule))
	mux.Handle("GET /users", s.allow(admin, s.usersPage))
	mux.Handle("POST /users/{name}/role", s.allow(admin, s.setRole))
	mux.Handle("POST /users/{name}/remove", s.allow(admin, s.removeUser))
	mux.Handle("GET /audit", s.allow(admin, s.auditPage))

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.Warn("refused: cross-origin request", "method", r.Method, "path", r.URL.Path, "origin", r.Header.Get("Origin"), "addr", clientAddr(r))
		s.render(w, r, http.StatusForbidden, "error", view{Title: "Refused", Error: "A request from another site was refused."})
	}))
	return s.logged(secureHeaders(plainRequests(cop.Handler(mux))))
}

// maxRequestURI bounds a request's path and query: ids, searches and page numbers are
// far shorter.
const maxRequestURI = 8 << 10

// plainRequests refuses, with 400 and a plain message, a request the database could not
// take as text: an address too long, or whose path or parameters hold a NUL byte or
// bytes that are not UTF-8.
func plainRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bad := len(r.RequestURI) > maxRequestURI || !plainText(r.URL.Path)
		for _, vs := range r.URL.Query() {
			for _, v := range vs {
				bad = bad || !plainText(v)
			}
		}
		if bad {
			http.Error(w, "The address is too long, or holds characters the console does not take.", http.StatusBadRequest)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func plainText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// secureHeaders keep pages from other sites' frames and scripts, and out of caches.
func secureHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		if r.TLS != nil {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if len(r.URL.Path) < 8 || r.URL.Path[:8] != "/assets/" {
			hd.Set("Cache-Control", "no-store")
		}
		h.ServeHTTP(w, r)
	})
}

// statusWriter remembers a response's status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

// logged logs each request at debug level: method, path (no query, no form), status,
// time taken.
func (s *Server) logged(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", sw.status, "duration", time.Since(start).Round(time.Microsecond))
	})
}
