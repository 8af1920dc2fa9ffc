package queue

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/oimconnect/oimconnect/pipeline/fixture"
	"github.com/oimconnect/oimconnect/pipeline/tenant"
)

// tenantJobs are a tenant's jobs: running, waiting, automatic and all.
type tenantJobs struct{ running, waiting, automatic, all int }

func countJobs(t *testing.T, q *Queue, tenantName string) tenantJobs {
	t.Helper()
	var n tenantJobs
	err := q.Pool.QueryRow(context.Background(), `SELECT
			count(*) FILTER (WHERE state = 'running'),
			count(*) FILTER (WHERE state IN ('available', 'scheduled', 'retryable', 'pending')),
			count(*) FILTER (WHERE args->>'mode' = 'automatic'),
			count(*)
		FROM river_job WHERE metadata->>'tenant' = $1`, tenantName).Scan(&n.running, &n.waiting, &n.automatic, &n.all)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A worker serving a DuckDB tenant whose runs take far longer than the poll interval:
// its jobs' own writes to the file are no change (no automatic run follows them, where
// one a second followed forever), two jobs of the tenant take turns on the file without
// both sitting in the queue as running (the one whose turn has not come waits in the
// queue), and a change by OIM afterwards is one automatic run.
func TestDuckDBTenantOwnWritesAreNoChange(t *testing.T) {
	url, q := newQueue(t)
	dir := t.TempDir()
	fixture.Generated(t, dir, 8000)
	db := filepath.Join(dir, "gen-8000.duckdb")
	if err := os.WriteFile(filepath.Join(dir, "t5.yaml"), []byte("db: gen-8000.duckdb\nsettings:\n  default_company: Acme UK Ltd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := tenant.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	startWorker(t, url, set, 2, nil)
	ctx := context.Background()

	// Every 10ms: how many of the tenant's jobs have been running for a while (River
	// records a job's state changes up to a quarter of a second late: a job that finds
	// the file another's goes back to wait at once, but the queue shows it running a
	// moment longer).
	const long = 500 * time.Millisecond
	var mu sync.Mutex
	longRunning := 0
	sampling, stopSampling := context.WithCancel(ctx)
	var sampled sync.WaitGroup
	sampled.Add(1)
	go func() {
		defer sampled.Done()
		for sampling.Err() == nil {
			var n int
			if err := q.Pool.QueryRow(sampling, `SELECT count(*) FROM river_job WHERE state = 'running'
				AND metadata->>'tenant' = 't5' AND attempted_at < now() - $1::interval`, long.String()).Scan(&n); err == nil {
				mu.Lock()
				longRunning = max(longRunning, n)
				mu.Unlock()
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	defer func() { // also when the jobs never stop
		stopSampling()
		sampled.Wait()
		if longRunning > 1 {
			t.Errorf("%d jobs of the DuckDB tenant were running at once for over %s: one runs, the other waits its turn in the queue", longRunning, long)
		}
	}()

	// The leader's first look at the file is a change: one automatic run. Meanwhile
	// someone asks for a run of every flow: two jobs for the file, on a worker that
	// takes two at a time.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var registered bool
		if err := q.Pool.QueryRow(ctx, "SELECT EXISTS (SELECT FROM oimconnect.tenant WHERE name = 't5')").Scan(&registered); err != nil {
			t.Fatal(err)
		}
		if registered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the worker did not register its tenant")
		}
		time.Sleep(10 * time.Millisecond)
	}
	tx, err := q.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Run(ctx, tx, "t5", nil, "test"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	// settle waits until the tenant's jobs are done, automatic ones among them, then
	// watches the queue for quiet (several runs' length, 150 polls): the jobs then.
	settle := func(what string, automatic int) tenantJobs {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			n := countJobs(t, q, "t5")
			if n.running == 0 && n.waiting == 0 && n.automatic >= automatic {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the jobs went on for 30s: %+v (their own writes taken for OIM's)", what, n)
			}
			time.Sleep(50 * time.Millisecond)
		}
		before := countJobs(t, q, "t5")
		time.Sleep(3 * time.Second)
		after := countJobs(t, q, "t5")
		if after.all != before.all || after.running+after.waiting > 0 {
			t.Errorf("%s: with no change by OIM, the jobs went on: %+v, 3s later %+v (their own writes taken for OIM's)", what, before, after)
		}
		return after
	}
	n := settle("first look", 1)
	if n.automatic != 1 || n.all != 2 {
		t.Errorf("first look: %d automatic jobs, %d in all; want 1 and the manual run", n.automatic, n.all)
	}
	// The runs were long enough to tell a job waiting its turn as running.
	var seconds float64
	if err := q.Pool.QueryRow(ctx, `SELECT coalesce(max(extract(epoch FROM finalized_at - attempted_at)), 0)::float8
		FROM river_job WHERE metadata->>'tenant' = 't5'`).Scan(&seconds); err != nil {
		t.Fatal(err)
	}
	if slowest := time.Duration(seconds * float64(time.Second)); slowest < 3*long {
		t.Logf("the longest job took %s: too short to tell two jobs running at once from River's late bookkeeping", slowest)
	}

	// OIM writes the file (here: its time changes, as a write changes it): one
	// automatic run, then quiet again.
	later := time.Now().Add(time.Second)
	if err := os.Chtimes(db, later, later); err != nil {
		t.Fatal(err)
	}
	if n := settle("after OIM's change", 2); n.automatic != 2 {
		t.Errorf("after OIM's change: %d automatic jobs in all, want 2 (one for the change)", n.automatic)
	}
}
