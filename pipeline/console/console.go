// Package console is oimconnect's web console, for the accounting staff who operate
// the connector: per flow, where its records stand and why (the census, a record's
// explanation), exports of one record or of every eligible one and dry runs (run in the
// background on the process's one engine, with their progress live), the run history
// with each run's report, the mappings drawn from the specs in use, reconciliation,
// and, for admins, the settings and schedules (saved into the configuration file, each
// change audited) and the users.
//
// Pages are rendered on the server (html/template) from files embedded in the binary,
// with a stylesheet and a few lines of script of its own: no CDN, no build step. Every
// page needs a login (users and roles in the configuration, passwords as bcrypt
// hashes); sessions live on the server, in HttpOnly, SameSite=Strict cookies (Secure
// under TLS) that expire; logins are rate-limited; state-changing requests are refused
// cross-origin (http.CrossOriginProtection) and without the session's token; every
// action is checked against the user's role on the server and recorded in the audit
// log of the connector's schema. No secret (a database password, a plugin setting
// named or shaped like one, a password hash) is ever shown or logged.
package console

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/explain"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/host"
	"github.com/oimconnect/oimconnect/pipeline/spec"
)

// Options say what the console serves.
type Options struct {
	// Engine is the process's one engine (serve shares it with watch and schedules);
	// its configuration is the one in use, and the console's changes go there.
	Engine *pipeline.Shared
	// Specs are the flow specs in use (nil: loaded from the configuration).
	Specs *spec.Set
	Log   *slog.Logger
	// Health reports the plugins' health (nil: no plugins).
	Health func() []host.Health
	// Now tells the time (tests move it); nil is the wall clock.
	Now func() time.Time
}

// Server is the console: an http.Handler and what it keeps between requests.
type Server struct {
	engine *pipeline.Shared
	specs  *spec.Set
	log    *slog.Logger
	health func() []host.Health
	now    func() time.Time

	config   *liveConfig
	sessions *sessions
	limiter  *limiter
	jobs     *jobs
	census   *lazy[pipeline.Census]
	explains *lazy[*explain.Explanation]
	pages    *pages
	handler  http.Handler
}

// New makes the console. It refuses a configuration without users: no page is ever
// served anonymously.
func New(o Options) (*Server, error) {
	if o.Engine == nil {
		return nil, errors.New("console: no engine")
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	cfg := o.Engine.Config()
	if len(cfg.Console.Users) == 0 {
		return nil, fault.Inputf("console: no users in the configuration, and nobody logs in anonymously: add one with `oimconnect user add --config FILE --name NAME --role admin`")
	}
	if o.Specs == nil {
		set, err := pipeline.LoadSpecs(cfg.Specs)
		if err != nil {
			return nil, err
		}
		o.Specs = set
	}
	pg, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Server{engine: o.Engine, specs: o.Specs, log: o.Log, health: o.Health, now: o.Now, pages: pg}
	s.config = newLiveConfig(o.Engine, o.Log, flowNames(o.Specs))
	s.sessions = newSessions(o.Now)
	s.limiter = newLimiter(o.Now)
	s.jobs = newJobs(o.Now)
	s.census = newLazy[pipeline.Census](o.Now, censusKeep)
	s.explains = newLazy[*explain.Explanation](o.Now, explainKeep)
	s.handler = s.routes()
	return s, nil
}

// ServeHTTP serves the console.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Serve listens on console.listen (HTTPS with console.tls_cert and tls_key) until ctx
// is done, then stops taking requests and waits for the exports it started: they
// are rolled back with ctx. ready, when set, is told the address it listens on.
func (s *Server) Serve(ctx context.Context, ready func(addr string)) error {
	cfg := s.config.get()
	k := cfg.Console
	var certs []tls.Certificate
	if k.TLS() {
		cert, err := tls.LoadX509KeyPair(k.TLSCert, k.TLSKey)
		if err != nil {
			return cfg.ErrorAt(fmt.Errorf("console: TLS certificate and key: %w", err), "console", "tls_cert")
		}
		certs = append(certs, cert)
	}
	ln, err := net.Listen("tcp", k.Listen)
	if err != nil {
		return cfg.ErrorAt(fmt.Errorf("console: %w", err), "console", "listen")
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	scheme := "http"
	if k.TLS() {
		scheme = "https"
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: certs}
	}
	s.jobs.base, s.census.base, s.explains.base = ctx, ctx, ctx
	s.log.Info("console listening", "url", scheme+"://"+ln.Addr().String())
	if ready != nil {
		ready(ln.Addr().String())
	}
	done := make(chan error, 1)
	go func() {
		if k.TLS() {
			done <- srv.ServeTLS(ln, "", "")
		} else {
			done <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-done:
		return fmt.Errorf("console: %w", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shut)
	s.Wait()
	if err != nil {
		return fmt.Errorf("console: stop: %w", err)
	}
	return nil
}

// Wait waits for the exports the console started, and for the censuses and
// explanations it is computing: each holds the database, and its engine is closed (the
// file written) when the last lets go (tests; Serve waits itself).
func (s *Server) Wait() {
	s.jobs.wait()
	s.census.wait()
	s.explains.wait()
}
