package console

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/store"
)

// The users page (admins): who may log in, with which role. Admins change a role or
// remove a user here (their sessions end at once); passwords are set only with
// `oimconnect user`, so no password ever crosses a form. The audit page lists what
// users did.

// userRow is one user (never their hash).
type userRow struct {
	Name, Role string
	Me         bool
}

// usersData is the users page's.
type usersData struct {
	Users []userRow
	Roles []string
	File  string
}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request) {
	me, _ := whoOf(r)
	cfg := s.config.get()
	d := usersData{Roles: config.Roles, File: cfg.File()}
	for _, u := range cfg.Console.Users {
		d.Users = append(d.Users, userRow{Name: u.Name, Role: u.Role, Me: u.Name == me.name})
	}
	s.render(w, r, http.StatusOK, "users", view{Title: "Users", Nav: "users", Data: d})
}

// setRole gives a user another role.
func (s *Server) setRole(w http.ResponseWriter, r *http.Request) {
	s.changeUser(w, r, func(at func(...string) []string, name string, doc *config.Document) (string, error) {
		role := r.PostFormValue("role")
		if config.RoleRank(role) == 0 {
			return "", fmt.Errorf("no role %q (roles: viewer, operator, admin)", role)
		}
		old, _ := doc.Scalar(at("role")...)
		return fmt.Sprintf("%s: role %s -> %s", name, old, role), doc.Set(role, at("role")...)
	})
}

// removeUser removes a user.
func (s *Server) removeUser(w http.ResponseWriter, r *http.Request) {
	s.changeUser(w, r, func(at func(...string) []string, name string, doc *config.Document) (string, error) {
		return name + ": removed", doc.Delete(at()...)
	})
}

// userChange edits the user named in the configuration file's document; at is the
// path of the user's entry (and of a key in it), found by name in the file as it is
// read for this edit. It says what it changed.
type userChange func(at func(...string) []string, name string, doc *config.Document) (string, error)

// changeUser edits one user in the configuration file, audited; admins change others,
// never themselves (`oimconnect user` does that), so the console keeps an admin. The
// user is found by name in the file as read inside the edit, never by a position in
// the configuration held in memory: the list may have changed meanwhile (another
// admin, `oimconnect user remove`), and a position would then name another user. A
// user no longer in the file is refused with 404, and a change the audit log cannot
// record with 503.
func (s *Server) changeUser(w http.ResponseWriter, r *http.Request, change userChange) {
	me, _ := whoOf(r)
	name := r.PathValue("name")
	if name == me.name {
		s.redirectFlash(w, r, "/users", "", "You cannot change your own account here: use `oimconnect user` on the server.")
		return
	}
	var detail string
	_, err := s.config.edit(func(doc *config.Document) error {
		i, err := doc.Index("name", name, "console", "users")
		if err != nil {
			return err
		}
		if i < 0 {
			return notFound("no user %s (removed meanwhile?): nothing was changed", name)
		}
		at := func(key ...string) []string { return append([]string{"console", "users", strconv.Itoa(i)}, key...) }
		detail, err = change(at, name, doc)
		return err
	}, func() error { return s.audit(r.Context(), me.name, "user", detail) })
	switch {
	case errors.Is(err, errNotFound), errors.Is(err, errNotAudited):
		s.fail(w, r, err)
		return
	case err != nil:
		s.redirectFlash(w, r, "/users", "", "Nothing was saved: "+s.reason(err))
		return
	}
	s.sessions.endUser(name)
	s.log.Info("user changed", "by", me.name, "change", detail)
	s.redirectFlash(w, r, "/users", "Saved: "+detail+".", "")
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) {
	var log []store.AuditEntry
	err := s.read(r.Context(), func(e *pipeline.Engine) error {
		var err error
		log, err = e.AuditLog(r.Context(), 500)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "audit", view{Title: "Audit log", Nav: "audit", Data: log})
}
