// Package postgres moves rows between the connector's DuckDB staging and PostgreSQL,
// in bulk and in both directions, with COPY: DuckDB writes a CSV file that PostgreSQL
// reads with COPY FROM STDIN, and PostgreSQL's COPY TO STDOUT fills a CSV file that
// DuckDB reads. Values travel as text, so decimals stay exact. NULL is an unquoted \N
// and every other value is quoted, so an empty string, or the text \N, stays a string.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/fault"
)

// IsURL reports whether a connection string names a PostgreSQL database.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Redact hides the passwords of a PostgreSQL URL, for logs, reports and errors: the
// one after the user name, and those given as parameters (password=, sslpassword=).
func Redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if i := strings.Index(s, "@"); i >= 0 && IsURL(s) {
			return s[:strings.Index(s, "://")+3] + "***" + s[i:]
		}
		return s
	}
	userMasked, paramMasked := false, false
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			userMasked = true
		}
	}
	q := u.Query()
	for k := range q {
		if passwordParam(k) {
			q[k] = []string{"xxxxx"}
			paramMasked = true
		}
	}
	if paramMasked {
		u.RawQuery = q.Encode()
	}
	if !userMasked && !paramMasked {
		return s // as written
	}
	return u.String()
}

// passwordParam says a URL parameter carries a password.
func passwordParam(key string) bool {
	return strings.Contains(strings.ToLower(key), "password")
}

// Passwords are the passwords a PostgreSQL URL holds, for masking wherever the URL
// may be echoed (as written and as escaped in a URL).
func Passwords(s string) []string {
	u, err := url.Parse(s)
	if err != nil {
		return nil
	}
	var out []string
	add := func(pw string) {
		if pw != "" {
			out = append(out, pw)
			if e := url.QueryEscape(pw); e != pw {
				out = append(out, e)
			}
		}
	}
	if u.User != nil {
		pw, _ := u.User.Password()
		add(pw)
	}
	for k, vs := range u.Query() {
		if passwordParam(k) {
			for _, v := range vs {
				add(v)
			}
		}
	}
	return out
}

// Connect opens one connection, named "oimconnect" in pg_stat_activity unless the URL
// names it. A server that is starting or restarting (connection refused, "the database
// system is starting up") is retried with a bounded backoff, 0.5 s doubling, 7.5 s
// in all; every other error returns at once. Errors never show the password.
func Connect(ctx context.Context, dsn string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", Redact(dsn), scrub(err, dsn))
	}
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "oimconnect"
	}
	var conn *pgx.Conn
	err = Retry(ctx, func() (err error) {
		conn, err = pgx.ConnectConfig(ctx, cfg)
		return err
	})
	if err != nil {
		return nil, ConnectFailure("connect to", dsn, err)
	}
	return conn, nil
}

// Retry runs connect until it succeeds, fails for another reason than a server that
// cannot be reached or is starting (Transient), or ConnectAttempts have failed, waiting
// 0.5 s, doubling, between them (7.5 s in all). It returns connect's last error, or the
// context's.
func Retry(ctx context.Context, connect func() error) error {
	wait := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := connect()
		if err == nil || !Transient(err) || attempt == ConnectAttempts || ctx.Err() != nil {
			return err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		wait *= 2
	}
}

// ConnectFailure is err, a failed connection to dsn, as the fault its cause is, so
// that every command gives the same exit status for the same server error: a database
// that does not allow connections now (ALLOW_CONNECTIONS false) or a server that cannot
// be reached is unavailable (try again later); a refusal of what was asked (a wrong
// password, a database that does not exist) is an input error. what starts the message
// ("connect to", "connect to the queue"); the password is never shown.
func ConnectFailure(what, dsn string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s %s: %w", what, Redact(dsn), scrub(err, dsn)) // stopped: neither a mistake nor the server's state
	}
	var pe *pgconn.PgError
	later := errors.As(err, &pe) && pe.Code == "55000" || Transient(err)
	err = fmt.Errorf("%s %s: %w", what, Redact(dsn), scrub(err, dsn)) // scrub may lose the cause's type
	if later {
		return &fault.UnavailableError{Err: err}
	}
	return fault.Input(err)
}

// ConnectAttempts bounds Connect's retries: 0.5+1+2+4 s of waiting.
const ConnectAttempts = 5

// Transient reports whether an error is a lost or refused connection, or a server
// shutting down or starting up: the work may succeed on a new connection. Errors of the
// statements themselves (constraints, types) are not.
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// 08: connection exception; 57P01-57P03: admin shutdown, crash shutdown,
		// cannot connect now.
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return Transient(ce.Unwrap())
	}
	return pgconn.SafeToRetry(err) || strings.Contains(err.Error(), "conn closed")
}

// scrub removes the password from an error's text.
func scrub(err error, dsn string) error {
	msg := err.Error()
	for _, pw := range Passwords(dsn) {
		msg = strings.ReplaceAll(msg, pw, "xxxxx")
	}
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}

// csvOptions are the CSV options both sides agree on.
const pgCSV = `(FORMAT csv, NULL '\N')`

// duckCSV reads what PostgreSQL writes.
func duckCSV(path string, cols []*catalog.Column) string {
	var spec []string
	for _, c := range cols {
		spec = append(spec, catalog.Literal(c.Name)+": "+catalog.Literal(c.Type.SQL))
	}
	return fmt.Sprintf(`read_csv(%s, header = false, delim = ',', quote = '"', escape = '"', nullstr = '\N',
		allow_quoted_nulls = false, auto_detect = false, columns = {%s})`, catalog.Literal(path), strings.Join(spec, ", "))
}

// Export writes the result of a DuckDB query to a CSV file PostgreSQL can COPY.
func Export(ctx context.Context, db execer, query, path string) error {
	if _, err := db.ExecContext(ctx, fmt.Sprintf(`COPY (%s) TO %s (FORMAT csv, HEADER false, NULLSTR '\N', FORCE_QUOTE *)`,
		query, catalog.Literal(path))); err != nil {
		return fmt.Errorf("stage rows for PostgreSQL: %w", err)
	}
	return nil
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// CopyIn loads a CSV file written by Export into a PostgreSQL table's columns.
func CopyIn(ctx context.Context, conn *pgconn.PgConn, table string, cols []string, path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = catalog.Ident(c)
	}
	tag, err := conn.CopyFrom(ctx, f, fmt.Sprintf("COPY %s (%s) FROM STDIN %s", table, strings.Join(q, ", "), pgCSV))
	if err != nil {
		return 0, fmt.Errorf("copy into %s: %w", table, err)
	}
	return tag.RowsAffected(), nil
}

// CopyOut runs a PostgreSQL query and loads its rows into a DuckDB table, whose
// columns the query's columns match in order and type.
func CopyOut(ctx context.Context, conn *pgconn.PgConn, query string, db execer, into string, cols []*catalog.Column, dir string) (int64, error) {
	f, err := os.CreateTemp(dir, "copy-*.csv")
	if err != nil {
		return 0, err
	}
	path := f.Name()
	defer os.Remove(path)
	tag, err := conn.CopyTo(ctx, f, fmt.Sprintf("COPY (%s) TO STDOUT (FORMAT csv, NULL '\\N', FORCE_QUOTE *)", query))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("read from PostgreSQL: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return 0, nil
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = catalog.Ident(c.Name)
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s (%s) SELECT * FROM %s", into, strings.Join(names, ", "), duckCSV(path, cols))); err != nil {
		return 0, fmt.Errorf("load %s: %w", into, err)
	}
	return tag.RowsAffected(), nil
}

// Select is the PostgreSQL query reading a table's columns, for CopyOut.
func Select(schema, table string, cols []*catalog.Column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = catalog.Ident(c.Name)
	}
	return fmt.Sprintf("SELECT %s FROM %s.%s", strings.Join(names, ", "), catalog.Ident(schema), catalog.Ident(table))
}

// Update sets columns of a PostgreSQL table from a CSV file of (_key, columns...),
// through a temporary table dropped at commit.
func Update(ctx context.Context, tx pgx.Tx, t *catalog.Table, cols []string, path string) (int64, error) {
	keyCol, _ := t.Column(t.Key)
	defs := []string{"_key " + keyCol.Type.SQL}
	names := []string{"_key"}
	set := make([]string, len(cols))
	for i, c := range cols {
		col, ok := t.Column(c)
		if !ok {
			return 0, fmt.Errorf("update %s: no column %s", t.FullName(), c)
		}
		defs = append(defs, catalog.Ident(c)+" "+col.Type.SQL)
		names = append(names, c)
		set[i] = catalog.Ident(c) + " = w." + catalog.Ident(c)
	}
	if _, err := tx.Exec(ctx, "CREATE TEMP TABLE _w ("+strings.Join(defs, ", ")+") ON COMMIT DROP"); err != nil {
		return 0, fmt.Errorf("update %s: %w", t.FullName(), err)
	}
	if _, err := CopyIn(ctx, tx.Conn().PgConn(), "_w", names, path); err != nil {
		return 0, err
	}
	tag, err := tx.Exec(ctx, fmt.Sprintf("UPDATE %s.%s t SET %s FROM _w w WHERE t.%s = w._key",
		catalog.Ident(t.Schema), catalog.Ident(t.Name), strings.Join(set, ", "), catalog.Ident(t.Key)))
	if err != nil {
		return 0, fmt.Errorf("update %s: %w", t.FullName(), err)
	}
	if _, err := tx.Exec(ctx, "DROP TABLE _w"); err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// Init creates the contract's schemas (the DDL unchanged) in a PostgreSQL database
// where they do not exist yet, in one transaction.
func Init(ctx context.Context, conn *pgx.Conn, schemas ...string) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	for _, s := range schemas {
		ddl := map[string]string{"oim": catalog.OIMDDL, "acct": catalog.AccountingDDL}[s]
		var n int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1", s).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		if _, err := tx.Exec(ctx, ddl); err != nil {
			return fmt.Errorf("create schema %s: %w", s, err)
		}
	}
	return tx.Commit(ctx)
}

// Tables lists a schema's tables in PostgreSQL with their columns.
func Tables(ctx context.Context, conn *pgx.Conn, schema string) (map[string][]string, error) {
	rows, err := conn.Query(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = $1 ORDER BY table_name, ordinal_position`, schema)
	if err != nil {
		return nil, fmt.Errorf("read the tables of %s: %w", schema, err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var t, c string
		if err := rows.Scan(&t, &c); err != nil {
			return nil, err
		}
		out[t] = append(out[t], c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the tables of %s: %w", schema, err)
	}
	return out, nil
}

// TempFile is a path for a staged CSV file in dir.
func TempFile(dir, name string) string {
	return filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_", ".", "_").Replace(name)+".csv")
}

// Load copies every row of the given DuckDB tables into the PostgreSQL tables of the
// same schema and name, in one transaction (to seed a PostgreSQL source).
func Load(ctx context.Context, duck execer, conn *pgx.Conn, tables []*catalog.Table, dir string) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	for _, t := range tables {
		path := TempFile(dir, t.FullName())
		if err := Export(ctx, duck, "SELECT * FROM "+t.SQLName(), path); err != nil {
			return err
		}
		_, err := CopyIn(ctx, tx.Conn().PgConn(), catalog.Ident(t.Schema)+"."+catalog.Ident(t.Name), t.ColumnNames(), path)
		os.Remove(path)
		if err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

// Channel is where PostgreSQL announces changes to OIM records (see Notify).
const Channel = "oimconnect"

// Notify installs, on every table of the oim schema, a statement trigger announcing
// inserts and updates on Channel, so watch wakes at once instead of at its next poll.
// It is idempotent.
func Notify(ctx context.Context, conn *pgx.Conn) error {
	tables, err := Tables(ctx, conn, "oim")
	if err != nil {
		return err
	}
	stmts := []string{"CREATE SEQUENCE IF NOT EXISTS " + ChangeCounter, `CREATE OR REPLACE FUNCTION oim.oimconnect_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	-- The connector's own write-back (export status, links) announces nothing: a
	-- watcher must not wake itself.
	IF current_setting('` + WritingSetting + `', true) = 'on' THEN
		RETURN NULL;
	END IF;
	PERFORM nextval('` + ChangeCounter + `');
	PERFORM pg_notify('` + Channel + `', TG_TABLE_NAME);
	RETURN NULL;
END $$`}
	for t := range tables {
		stmts = append(stmts, fmt.Sprintf("CREATE OR REPLACE TRIGGER oimconnect_notify AFTER INSERT OR UPDATE ON oim.%s FOR EACH STATEMENT EXECUTE FUNCTION oim.oimconnect_notify()", catalog.Ident(t)))
	}
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("install change notification: %w", err)
		}
	}
	return nil
}

// ChangeCounter is a sequence the change triggers advance with every statement that
// writes an oim table (but the connector's own): a watcher reads it to tell, without a
// lock and without reading any table, whether anything changed. A sequence, not a
// counter row, so OIM's concurrent writers never wait for each other on it.
const ChangeCounter = "oim.oimconnect_changes"

// Changes reads the change counter; ok is false where init has not installed it.
func Changes(ctx context.Context, conn *pgx.Conn) (n int64, ok bool, err error) {
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", ChangeCounter).Scan(&exists); err != nil || !exists {
		return 0, false, err
	}
	err = conn.QueryRow(ctx, "SELECT last_value + CASE WHEN is_called THEN 1 ELSE 0 END FROM "+ChangeCounter).Scan(&n)
	return n, err == nil, err
}

// Pending reports whether a transaction other than the connector's holds a write lock
// on an oim table. The change counter moves when OIM's statement runs, not when its
// transaction commits: while such a writer is open, the counter may count changes no
// one can see yet, so a watcher must not take its value for what it has seen (its
// records would wait for OIM's next change; the notification at the commit is lost
// with a listener that died or a connection lost meanwhile). Sessions named
// oimconnect (application_name) are the connector's: its write-back moves no counter.
func Pending(ctx context.Context, conn *pgx.Conn) (bool, error) {
	var pending bool
	err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_locks l
		JOIN pg_class c ON c.oid = l.relation
		JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND n.nspname = 'oim' AND l.mode = 'RowExclusiveLock' AND l.granted
		AND l.pid IS DISTINCT FROM pg_backend_pid() AND coalesce(a.application_name, '') NOT LIKE 'oimconnect%')`).Scan(&pending)
	if err != nil {
		return false, fmt.Errorf("look for OIM's open writes: %w", err)
	}
	return pending, nil
}

// WritingSetting is set (SET LOCAL ... = 'on') in the connector's own transactions on
// a PostgreSQL source, so its change triggers stay silent.
const WritingSetting = "oimconnect.writing"

// CreateIndex runs an index's DDL (CREATE INDEX IF NOT EXISTS ...) when its table
// exists: the indexes the connector reads a source by (plan.SourceIndexes).
func CreateIndex(ctx context.Context, conn *pgx.Conn, table, ddl string) error {
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		return nil
	}
	if _, err := conn.Exec(ctx, ddl); err != nil {
		return fmt.Errorf("create an index on %s: %w", table, err)
	}
	return nil
}

// Listen sends on wake whenever Channel is notified, until ctx ends; a lost connection
// is reopened after a pause. Wakes are coalesced: a pending one is enough.
func Listen(ctx context.Context, dsn string, wake chan<- struct{}, onError func(error)) {
	for ctx.Err() == nil {
		err := func() error {
			conn, err := Connect(ctx, dsn)
			if err != nil {
				return err
			}
			defer conn.Close(context.WithoutCancel(ctx))
			if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
				return err
			}
			for {
				if _, err := conn.WaitForNotification(ctx); err != nil {
					return err
				}
				select {
				case wake <- struct{}{}:
				default:
				}
			}
		}()
		if ctx.Err() != nil {
			return
		}
		onError(err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
