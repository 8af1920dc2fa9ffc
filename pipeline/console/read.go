package console

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/oimconnect/oimconnect/pipeline"
)

// readTimeout bounds how long a page waits for the database, and an action for its
// audit entry (tests shorten it): they go beside any run, but opening the file waits
// while another process (OIM) holds it.
var readTimeout = 20 * time.Second

// errDatabaseHeld is a page that could not open the database in time.
var errDatabaseHeld = errors.New("the database stayed in use by another process (OIM writing to it, or a run of another program): try again in a moment")

// read runs a page's reads on the shared engine, waiting at most readTimeout for the
// database.
func (s *Server) read(ctx context.Context, fn func(*pipeline.Engine) error) error {
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	opened := false
	err := s.engine.Use(ctx, func(e *pipeline.Engine) error {
		opened = true
		return fn(e)
	})
	if !opened && errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w (waited %s)", errDatabaseHeld, readTimeout)
	}
	return err
}
