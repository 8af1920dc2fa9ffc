package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline/config"
)

// duckdb settings DuckDB would refuse only when a command opens the database, with its
// parser's words and no position, or would take and misbehave with, are refused at
// load, at their key.
func TestDuckDBSettingsRefusedAtTheirPosition(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ yaml, want string }{
		{"memory_limit: lots", `:2:17: duckdb.memory_limit must be a number with a unit such as 512MB or 2GB (units: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB), got "lots"`},
		{"memory_limit: 2000", `:2:17: duckdb.memory_limit must be a number with a unit such as 512MB or 2GB (units: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB), got "2000"`},
		{"memory_limit: 0GB", `:2:17: duckdb.memory_limit must be at least 16MB (DuckDB cannot run the connector's queries in less), got "0GB"`},
		{"checkpoint_threshold: 12 apples", `:2:25: duckdb.checkpoint_threshold has an unknown unit "apples": use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB, as in 512MB or 2GB`},
		{"threads: -2", ":2:12: duckdb.threads must be 1 to 1024 (leave it out for one per core), got -2"},
		{"threads: 0", ":2:12: duckdb.threads must be 1 to 1024 (leave it out for one per core), got 0"},
		{"threads: 100000", ":2:12: duckdb.threads must be 1 to 1024 (leave it out for one per core), got 100000"},
		{"temp_directory: /nonexistent/zzz", ":2:19: duckdb.temp_directory /nonexistent/zzz does not exist, nor does /nonexistent, where DuckDB would create it: create it (mkdir -p /nonexistent/zzz)"},
		{"temp_directory: " + file, ":2:19: duckdb.temp_directory " + file + " is not a directory"},
	} {
		t.Run(c.yaml, func(t *testing.T) {
			path := writeConfig(t, "duckdb:\n  "+c.yaml+"\n")
			_, err := config.Load(path, nil)
			wantInput(t, err, path+c.want)
		})
	}
	t.Setenv("OIMCONNECT_DUCKDB__THREADS", "0")
	_, err := config.Load("", nil)
	wantInput(t, err, "environment variable OIMCONNECT_DUCKDB__THREADS: duckdb.threads must be 1 to 1024 (leave it out for one per core), got 0")
	os.Unsetenv("OIMCONNECT_DUCKDB__THREADS")

	// What DuckDB reads, and a spill directory it can create, pass.
	dir := t.TempDir()
	path := writeConfig(t, "duckdb:\n  memory_limit: 1.5 GiB\n  threads: 2\n  checkpoint_threshold: 16mb\n  temp_directory: "+filepath.Join(dir, "spill")+"\n")
	if c, err := config.Load(path, nil); err != nil || c.DuckDB.Threads != 2 {
		t.Errorf("right settings pass: %+v, %v", c, err)
	}
}
