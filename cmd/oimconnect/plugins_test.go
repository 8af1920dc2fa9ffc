package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline/fixture"
)

var (
	pluginsOnce sync.Once
	pluginsErr  error
)

// examplePlugin builds the example plugin and the test one (testdata/plugins/faulty) once, next to the oimconnect binary (TestMain
// removes them), and returns the path and checksum of one.
func examplePlugin(t *testing.T, name string) (path, sum string) {
	t.Helper()
	dir := filepath.Dir(binary)
	pluginsOnce.Do(func() {
		cmd := exec.Command("go", "build", "-o", dir+"/", "./plugins/examples/regiondims", "./testdata/plugins/faulty")
		cmd.Dir = fixture.Root()
		if out, err := cmd.CombinedOutput(); err != nil {
			pluginsErr = fmt.Errorf("build plugins: %v\n%s", err, out)
		}
	})
	if pluginsErr != nil {
		t.Fatal(pluginsErr)
	}
	path = filepath.Join(dir, name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(data)
	return path, hex.EncodeToString(s[:])
}

func pluginConfig(t *testing.T, name, file, sum, settings string, extra string) string {
	t.Helper()
	return writeFile(t, t.TempDir(), "config.yaml", salesConfig+fmt.Sprintf(`plugins:
  - name: %s
    path: %s
    sha256: %s
    flows: [sales-invoices]
%s    settings: %s
`, name, file, sum, extra, settings))
}

// The CLI runs the sales invoices through the example plugin, declared in the
// configuration: the documents are written with its changes.
func TestRunThroughPlugin(t *testing.T) {
	t.Parallel()
	path, sum := examplePlugin(t, "regiondims")
	db := fixture.DB(t, "sales-invoices.sql")
	cfg := pluginConfig(t, "region-dims", path, sum, `{regions: {A-CUST1: D3-NORTH}, description: "{description} / {region}"}`, "")
	r := cli(t, nil, "run", "--db", db, "--config", cfg, "--flow", "sales-invoices")
	m := summaryLine.FindStringSubmatch(r.stdout)
	if r.code != 1 || m == nil || strings.Join(m[1:], ",") != "13,7,8,16,2,6" {
		t.Fatalf("exit %d, %q\n%s", r.code, r.stdout, r.stderr)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM acct.sales_invoice_line_item WHERE sales_invoice_id = 'SIN-INV-OK/1' AND dimension3_id = 'D3-NORTH' AND line_description IN ('Widget / D3-NORTH', 'Shipping / D3-NORTH')"); n != 2 {
		t.Errorf("INV-OK's two lines carry the region and the tenant's description: %d do", n)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM acct.sales_invoice_line_item WHERE sales_invoice_id LIKE 'SIN-INV-SPLIT/%' AND line_description LIKE '% / '"); n != 6 {
		t.Errorf("an account without a region keeps its dimension, the description says so: %d lines", n)
	}
}

// A plugin whose executable does not match its checksum is refused: exit 2, nothing
// written.
func TestPluginChecksumMismatchExitsTwo(t *testing.T) {
	t.Parallel()
	path, _ := examplePlugin(t, "regiondims")
	db := fixture.DB(t, "sales-invoices.sql")
	bad := strings.Repeat("ab", 32)
	cfg := pluginConfig(t, "region-dims", path, bad, "{}", "")
	r := cli(t, nil, "run", "--db", db, "--config", cfg)
	if r.code != 2 || !strings.Contains(r.stderr, "plugin region-dims: checksum mismatch: "+path+" has sha256 ") ||
		!strings.Contains(r.stderr, "the configuration says "+bad+"; refusing to start it") {
		t.Fatalf("want exit 2 and the mismatch, got %d\n%s", r.code, r.stderr)
	}
	if n := queryInt(t, db, "SELECT (SELECT count(*) FROM acct.sales_invoice) + (SELECT count(*) FROM oim.invoice WHERE export_status = 'Exported' OR export_error IS DISTINCT FROM (CASE id WHEN 'INV-OK' THEN 'an old reason' END))"); n != 0 {
		t.Errorf("nothing is written: %d changes", n)
	}
}

// A plugin that crashes on one document's batch fails that document; the run goes on
// (exit 1, like any failed record) with the plugin restarted for the other batches.
func TestPluginCrashFailsOnlyItsBatch(t *testing.T) {
	t.Parallel()
	path, sum := examplePlugin(t, "faulty")
	db := fixture.DB(t, "sales-invoices.sql")
	cfg := pluginConfig(t, "faulty", path, sum, "{mode: crash, only: INV-OK, mark: MARK}", "    batch_size: 1\n")
	r := cli(t, nil, "run", "--db", db, "--config", cfg, "--flow", "sales-invoices")
	m := summaryLine.FindStringSubmatch(r.stdout)
	if r.code != 1 || m == nil || strings.Join(m[1:], ",") != "13,6,7,14,2,7" {
		t.Fatalf("exit %d, %q\n%s", r.code, r.stdout, r.stderr)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM oim.invoice WHERE id = 'INV-OK' AND export_status = 'Export Error' AND export_error = 'plugin faulty: crashed (exit status 3): faulty: crashing on purpose' AND sales_invoice_id IS NULL"); n != 1 {
		t.Errorf("INV-OK carries the crash")
	}
	if n := queryInt(t, db, "SELECT count(*) FROM acct.sales_invoice_line_item WHERE dimension4_id = 'MARK'"); n != 14 {
		t.Errorf("the other documents' 14 lines went through the restarted plugin: %d did", n)
	}
	if !strings.Contains(r.stderr, `msg="plugin failed a batch" plugin=faulty flow=sales-invoices`) {
		t.Errorf("the log tells: %s", r.stderr)
	}
}

// validate --config checks each plugin as run would before starting it, and reports
// every mistake at its place in the file; a relative path is the configuration file's
// directory's, wherever the command runs.
func TestValidateChecksPlugins(t *testing.T) {
	t.Parallel()
	path, sum := examplePlugin(t, "regiondims")
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "bin"), "regiondims", string(data))
	if err := os.Chmod(filepath.Join(dir, "bin", "regiondims"), 0o755); err != nil {
		t.Fatal(err)
	}
	declare := func(name, path, sum, flows string) string {
		return fmt.Sprintf("  - name: %s\n    path: %s\n    sha256: %s\n    flows: %s\n    settings: {regions: {}}\n", name, path, sum, flows)
	}
	good := writeFile(t, dir, "good.yaml", salesConfig+"plugins:\n"+declare("region-dims", "bin/regiondims", sum, "[sales-invoices]"))
	bad := writeFile(t, dir, "bad.yaml", "plugins:\n"+
		declare("missing", "bin/nope", sum, "[sales-invoices]")+
		declare("mismatch", "bin/regiondims", strings.Repeat("ab", 32), "[sales-invoices]")+
		declare("wrong-flow", "bin/regiondims", sum, "[sales-invoice]"))

	r := cli(t, nil, "validate", "--config", bad)
	for _, want := range []string{
		fmt.Sprintf("%s:3:11: plugin missing: open %s: no such file or directory", bad, filepath.Join(dir, "bin", "nope")),
		fmt.Sprintf("%s:9:13: plugin mismatch: checksum mismatch: %s has sha256 %s, the configuration says %s; refusing to start it", bad, filepath.Join(dir, "bin", "regiondims"), sum, strings.Repeat("ab", 32)),
		bad + `:15:13: plugin wrong-flow: unknown flow "sales-invoice": did you mean sales-invoices?`,
		"3 problem(s)",
	} {
		if r.code != 2 || !strings.Contains(r.stderr, want) {
			t.Errorf("validate: want exit 2 and\n%s\ngot %d\n%s", want, r.code, r.stderr)
		}
	}
	// From another working directory, the relative path is still the file's.
	cmd := exec.Command(binary, "validate", "--config", good)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok  plugin region-dims (sales-invoices)") {
		t.Errorf("validate a good plugin from elsewhere: %v\n%s", err, out)
	}
	db := fixture.DB(t, "sales-invoices.sql")
	cmd = exec.Command(binary, "run", "--db", db, "--config", good, "--flow", "sales-invoices")
	cmd.Dir = t.TempDir()
	out, err = cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), "sales-invoices: selected 13, exported 7") {
		t.Errorf("run through the plugin from elsewhere: %v\n%s", err, out)
	}
	// run refuses the same mistakes, at the same places.
	r = cli(t, nil, "run", "--db", db, "--config", bad)
	if r.code != 2 || !strings.Contains(r.stderr, bad+`:15:13: plugin wrong-flow: unknown flow "sales-invoice"`) {
		t.Errorf("run: want exit 2 and the position, got %d\n%s", r.code, r.stderr)
	}
}
