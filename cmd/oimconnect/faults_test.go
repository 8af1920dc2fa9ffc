package main

// Fault injection (issue #8): the PostgreSQL connection cut mid-run, a full disk (a file
// size limit), a read-only target, a plugin killed mid-batch. Each fault must end the
// run with the exit status the README promises and a one-line error naming the cause,
// leave nothing half-written (the invariants of invariants_test.go hold on the state
// as the fault left it), and a rerun without the fault must end equal to an
// uninterrupted run of the same data.
//
//	FAULT_SEED      the fault plan's random source (default: time based; printed)
//	FAULT_INVOICES  generated invoices per test (defaults below: a run takes seconds)

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oimconnect/oimconnect/pipeline/fixture"
)

// faultConfig is the invariants' configuration in batches of 500 records, so a run
// commits many times and a fault can fall between, or inside, any of them.
const faultConfig = invariantConfig + "batch_size: 500\n"

// faultSeed is the test's random source, from FAULT_SEED or the clock, printed so a
// failure can be replayed.
func faultSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("FAULT_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("FAULT_SEED=%q: %v", v, err)
		}
		seed = s
	}
	t.Logf("FAULT_SEED=%d (FAULT_SEED=%d go test -run '^%s$' replays this fault plan)", seed, seed, t.Name())
	return seed
}

// faultInvoices is FAULT_INVOICES, else def.
func faultInvoices(t *testing.T, def int) int {
	t.Helper()
	v := os.Getenv("FAULT_INVOICES")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("FAULT_INVOICES=%q: want a positive number", v)
	}
	return n
}

// faultData generates n invoices into dir and exports a copy of them without any fault:
// the reference every faulted run must end equal to. It returns the generated file, the
// reference file and the uninterrupted run's exit status (1: the demo data holds
// invalid records on purpose).
func faultData(t *testing.T, dir, cfg string, n int, extra ...string) (gen, ref string, code int) {
	t.Helper()
	gen = filepath.Join(dir, "generated.duckdb")
	if r := cli(t, nil, "generate", "--db", gen, "--invoices", strconv.Itoa(n)); r.code != 0 {
		t.Fatalf("generate: %d %s", r.code, r.stderr)
	}
	ref = copyFile(t, gen, filepath.Join(dir, "reference.duckdb"))
	start := time.Now()
	r := cli(t, nil, append([]string{"run", "--db", ref, "--config", cfg}, extra...)...)
	if r.code > 1 {
		t.Fatalf("uninterrupted run: exit %d\n%s", r.code, tail(r.stderr, 20))
	}
	db := openDuck(t, ref)
	defer db.Close()
	if bad := violations(t, db, invariantLimits); len(bad) > 0 {
		t.Fatalf("the uninterrupted run breaks invariants (an engine bug, not a fault):\n%s", strings.Join(bad, "\n"))
	}
	t.Logf("reference: %d invoices, uninterrupted run exit %d in %s", n, r.code, time.Since(start).Round(time.Millisecond))
	return gen, ref, r.code
}

// child is the CLI running in the background.
type child struct {
	cmd    *exec.Cmd
	start  time.Time
	done   chan struct{}
	stdout bytes.Buffer
	stderr strings.Builder // read once it is done
	res    result
	signal string // the signal that ended it, if one did
}

// startChild starts a command with a clean OIMCONNECT_ environment plus env; onLine,
// when set, sees each line of its standard error as it comes.
func startChild(t *testing.T, env []string, onLine func(string), name string, args ...string) *child {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(cleanEnv(), env...)
	c := &child{cmd: cmd, done: make(chan struct{})}
	cmd.Stdout = &c.stdout
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.start = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			c.stderr.WriteString(sc.Text() + "\n")
			if onLine != nil {
				onLine(sc.Text())
			}
		}
		_ = cmd.Wait()
		c.res = result{code: cmd.ProcessState.ExitCode(), stdout: c.stdout.String(), stderr: c.stderr.String()}
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			c.signal = ws.Signal().String()
		}
		close(c.done)
	}()
	t.Cleanup(func() {
		if c.running() {
			_ = cmd.Process.Kill()
			<-c.done
		}
	})
	return c
}

func (c *child) running() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

func (c *child) wait() result {
	<-c.done
	return c.res
}

// errorLine checks the output of a run that failed: no panic or goroutine dump, no
// secret, and standard error ending in one line "oimconnect: <error>", which it returns.
func errorLine(t *testing.T, what string, r result, secret string) string {
	t.Helper()
	checkOutput(t, what, r, secret)
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "oimconnect: ") {
		t.Errorf("%s: exit %d, and standard error does not end in one line \"oimconnect: <error>\":\n%s", what, r.code, tail(r.stderr, 8))
	}
	return last
}

// checkOutput checks any run's output: no panic or goroutine dump, no secret.
func checkOutput(t *testing.T, what string, r result, secret string) {
	t.Helper()
	all := r.stdout + r.stderr
	for _, bad := range []string{"panic", "goroutine "} {
		if strings.Contains(all, bad) {
			t.Errorf("%s: the output shows %q:\n%s", what, bad, tail(all, 30))
		}
	}
	if secret != "" && strings.Contains(all, secret) {
		t.Errorf("%s: the password shows in the output:\n%s", what, tail(all, 10))
	}
}

// checkState checks the invariants on a DuckDB file holding both schemas (a copy: it
// may be recovered in place); allowed lists invariants that may break, by name (the
// window between a linked target's commit and the source's write-back). When ref is
// set it must also equal it.
func checkState(t *testing.T, what, path, ref string, allowed ...string) {
	t.Helper()
	db := openDuck(t, path)
	defer db.Close()
	var bad []string
outer:
	for _, v := range violations(t, db, invariantLimits) {
		for _, a := range allowed {
			if strings.Contains(v, a) {
				continue outer
			}
		}
		bad = append(bad, v)
	}
	if len(bad) > 0 {
		t.Errorf("%s: invariants broken (something half-written):\n%s", what, strings.Join(bad, "\n"))
	}
	if ref == "" {
		return
	}
	attach(t, db, ref, "ref")
	if diff := differences(t, db, "ref", "oim", "acct"); len(diff) > 0 {
		t.Errorf("%s: differs from the uninterrupted run:\n%s", what, strings.Join(diff, "\n"))
	}
}

// twoStepWindow are the invariants a linked run may leave broken between its two
// steps (documents committed in the target, the source not yet written back): the next
// run recovers them.
var twoStepWindow = []string{": a document whose source is not exported:", ": a document line not linked back"}

// recordErrors lists the records whose export_error matches re.
func recordErrors(t *testing.T, path string, re *regexp.Regexp) []string {
	t.Helper()
	db := openDuck(t, path)
	defer db.Close()
	var out []string
	for _, f := range shapes {
		rows, err := db.Query("SELECT id, export_error FROM " + f.src + " WHERE export_error IS NOT NULL ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, msg string
			if err := rows.Scan(&id, &msg); err != nil {
				t.Fatal(err)
			}
			if re.MatchString(msg) {
				out = append(out, f.flow+" "+id+": "+msg)
			}
		}
		rows.Close()
	}
	return out
}

// ---------------------------------------------------------------------------------
// PostgreSQL: connections cut mid-run.

// connectionWords are what an error about a lost connection says.
var connectionWords = regexp.MustCompile(`(?i)connection|conn closed|terminat|\bEOF\b|broken pipe|reset by peer|57P01|server closed`)

// pgAdmin connects to the test server's maintenance database under its own
// application_name, so cutting the connector's connections never cuts this one.
func pgAdmin(t *testing.T) *pgx.Conn {
	t.Helper()
	u, err := url.Parse(os.Getenv("TEST_POSTGRES_URL"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", "oimconnect-fault-injector")
	u.RawQuery = q.Encode()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatalf("PostgreSQL: %v", err)
	}
	t.Cleanup(func() { c.Close(ctx) })
	return c
}

// withPassword puts a password into a fresh database's URL, when the server lets one
// in (the test server trusts local connections): the connector must never show it. It
// returns the URL and the password ("" when the URL has none).
func withPassword(t *testing.T, pg string) (string, string) {
	t.Helper()
	u, err := url.Parse(pg)
	if err != nil {
		t.Fatal(err)
	}
	if pw, ok := u.User.Password(); ok {
		return pg, pw
	}
	const pw = "Fault-Secret-7341"
	u.User = url.UserPassword(u.User.Username(), pw)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return pg, "" // a server that checks passwords: keep the URL as given
	}
	c.Close(ctx)
	return u.String(), pw
}

func dbName(t *testing.T, pg string) string {
	t.Helper()
	u, err := url.Parse(pg)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(u.Path, "/")
}

// cut terminates the connector's connections to the database and returns how many it
// cut.
func cut(t *testing.T, admin *pgx.Conn, db string) int {
	t.Helper()
	var n int
	err := admin.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = 'oimconnect' AND datname = $1 AND pid <> pg_backend_pid()`, db).Scan(&n)
	if err != nil {
		t.Fatalf("cut: %v", err)
	}
	return n
}

// busy waits until the connector's connection to the database is inside a statement or
// a transaction (a COPY of the source, a batch being written), or, with writing, inside
// a transaction that has written (it has a transaction id: a COPY of documents or the
// write-back under way, not committed), or until ch ends.
func busy(t *testing.T, admin *pgx.Conn, db string, ch *child, writing bool) bool {
	t.Helper()
	cond := "state IN ('active', 'idle in transaction') AND query NOT LIKE '%pg_advisory_lock%'"
	if writing {
		cond = "backend_xid IS NOT NULL"
	}
	for ch.running() {
		var n int
		err := admin.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE application_name = 'oimconnect' AND datname = $1 AND `+cond, db).Scan(&n)
		if err != nil {
			t.Fatalf("watch: %v", err)
		}
		if n > 0 {
			return true
		}
		time.Sleep(2 * time.Millisecond)
	}
	return false
}

// cutRun is the plan of the connection cut test for one kind of link.
type cutRun struct {
	args    []string      // the run
	pg      string        // the PostgreSQL database it uses
	secret  string        // its password, never to be shown
	state   func() string // a DuckDB file holding both schemas as they are now
	allowed []string      // invariants a cut may leave broken until the next run
}

// cutLoop runs the command again and again; in each of the first `runs` runs it cuts
// the connector's PostgreSQL connections `cuts` times, each time one of: at a random
// moment (0-600 ms after the previous cut), 0-10 ms after the connection is seen busy
// (a statement or transaction under way: reading the source, writing a batch), or
// 0-10 ms after it is seen inside a transaction that has written (a batch half
// copied). Every run must end with 0 or 1 (the engine reconnected or retried; 1 only
// for the data's own invalid records, never a record failed by the cut) or 3 with a
// one-line error about the connection, never show the password, and leave the
// invariants holding. Then it reruns until a run completes (0 or 1).
func cutLoop(t *testing.T, rng *rand.Rand, admin *pgx.Conn, c cutRun, runs, cuts, refCode int) {
	t.Helper()
	name := dbName(t, c.pg)
	tmp := t.TempDir()
	failed, total, retried := 0, 0, 0
	for run := 1; ; run++ {
		if run > runs+5 {
			t.Fatalf("%d runs and still not complete", run-1)
		}
		ch := startChild(t, []string{"TMPDIR=" + tmp}, nil, binary, c.args...)
		var at []string
		for run <= runs && len(at) < cuts && ch.running() {
			how := []string{"at random", "busy", "writing"}[rng.IntN(3)]
			switch {
			case how == "at random":
				select {
				case <-ch.done:
				case <-time.After(time.Duration(rng.Int64N(int64(600 * time.Millisecond)))):
				}
			case busy(t, admin, name, ch, how == "writing"):
				time.Sleep(time.Duration(rng.Int64N(int64(10 * time.Millisecond))))
			}
			if !ch.running() {
				break
			}
			if k := cut(t, admin, name); k > 0 {
				at = append(at, fmt.Sprintf("%s %s", time.Since(ch.start).Round(time.Millisecond), how))
			}
		}
		r := ch.wait()
		total += len(at)
		again := strings.Count(r.stderr, "trying again")
		retried += again
		what := fmt.Sprintf("run %d (cut at %s)", run, strings.Join(at, ", "))
		if len(at) == 0 {
			what = fmt.Sprintf("run %d (no cut)", run)
		}
		switch {
		case ch.signal != "":
			t.Errorf("%s: killed by %s\n%s", what, ch.signal, tail(r.stderr, 20))
		case r.code == 3:
			failed++
			line := errorLine(t, what, r, c.secret)
			if !connectionWords.MatchString(line) {
				t.Errorf("%s: exit 3, but the error does not say the connection was lost: %s", what, line)
			}
			t.Logf("%s: exit 3 after %s, %d retries: %s", what, time.Since(ch.start).Round(time.Millisecond), again, line)
		case r.code <= 1:
			checkOutput(t, what, r, c.secret)
			t.Logf("%s: exit %d after %s, %d retries", what, r.code, time.Since(ch.start).Round(time.Millisecond), again)
		default:
			t.Errorf("%s: exit %d, want 0 or 1 (reconnected or retried) or 3 (failed midway): a cut connection is no usage error\n%s", what, r.code, tail(r.stderr, 10))
		}
		state := c.state()
		checkState(t, what+", the state it left", state, "", c.allowed...)
		if bad := recordErrors(t, state, connectionWords); len(bad) > 0 {
			t.Errorf("%s: records failed with the lost connection as their Export Error (a cut fails the run, never a record):\n%s",
				what, strings.Join(bad[:min(len(bad), 5)], "\n"))
		}
		if run > runs && r.code <= 1 {
			if r.code != refCode {
				t.Errorf("the completing run exits %d, the uninterrupted one %d", r.code, refCode)
			}
			t.Logf("%d cuts hit a connection in %d runs: %d retries, %d runs failed (exit 3)", total, runs, retried, failed)
			if total == 0 {
				t.Errorf("no cut hit a connection: the test proved nothing")
			}
			return
		}
	}
}

// The connector's connections to PostgreSQL are cut (pg_terminate_backend) at random
// moments while it runs, for a DuckDB source with a PostgreSQL target and for one
// PostgreSQL database as source and target: each run ends 0/1 or 3 with the connection
// named, nothing is half-written, and the rerun ends equal to an uninterrupted run.
func TestFaultPostgresConnectionCut(t *testing.T) {
	t.Parallel()
	fixture.Postgres(t) // skips (or fails under CI) without a server, before any work
	seed := faultSeed(t)
	n := faultInvoices(t, 2000)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "config.yaml", faultConfig)
	gen, ref, refCode := faultData(t, dir, cfg, n)

	t.Run("duckdb-source", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		pg, secret := withPassword(t, fixture.Postgres(t))
		fixture.LoadPostgres(t, pg, gen, "acct")
		src := copyFile(t, gen, filepath.Join(t.TempDir(), "source.duckdb"))
		rng := rand.New(rand.NewPCG(seed, 1))
		cutLoop(t, rng, pgAdmin(t), cutRun{
			args: []string{"run", "--source", src, "--target", pg, "--config", cfg},
			pg:   pg, secret: secret,
			state:   func() string { return merged(t, pg, snapshot(t, src)) },
			allowed: twoStepWindow,
		}, 3, 3, refCode)
		checkState(t, "after the cuts and the rerun", merged(t, pg, snapshot(t, src)), ref)
		t.Logf("took %s", time.Since(start).Round(time.Millisecond))
	})

	t.Run("same-database", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		pg, secret := withPassword(t, fixture.Postgres(t))
		if r := cli(t, nil, "generate", "--db", pg, "--invoices", strconv.Itoa(n)); r.code != 0 {
			t.Fatalf("generate: %s", r.stderr)
		}
		rng := rand.New(rand.NewPCG(seed, 2))
		cutLoop(t, rng, pgAdmin(t), cutRun{
			args: []string{"run", "--db", pg, "--config", cfg},
			pg:   pg, secret: secret,
			state: func() string { return merged(t, pg, "") },
		}, 3, 3, refCode)
		checkState(t, "after the cuts and the rerun", merged(t, pg, ""), ref)
		t.Logf("took %s", time.Since(start).Round(time.Millisecond))
	})
}

// A run whose connection is cut while it is idle reconnects and goes on; it must still
// hold the advisory lock that keeps other runs on the same target waiting (pipeline's
// link.lock), else a second run stages from a copy the first is about to change.
func TestFaultPostgresCutKeepsTheRunLock(t *testing.T) {
	t.Parallel()
	pg := fixture.Postgres(t)
	if r := cli(t, nil, "generate", "--db", pg, "--invoices", "2000"); r.code != 0 {
		t.Fatalf("generate: %s", r.stderr)
	}
	cfg := writeFile(t, t.TempDir(), "config.yaml", faultConfig)
	admin := pgAdmin(t)
	done := make(chan string, 16)
	ch := startChild(t, []string{"TMPDIR=" + t.TempDir()}, func(l string) {
		if strings.Contains(l, `msg="flow done"`) {
			if i := strings.Index(l, " flow="); i >= 0 {
				done <- strings.Fields(l[i+len(" flow="):])[0]
			}
		}
	}, binary, "run", "--db", pg, "--config", cfg)
	next := func() string {
		select {
		case f := <-done:
			return f
		case <-ch.done:
			return ""
		case <-time.After(60 * time.Second):
			t.Fatal("no flow done within 60s")
		}
		return ""
	}
	if f := next(); f != "vendor-accounts" {
		t.Fatalf("first flow done: %q\n%s", f, ch.wait().stderr)
	}
	locks := func() int {
		var n int
		err := admin.QueryRow(context.Background(), `SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
			WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'oimconnect' AND a.datname = $1`, dbName(t, pg)).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if locks() == 0 {
		t.Fatal("the run holds no advisory lock before the cut: the test does not know how the run lock looks")
	}
	if k := cut(t, admin, dbName(t, pg)); k == 0 {
		t.Fatal("no connection to cut")
	}
	f := next()
	if f == "" {
		r := ch.wait()
		t.Logf("the run stopped on the cut (exit %d): it cannot run unlocked", r.code)
		return
	}
	if held := locks(); held == 0 && ch.running() {
		t.Errorf("after the cut the run reconnected and exported %s without the run lock: another run on %s would not wait for it", f, postgresRedacted(pg))
	}
	if r := ch.wait(); r.code > 1 {
		t.Errorf("exit %d\n%s", r.code, tail(r.stderr, 5))
	}
}

// A cut while the connector reads the PostgreSQL catalog as it opens the database
// (openLinked's information_schema query, before the run's first retryable step) must
// still end in an error naming the database and the step, or be retried.
func TestFaultPostgresCutWhileOpening(t *testing.T) {
	t.Parallel()
	pg := fixture.Postgres(t)
	if r := cli(t, nil, "generate", "--db", pg, "--invoices", "200"); r.code != 0 {
		t.Fatalf("generate: %s", r.stderr)
	}
	cfg := writeFile(t, t.TempDir(), "config.yaml", faultConfig)
	admin := pgAdmin(t)
	name := dbName(t, pg)
	hit := 0
	for attempt := 1; attempt <= 8 && hit < 2; attempt++ {
		ch := startChild(t, []string{"TMPDIR=" + t.TempDir()}, nil, binary, "run", "--db", pg, "--config", cfg)
		for ch.running() {
			var n int
			if err := admin.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
				WHERE application_name = 'oimconnect' AND datname = $1 AND state = 'active' AND query LIKE '%information_schema.columns%'`, name).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				break
			}
		}
		r := ch.wait()
		if r.code != 3 {
			continue // the cut fell on a step that is retried, or on none
		}
		hit++
		line := errorLine(t, "cut while opening", r, "")
		if !strings.Contains(line, name) {
			t.Errorf("attempt %d: exit 3 with an error that does not name the database %s nor the step: %s", attempt, postgresRedacted(pg), line)
		}
	}
	if hit == 0 {
		t.Log("no cut fell on the catalog read at open")
	}
}

func postgresRedacted(pg string) string {
	u, err := url.Parse(pg)
	if err != nil {
		return "the database"
	}
	return u.Redacted()
}

// ---------------------------------------------------------------------------------
// Disk full: the CLI under a file size limit.

// limited runs the CLI with every file it writes limited to limit bytes (prlimit
// --fsize): writes past the limit fail with EFBIG, as they fail with ENOSPC on a full
// disk (the connector ignores SIGXFSZ: TestFaultFileSizeLimitSignal).
func limited(t *testing.T, limit int64, env []string, args ...string) (result, string) {
	t.Helper()
	ch := startChild(t, env, nil, "prlimit", append([]string{"--fsize=" + strconv.FormatInt(limit, 10), "--", binary}, args...)...)
	return ch.wait(), ch.signal
}

func needPrlimit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Skip("prlimit (util-linux) is needed to limit the file size")
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

var tooLarge = regexp.MustCompile(`(?i)file too large|no space left`)

// The export runs out of space midway (a file size limit): exit 3 with the file and the
// cause named, the file as left keeps every invariant, and a rerun with room completes
// and equals an uninterrupted run. Also when only the checkpoint at close runs out (the
// log holds every commit), and when the limit hits the working DuckDB copy of a linked
// run's PostgreSQL source.
func TestFaultDiskFull(t *testing.T) {
	t.Parallel()
	needPrlimit(t)
	seed := faultSeed(t)
	n := faultInvoices(t, 3000)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "config.yaml", faultConfig)
	gen, ref, refCode := faultData(t, dir, cfg, n)
	growth := fileSize(t, ref) - fileSize(t, gen)
	rng := rand.New(rand.NewPCG(seed, 3))

	// The log fits; a checkpoint, which grows the file, does not: every commit is in
	// the log, so nothing is lost. (The connector checkpoints at close only once the
	// log passes 16MB, and DuckDB at a commit past its threshold; with more data than
	// here a checkpoint fails: exit 3.)
	var log int64
	t.Run("checkpoint", func(t *testing.T) {
		start := time.Now()
		limit := fileSize(t, gen) + growth/10
		db := copyFile(t, gen, filepath.Join(t.TempDir(), "checkpoint.duckdb"))
		r, sig := limited(t, limit, nil, "run", "--db", db, "--config", cfg)
		what := fmt.Sprintf("limit %d bytes (the file's size and a tenth of its growth)", limit)
		switch {
		case sig != "":
			t.Fatalf("%s: killed by %s\n%s", what, sig, tail(r.stderr, 10))
		case r.code == 3:
			line := errorLine(t, what, r, "")
			if !tooLarge.MatchString(line) {
				t.Errorf("%s: exit 3 without saying the disk is full: %s", what, line)
			}
			checkState(t, what+", the file as left", snapshot(t, db), "")
		case r.code == refCode:
			checkOutput(t, what, r, "")
			checkState(t, what+", the file as left (its log holds every commit)", snapshot(t, db), ref)
		default:
			t.Fatalf("%s: exit %d\n%s", what, r.code, tail(r.stderr, 10))
		}
		t.Logf("%s: exit %d, file %d bytes, log %d bytes", what, r.code, fileSize(t, db), walSize(db))
		if r.code <= 1 {
			log = walSize(db)
		}
		if r := cli(t, nil, "run", "--db", db, "--config", cfg); r.code != refCode {
			t.Fatalf("the rerun with room exits %d\n%s", r.code, tail(r.stderr, 10))
		}
		checkState(t, "after the rerun", db, ref)
		t.Logf("took %s", time.Since(start).Round(time.Millisecond))
	})

	// The run's write-ahead log reaches the limit: a commit fails. The limits are
	// fractions of the log of a whole run (measured above; else about half the file's
	// growth).
	if log == 0 {
		log = growth / 2
	}
	fracs := []float64{0.05 + 0.35*rng.Float64(), 0.45 + 0.45*rng.Float64()}
	t.Run("duckdb", func(t *testing.T) {
		for i, frac := range fracs {
			start := time.Now()
			limit := int64(frac * float64(log))
			db := copyFile(t, gen, filepath.Join(t.TempDir(), fmt.Sprintf("full-%d.duckdb", i)))
			r, sig := limited(t, limit, nil, "run", "--db", db, "--config", cfg)
			what := fmt.Sprintf("limit %d bytes (%.0f%% of a whole run's log)", limit, 100*frac)
			if sig != "" {
				t.Fatalf("%s: killed by %s\n%s", what, sig, tail(r.stderr, 10))
			}
			line := errorLine(t, what, r, "")
			if r.code != 3 || !tooLarge.MatchString(line) || !strings.Contains(line, db) {
				t.Errorf("%s: want exit 3 and an error naming %s and the lack of space, got %d: %s", what, db, r.code, line)
			}
			t.Logf("%s: exit %d: %s", what, r.code, line)
			checkState(t, what+", the file as left", snapshot(t, db), "")
			if r := cli(t, nil, "run", "--db", db, "--config", cfg); r.code != refCode {
				t.Fatalf("%s: the rerun with room exits %d, the uninterrupted run %d\n%s", what, r.code, refCode, tail(r.stderr, 10))
			}
			checkState(t, what+", after the rerun", db, ref)
			t.Logf("%s: took %s", what, time.Since(start).Round(time.Millisecond))
		}
	})

	// A PostgreSQL source's rows a run reads (the candidates and what they reach, the
	// master data read whole) come through CSV transfer files into a working DuckDB file
	// in TMPDIR: the limit hits one of them. They are small now (a batch's rows, not
	// whole tables), so the limit is too: 64 to 256 KB, below a batch of lines.
	t.Run("linked-working-copy", func(t *testing.T) {
		start := time.Now()
		pg := fixture.Postgres(t)
		if r := cli(t, nil, "generate", "--db", pg, "--invoices", strconv.Itoa(n)); r.code != 0 {
			t.Fatalf("generate: %s", r.stderr)
		}
		tmp := t.TempDir()
		limit := int64(64<<10 + rng.Float64()*(192<<10))
		what := fmt.Sprintf("limit %d bytes on the working copy", limit)
		r, sig := limited(t, limit, []string{"TMPDIR=" + tmp}, "run", "--db", pg, "--config", cfg)
		if sig != "" {
			t.Fatalf("%s: killed by %s\n%s", what, sig, tail(r.stderr, 10))
		}
		line := errorLine(t, what, r, "")
		if r.code != 3 || !tooLarge.MatchString(line) || !strings.Contains(line, tmp) {
			t.Errorf("%s: want exit 3 and an error naming the working file in %s and the lack of space, got %d: %s", what, tmp, r.code, line)
		}
		t.Logf("%s: exit %d: %s", what, r.code, line)
		if left, _ := filepath.Glob(filepath.Join(tmp, "oimconnect-*")); len(left) > 0 {
			t.Errorf("%s: the failed run left its temporary files: %v", what, left)
		}
		checkState(t, what+", the database as left", merged(t, pg, ""), "")
		if r := cli(t, []string{"TMPDIR=" + tmp}, "run", "--db", pg, "--config", cfg); r.code != refCode {
			t.Fatalf("the rerun with room exits %d\n%s", r.code, tail(r.stderr, 10))
		}
		checkState(t, "after the rerun", merged(t, pg, ""), ref)
		t.Logf("took %s", time.Since(start).Round(time.Millisecond))
	})
}

func walSize(path string) int64 {
	st, err := os.Stat(path + ".wal")
	if err != nil {
		return 0
	}
	return st.Size()
}

// Under a file size limit (ulimit -f, systemd's LimitFSIZE) the kernel sends SIGXFSZ to
// the thread whose write crosses it. Go ignores it on its own threads only: before main
// ignored it, a write from one of DuckDB's threads killed the connector with no message
// (exit 153) about half the time, instead of failing the batch with exit 3.
func TestFaultFileSizeLimitSignal(t *testing.T) {
	t.Parallel()
	needPrlimit(t)
	seed := faultSeed(t)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "config.yaml", faultConfig)
	gen := filepath.Join(dir, "generated.duckdb")
	if r := cli(t, nil, "generate", "--db", gen, "--invoices", strconv.Itoa(faultInvoices(t, 3000))); r.code != 0 {
		t.Fatalf("generate: %s", r.stderr)
	}
	size := fileSize(t, gen) // a whole run's log is about 40% of it (7.8 of 19 MB here)
	rng := rand.New(rand.NewPCG(seed, 4))
	for i := 0; i < 6; i++ { // whether it dies depends on the thread that writes past the limit
		limit := int64((0.25 + 0.2*rng.Float64()) * float64(size))
		db := copyFile(t, gen, filepath.Join(t.TempDir(), "limited.duckdb"))
		r, signal := limited(t, limit, nil, "run", "--db", db, "--config", cfg)
		if signal != "" {
			t.Fatalf("limit %d bytes: the connector was killed by %s (exit status %d in a shell), saying nothing:\n%s", limit, signal, 128+int(syscall.SIGXFSZ), tail(r.stderr, 3))
		}
		if r.code <= 1 {
			t.Logf("limit %d bytes: not reached", limit)
			continue
		}
		if line := errorLine(t, "limit", r, ""); r.code != 3 || !tooLarge.MatchString(line) {
			t.Errorf("limit %d bytes: exit %d: %s", limit, r.code, line)
		}
	}
}

// ---------------------------------------------------------------------------------
// Read-only target.

// readOnly makes a file or directory unwritable for the CLI: chattr +i when root (root
// ignores file modes), chmod otherwise. The returned function undoes it (also at the
// end of the test).
func readOnly(t *testing.T, path string) func() {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	var undo func()
	if os.Geteuid() == 0 {
		if out, err := exec.Command("chattr", "+i", path).CombinedOutput(); err != nil {
			t.Skipf("cannot make %s read-only: as root file modes are ignored, and chattr +i failed (the filesystem or the container does not allow the immutable attribute): %v %s", path, err, out)
		}
		undo = func() {
			if out, err := exec.Command("chattr", "-i", path).CombinedOutput(); err != nil {
				t.Errorf("chattr -i %s: %v %s", path, err, out)
			}
		}
	} else {
		mode := os.FileMode(0o444)
		if st.IsDir() {
			mode = 0o555
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		undo = func() {
			if err := os.Chmod(path, st.Mode().Perm()); err != nil {
				t.Error(err)
			}
		}
	}
	var once sync.Once
	u := func() { once.Do(undo) }
	t.Cleanup(u)
	// It must hold.
	if st.IsDir() {
		if f, err := os.CreateTemp(path, "probe"); err == nil {
			f.Close()
			os.Remove(f.Name())
			u()
			t.Fatalf("%s is still writable", path)
		}
	} else if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
		f.Close()
		u()
		t.Fatalf("%s is still writable", path)
	}
	return u
}

var notWritable = regexp.MustCompile(`(?i)not permitted|permission denied|read-only`)

// mergedFiles is one DuckDB file holding the oim tables of a source file and the acct
// tables of a target file, so a linked export is checked like a single file.
func mergedFiles(t *testing.T, src, tgt string) string {
	t.Helper()
	path := snapshot(t, src)
	tcopy := snapshot(t, tgt)
	db := openDuck(t, path)
	defer db.Close()
	attach(t, db, tcopy, "t")
	for _, tb := range contractTables(t, db, "acct") {
		if _, err := db.Exec(fmt.Sprintf("DELETE FROM %[1]s; INSERT INTO %[1]s SELECT * FROM t.%[1]s", tb.SQLName())); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec("DETACH t"); err != nil {
		t.Fatal(err)
	}
	return path
}

// The target DuckDB file, or the directory that must hold its write-ahead log, cannot
// be written: a clear error and exit status, nothing written (the source not written
// back either), and once writable again the rerun completes and equals an
// uninterrupted run.
func TestFaultReadOnlyTarget(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := writeFile(t, dir, "config.yaml", faultConfig)
	gen, ref, refCode := faultData(t, dir, cfg, faultInvoices(t, 1500))

	// unchanged checks that a file holds exactly the generated data (nothing written).
	unchanged := func(t *testing.T, what, path string) {
		t.Helper()
		checkState(t, what, snapshot(t, path), gen)
	}
	rerun := func(t *testing.T, args ...string) result {
		t.Helper()
		r := cli(t, nil, append(append([]string{"run"}, args...), "--config", cfg)...)
		if r.code != refCode {
			t.Fatalf("the rerun once writable exits %d, the uninterrupted run %d\n%s", r.code, refCode, tail(r.stderr, 10))
		}
		return r
	}

	t.Run("file", func(t *testing.T) {
		t.Parallel()
		db := copyFile(t, gen, filepath.Join(t.TempDir(), "target.duckdb"))
		undo := readOnly(t, db)
		r := cli(t, nil, "run", "--db", db, "--config", cfg)
		line := errorLine(t, "read-only file", r, "")
		if r.code != 2 || !strings.Contains(line, db) || !notWritable.MatchString(line) {
			t.Errorf("want exit 2 and an error naming %s and why it cannot be written, got %d: %s", db, r.code, line)
		}
		t.Logf("exit %d: %s", r.code, line)
		if _, err := os.Stat(db + ".wal"); err == nil {
			t.Errorf("a log was written beside the read-only file")
		}
		undo()
		unchanged(t, "the read-only file", db)
		rerun(t, "--db", db)
		checkState(t, "after the rerun", db, ref)
	})

	t.Run("directory", func(t *testing.T) {
		t.Parallel()
		ro := filepath.Join(t.TempDir(), "ro")
		if err := os.Mkdir(ro, 0o755); err != nil {
			t.Fatal(err)
		}
		db := copyFile(t, gen, filepath.Join(ro, "target.duckdb"))
		undo := readOnly(t, ro)
		r := cli(t, nil, "run", "--db", db, "--config", cfg)
		line := errorLine(t, "read-only directory", r, "")
		if r.code != 3 || !strings.Contains(line, db) || !notWritable.MatchString(line) {
			t.Errorf("want exit 3 and an error naming %s's log and why it cannot be written, got %d: %s", db, r.code, line)
		}
		t.Logf("exit %d: %s", r.code, line)
		undo()
		unchanged(t, "the file in the read-only directory", db)
		rerun(t, "--db", db)
		checkState(t, "after the rerun", db, ref)
	})

	t.Run("linked-target-file", func(t *testing.T) {
		t.Parallel()
		d := t.TempDir()
		src := copyFile(t, gen, filepath.Join(d, "source.duckdb"))
		tgt := copyFile(t, gen, filepath.Join(d, "target.duckdb"))
		undo := readOnly(t, tgt)
		r := cli(t, nil, "run", "--source", src, "--target", tgt, "--config", cfg)
		line := errorLine(t, "read-only linked target", r, "")
		if r.code != 2 || !strings.Contains(line, tgt) || !notWritable.MatchString(line) {
			t.Errorf("want exit 2 and an error naming %s and why it cannot be written, got %d: %s", tgt, r.code, line)
		}
		t.Logf("exit %d: %s", r.code, line)
		undo()
		unchanged(t, "the source (nothing written back)", src)
		unchanged(t, "the read-only target", tgt)
		rerun(t, "--source", src, "--target", tgt)
		checkState(t, "after the rerun", mergedFiles(t, src, tgt), ref)
	})

	// The source's directory is read-only: the target commits a flow's documents, then
	// the write-back cannot create the source's log. The next run recovers them.
	t.Run("linked-source-directory", func(t *testing.T) {
		t.Parallel()
		ro := filepath.Join(t.TempDir(), "ro")
		if err := os.Mkdir(ro, 0o755); err != nil {
			t.Fatal(err)
		}
		src := copyFile(t, gen, filepath.Join(ro, "source.duckdb"))
		tgt := copyFile(t, gen, filepath.Join(t.TempDir(), "target.duckdb"))
		undo := readOnly(t, ro)
		r := cli(t, nil, "run", "--source", src, "--target", tgt, "--config", cfg)
		line := errorLine(t, "read-only source directory", r, "")
		if r.code != 3 || !strings.Contains(line, src) || !notWritable.MatchString(line) {
			t.Errorf("want exit 3 and an error naming %s's log and why it cannot be written, got %d: %s", src, r.code, line)
		}
		t.Logf("exit %d: %s", r.code, line)
		undo()
		unchanged(t, "the source (nothing written back)", src)
		checkState(t, "the target and source as left", mergedFiles(t, src, tgt), "", twoStepWindow...)
		r = rerun(t, "--source", src, "--target", tgt)
		t.Logf("rerun: %s", strings.ReplaceAll(strings.TrimSpace(r.stdout), "\n", "; "))
		checkState(t, "after the rerun", mergedFiles(t, src, tgt), ref)
	})
}

// When a linked run's target has committed a flow's documents and the write-back to the
// source then fails, the error must not say that nothing was written: the documents
// are in the target (the next run recovers them).
func TestFaultWriteBackFailureSaysWhatWasWritten(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := writeFile(t, dir, "config.yaml", faultConfig)
	gen := filepath.Join(dir, "generated.duckdb")
	if r := cli(t, nil, "generate", "--db", gen, "--invoices", "300"); r.code != 0 {
		t.Fatalf("generate: %s", r.stderr)
	}
	ro := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(ro, 0o755); err != nil {
		t.Fatal(err)
	}
	src := copyFile(t, gen, filepath.Join(ro, "source.duckdb"))
	tgt := copyFile(t, gen, filepath.Join(t.TempDir(), "target.duckdb"))
	undo := readOnly(t, ro)
	r := cli(t, nil, "run", "--source", src, "--target", tgt, "--config", cfg)
	undo()
	line := errorLine(t, "read-only source directory", r, "")
	if r.code != 3 {
		t.Fatalf("want exit 3, got %d: %s", r.code, line)
	}
	before := queryInt(t, gen, "SELECT count(*) FROM acct.account")
	after := queryInt(t, snapshot(t, tgt), "SELECT count(*) FROM acct.account")
	t.Logf("%s\nthe target holds %d vendor accounts, %d before the run", line, after, before)
	if after > before && strings.Contains(line, "nothing of this flow was written") {
		t.Errorf("the target holds the flow's %d new documents, but the error says nothing of the flow was written: %s", after-before, line)
	}
}

// A plugin killed while it starts (before its handshake) fails its batches with a
// one-line reason that says what happened, not go-plugin's advice about architectures
// and permissions.
func TestFaultPluginKilledWhileStarting(t *testing.T) {
	t.Parallel()
	path, sum := examplePlugin(t, "faulty")
	dir := t.TempDir()
	cfg := writeFile(t, dir, "config.yaml", faultConfig+fmt.Sprintf(`plugins:
  - name: faulty
    path: %s
    sha256: %s
    flows: [sales-invoices]
    settings: {mode: ok}
`, path, sum))
	gen := filepath.Join(dir, "generated.duckdb")
	if r := cli(t, nil, "generate", "--db", gen, "--invoices", "300"); r.code != 0 {
		t.Fatalf("generate: %s", r.stderr)
	}
	for attempt := 1; attempt <= 5; attempt++ {
		db := copyFile(t, gen, filepath.Join(t.TempDir(), "killed.duckdb"))
		ch := startChild(t, []string{"TMPDIR=" + t.TempDir()}, nil, binary, "run", "--db", db, "--config", cfg, "--flow", "sales-invoices")
		pid, killed := ch.cmd.Process.Pid, false
		for ch.running() && !killed {
			if p := childOf(pid); p != 0 {
				killed = syscall.Kill(p, syscall.SIGKILL) == nil
			}
		}
		if r := ch.wait(); r.code > 1 {
			t.Fatalf("exit %d\n%s", r.code, tail(r.stderr, 10))
		}
		reasons := recordErrors(t, db, regexp.MustCompile(`^plugin faulty: `))
		if len(reasons) == 0 {
			continue // killed after the handshake, between calls: restarted, nothing failed
		}
		for _, msg := range reasons[:1] {
			if strings.Contains(msg, "\n") || strings.Contains(msg, "architecture") {
				t.Errorf("attempt %d: %d records failed, for a reason of %d lines that blames the architecture or permissions: %q",
					attempt, len(reasons), strings.Count(msg, "\n")+1, msg)
			}
		}
		return
	}
	t.Log("no kill fell on the plugin's start")
}

// ---------------------------------------------------------------------------------
// A plugin killed mid-batch.

// childOf is a child process of pid (0 when it has none).
func childOf(pid int) int {
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(data)) {
			if p, err := strconv.Atoi(s); err == nil {
				return p
			}
		}
	}
	return 0
}

// readBytes is how many bytes a process has read (rchar): it grows when a batch
// arrives.
func readBytes(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "rchar: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return -1
}

// killPlugin kills the plugin processes of the running CLI up to kills times: each
// time once the plugin is receiving a batch (the bytes it has read jump) and a random
// 0-3 ms later, so the kill falls mid-call; one time in four at a random moment
// instead, but never the first (four kills at random all missed the batches once, and
// the runs after, with nothing left to export, had none to kill). It returns when done
// or when the CLI ends, with what it did.
func killPlugin(ch *child, rng *rand.Rand, kills int) []string {
	var did []string
	pid := ch.cmd.Process.Pid
	for len(did) < kills && ch.running() {
		p := childOf(pid)
		if p == 0 {
			time.Sleep(time.Millisecond)
			continue
		}
		how := "mid-call"
		if rng.IntN(4) == 0 && len(did) > 0 {
			how = "at random"
			time.Sleep(time.Duration(rng.Int64N(int64(300 * time.Millisecond))))
		} else {
			base := readBytes(p)
			for ch.running() {
				if r := readBytes(p); r < 0 || r-base > 16<<10 {
					break
				}
				time.Sleep(200 * time.Microsecond)
			}
			time.Sleep(time.Duration(rng.Int64N(int64(3 * time.Millisecond))))
		}
		if !ch.running() || childOf(pid) != p {
			continue
		}
		if err := syscall.Kill(p, syscall.SIGKILL); err == nil {
			did = append(did, fmt.Sprintf("%s %s", time.Since(ch.start).Round(time.Millisecond), how))
		}
		for ch.running() && childOf(pid) == p { // until the host has seen it go
			time.Sleep(time.Millisecond)
		}
	}
	return did
}

// The sales invoices go through the faulty example plugin (no fault of its own: it
// marks every line) and its process is killed with SIGKILL at random moments while the
// run goes: the run goes on (exit 0 or 1), the records of the batch it held carry
// Export Error naming the plugin, nothing is half-written, and a rerun exports them,
// ending equal to an uninterrupted run through the plugin.
func TestFaultPluginKilledMidBatch(t *testing.T) {
	t.Parallel()
	seed := faultSeed(t)
	path, sum := examplePlugin(t, "faulty")
	dir := t.TempDir()
	cfg := writeFile(t, dir, "config.yaml", faultConfig+fmt.Sprintf(`plugins:
  - name: faulty
    path: %s
    sha256: %s
    flows: [sales-invoices]
    batch_size: 2000
    settings: {mode: ok, mark: THROUGH-PLUGIN}
`, path, sum))
	flow := []string{"--flow", "sales-invoices"}
	gen, ref, refCode := faultData(t, dir, cfg, faultInvoices(t, 3000), flow...)
	if n := queryInt(t, ref, "SELECT count(*) FROM acct.sales_invoice_line_item WHERE dimension4_id = 'THROUGH-PLUGIN'"); n == 0 {
		t.Fatal("the uninterrupted run's lines did not go through the plugin")
	}
	db := copyFile(t, gen, filepath.Join(dir, "killed.duckdb"))
	rng := rand.New(rand.NewPCG(seed, 5))
	byPlugin := regexp.MustCompile(`^plugin faulty: `)
	failedByKill := 0
	for run := 1; run <= 8; run++ {
		kills := 0
		if run <= 3 {
			kills = 4
		}
		ch := startChild(t, []string{"TMPDIR=" + t.TempDir()}, nil, binary, append([]string{"run", "--db", db, "--config", cfg}, flow...)...)
		did := killPlugin(ch, rng, kills)
		r := ch.wait()
		what := fmt.Sprintf("run %d (plugin killed at %s)", run, strings.Join(did, ", "))
		if kills == 0 {
			what = fmt.Sprintf("run %d (no kill)", run)
		}
		if ch.signal != "" || r.code > 1 {
			t.Fatalf("%s: exit %d %s: a killed plugin must fail only its batch's records\n%s", what, r.code, ch.signal, tail(r.stderr, 10))
		}
		checkOutput(t, what, r, "")
		// Every record failed beyond the data's own invalid ones failed by the plugin,
		// with a reason naming it.
		snap := snapshot(t, db)
		checkState(t, what+", the file it left", snap, "")
		c := openDuck(t, snap)
		attach(t, c, ref, "ref")
		rows, err := c.Query(`SELECT i.id, i.export_error FROM oim.invoice i JOIN ref.oim.invoice r USING (id)
			WHERE i.export_status = 'Export Error' AND i.export_error IS DISTINCT FROM r.export_error ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		var failed []string
		reasons := map[string]int{}
		for rows.Next() {
			var id, msg string
			if err := rows.Scan(&id, &msg); err != nil {
				t.Fatal(err)
			}
			failed = append(failed, id)
			reasons[msg]++
			if !byPlugin.MatchString(msg) {
				t.Errorf("%s: %s failed for a reason that does not name the plugin: %s", what, id, msg)
			}
		}
		rows.Close()
		c.Close()
		failedByKill += len(failed)
		t.Logf("%s: exit %d after %s; %d records failed by the plugin: %v", what, r.code, time.Since(ch.start).Round(time.Millisecond), len(failed), reasons)
		if kills == 0 && len(failed) == 0 {
			if failedByKill == 0 {
				t.Fatalf("no kill hit a batch in the killed runs: the test proved nothing")
			}
			if r.code != refCode {
				t.Errorf("the completing run exits %d, the uninterrupted one %d", r.code, refCode)
			}
			checkState(t, "after the kills and the rerun", db, ref)
			return
		}
	}
	t.Fatal("records still failed by the plugin after 5 runs without kills")
}
