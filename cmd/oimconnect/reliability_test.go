//go:build reliability

// The crash test (make test-reliability): a backfill over a generated data set is
// killed with SIGKILL at random moments, rerun until it completes, and the end state
// must keep every invariant (invariants_test.go) and equal an uninterrupted run's, for
// a DuckDB file and for a DuckDB source with a PostgreSQL target.
//
//	RELIABILITY_INVOICES  generated invoices (default 100000; about 3 documents each here)
//	RELIABILITY_KILLS     kills per target (default 20)
//	RELIABILITY_SEED      the kill plan's random source (default: time based; printed)
package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oimconnect/oimconnect/pipeline/fixture"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
)

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

func TestReliabilityCrash(t *testing.T) {
	invoices := envInt(t, "RELIABILITY_INVOICES", 100000)
	kills := envInt(t, "RELIABILITY_KILLS", 20)
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("RELIABILITY_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("RELIABILITY_SEED=%q: %v", v, err)
		}
		seed = s
	}
	t.Logf("RELIABILITY_SEED=%d RELIABILITY_INVOICES=%d RELIABILITY_KILLS=%d (the same values replay the same kill plan: where in the backfill each kill is armed and its delay)", seed, invoices, kills)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "config.yaml", crashSettings)

	start := time.Now()
	gen := filepath.Join(dir, "generated.duckdb")
	if r := cli(t, nil, "generate", "--db", gen, "--invoices", strconv.Itoa(invoices)); r.code != 0 {
		t.Fatalf("generate: %d %s", r.code, r.stderr)
	}
	from, to := dateRange(t, gen)
	t.Logf("generated %d invoices in %s; documents dated %s..%s", invoices, time.Since(start).Round(time.Millisecond), from, to)
	backfill := []string{"backfill", "--config", cfg, "--from", from, "--to", to, "--partition", "month"}

	// The uninterrupted run every crashed one must end equal to.
	ref := copyFile(t, gen, filepath.Join(dir, "reference.duckdb"))
	start = time.Now()
	r := cli(t, nil, append(backfill, "--db", ref)...)
	took := time.Since(start)
	p := pace{}
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(l, "backfill ") {
			p.partitions++
		}
	}
	if p.partitions < 2 {
		t.Fatalf("the backfill reported %d partitions:\n%s", p.partitions, tail(r.stderr, 20))
	}
	p.each = took / time.Duration(p.partitions)
	if r.code > 1 {
		t.Fatalf("uninterrupted backfill: exit %d\n%s", r.code, tail(r.stderr, 20))
	}
	refDB := openDuck(t, ref)
	docs := queryInt(t, ref, documentCount)
	t.Logf("uninterrupted backfill: %s, %d documents\n%s", took.Round(time.Millisecond), docs, r.stdout)
	if bad := violations(t, refDB, crashLimits); len(bad) > 0 {
		t.Fatalf("the uninterrupted backfill breaks invariants (an engine bug, not a crash):\n%s", strings.Join(bad, "\n"))
	}
	refDB.Close()
	rng := rand.New(rand.NewPCG(seed, 0x5eed))

	t.Run("duckdb", func(t *testing.T) {
		db := copyFile(t, gen, filepath.Join(t.TempDir(), "crashed.duckdb"))
		start := time.Now()
		// After every kill the file as left must already keep every invariant: each
		// flow's batch is one transaction (checked on a copy, so the next run still
		// recovers the file itself).
		crashLoop(t, append(backfill, "--db", db), rng, p, kills, func(kill int) {
			cp := snapshot(t, db)
			defer os.RemoveAll(filepath.Dir(cp))
			c, err := sql.Open("duckdb", cp)
			if err == nil {
				err = c.Ping()
			}
			if err != nil {
				t.Fatalf("kill %d left a file DuckDB cannot open, and so cannot the next run (see TestTwoCrashesInARowKeepTheFile in pipeline/durability_test.go): %v", kill, err)
			}
			defer c.Close()
			if bad := violations(t, c, crashLimits); len(bad) > 0 {
				t.Errorf("the file as the kill left it breaks invariants:\n%s", strings.Join(bad, "\n"))
			}
		})
		t.Logf("killed and resumed backfill: %s", time.Since(start).Round(time.Millisecond))
		assertFinal(t, db, ref)
	})

	t.Run("postgres", func(t *testing.T) {
		pg := fixture.Postgres(t)
		fixture.LoadPostgres(t, pg, gen, "acct")
		src := copyFile(t, gen, filepath.Join(t.TempDir(), "source.duckdb"))
		start := time.Now()
		windows, last := 0, 0
		// After a kill: whatever the source says is exported has its documents in
		// PostgreSQL, and the documents there are whole; records whose documents were
		// committed before the kill but not yet written back (the window between the two
		// steps) wait for the next run to recover them. Reading the target back costs
		// seconds, so it is checked after every fifth kill and after each kill that left
		// records awaiting their write-back.
		crashLoop(t, append(backfill, "--source", src, "--target", pg), rng, p, kills, func(kill int) {
			cp := snapshot(t, src)
			defer os.RemoveAll(filepath.Dir(cp))
			n := awaitingWriteBack(t, pg, cp)
			if n > 0 {
				t.Logf("  %d records' documents committed in PostgreSQL, not yet written back", n)
				if n != last {
					windows++
				}
			}
			last = n
			if n == 0 && kill%5 != 0 {
				return
			}
			m := merged(t, pg, cp)
			defer os.RemoveAll(filepath.Dir(m))
			c := openDuck(t, m)
			defer c.Close()
			var bad []string
			for _, v := range violations(t, c, crashLimits) {
				if !strings.Contains(v, ": a document whose source is not exported:") && !strings.Contains(v, ": a document line not linked back") {
					bad = append(bad, v)
				}
			}
			if len(bad) > 0 {
				t.Errorf("the target and source as the kill left them break invariants:\n%s", strings.Join(bad, "\n"))
			}
		})
		t.Logf("%d kills fell between the target's commit and the write-back", windows)
		t.Logf("killed and resumed backfill into PostgreSQL: %s", time.Since(start).Round(time.Millisecond))
		assertFinal(t, merged(t, pg, src), ref)
	})
}

// awaitingWriteBack counts the records whose documents are in the PostgreSQL target
// while the DuckDB source does not say they are exported yet; a flow whose source says
// more are exported than the target holds documents for fails the test.
func awaitingWriteBack(t *testing.T, pg, src string) int {
	t.Helper()
	ctx := context.Background()
	conn, err := postgres.Connect(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	db := openDuck(t, src)
	defer db.Close()
	n := 0
	for _, f := range shapes {
		var inTarget, exported int
		if err := conn.QueryRow(ctx, fmt.Sprintf("SELECT count(DISTINCT %s) FROM %s", f.docSrc, f.doc)).Scan(&inTarget); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(fmt.Sprintf("SELECT count(*) FROM %s WHERE export_status = 'Exported' AND %s IS NOT NULL", f.src, f.link)).Scan(&exported); err != nil {
			t.Fatal(err)
		}
		if inTarget < exported {
			t.Errorf("%s: the source says %d records are exported, PostgreSQL holds documents for %d", f.flow, exported, inTarget)
		}
		n += inTarget - exported
	}
	return n
}

const documentCount = `SELECT (SELECT count(*) FROM acct.sales_invoice) + (SELECT count(*) FROM acct.sales_credit_note)
	+ (SELECT count(*) FROM acct.payable_invoice) + (SELECT count(*) FROM acct.payable_credit_note) + (SELECT count(*) FROM acct.journal)`

// assertFinal checks the end state at path: every invariant, and the same oim and acct
// rows as the uninterrupted run's.
func assertFinal(t *testing.T, path, ref string) {
	t.Helper()
	start := time.Now()
	db := openDuck(t, path)
	defer db.Close()
	if bad := violations(t, db, crashLimits); len(bad) > 0 {
		t.Errorf("invariants broken after the kills:\n%s", strings.Join(bad, "\n"))
	}
	attach(t, db, ref, "ref")
	if diff := differences(t, db, "ref", "oim", "acct"); len(diff) > 0 {
		t.Errorf("the killed and resumed backfill differs from the uninterrupted one:\n%s", strings.Join(diff, "\n"))
	}
	t.Logf("checked the end state in %s", time.Since(start).Round(time.Millisecond))
}

// pace is what the kill moments are drawn from: an uninterrupted backfill's number of
// partitions and its mean time per partition.
type pace struct {
	partitions int
	each       time.Duration
}

// crashLoop runs the command again and again, killing it (SIGKILL) at a random moment
// until it has been killed kills times, then lets it complete. The kills are spread
// over the whole backfill whatever the machine's speed: the i-th of k kills is armed
// once the backfill has done a random partition of the i-th k-th of them (or, one
// time in five, at the start, to hit the startup), and fires a random delay of up to
// one partition's time later; the last run finishes the rest. Should the backfill
// complete before the last kill, the remaining kills hit reruns (within the last run's
// duration). afterKill, when set, runs after each kill.
func crashLoop(t *testing.T, args []string, rng *rand.Rand, p pace, kills int, afterKill func(kill int)) {
	t.Helper()
	tmp := t.TempDir()
	killed, completed, last := 0, false, time.Duration(0)
	stratum := float64(p.partitions) / float64(kills)
	args = append(args[:len(args):len(args)], "--log-level", "debug") // for the kill points
	for run := 1; !(completed && killed >= kills); run++ {
		if run > kills+50 {
			t.Fatalf("%d runs and still not done", run)
		}
		cmd := exec.Command(binary, args...)
		cmd.Env = append(cleanEnv(), "TMPDIR="+tmp)
		var out bytes.Buffer
		cmd.Stdout = &out
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		target, delay, armed := -1, time.Duration(0), time.Duration(-1)
		var timer *time.Timer
		arm := func() {
			armed = time.Since(start) + delay
			timer = time.AfterFunc(delay, func() { _ = cmd.Process.Signal(syscall.SIGKILL) })
		}
		switch {
		case killed < kills && !completed:
			target = int(float64(killed)*stratum) + rng.IntN(max(1, int(stratum)))
			if rng.IntN(5) == 0 {
				target = 0
			}
			delay = time.Duration(rng.Int64N(int64(p.each)))
		case killed < kills:
			target, delay = 0, time.Duration(rng.Int64N(int64(last)))
		}
		if target == 0 {
			arm()
		}
		var errb strings.Builder
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			l := sc.Text()
			errb.WriteString(l + "\n")
			if target > 0 && timer == nil && strings.HasPrefix(l, "backfill ") {
				if m := partitionDone.FindStringSubmatch(l); m != nil {
					if done, _ := strconv.Atoi(m[1]); done >= target {
						arm()
					}
				}
			}
		}
		_ = cmd.Wait()
		if timer != nil {
			timer.Stop()
		}
		ran := time.Since(start)
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			killed++
			t.Logf("kill %d: run %d killed at %s (%s)", killed, run, armed.Round(time.Millisecond), killPoint(errb.String()))
			if afterKill != nil {
				afterKill(killed)
			}
			continue
		}
		code := cmd.ProcessState.ExitCode()
		if code > 1 {
			t.Fatalf("run %d: exit %d after %s, want 0 or 1 (or the kill)\n%s", run, code, ran.Round(time.Millisecond), tail(errb.String(), 30))
		}
		if !completed {
			t.Logf("run %d completed (exit %d) in %s after %d kills: %s", run, code, ran.Round(time.Millisecond), killed,
				strings.ReplaceAll(strings.TrimSpace(out.String()), "\n", "; "))
		}
		completed, last = true, ran
	}
}

var partitionDone = regexp.MustCompile(`: partition (\d+)/\d+`)

// killPoint says where a killed backfill was, from its debug log: the last partition
// done and the last step completed.
func killPoint(stderr string) string {
	part, step := "no partition done yet", ""
	for _, l := range strings.Split(stderr, "\n") {
		switch {
		case strings.HasPrefix(l, "backfill "):
			if i := strings.Index(l, ", records"); i > 0 {
				l = l[:i]
			}
			part, step = "after "+strings.TrimPrefix(l, "backfill "), ""
		case strings.Contains(l, " msg=step "), strings.Contains(l, ` msg="flow done" `):
			f, st := field(l, "flow"), field(l, "step")
			if st == "" {
				st = "done"
			}
			step = f + " " + st
		}
	}
	if step != "" {
		return part + "; last step " + step
	}
	return part
}

// field is a key's value in a slog text line.
func field(line, key string) string {
	i := strings.Index(line, " "+key+"=")
	if i < 0 {
		return ""
	}
	v := line[i+len(key)+2:]
	if strings.HasPrefix(v, `"`) {
		if j := strings.Index(v[1:], `"`); j >= 0 {
			return v[:j+2]
		}
	}
	if j := strings.IndexByte(v, ' '); j >= 0 {
		return v[:j]
	}
	return v
}

// dateRange is the first day of the month of the earliest document date and the latest
// document date over every dated flow's source.
func dateRange(t *testing.T, path string) (from, to string) {
	t.Helper()
	db := openDuck(t, path)
	defer db.Close()
	var a, b time.Time
	err := db.QueryRowContext(context.Background(), `SELECT date_trunc('month', min(d)), max(d) FROM (
		SELECT invoice_date AS d FROM oim.invoice UNION ALL SELECT accounting_credit_invoice_date FROM oim.credit_invoice
		UNION ALL SELECT invoice_date FROM oim.ap_voucher UNION ALL SELECT credit_date FROM oim.ap_voucher_credit
		UNION ALL SELECT transaction_date FROM oim.inventory_transaction)`).Scan(&a, &b)
	if err != nil {
		t.Fatal(err)
	}
	return a.Format(time.DateOnly), b.Format(time.DateOnly)
}

// PostgreSQL restarted while runs write into it (.ci/postgres restart: a fast shutdown
// terminates every connection, then the server starts again): each run retries its
// work on a new connection or fails with exit status 3, never half-writes, and reruns
// end equal to an uninterrupted run. Not parallel: the whole server goes down.
func TestReliabilityPostgresRestart(t *testing.T) {
	pg := fixture.Postgres(t)
	u, err := url.Parse(pg)
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(fixture.Root(), ".ci", "postgres")
	restart := func() error {
		cmd := exec.Command(script, "restart")
		cmd.Env = append(os.Environ(), "PGPORT="+u.Port())
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	}
	if err := restart(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf(".ci/postgres restart: %v", err)
		}
		t.Skipf("the PostgreSQL server at %s is not the one .ci/postgres started, so it cannot be restarted: %v", postgres.Redact(pg), err)
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("RELIABILITY_SEED"); v != "" {
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("RELIABILITY_SEED=%d", seed)
	rng := rand.New(rand.NewPCG(seed, 0x9e57a27))
	dir := t.TempDir()
	cfg := writeFile(t, dir, "config.yaml", crashSettings+"batch_size: 300\n")
	gen := filepath.Join(dir, "generated.duckdb")
	if r := cli(t, nil, "generate", "--db", gen, "--invoices", strconv.Itoa(envInt(t, "RELIABILITY_RESTART_INVOICES", 8000))); r.code != 0 {
		t.Fatalf("generate: %d %s", r.code, r.stderr)
	}
	ref := copyFile(t, gen, filepath.Join(dir, "reference.duckdb"))
	if r := cli(t, nil, "run", "--config", cfg, "--db", ref); r.code > 1 {
		t.Fatalf("uninterrupted run: exit %d\n%s", r.code, tail(r.stderr, 10))
	}
	fixture.LoadPostgres(t, pg, gen, "acct")
	src := copyFile(t, gen, filepath.Join(dir, "source.duckdb"))
	args := []string{"run", "--config", cfg, "--source", src, "--target", pg}
	restarts, retried := 0, 0 // retried: reconnections and repeated work
	for run := 1; ; run++ {
		if run > 20 {
			t.Fatalf("still not done after %d runs", run-1)
		}
		ch := startChild(t, nil, nil, binary, args...)
		for restarts < 3 {
			time.Sleep(time.Duration(300+rng.IntN(1200)) * time.Millisecond)
			if !ch.running() {
				break
			}
			if err := restart(); err != nil {
				t.Fatalf("restart: %v", err)
			}
			restarts++
		}
		r := ch.wait()
		retried += strings.Count(r.stderr, "trying again") + strings.Count(r.stderr, "connected again")
		if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") || ch.signal != "" {
			t.Fatalf("run %d: exit %d %s\n%s", run, r.code, ch.signal, tail(r.stderr, 20))
		}
		t.Logf("run %d (restarts so far %d): exit %d %s", run, restarts, r.code, tail(r.stderr, 1))
		if r.code == 2 || r.code > 3 {
			t.Fatalf("run %d: exit %d: a restart must end in a retry or exit 3\n%s", run, r.code, tail(r.stderr, 10))
		}
		if r.code <= 1 && restarts == 3 && !strings.Contains(r.stderr, "PostgreSQL connection lost") {
			break // a run without a fault completed
		}
	}
	if restarts == 0 {
		t.Fatal("every run ended before a restart: use more RELIABILITY_RESTART_INVOICES")
	}
	t.Logf("%d restarts while a run was going; the runs connected again or retried work %d times", restarts, retried)
	assertFinal(t, merged(t, pg, src), ref)
}
