package queue

import (
	"context"
	"time"

	"github.com/oimconnect/oimconnect/pipeline/postgres"
)

// leaderKey is the advisory lock the leading worker holds on the queue database.
const leaderKey = "hashtext('oimconnect leader')"

// lead runs do whenever this worker holds the leader's lock, until ctx ends: the lock
// is held on a connection of its own, so a leader that dies (or loses its
// connection) lets another take over at once. do's context ends when leadership does.
func (w *Worker) lead(ctx context.Context, do func(ctx context.Context)) {
	for ctx.Err() == nil {
		w.leadOnce(ctx, do)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (w *Worker) leadOnce(ctx context.Context, do func(ctx context.Context)) {
	conn, err := postgres.Connect(ctx, w.q.URL)
	if err != nil {
		w.log.Warn("leader election: connect to the queue", "error", err)
		return
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for ctx.Err() == nil {
		var got bool
		if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock("+leaderKey+")").Scan(&got); err != nil {
			if ctx.Err() == nil {
				w.log.Warn("leader election", "error", err)
			}
			return
		}
		if got {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
	if ctx.Err() != nil {
		return
	}
	w.log.Info("leading: scheduling and watching the tenants' sources", "worker", w.ID)
	term, end := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		do(term)
	}()
	for term.Err() == nil { // the lock lives as long as the connection
		select {
		case <-term.Done():
		case <-time.After(2 * time.Second):
			if err := conn.Ping(term); err != nil && term.Err() == nil {
				w.log.Warn("leader: lost the queue connection, stepping down", "error", err)
				end()
			}
		}
	}
	end()
	<-done
}
