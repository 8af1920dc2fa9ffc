package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oimconnect/oimconnect/pipeline/config"
)

const checksum = "5d1b3c4f0e9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c"

func loadYAML(t *testing.T, text string) (*config.Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return config.Load(path, nil)
}

func TestPluginsLoad(t *testing.T) {
	c, err := loadYAML(t, `plugins:
  - name: region-dims
    path: bin/regiondims
    sha256: `+checksum+`
    flows: [sales-invoices]
    timeout: 2s
    batch_size: 20000
    settings:
      regions: {ACC-C-0001: DIM3-001}
      require_region: true
  - name: second
    path: bin/other
    sha256: `+checksum+`
    flows: [journals]
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Plugins) != 2 {
		t.Fatalf("plugins: %+v", c.Plugins)
	}
	p := c.Plugins[0]
	if p.Name != "region-dims" || p.CallTimeout() != 2*time.Second || p.Rows() != 20000 || p.Flows[0] != "sales-invoices" {
		t.Errorf("first plugin: %+v", p)
	}
	if r, ok := p.Settings["regions"].(map[string]any); !ok || r["ACC-C-0001"] != "DIM3-001" || p.Settings["require_region"] != true {
		t.Errorf("settings pass through: %#v", p.Settings)
	}
	if q := c.Plugins[1]; q.CallTimeout() != config.DefaultPluginTimeout || q.Rows() != config.DefaultPluginBatchSize {
		t.Errorf("defaults: %v, %d", q.CallTimeout(), q.Rows())
	}
}

func TestPluginsChecked(t *testing.T) {
	ok := "name: p\n    path: bin/p\n    sha256: " + checksum + "\n    flows: [sales-invoices]\n"
	for _, c := range []struct{ yaml, want string }{
		{strings.Replace(ok, "name: p", "name: Bad Name", 1), `name must be lower-case letters`},
		{strings.Replace(ok, "sha256: "+checksum, "sha256: abc", 1), `sha256 must be the executable's SHA-256 checksum, 64 hex digits (sha256sum bin/p), got "abc"`},
		{strings.Replace(ok, "flows: [sales-invoices]", "flows: []", 1), "flows must name at least one flow"},
		{ok + "    stage: after_write\n", `stage must be before_write (the only stage so far), got "after_write"`},
		{ok + "    timeout: soon\n", `timeout must be a positive duration such as 30s or 500ms, got "soon"`},
		{ok + "    timeout: 5ms\n", `timeout must be at least 100ms: a call carries a whole batch, so one this short fails every batch; got 5ms`},
		{ok + "    batch_size: -1\n", "batch_size must be positive"},
		{strings.Replace(ok, "path: bin/p", "path: \"\"", 1), "path (the plugin's executable) is missing"},
		{ok + "  - " + ok, "a second plugin named p"},
		{ok + "    sha265: x\n", `unknown key "sha265"`},
	} {
		_, err := loadYAML(t, "plugins:\n  - "+c.yaml)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want an error containing %q, got %v\n%s", c.want, err, c.yaml)
		}
	}
}
