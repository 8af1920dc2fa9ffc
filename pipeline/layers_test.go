package pipeline_test

import (
	"os/exec"
	"path"
	"strings"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline/fixture"
)

// layers orders the project's packages from the bottom up: a package imports only
// packages of lower layers, so every import arrow points down. A new package takes its
// place here.
var layers = [][]string{
	{"pipeline/fault", "pipeline/catalog", "pipeline/spec", "pipeline/demodata", "specs", "plugins/proto"},
	{"pipeline/compile", "pipeline/postgres", "pipeline/config", "plugins/shared"},
	{"pipeline/plan", "transforms", "plugins/examples/*/*", "testdata/plugins/*"},
	{"pipeline/store", "pipeline/host", "plugins/examples/*"},
	{"pipeline"},
	{"pipeline/watch", "pipeline/backfill", "pipeline/explain", "pipeline/reconcile", "pipeline/spectest", "pipeline/fixture", "pipeline/tenant"},
	{"pipeline/queue", "pipeline/console"},
	{"cmd/*"},
}

// TestImportsPointDown checks every import of one of the project's packages against
// the layers (tests may import anything).
func TestImportsPointDown(t *testing.T) {
	const module = "github.com/oimconnect/oimconnect/"
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...")
	cmd.Dir = fixture.Root()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	layer := func(pkg string) int {
		for i, l := range layers {
			for _, p := range l {
				if ok, _ := path.Match(p, pkg); ok {
					return i
				}
			}
		}
		return -1
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		from := layer(pkg)
		if from < 0 {
			t.Errorf("package %s is in no layer: give it its place in layers", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			dep, ok := strings.CutPrefix(imp, module)
			if !ok {
				continue
			}
			if to := layer(dep); to >= from {
				t.Errorf("%s (layer %d) imports %s (layer %d): imports point down", pkg, from, dep, to)
			}
		}
	}
}
