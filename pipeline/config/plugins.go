package config

import (
	"encoding/hex"
	"fmt"
	"regexp"
	"time"
)

// Plugin declares a tenant's transform plugin: a separate program that changes a
// flow's documents before they are written (pipeline/host runs it, plugins/ is its
// SDK).
type Plugin struct {
	// Name identifies the plugin in logs and in the export errors it causes.
	Name string `koanf:"name" doc:"names the plugin in logs and export errors, e.g. region-dims"`
	// Path is the plugin's executable (relative to the working directory).
	Path string `koanf:"path" doc:"the plugin's executable"`
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

// checkPlugins reports the first mistake in the plugins' declarations.
func checkPlugins(ps []Plugin) error {
	seen := map[string]bool{}
	for i, p := range ps {
		at := fmt.Sprintf("plugins[%d]", i)
		if p.Name != "" {
			at = fmt.Sprintf("plugins[%d] (%s)", i, p.Name)
		}
		switch {
		case !pluginName.MatchString(p.Name):
			return fmt.Errorf("config: %s: name must be lower-case letters, digits, -, _ or ., got %q", at, p.Name)
		case seen[p.Name]:
			return fmt.Errorf("config: %s: a second plugin named %s", at, p.Name)
		case p.Path == "":
			return fmt.Errorf("config: %s: path (the plugin's executable) is missing", at)
		case len(p.SHA256) != pluginChecksumHexLength || !isHex(p.SHA256):
			return fmt.Errorf("config: %s: sha256 must be the executable's SHA-256 checksum, 64 hex digits (sha256sum %s), got %q", at, p.Path, p.SHA256)
		case len(p.Flows) == 0:
			return fmt.Errorf("config: %s: flows must name at least one flow, e.g. [sales-invoices]", at)
		case p.Stage != "" && p.Stage != StageBeforeWrite:
			return fmt.Errorf("config: %s: stage must be %s (the only stage so far), got %q", at, StageBeforeWrite, p.Stage)
		case p.BatchSize < 0:
			return fmt.Errorf("config: %s: batch_size must be positive (0: the default, %d), got %d", at, DefaultPluginBatchSize, p.BatchSize)
		}
		if p.Timeout != "" {
			if d, err := time.ParseDuration(p.Timeout); err != nil || d <= 0 {
				return fmt.Errorf("config: %s: timeout must be a positive duration such as 30s or 500ms, got %q", at, p.Timeout)
			}
		}
		seen[p.Name] = true
	}
	return nil
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}
