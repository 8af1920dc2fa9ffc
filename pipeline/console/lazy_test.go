package console

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// The values kept are those asked for within keep: however many keys are asked for
// (each record id a viewer types), the ones past keep go when a new one comes.
func TestLazyKeepsOnlyRecentValues(t *testing.T) {
	clock := &testClock{now: time.Now()}
	l := newLazy[string](clock.Now, explainKeep)
	compute := func(key string) func(context.Context) (string, error) {
		return func(context.Context) (string, error) { return "explained " + key, nil }
	}
	for i := range 1000 {
		key := fmt.Sprint("record-", i)
		if v, err, ok := l.get(context.Background(), key, time.Second, compute(key)); !ok || err != nil || v != "explained "+key {
			t.Fatalf("%s: %q %v %t", key, v, err, ok)
		}
	}
	if n := len(l.byID); n != 1000 {
		t.Fatalf("%d values kept within keep, want 1000", n)
	}
	clock.advance(explainKeep + time.Second)
	if v, _, ok := l.get(context.Background(), "record-0", time.Second, compute("record-0")); !ok || v != "explained record-0" {
		t.Fatalf("computed again: %q %t", v, ok)
	}
	if n := len(l.byID); n != 1 {
		t.Errorf("%d values kept past keep, want only the one just asked for", n)
	}
}
