package watch_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
	"github.com/oimconnect/oimconnect/pipeline/watch"
)

// fastClock is a clock the test moves by hand.
type fastClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func (c *fastClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fastClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, waiter{c.now.Add(d), ch})
	return ch
}

// advance moves the clock once someone waits on it, and fires what is due.
func (c *fastClock) advance(t *testing.T, d time.Duration) {
	t.Helper()
	for i := 0; ; i++ {
		c.mu.Lock()
		n := len(c.waiters)
		c.mu.Unlock()
		if n > 0 {
			break
		}
		if i > 500 {
			t.Fatal("nobody waits on the clock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

func TestServeRunsScheduledJobs(t *testing.T) {
	path := fixture.DB(t)
	cfg, err := config.WithSettings(map[string]any{
		"schedules": map[string]any{"vendor_accounts": map[string]any{"frequency": "Hourly", "at": "00:15"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.DB = path
	db := fixture.Open(t, path)
	if _, err := db.Exec("INSERT INTO oim.supplier_site (id, name, updated_at) VALUES ('SS-1', 'Scheduled Supplier', '2024-05-01')"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	clock := &fastClock{now: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)}
	jobs := make(chan []pipeline.Summary, 4)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- watch.Serve(ctx, cfg, fixture.Quiet, watch.Options{
			Schedules: true, Clock: clock,
			Report: func(mode string, sums []pipeline.Summary, err error) {
				if mode != pipeline.ModeScheduled || err != nil {
					t.Errorf("report %s %v %v", mode, sums, err)
				}
				jobs <- sums
			},
		})
	}()
	select {
	case s := <-jobs:
		t.Fatalf("a job ran before its time: %v", s)
	case <-time.After(200 * time.Millisecond):
	}
	clock.advance(t, 15*time.Minute) // 10:15: the job fires
	first := <-jobs
	if len(first) != 1 || first[0].Flow != "vendor-accounts" || first[0].Documents != 1 {
		t.Fatalf("the 10:15 job creates the account: %v", first)
	}
	clock.advance(t, time.Hour) // 11:15: again, with nothing left to do
	if again := <-jobs; again[0].Selected != 0 {
		t.Errorf("the 11:15 job finds nothing new: %v", again)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	db = fixture.Open(t, path)
	defer db.Close()
	got := fixture.Dump(t, db, "SELECT mode, flow, documents FROM connector.run ORDER BY started_at")
	if want := "scheduled\tvendor-accounts\t1\nscheduled\tvendor-accounts\t0\n"; !strings.Contains(got, want) {
		t.Errorf("run history:\n%s\nwant the rows\n%s", got, want)
	}
}
