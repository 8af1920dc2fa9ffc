package console

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// pages are the parsed templates: each page with the layout, and the fragments the
// pages load (and poll) on their own.
type pages struct {
	page      map[string]*template.Template
	fragments *template.Template
}

var funcs = template.FuncMap{
	"path":  url.PathEscape,
	"query": url.QueryEscape,
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Local().Format("2006-01-02 15:04:05")
	},
	"dur": func(d time.Duration) string {
		switch {
		case d < time.Second:
			return d.Round(time.Millisecond).String()
		case d < time.Minute:
			return d.Round(100 * time.Millisecond).String()
		}
		return d.Round(time.Second).String()
	},
	"statusClass": func(s string) string {
		return "st-" + strings.ToLower(strings.ReplaceAll(s, " ", "-"))
	},
	"add":       func(a, b int) int { return a + b },
	"words":     words,
	"hasPrefix": strings.HasPrefix,
	"join":      strings.Join,
	// plural is n and the noun, in the plural unless n is 1 ("1 record", "2 records").
	"plural": func(n int, noun string) string { return plural(int64(n), noun) },
}

// parsePages parses every page with the layout and the shared partials.
func parsePages() (*pages, error) {
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{page: map[string]*template.Template{}}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		switch name {
		case "layout", "partials":
			continue
		case "fragments":
			t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/partials.html", f)
			if err != nil {
				return nil, fmt.Errorf("console: template %s: %w", f, err)
			}
			p.fragments = t
			continue
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", f)
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", f, err)
		}
		p.page[name] = t
	}
	return p, nil
}

// view is what every page shows around its own content: who is logged in and what
// they may do, the navigation, a message from the action just done.
type view struct {
	Title  string
	Nav    string // the navigation entry of the page
	User   string
	Role   string
	CSRF   string
	Flows  []string
	Notice string // the outcome of the action just done
	Error  string
	Data   any
}

// Can says the logged-in user's role allows what needs role.
func (v view) Can(role string) bool { return config.RoleRank(v.Role) >= config.RoleRank(role) }

// render writes a page with the layout.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	t := s.pages.page[name]
	if t == nil {
		http.Error(w, "no page "+name, http.StatusInternalServerError)
		return
	}
	if who, ok := whoOf(r); ok {
		v.User, v.Role, v.CSRF = who.name, who.role, who.csrf
		notice, problem := s.sessions.popFlash(who.sid, r.URL.Query().Get(flashParam))
		if v.Notice == "" {
			v.Notice = notice
		}
		switch {
		case problem == "":
		case v.Error == "":
			v.Error = problem
		default:
			v.Error = problem + " (" + v.Error + ")"
		}
	}
	v.Flows = flowNames(s.specs)
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", v); err != nil {
		s.log.Error("render", "page", name, "error", err)
		http.Error(w, "the page could not be drawn", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// flashParam names, in a page's address, the outcome of the action that went there.
const flashParam = "flash"

// redirectFlash goes to the page at to (a path, maybe with a query and a fragment),
// which shows the outcome of the action just taken: that page only, named by an id in
// its address, so that the outcome shows neither on another page or tab nor on the
// page another action (say, a concurrent one) went to.
func (s *Server) redirectFlash(w http.ResponseWriter, r *http.Request, to, notice, problem string) {
	me, _ := whoOf(r)
	if id := s.sessions.flash(me.sid, notice, problem); id != "" {
		path, frag, _ := strings.Cut(to, "#")
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		to = path + sep + flashParam + "=" + id
		if frag != "" {
			to += "#" + frag
		}
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// fragment writes a named fragment, a piece of a page it loads on its own.
func (s *Server) fragment(w http.ResponseWriter, r *http.Request, name string, data any) {
	var b bytes.Buffer
	fd := fragmentData{Data: data, Reload: r.URL.Query().Get("reload") != "", r: r}
	if err := s.pages.fragments.ExecuteTemplate(&b, name, fd); err != nil {
		s.log.Error("render", "fragment", name, "error", err)
		http.Error(w, "the fragment could not be drawn", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

// fragmentData is a fragment's data, and who asks (for the forms it holds).
type fragmentData struct {
	Data any
	// Reload asks the page to reload once what it waits for is done.
	Reload bool
	r      *http.Request
}

// CSRF is the session's form token.
func (f fragmentData) CSRF() string {
	who, _ := whoOf(f.r)
	return who.csrf
}

// Can says the user's role allows what needs role.
func (f fragmentData) Can(role string) bool {
	who, _ := whoOf(f.r)
	return config.RoleRank(who.role) >= config.RoleRank(role)
}

// statusOf is the HTTP status of a failed request: a mistake in what was asked is 400,
// a busy database 503, anything else 500.
func statusOf(err error) int {
	switch {
	case errors.Is(err, errNotFound):
		return http.StatusNotFound
	case fault.IsInput(err):
		return http.StatusBadRequest
	case store.Busy(err), errors.Is(err, errDatabaseHeld), errors.Is(err, errNotAudited):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// fail shows why a request failed, in words, never a secret, with its status
// (statusOf).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	msg := s.reason(err)
	if status == http.StatusInternalServerError {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", msg)
	}
	if r.Header.Get("X-Fragment") != "" {
		w.WriteHeader(status)
		s.fragment(w, r, "failed", msg)
		return
	}
	s.render(w, r, status, "error", view{Title: http.StatusText(status), Error: msg})
}

// reason is an error in words, without secrets.
func (s *Server) reason(err error) string {
	msg := err.Error()
	if store.Busy(err) {
		msg = "the database is in use by another process (OIM writing to it, or another run): try again in a moment (" + msg + ")"
	}
	return scrub(s.config.get(), msg)
}

// errNotFound is a page of something that does not exist.
var errNotFound = errors.New("not found")

// notFoundError says what does not exist; it is errNotFound.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string        { return e.msg }
func (e *notFoundError) Is(target error) bool { return target == errNotFound }

func notFound(format string, args ...any) error {
	return &notFoundError{msg: fmt.Sprintf(format, args...)}
}
