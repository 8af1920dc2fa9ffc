// Package fault names the kinds of failure every caller of the engine tells apart (the
// command line by its exit status, the console by its answer, a worker by retrying or
// not): a mistake in what was asked (nothing written, asking again changes nothing), a
// database that is busy or unreachable (nothing written, asking again later may work),
// and anything else, a run that failed midway. It imports nothing of the project.
package fault

import (
	"errors"
	"fmt"
)

// InputError is a mistake in the command line, configuration, specs or database
// layout, found before anything is written.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Inputf makes an InputError.
func Inputf(format string, args ...any) error {
	return &InputError{Err: fmt.Errorf(format, args...)}
}

// Input marks err as a mistake in what was asked (nil stays nil).
func Input(err error) error {
	if err == nil {
		return nil
	}
	var in *InputError
	if errors.As(err, &in) {
		return err
	}
	return &InputError{Err: err}
}

// BusyError says another process holds a DuckDB file (another run, or OIM writing to it).
type BusyError struct {
	Path, PID string
	Err       error
}

func (e *BusyError) Error() string {
	who := "another process"
	if e.PID != "" {
		who += " (PID " + e.PID + ")"
	}
	return fmt.Sprintf("database %s is in use by %s: another oimconnect run, or OIM writing to it; nothing was written, try again when it is done", e.Path, who)
}

func (e *BusyError) Unwrap() error { return e.Err }

// UnavailableError is a database that could not be reached (a PostgreSQL server down or
// restarting, after the connector's own retries): nothing was written.
type UnavailableError struct{ Err error }

func (e *UnavailableError) Error() string { return e.Err.Error() }
func (e *UnavailableError) Unwrap() error { return e.Err }

// IsInput reports a mistake in what was asked: nothing was written, and asking again
// the same way fails the same way.
func IsInput(err error) bool {
	var in *InputError
	return errors.As(err, &in)
}

// Transient reports a database busy or unreachable: nothing was written, and asking
// again later may work.
func Transient(err error) bool {
	var busy *BusyError
	var down *UnavailableError
	return !IsInput(err) && (errors.As(err, &busy) || errors.As(err, &down))
}

// Exit statuses of the command line (README, "Exit status").
const (
	ExitOK      = 0 // every selected record exported
	ExitRecords = 1 // some records failed: they carry Export Error
	ExitInput   = 2 // usage, configuration, spec or database layout error: nothing written
	ExitRun     = 3 // the run failed midway: the batch in progress was rolled back
	ExitLater   = 4 // a database busy or unreachable: nothing written, try again later
)

// ExitStatus maps a failure to the command line's exit status.
func ExitStatus(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case IsInput(err):
		return ExitInput
	case Transient(err):
		return ExitLater
	}
	return ExitRun
}
