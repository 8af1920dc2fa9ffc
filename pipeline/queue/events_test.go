package queue

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/oimconnect/oimconnect/pipeline/tenant"
)

// The leader does not take the change counter for what it has seen while OIM has a
// transaction open on the source: the counter moves when OIM's statement runs, not
// when it commits. Taken, a leader that died before the commit's notification left the
// next one nothing to tell of the record.
func TestLeaderWaitsForOpenWrites(t *testing.T) {
	t.Parallel()
	_, q := newQueue(t)
	ctx := context.Background()
	src, conn := oimSource(t, "")
	file := filepath.Join(t.TempDir(), "acme.yaml")
	if err := os.WriteFile(file, []byte("db: "+src+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tn, err := tenant.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	w := &Worker{q: q, log: slog.New(slog.DiscardHandler), pollEvery: 20 * time.Millisecond, backoff: wall{},
		tableReads: map[string]map[string][]string{}, retried: map[string]time.Time{}}
	lead := func() (die func()) {
		c, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- w.listen(c, tn) }()
		return func() {
			cancel()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) { // stopped mid-statement
				t.Errorf("listen: %v", err)
			}
		}
	}
	// waitFor waits for a waiting automatic run of every automated flow, enqueued for
	// the reason given, and lets it run (completed).
	waitFor := func(by string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			tag, err := q.Pool.Exec(ctx, `UPDATE river_job SET state = 'completed', finalized_at = now()
				WHERE state = 'available' AND args->>'tenant' = 'acme' AND args->>'mode' = 'automatic' AND args->>'by' = $1
				AND jsonb_array_length(args->'flows') = 6`, by)
			if err != nil {
				t.Fatal(err)
			}
			if tag.RowsAffected() > 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no automatic run of every flow by %q: %s", by, jobList(t, q))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	die := lead()
	waitFor("change") // the first look
	var seen string
	if err := q.Pool.QueryRow(ctx, "SELECT seen FROM oimconnect.source WHERE tenant = 'acme'").Scan(&seen); err != nil {
		t.Fatal(err)
	}
	// OIM inserts a supplier site in a transaction it keeps open, for many of the
	// leader's looks.
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "INSERT INTO oim.supplier_site (id, name, updated_at) VALUES ('SS-1', 'Late Supplier', now())"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	var now string
	if err := q.Pool.QueryRow(ctx, "SELECT seen FROM oimconnect.source WHERE tenant = 'acme'").Scan(&now); err != nil || now != seen {
		t.Fatalf("the source was noted %q while OIM's transaction was open (%v), want %q still", now, err, seen)
	}
	// The leader dies, then OIM commits: the notification reaches nobody, but the next
	// leader sees the counter moved.
	die()
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	die = lead()
	defer die()
	waitFor("change")
}

// jobList lists the queue's jobs, for a failure's message.
func jobList(t *testing.T, q *Queue) string {
	t.Helper()
	rows, err := q.Pool.Query(context.Background(), "SELECT id, state::text, args::text FROM river_job ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := ""
	for rows.Next() {
		var id int64
		var state, args string
		if err := rows.Scan(&id, &state, &args); err != nil {
			t.Fatal(err)
		}
		out += "\n" + state + " " + args
	}
	return out
}
