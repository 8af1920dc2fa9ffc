package store_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
	"github.com/oimconnect/oimconnect/pipeline/store"
)

// Runs against one PostgreSQL target: runs of disjoint scopes (a backfill's partitions)
// hold it together; a run of the same scope waits; a run of everything waits for them
// all, and they for it.
func TestScopedLocks(t *testing.T) {
	t.Parallel()
	pg := fixture.Postgres(t)
	gen := fixture.Generated(t, t.TempDir(), 10)
	fixture.LoadPostgres(t, pg, gen, "acct")
	ctx := context.Background()
	open := func() *store.Linked {
		t.Helper()
		src := fixture.Copy(t, gen, filepath.Join(t.TempDir(), "source.duckdb"))
		l, err := store.OpenLinked(ctx, src, pg, config.DuckDB{}, fixture.Quiet, store.Hooks{}, false)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}
	// lock takes the locks in the background and says when it holds them.
	lock := func(l *store.Linked, scopes ...string) (held chan func()) {
		held = make(chan func(), 1)
		go func() {
			unlock, err := l.Lock(ctx, scopes...)
			if err != nil {
				t.Error(err)
				return
			}
			held <- unlock
		}()
		return held
	}
	wait := func(what string, held chan func()) func() {
		t.Helper()
		select {
		case unlock := <-held:
			return unlock
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: still waiting", what)
		}
		return nil
	}
	waiting := func(what string, held chan func()) {
		t.Helper()
		select {
		case <-held:
			t.Fatalf("%s: holds the lock, it should wait", what)
		case <-time.After(300 * time.Millisecond):
		}
	}
	jan := wait("January", lock(open(), "sales-invoices/2024-01"))
	feb := wait("February beside January", lock(open(), "sales-invoices/2024-02", "journals/2024-02"))
	janAgain := lock(open(), "sales-invoices/2024-01")
	all := lock(open())
	waiting("January a second time", janAgain)
	waiting("everything", all)
	jan()
	unlockJan := wait("January, once the first is done", janAgain)
	feb()
	waiting("everything, while January runs", all)
	unlockJan()
	unlockAll := wait("everything, once the partitions are done", all)
	mar := lock(open(), "sales-invoices/2024-03")
	waiting("March, while everything runs", mar)
	unlockAll()
	wait("March, after everything", mar)()
}
