package queue

import (
	"context"
	"testing"
)

// queue retry runs a failed, cancelled or discarded job again, and leaves a completed
// or running one as it is; an unknown id is named.
func TestRetryLeavesCompletedJobs(t *testing.T) {
	t.Parallel()
	_, q := newQueue(t)
	ctx := context.Background()
	for _, tc := range []struct{ state, want string }{
		{"completed", "completed"},
		{"running", "running"},
		{"discarded", "available"},
		{"cancelled", "available"},
		{"retryable", "available"},
	} {
		e, err := q.RunAutomatic(ctx, "acme-"+tc.state, []string{"journals"}, "event")
		if err != nil {
			t.Fatal(err)
		}
		set := "state = $2, attempt = 1, attempted_at = now()"
		if tc.state != "running" && tc.state != "retryable" {
			set += ", finalized_at = now()" // River's check: a finished job has its time
		}
		if _, err := q.Pool.Exec(ctx, "UPDATE river_job SET "+set+" WHERE id = $1", e.ID, tc.state); err != nil {
			t.Fatal(err)
		}
		j, err := q.Retry(ctx, e.ID)
		if err != nil || j.State != tc.want {
			t.Errorf("retry of a %s job: %+v %v, want %s", tc.state, j, err, tc.want)
		}
		var state string
		if err := q.Pool.QueryRow(ctx, "SELECT state FROM river_job WHERE id = $1", e.ID).Scan(&state); err != nil || state != tc.want {
			t.Errorf("a %s job is %s after retry, want %s (%v)", tc.state, state, tc.want, err)
		}
	}
	if _, err := q.Retry(ctx, 999999); err == nil || err.Error() != "no job 999999 in the queue" {
		t.Errorf("an unknown job: %v", err)
	}
}
