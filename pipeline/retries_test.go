package pipeline

import (
	"testing"
	"time"
)

// A failed record is deferred with a back-off that doubles; a changed one starts over;
// one exported is forgotten, and so is one the run could have selected but OIM set
// aside (it is no candidate any more), while one the run left out for its back-off is
// kept.
func TestRetriesLearn(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	r := NewRetries(func() time.Time { return now })
	r.learn("f", map[string]uint64{"A": 1, "B": 2, "C": 3, "D": 4}, map[string]bool{"A": true, "B": true, "C": true, "D": true}, nil)
	if got := r.Pending("f"); got != 4 {
		t.Fatalf("pending %d, want 4", got)
	}
	if got := r.Due(); !got.Equal(now.Add(time.Minute)) {
		t.Fatalf("due %s, want a minute on", got)
	}
	// Two minutes on, all are due: the run selects A (unchanged, fails again), B
	// (changed, fails), C (exported); D is no candidate.
	now = now.Add(2 * time.Minute)
	deferred := r.deferred("f")
	if len(deferred) != 0 {
		t.Fatalf("deferred %v, want none: every back-off ended", deferred)
	}
	r.learn("f", map[string]uint64{"A": 1, "B": 20, "C": 3}, map[string]bool{"A": true, "B": true}, deferred)
	want := map[string]time.Duration{"A": 2 * time.Minute, "B": time.Minute}
	if len(r.flows["f"]) != len(want) {
		t.Fatalf("remembered %v, want A and B", r.flows["f"])
	}
	for k, wait := range want {
		if x := r.flows["f"][k]; x == nil || !x.due.Equal(now.Add(wait)) {
			t.Errorf("%s: %+v, want due in %s", k, x, wait)
		}
	}
	// A minute on, B is due, A is not: the run leaves A out, and B is no candidate.
	now = now.Add(time.Minute)
	deferred = r.deferred("f")
	if _, ok := deferred["A"]; !ok || len(deferred) != 1 {
		t.Fatalf("deferred %v, want A alone", deferred)
	}
	r.learn("f", nil, nil, deferred)
	if x := r.flows["f"]; len(x) != 1 || x["A"] == nil {
		t.Fatalf("remembered %v, want A alone", x)
	}
	if got := r.Due(); !got.Equal(now.Add(time.Minute)) {
		t.Errorf("due %s, want A's, a minute on", got)
	}
}
