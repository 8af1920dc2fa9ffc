package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/oimconnect/oimconnect/pipeline/fixture"
)

// A run killed while it works on a copy of a PostgreSQL source leaves its temporary
// directory behind (the copy is as large as the source); the next run must not let
// them pile up.
func TestKilledRunsLeaveNoTemporaryCopies(t *testing.T) {
	t.Parallel()
	pg := fixture.Postgres(t)
	if r := cli(t, nil, "generate", "--db", pg, "--invoices", "2000"); r.code != 0 {
		t.Fatalf("generate: %s", r.stderr)
	}
	tmp := t.TempDir()
	cfg := writeFile(t, t.TempDir(), "config.yaml", concurrentConfig)
	cmd := exec.Command(binary, "run", "--db", pg, "--config", cfg)
	cmd.Env = append(cleanEnv(), "TMPDIR="+tmp)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once its copy of the source exists.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m, _ := filepath.Glob(filepath.Join(tmp, "oimconnect-*", "work.duckdb")); len(m) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no working copy appeared in %s\n%s", tmp, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	r := cli(t, []string{"TMPDIR=" + tmp}, "run", "--db", pg, "--config", cfg)
	if r.code > 1 {
		t.Fatalf("the run after the kill: %d\n%s", r.code, r.stderr)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "oimconnect-*")); len(left) > 0 {
		t.Errorf("temporary directories left behind: %v", left)
	}
}
