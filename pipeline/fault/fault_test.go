package fault

import (
	"errors"
	"fmt"
	"testing"
)

func TestExitStatus(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want int
	}{
		{"none", nil, ExitOK},
		{"input", Inputf("unknown flow %q", "x"), ExitInput},
		{"input wrapped", fmt.Errorf("open: %w", Inputf("no such file")), ExitInput},
		{"busy", &BusyError{Path: "f.duckdb", PID: "42"}, ExitLater},
		{"unavailable wrapped", fmt.Errorf("flow x: %w", &UnavailableError{Err: errors.New("refused")}), ExitLater},
		{"input beats unavailable", Input(&UnavailableError{Err: errors.New("refused")}), ExitInput},
		{"anything else", errors.New("constraint violated"), ExitRun},
		// After earlier flows or batches committed, nothing is "nothing was written".
		{"unavailable midway", Midway(fmt.Errorf("flow x: %w", &UnavailableError{Err: errors.New("refused")})), ExitRun},
		{"refused midway", fmt.Errorf("run: %w", Midway(Inputf("database does not allow connections"))), ExitRun},
	} {
		if got := ExitStatus(c.err); got != c.want {
			t.Errorf("%s: ExitStatus = %d, want %d", c.name, got, c.want)
		}
	}
	if msg := (&BusyError{Path: "f.duckdb", PID: "42"}).Error(); msg != "database f.duckdb is in use by another process (PID 42): another oimconnect run, or OIM writing to it; nothing was written, try again when it is done" {
		t.Errorf("busy message: %s", msg)
	}
	if Input(nil) != nil || Midway(nil) != nil {
		t.Error("Input(nil) and Midway(nil) must stay nil")
	}
	if !Transient(Midway(&UnavailableError{Err: errors.New("refused")})) {
		t.Error("a database lost midway is still worth trying again (a worker retries the job)")
	}
}
