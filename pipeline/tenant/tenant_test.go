package tenant

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline/fault"
)

func write(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A directory of tenant files loads each as a configuration file, its relative paths
// taken from the file's directory, and none of the process's OIMCONNECT_ variables.
func TestLoadDir(t *testing.T) {
	t.Setenv("OIMCONNECT_DB", "/elsewhere.duckdb")
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "acme.yaml", "source: data/acme-oim.duckdb\ntarget: postgres://u:pw@db/acme\nsettings:\n  default_company: Acme UK Ltd\n  schedules:\n    journals: {frequency: Hourly, at: \"00:30\"}\n")
	write(t, dir, "globex.yml", "db: postgres://u:pw@db/globex\n")
	write(t, dir, "README.md", "not a tenant")
	set, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(set.Names(), ","); got != "acme,globex" {
		t.Fatalf("tenants %s", got)
	}
	acme, _ := set.Get("acme")
	if acme.Source() != filepath.Join(dir, "data/acme-oim.duckdb") || acme.Target() != "postgres://u:pw@db/acme" {
		t.Errorf("acme: source %s, target %s", acme.Source(), acme.Target())
	}
	if acme.Config.Settings.DefaultCompany != "Acme UK Ltd" || acme.Config.Settings.Schedules["journals"].At != "00:30" || acme.Specs == nil {
		t.Errorf("acme's settings and specs were not loaded: %+v", acme.Config.Settings)
	}
	globex, _ := set.Get("globex")
	if globex.Source() != "postgres://u:pw@db/globex" || globex.Target() != globex.Source() {
		t.Errorf("globex: %s %s", globex.Source(), globex.Target())
	}
	if _, err := set.Get("initech"); err == nil || !strings.Contains(err.Error(), `no tenant "initech"`) || !strings.Contains(err.Error(), "acme, globex") {
		t.Errorf("an unknown tenant: %v", err)
	}
}

// Every mistake of every file is reported at once, each at its file:line:column, as an
// input error (exit status 2).
func TestLoadDirMistakes(t *testing.T) {
	dir := t.TempDir()
	a := write(t, dir, "a.yaml", "db: postgres://u@db/a\nsettings:\n  tax_summary: true\n")
	b := write(t, dir, "b.yaml", "db: postgres://u@db/b\nsettings:\n  schedules:\n    journal: {frequency: Daily}\n")
	e := write(t, dir, "e.yaml", "db: postgres://u@db/e\n")
	write(t, dir, "c.yaml", "source: postgres://u@db/c\ntarget: postgres://u@db/e\n")
	write(t, dir, "Bad Name.yaml", "db: x.duckdb\n")
	d := write(t, dir, "d.yaml", "settings: {default_company: X}\n")
	_, err := LoadDir(dir)
	if !fault.IsInput(err) {
		t.Fatalf("want an input error, got %v", err)
	}
	for _, want := range []string{
		a + `:3:3: unknown key "tax_summary" in settings`,
		b + `:4:5: settings.schedules: no flow "journal": did you mean journals?`,
		e + ": tenant e uses postgres://u@db/e, which is tenant c's: tenants never share a database",
		`a tenant file is named <tenant>.yaml, the tenant's name in lower-case letters, digits, - and _ (at most 63), not "Bad Name"`,
		d + ": tenant d has no database",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in\n%v", want, err)
		}
	}
	if _, err := LoadDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no tenant file") {
		t.Errorf("an empty directory: %v", err)
	}
}
