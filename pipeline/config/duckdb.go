package config

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/oimconnect/oimconnect/pipeline/spec"
)

// Bounds of the duckdb settings. DuckDB itself takes any thread count and any size
// with a unit, so a typo (threads: 100000, memory_limit: 0GB) would only show as a
// machine brought to its knees or every query failing for want of memory.
const (
	MinThreads     = 1
	MaxThreads     = 1024
	MinMemoryLimit = 16 << 20 // below it DuckDB cannot hold the connector's working set
)

// sizeUnits are the units DuckDB reads in memory_limit and checkpoint_threshold
// (case-insensitive), with their bytes.
var sizeUnits = map[string]float64{
	"b": 1, "byte": 1, "bytes": 1,
	"k": 1e3, "kb": 1e3, "kilobyte": 1e3, "kilobytes": 1e3,
	"m": 1e6, "mb": 1e6, "megabyte": 1e6, "megabytes": 1e6,
	"g": 1e9, "gb": 1e9, "gigabyte": 1e9, "gigabytes": 1e9,
	"t": 1e12, "tb": 1e12, "terabyte": 1e12, "terabytes": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

var sizePattern = regexp.MustCompile(`^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]+)\s*$`)

// parseSize reads a size as DuckDB writes it (2GB, 1.5 GiB, 512MB) into bytes.
func parseSize(s string) (float64, error) {
	m := sizePattern.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("must be a number with a unit such as 512MB or 2GB (units: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB), got %q", s)
	}
	unit, ok := sizeUnits[strings.ToLower(m[2])]
	if !ok {
		return 0, fmt.Errorf("has an unknown unit %q: use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB, as in 512MB or 2GB", m[2])
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("must be a number with a unit such as 512MB or 2GB, got %q", s)
	}
	return n * unit, nil
}

// checkDuckDB refuses duckdb settings DuckDB would refuse only when a command opens the
// database (with its own parser's words and no position), or would take and then
// misbehave with, each at the place it came from.
func (c *Config) checkDuckDB() spec.Problems {
	var probs spec.Problems
	bad := func(key string, format string, args ...any) {
		probs = append(probs, c.problem([]string{"duckdb", key}, false, format, args...))
	}
	d := c.DuckDB
	if d.MemoryLimit != "" {
		if n, err := parseSize(d.MemoryLimit); err != nil {
			bad("memory_limit", "duckdb.memory_limit %v", err)
		} else if n < MinMemoryLimit {
			bad("memory_limit", "duckdb.memory_limit must be at least 16MB (DuckDB cannot run the connector's queries in less), got %q", d.MemoryLimit)
		}
	}
	if d.CheckpointThreshold != "" {
		if _, err := parseSize(d.CheckpointThreshold); err != nil {
			bad("checkpoint_threshold", "duckdb.checkpoint_threshold %v", err)
		}
	}
	if (d.Threads != 0 || c.given("duckdb", "threads")) && (d.Threads < MinThreads || d.Threads > MaxThreads) {
		bad("threads", "duckdb.threads must be %d to %d (leave it out for one per core), got %d", MinThreads, MaxThreads, d.Threads)
	}
	if msg := tempDirectoryProblem(d.TempDirectory); msg != "" {
		bad("temp_directory", "duckdb.temp_directory %s", msg)
	}
	return probs
}

// tempDirectoryProblem says what is wrong with a spill directory: DuckDB creates it
// when it first spills, with no parents, so a directory whose parent is missing fails
// only then, in the middle of a large run.
func tempDirectoryProblem(dir string) string {
	if dir == "" {
		return ""
	}
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Sprintf("%s is not a directory", dir)
		}
		return ""
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if fi, err := os.Stat(parent); err != nil || !fi.IsDir() {
		return fmt.Sprintf("%s does not exist, nor does %s, where DuckDB would create it: create it (mkdir -p %s)", dir, parent, dir)
	}
	return ""
}

// given reports whether a layer above the defaults set the key at path, so that a zero
// written on purpose (threads: 0) is told from one left out.
func (c *Config) given(path ...string) bool {
	o := c.origin
	if o == nil {
		return false
	}
	dotted := strings.Join(path, ".")
	if _, ok := o.env[dotted]; ok {
		return true
	}
	if _, ok := o.flags[dotted]; ok {
		return true
	}
	return o.pos != nil && o.pos.Node(path...) != nil
}
