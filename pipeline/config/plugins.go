package config

import (
	"encoding/hex"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/oimconnect/oimconnect/pipeline/spec"
)

// Plugin declares a tenant's transform plugin: a separate program that changes a
// flow's documents before they are written (pipeline/host runs it, plugins/ is its
// SDK).
type Plugin struct {
	// Name identifies the plugin in logs and in the export errors it causes.
	Name string `koanf:"name" doc:"names the plugin in logs and export errors, e.g. region-dims"`
	// Path is the plugin's executable; a relative path is relative to the directory of
	// the configuration file that declares it.
	Path string `koanf:"path" doc:"the plugin's executable (relative: to the configuration file's directory)"`
	// SHA256 is the executable's checksum (sha256sum): a plugin whose file does not
	// match is never started.
	SHA256 string `koanf:"sha256" doc:"the executable's SHA-256 checksum, hex (sha256sum)"`
	// Flows are the flows whose documents the plugin changes.
	Flows []string `koanf:"flows" doc:"the flows the plugin transforms, e.g. [sales-invoices]"`
	// Stage is when it runs: before_write (after mapping and the checks, before the
	// write), the only stage so far and the default.
	Stage string `koanf:"stage" doc:"when it runs: before_write (default)"`
	// Timeout bounds each call (Go duration, default 30s); a plugin that outlives it is
	// killed and its batch's documents fail. Starting gets at least 10s.
	Timeout string `koanf:"timeout" doc:"bound on each call, e.g. 30s (default)"`
	// BatchSize is about how many rows (lines and documents) one call carries
	// (default 50000); a document is never split across calls.
	BatchSize int `koanf:"batch_size" doc:"rows (lines and documents) per call (default 50000)"`
	// Settings are passed to the plugin as they are (JSON).
	Settings map[string]any `koanf:"settings" doc:"the plugin's own settings, passed through"`
}

// Plugin defaults.
const (
	StageBeforeWrite        = "before_write"
	DefaultPluginTimeout    = 30 * time.Second
	MinPluginTimeout        = 100 * time.Millisecond
	DefaultPluginBatchSize  = 50000
	pluginNamePattern       = `^[a-z0-9][a-z0-9_.-]*$`
	pluginChecksumHexLength = 64
)

var pluginName = regexp.MustCompile(pluginNamePattern)

// CallTimeout is the plugin's timeout (the default when unset).
func (p Plugin) CallTimeout() time.Duration {
	d, err := time.ParseDuration(p.Timeout)
	if err != nil || d <= 0 {
		return DefaultPluginTimeout
	}
	return d
}

// Rows is the plugin's batch size (the default when unset).
func (p Plugin) Rows() int {
	if p.BatchSize <= 0 {
		return DefaultPluginBatchSize
	}
	return p.BatchSize
}

// checkPlugins reports every mistake in the plugins' declarations, each at its key.
func (c *Config) checkPlugins() spec.Problems {
	var probs spec.Problems
	seen := map[string]bool{}
	for i, p := range c.Plugins {
		at := fmt.Sprintf("plugins[%d]", i)
		if p.Name != "" {
			at = fmt.Sprintf("plugins[%d] (%s)", i, p.Name)
		}
		bad := func(key string, format string, args ...any) {
			probs = append(probs, c.problem([]string{"plugins", strconv.Itoa(i), key}, false, at+": "+format, args...))
		}
		switch {
		case !pluginName.MatchString(p.Name):
			bad("name", "name must be lower-case letters, digits, -, _ or ., got %q", p.Name)
		case seen[p.Name]:
			bad("name", "a second plugin named %s", p.Name)
		}
		seen[p.Name] = true
		if p.Path == "" {
			bad("path", "path (the plugin's executable) is missing")
		}
		if len(p.SHA256) != pluginChecksumHexLength || !isHex(p.SHA256) {
			bad("sha256", "sha256 must be the executable's SHA-256 checksum, 64 hex digits (sha256sum %s), got %q", p.Path, p.SHA256)
		}
		if len(p.Flows) == 0 {
			bad("flows", "flows must name at least one flow, e.g. [sales-invoices]")
		}
		if p.Stage != "" && p.Stage != StageBeforeWrite {
			bad("stage", "stage must be %s (the only stage so far), got %q", StageBeforeWrite, p.Stage)
		}
		if p.BatchSize < 0 {
			bad("batch_size", "batch_size must be positive (0: the default, %d), got %d", DefaultPluginBatchSize, p.BatchSize)
		}
		if p.Timeout != "" {
			if d, err := time.ParseDuration(p.Timeout); err != nil || d <= 0 {
				bad("timeout", "timeout must be a positive duration such as 30s or 500ms, got %q", p.Timeout)
			} else if d < MinPluginTimeout {
				bad("timeout", "timeout must be at least %s: a call carries a whole batch, so one this short fails every batch; got %s", MinPluginTimeout, p.Timeout)
			}
		}
	}
	return probs
}

// resolvePluginPaths makes the plugins' relative paths relative to dir, the directory
// of the configuration file that declares them, and absolute: a bare name ("plug",
// from dir ".") would be looked for in $PATH when started, not beside the file.
func (c *Config) resolvePluginPaths(dir string) {
	for i, p := range c.Plugins {
		if p.Path != "" && !filepath.IsAbs(p.Path) {
			path := filepath.Join(dir, p.Path)
			if abs, err := filepath.Abs(path); err == nil {
				path = abs
			}
			c.Plugins[i].Path = path
		}
	}
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}
