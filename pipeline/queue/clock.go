package queue

import (
	"context"
	"fmt"
	"time"
)

// Clock is the time schedules are due by: the wall clock, or for tests and demos a
// fast one (worker --time-scale N: N times as fast) that every worker of the queue
// shares, so that they agree on which due times have come whoever leads.
type Clock interface{ Now() time.Time }

type wall struct{}

func (wall) Now() time.Time { return time.Now() }

// scaled runs scale times as fast as the wall clock from a start every worker reads
// from the queue database.
type scaled struct {
	epoch time.Time
	scale float64
}

func (c scaled) Now() time.Time {
	return c.epoch.Add(time.Duration(float64(time.Since(c.epoch)) * c.scale))
}

// NewClock is the wall clock for a scale of 1 (or less), else the queue's fast clock of
// that scale, started by the first worker that used it.
func (q *Queue) NewClock(ctx context.Context, scale float64) (Clock, error) {
	if scale <= 1 {
		return wall{}, nil
	}
	var epoch time.Time
	err := q.Pool.QueryRow(ctx, `INSERT INTO oimconnect.clock (scale, epoch) VALUES ($1, now())
		ON CONFLICT (scale) DO UPDATE SET scale = EXCLUDED.scale RETURNING epoch`, scale).Scan(&epoch)
	if err != nil {
		return nil, fmt.Errorf("read the fast clock: %w", err)
	}
	return scaled{epoch: epoch, scale: scale}, nil
}
