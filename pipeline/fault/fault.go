// Package fault names the kinds of failure every caller of the engine tells apart (the
// command line by its exit status, the console by its answer, a worker by retrying or
// not): a mistake in what was asked (nothing written, asking again changes nothing), a
// database that is busy or unreachable (nothing written, asking again later may work),
// and anything else, a run that failed midway. It imports nothing of the project.
package fault

import (
	"errors"
	"fmt"
	"strings"
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

// MidwayError is a failure that came after part of the work was committed (earlier
// flows or batches): whatever its cause, a database lost or a connection refused, it
// is no longer "nothing was written".
type MidwayError struct{ Err error }

func (e *MidwayError) Error() string { return e.Err.Error() }
func (e *MidwayError) Unwrap() error { return e.Err }

// Midway marks err as coming after part of the work was committed (nil stays nil).
func Midway(err error) error {
	if err == nil {
		return nil
	}
	return &MidwayError{Err: err}
}

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
	var midway *MidwayError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &midway):
		return ExitRun
	case IsInput(err):
		return ExitInput
	case Transient(err):
		return ExitLater
	}
	return ExitRun
}

// Closest names the candidate closest to s, when one is a likely typo of it (or s is
// a flow name written with the other separator).
func Closest(s string, candidates []string) string {
	best := Nearest(s, candidates)
	if best == "" {
		return ""
	}
	return fmt.Sprintf(": did you mean %s?", best)
}

// Nearest is the candidate closest to s when one is a likely typo of it (at most two
// edits, one for a word of up to five letters, or s with the other separator), else "".
func Nearest(s string, candidates []string) string {
	best, dist := "", 3
	if len(s) <= 5 {
		dist = 2
	}
	for _, c := range candidates {
		d := editDistance(s, c)
		if strings.ReplaceAll(s, "-", "_") == strings.ReplaceAll(c, "-", "_") {
			d = 0
		}
		if d < dist {
			best, dist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
