// Package queue spreads the connector's work for many tenants (pipeline/tenant) over
// worker processes on any number of machines, through River
// (github.com/riverqueue/river), a job queue in PostgreSQL: transactional inserts,
// unique jobs, retries with back-off, leader election, graceful shutdown.
//
// A job runs a tenant's flows (on a schedule, on an event, or asked for by a user or
// the console), exports given records, or exports one partition of a backfill. Every
// worker works jobs; one of them, the leader, also turns the tenants' schedules into
// jobs (exactly once per due time, from a table of its own, whoever leads and across
// restarts) and their sources' changes into coalesced runs. A job that fails on a
// mistake (a spec error) is cancelled with the reason; one that fails on an
// unreachable database is retried with back-off; one whose worker died is run again
// after its lease. Rerunning a half-done job is safe: exported records are not
// selected again, a linked target's committed documents are recovered, and a
// backfill's committed partitions are left out.
package queue

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
)

// Queue is a connection to the queue database: the pool, and a River client that
// inserts and manages jobs (a Worker's also works them).
type Queue struct {
	URL    string
	Pool   *pgxpool.Pool
	Client *river.Client[pgx.Tx]
	log    *slog.Logger
}

// Connect connects to the queue database at url, which `oimconnect init --queue`
// prepared, with an insert-only client.
func Connect(ctx context.Context, url string, log *slog.Logger) (*Queue, error) {
	return connect(ctx, url, log, func(*river.Config) {})
}

// connect connects with a client configured by edit (a worker's queues and workers).
func connect(ctx context.Context, url string, log *slog.Logger, edit func(*river.Config)) (*Queue, error) {
	if !postgres.IsURL(url) {
		return nil, fault.Inputf("--queue must be a postgres:// URL, not %q", url)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fault.Inputf("--queue %s: %v", postgres.Redact(url), err)
	}
	cfg.MaxConns = 6
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "oimconnect worker"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err == nil {
		// A queue server restarting is waited for, as a database is (postgres.Connect).
		err = postgres.Retry(ctx, func() error { return pool.Ping(ctx) })
	}
	if err != nil {
		if pool != nil {
			pool.Close()
		}
		return nil, postgres.ConnectFailure("connect to the queue", url, err)
	}
	q := &Queue{URL: url, Pool: pool, log: log}
	if err := q.ready(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	rc := &river.Config{Logger: quiet(log), Workers: registry(nil)}
	edit(rc)
	if q.Client, err = river.NewClient(riverpgxv5.New(pool), rc); err != nil {
		pool.Close()
		return nil, fmt.Errorf("queue client: %w", err)
	}
	return q, nil
}

// Close closes the pool.
func (q *Queue) Close() { q.Pool.Close() }

// Init installs River's schema through River's own migrations, then the connector's
// tables (schedules, sources seen, the fast clock, the tenants workers serve). It can
// run again: what is there is left as it is.
func Init(ctx context.Context, url string) (applied int, err error) {
	if !postgres.IsURL(url) {
		return 0, fault.Inputf("--queue must be a postgres:// URL, not %q", url)
	}
	pool, err := pgxpool.New(ctx, url)
	if err == nil {
		err = postgres.Retry(ctx, func() error { return pool.Ping(ctx) })
	}
	if err != nil {
		return 0, postgres.ConnectFailure("connect to the queue", url, err)
	}
	defer pool.Close()
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return 0, err
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return 0, fmt.Errorf("install River's schema: %w", err)
	}
	if _, err := pool.Exec(ctx, schema); err != nil {
		return 0, fmt.Errorf("install the connector's queue tables: %w", err)
	}
	return len(res.Versions), nil
}

// schema is the connector's own tables in the queue database.
const schema = `
CREATE SCHEMA IF NOT EXISTS oimconnect;
-- Each scheduled flow's last due time turned into a job: advanced in the transaction
-- that inserts its jobs, so each due time yields one job whoever inserts it.
CREATE TABLE IF NOT EXISTS oimconnect.schedule (
	tenant text NOT NULL, flow text NOT NULL, last_due timestamptz NOT NULL,
	PRIMARY KEY (tenant, flow));
-- How each tenant's source looked when its changes were last turned into runs.
CREATE TABLE IF NOT EXISTS oimconnect.source (
	tenant text PRIMARY KEY, seen text NOT NULL);
-- The start of a fast clock (worker --time-scale), shared by every worker.
CREATE TABLE IF NOT EXISTS oimconnect.clock (
	scale double precision PRIMARY KEY, epoch timestamptz NOT NULL);
-- The tenants the workers serve, with their flows, for the commands that enqueue.
CREATE TABLE IF NOT EXISTS oimconnect.tenant (
	name text PRIMARY KEY, file text NOT NULL, flows jsonb NOT NULL, updated_at timestamptz NOT NULL);
-- The failed records the tenants' automatic runs defer until they change or their
-- back-off ends (pipeline.Retries); fingerprint holds the bits of an unsigned hash.
CREATE TABLE IF NOT EXISTS oimconnect.retry (
	tenant text NOT NULL, flow text NOT NULL, record text NOT NULL, fingerprint bigint NOT NULL,
	failures integer NOT NULL, due timestamptz NOT NULL,
	PRIMARY KEY (tenant, flow, record));
`

// ready refuses a queue database that init has not prepared.
func (q *Queue) ready(ctx context.Context) error {
	var river, own bool
	err := q.Pool.QueryRow(ctx, "SELECT to_regclass('river_job') IS NOT NULL, to_regclass('oimconnect.tenant') IS NOT NULL AND to_regclass('oimconnect.retry') IS NOT NULL").Scan(&river, &own)
	if err != nil {
		return &fault.UnavailableError{Err: fmt.Errorf("queue %s: %w", postgres.Redact(q.URL), err)}
	}
	if !river || !own {
		return fault.Inputf("queue %s has no job tables, or not this version's: install them with `oimconnect init --queue %s`", postgres.Redact(q.URL), postgres.Redact(q.URL))
	}
	return nil
}

// quiet is River's logger: its own info messages (starting, electing) only at debug.
func quiet(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(demote{log.Handler()})
}

// demote logs River's info messages at debug level.
type demote struct{ slog.Handler }

func (d demote) Enabled(ctx context.Context, l slog.Level) bool {
	if l == slog.LevelInfo {
		l = slog.LevelDebug
	}
	return d.Handler.Enabled(ctx, l)
}

func (d demote) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelInfo {
		r.Level = slog.LevelDebug
	}
	return d.Handler.Handle(ctx, r)
}

func (d demote) WithAttrs(a []slog.Attr) slog.Handler { return demote{d.Handler.WithAttrs(a)} }
func (d demote) WithGroup(n string) slog.Handler      { return demote{d.Handler.WithGroup(n)} }
