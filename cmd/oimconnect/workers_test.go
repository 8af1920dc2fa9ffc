//go:build workers

// The workers' end-to-end test (make test-workers): three worker processes of the
// built binary serve 20 tenants, each with its own PostgreSQL source and target, on a
// fast clock (an hour in a few seconds): hourly schedules, changes in the sources
// (events), and one tenant's 12-partition backfill, while a random worker is killed
// with SIGKILL ten times and a new one started each time. Afterwards every tenant keeps
// the crash test's invariants, every scheduled due time has exactly one job, run to
// completion, and no job is left running.
//
//	WORKERS_SEED    the kill plan's random source (default: time based; printed)
//	WORKERS_TENANTS tenants (default 20)
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
	"github.com/oimconnect/oimconnect/pipeline/queue"
)

// timeScale makes an hour 12 seconds.
const timeScale = 300

// scheduled is each tenant's hourly schedule: one flow, by tenant number.
var scheduled = []struct{ key, at string }{{"sales_invoices", "00:15"}, {"journals", "00:30"}, {"payable_invoices", "00:45"}}

func TestWorkersManyTenants(t *testing.T) {
	started := time.Now()
	server := os.Getenv("TEST_POSTGRES_URL")
	if server == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TEST_POSTGRES_URL is not set: CI must run the workers' test (.ci/run starts a server with .ci/postgres)")
		}
		t.Skip("no PostgreSQL: set TEST_POSTGRES_URL, e.g. eval \"$(.ci/postgres start)\"")
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("WORKERS_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("WORKERS_SEED=%d", seed)
	rng := mrand.New(mrand.NewPCG(seed, 0x5eed))
	n := 20
	if v := os.Getenv("WORKERS_TENANTS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	dbs := newDatabases(t, server, 1+2*n)
	queueURL := dbs[0]
	dir := t.TempDir()
	small := fixture.Generated(t, t.TempDir(), 60)
	large := fixture.Generated(t, t.TempDir(), 240)
	tenantsDir := filepath.Join(dir, "tenants")
	if err := os.Mkdir(tenantsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	type tenantDBs struct{ name, src, tgt string }
	var tenants []tenantDBs
	for i := 0; i < n; i++ {
		td := tenantDBs{fmt.Sprintf("t%02d", i), dbs[1+2*i], dbs[2+2*i]}
		data := small
		if i == 0 {
			data = large
		}
		fixture.LoadPostgres(t, td.src, data, "oim")
		fixture.LoadPostgres(t, td.tgt, data, "acct")
		if r := cli(t, nil, "init", "--source", td.src); r.code != 0 { // change triggers and indexes
			t.Fatalf("init --source: %s", r.stderr)
		}
		body := fmt.Sprintf("source: %s\ntarget: %s\n%s", td.src, td.tgt, crashSettings)
		if i == 0 {
			// The backfill's tenant: nothing automated or scheduled, so its history is
			// exported by the backfill's partitions alone.
			body += "  automation:\n    flows:\n"
			for _, f := range []string{"vendor_accounts", "payable_invoices", "payable_credit_notes", "sales_invoices", "sales_credit_notes", "journals"} {
				body += "      " + f + ": {disabled: true}\n"
			}
		} else {
			s := scheduled[i%len(scheduled)]
			body += fmt.Sprintf("  schedules:\n    %s: {frequency: Hourly, at: \"%s\"}\n", s.key, s.at)
		}
		writeFile(t, tenantsDir, td.name+".yaml", body)
		tenants = append(tenants, td)
	}
	if r := cli(t, nil, "init", "--queue", queueURL); r.code != 0 {
		t.Fatalf("init --queue: %s", r.stderr)
	}
	t.Logf("%d tenants ready in %s", n, time.Since(started).Round(time.Millisecond))

	logs := filepath.Join(dir, "logs")
	_ = os.Mkdir(logs, 0o755)
	started2 := 0
	startWorker := func() *child {
		started2++
		return startChild(t, nil, nil, binary, "worker", "--queue", queueURL, "--tenants", tenantsDir, "--concurrency", "2",
			"--lease", "10s", "--shutdown-timeout", "20s", "--time-scale", strconv.Itoa(timeScale))
	}
	workers := []*child{startWorker(), startWorker(), startWorker()}
	var dead []*child
	time.Sleep(2 * time.Second)

	// The backfill of the tenant's last 12 months, one job per partition.
	from, to := lastYear(t, large)
	r := cli(t, nil, "backfill", "--tenant", "t00", "--queue", queueURL, "--from", from, "--to", to, "--partition", "month")
	if r.code != 0 || !strings.Contains(r.stdout, "(12 partitions)") {
		t.Fatalf("backfill --queue: %d %s%s", r.code, r.stdout, r.stderr)
	}

	// Ten kills of a random worker, each followed by a new one; between them OIM adds
	// supplier sites to random tenants' sources (events).
	var sites []struct{ tenant, src, id string }
	for k := 0; k < 10; k++ {
		time.Sleep(time.Duration(3000+rng.IntN(4000)) * time.Millisecond)
		td := tenants[1+rng.IntN(n-1)]
		id := fmt.Sprintf("SS-EV-%02d", k)
		execPG(t, td.src, "INSERT INTO oim.supplier_site (id, name, updated_at) VALUES ($1, $2, now())", id, "Event Supplier "+id)
		sites = append(sites, struct{ tenant, src, id string }{td.name, td.src, id})
		i := rng.IntN(len(workers))
		victim := workers[i]
		if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		victim.wait()
		dead = append(dead, victim)
		workers[i] = startWorker()
		t.Logf("kill %d: worker %d (pid %d) killed, a new one started; jobs %s", k+1, i, victim.cmd.Process.Pid, jobCounts(t, queueURL))
	}

	// The queue drains: the killed workers' jobs are rescued after their lease and run
	// again; every partition is done.
	deadline := time.Now().Add(150 * time.Second)
	for idle := 0; idle < 3; {
		if time.Now().After(deadline) {
			t.Fatalf("the queue did not drain: %s\n%s", jobCounts(t, queueURL), tail(workerLogs(workers, dead), 40))
		}
		time.Sleep(time.Second)
		var busy, partsLeft int
		queryPG(t, queueURL, `SELECT count(*) FILTER (WHERE state IN ('available', 'running', 'retryable', 'pending')),
			count(*) FILTER (WHERE kind = $1 AND state <> 'completed') FROM river_job`, []any{&busy, &partsLeft}, queue.KindPartition)
		if busy == 0 && partsLeft == 0 {
			idle++
		} else {
			idle = 0
		}
	}
	t.Logf("drained after %s: %s", time.Since(started).Round(time.Second), jobCounts(t, queueURL))

	// SIGTERM: each worker stops, finishing what it runs.
	for _, w := range workers {
		_ = w.cmd.Process.Signal(syscall.SIGTERM)
	}
	for i, w := range workers {
		select {
		case <-w.done:
		case <-time.After(45 * time.Second):
			t.Fatalf("worker %d did not stop within 45s of SIGTERM", i)
		}
		if res := w.wait(); res.code != 0 || strings.Contains(res.stderr, "panic") {
			t.Errorf("worker %d: exit %d after SIGTERM\n%s", i, res.code, tail(res.stderr, 20))
		}
	}
	all := workerLogs(workers, dead)
	if strings.Contains(all, "panic:") {
		t.Errorf("a worker panicked:\n%s", all)
	}

	// No job is left running, none failed.
	var running, failed int
	queryPG(t, queueURL, `SELECT count(*) FILTER (WHERE state = 'running'), count(*) FILTER (WHERE state IN ('cancelled', 'discarded')) FROM river_job`,
		[]any{&running, &failed})
	if running > 0 || failed > 0 {
		t.Errorf("after the stop: %d jobs running, %d cancelled or discarded: %s", running, failed, jobCounts(t, queueURL))
	}
	checkSchedules(t, queueURL, tenantsDir, func(tenant string) string { return tenants[mustAtoi(tenant[1:])].tgt })

	// Every tenant's invariants.
	for _, td := range tenants {
		db := openDuck(t, merged(t, td.tgt, td.src))
		if bad := violations(t, db, crashLimits); len(bad) > 0 {
			t.Errorf("tenant %s: invariants broken:\n%s", td.name, strings.Join(bad, "\n"))
		}
		var exported int
		if err := db.QueryRow("SELECT count(*) FROM oim.invoice WHERE export_status = 'Exported'").Scan(&exported); err != nil || exported == 0 {
			t.Errorf("tenant %s: no invoice exported (%v)", td.name, err)
		}
		db.Close()
	}
	// The backfill: every partition done, its records exported into the tenant's target
	// with the partitions' marks, by backfill runs alone.
	var marks, backfillRuns, otherRuns int
	queryPG(t, tenants[0].tgt, `SELECT (SELECT count(*) FROM connector.backfill), count(*) FILTER (WHERE mode = 'backfill'),
		count(*) FILTER (WHERE mode NOT IN ('backfill', 'manual')) FROM connector.run`, []any{&marks, &backfillRuns, &otherRuns})
	if marks == 0 || backfillRuns == 0 || otherRuns > 0 {
		t.Errorf("backfill tenant: %d partition marks, %d backfill runs, %d other runs", marks, backfillRuns, otherRuns)
	}
	if out := cli(t, nil, "backfill", "status", "--tenant", "t00", "--queue", queueURL); out.code != 0 || !strings.Contains(out.stdout, "12 partitions: completed 12") {
		t.Errorf("backfill status: %d\n%s%s", out.code, out.stdout, out.stderr)
	}
	// Every event's supplier site reached its tenant's target through an automatic run.
	for _, s := range sites {
		var link *string
		queryPG(t, s.src, "SELECT account_id FROM oim.supplier_site WHERE id = $1", []any{&link}, s.id)
		if link == nil || *link != "VND-"+s.id {
			var lines []string // what the workers did for the tenant, and who led
			for _, l := range strings.Split(all, "\n") {
				if strings.Contains(l, "tenant="+s.tenant) || strings.Contains(l, "leading") || strings.Contains(l, "leader") {
					lines = append(lines, l)
				}
			}
			t.Errorf("tenant %s: supplier site %s was not exported after its insert; its jobs: %s\nthe workers' log of it:\n%s",
				s.tenant, s.id, jobList(t, queueURL, s.tenant), tail(strings.Join(lines, "\n"), 60))
		}
	}
	if out := cli(t, nil, "queue", "--queue", queueURL, "--limit", "5"); out.code != 0 || !strings.Contains(out.stdout, "running 0") {
		t.Errorf("queue: %d\n%s%s", out.code, out.stdout, out.stderr)
	} else {
		t.Logf("oimconnect queue:\n%s", out.stdout)
	}
	t.Logf("%d workers started, 10 killed; the test took %s", started2, time.Since(started).Round(time.Second))
}

// checkSchedules checks that every scheduled due time became exactly one job, that the
// due times of each tenant's flow follow its schedule without a gap up to the last one
// enqueued, and that every completed job's run is in the tenant's history as many
// times as it was attempted at most (a worker killed after the commit and before the
// job's completion leaves a run that the rerun repeats, finding nothing left to do).
func checkSchedules(t *testing.T, queueURL, tenantsDir string, target func(tenant string) string) {
	t.Helper()
	ctx := context.Background()
	conn, err := postgres.Connect(ctx, queueURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT args, state::text, attempt FROM river_job WHERE kind = $1 AND args->>'mode' = 'scheduled'`, queue.KindRun)
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ tenant, flow, due string }
	jobs := map[key]int{}
	done := map[key]int{} // completed: its attempts
	byFlow := map[[2]string][]string{}
	for rows.Next() {
		var args []byte
		var state string
		var attempt int
		if err := rows.Scan(&args, &state, &attempt); err != nil {
			t.Fatal(err)
		}
		var a queue.RunFlow
		if err := json.Unmarshal(args, &a); err != nil {
			t.Fatal(err)
		}
		k := key{a.Tenant, strings.Join(a.Flows, ","), a.Due}
		jobs[k]++
		if state == "completed" {
			done[k] = attempt
		}
		if jobs[k] == 1 {
			byFlow[[2]string{k.tenant, k.flow}] = append(byFlow[[2]string{k.tenant, k.flow}], k.due)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	total := 0
	for k, c := range jobs {
		total += c
		if c != 1 {
			t.Errorf("tenant %s, %s due %s: %d jobs, want 1", k.tenant, k.flow, k.due, c)
		}
	}
	if len(byFlow) == 0 {
		t.Fatal("no scheduled job at all")
	}
	for tf, dues := range byFlow {
		sort.Strings(dues)
		cfg, err := config.LoadFile(filepath.Join(tenantsDir, tf[0]+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		sc := cfg.Settings.Schedules[strings.ReplaceAll(tf[1], "-", "_")]
		for i := 1; i < len(dues); i++ {
			prev, _ := time.Parse(time.RFC3339, dues[i-1])
			if want := queue.FormatDue(sc.Next(prev.In(time.Local))); dues[i] != want {
				t.Errorf("tenant %s, %s: due %s follows %s, want %s (a due time was skipped or invented)", tf[0], tf[1], dues[i], dues[i-1], want)
			}
		}
		var last time.Time
		if err := conn.QueryRow(ctx, "SELECT last_due FROM oimconnect.schedule WHERE tenant = $1 AND flow = $2", tf[0], tf[1]).Scan(&last); err != nil {
			t.Fatal(err)
		}
		if got := queue.FormatDue(last); got != dues[len(dues)-1] {
			t.Errorf("tenant %s, %s: the schedule's last due time is %s, its last job's %s", tf[0], tf[1], got, dues[len(dues)-1])
		}
		// The tenant's history: each completed due time's run, as often as attempted at most.
		runs := map[string]int{}
		hist, err := postgres.Connect(ctx, target(tf[0]))
		if err != nil {
			t.Fatal(err)
		}
		rs, err := hist.Query(ctx, "SELECT detail FROM connector.run WHERE mode = 'scheduled' AND flow = $1 AND error IS NULL", tf[1])
		if err != nil {
			t.Fatal(err)
		}
		details, err := pgx.CollectRows(rs, pgx.RowTo[string])
		hist.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range details {
			runs[strings.TrimPrefix(d, "due ")]++
		}
		for _, due := range dues {
			k := key{tf[0], tf[1], due}
			attempts, completed := done[k]
			switch {
			case completed && (runs[due] < 1 || runs[due] > attempts):
				t.Errorf("tenant %s, %s due %s: %d runs in its history after %d attempts", tf[0], tf[1], due, runs[due], attempts)
			case !completed && runs[due] > 0:
				t.Errorf("tenant %s, %s due %s: ran, but its job is not completed", tf[0], tf[1], due)
			}
			delete(runs, due)
		}
		for due := range runs {
			t.Errorf("tenant %s, %s: a scheduled run due %s without a job", tf[0], tf[1], due)
		}
	}
	t.Logf("%d scheduled jobs over %d scheduled flows, one per due time", total, len(byFlow))
}

// newDatabases creates n empty databases on the server over one connection, dropped
// after the test.
func newDatabases(t *testing.T, server string, n int) []string {
	t.Helper()
	ctx := context.Background()
	admin, err := postgres.Connect(ctx, server)
	if err != nil {
		t.Fatalf("PostgreSQL at TEST_POSTGRES_URL: %v", err)
	}
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	prefix := "oimworkers_" + hex.EncodeToString(b)
	var names, out []string
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s_%02d", prefix, i)
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
		u.Path = "/" + name
		out = append(out, u.String())
	}
	t.Cleanup(func() {
		for _, name := range names {
			_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		}
		admin.Close(ctx)
	})
	return out
}

func execPG(t *testing.T, url, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := postgres.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func queryPG(t *testing.T, url, sql string, into []any, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := postgres.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, sql, args...).Scan(into...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// jobCounts are the queue's jobs by state, in a line.
func jobCounts(t *testing.T, queueURL string) string {
	t.Helper()
	var s string
	queryPG(t, queueURL, `SELECT coalesce(string_agg(state || ' ' || n, ', ' ORDER BY state), 'none') FROM
		(SELECT state::text, count(*) AS n FROM river_job GROUP BY 1) x`, []any{&s})
	return s
}

// lastYear is the 12 months up to the latest document date of the generated file.
func lastYear(t *testing.T, path string) (from, to string) {
	t.Helper()
	db := openDuck(t, path)
	defer db.Close()
	var last time.Time
	if err := db.QueryRow(`SELECT max(invoice_date) FROM oim.invoice`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	first := time.Date(last.Year(), last.Month()-11, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(last.Year(), last.Month()+1, 0, 0, 0, 0, 0, time.UTC)
	return first.Format(time.DateOnly), end.Format(time.DateOnly)
}

func workerLogs(live, dead []*child) string {
	var b strings.Builder
	for _, w := range append(append([]*child{}, dead...), live...) {
		if !w.running() {
			b.WriteString(w.res.stderr)
		}
	}
	return b.String()
}

// jobList lists a tenant's jobs, oldest first, for a failure's message.
func jobList(t *testing.T, queueURL, tenantName string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := postgres.Connect(ctx, queueURL)
	if err != nil {
		return err.Error()
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT format('%s %s attempt %s %s', id, state, attempt, args) FROM river_job
		WHERE metadata->>'tenant' = $1 ORDER BY id`, tenantName)
	if err != nil {
		return err.Error()
	}
	list, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err.Error()
	}
	return "\n" + strings.Join(list, "\n")
}

func mustAtoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	return n
}
