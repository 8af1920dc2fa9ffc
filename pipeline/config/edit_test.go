package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline/config"
)

const edited = `# The tenant's configuration.
db: data.duckdb # the file OIM writes too
settings:
  default_company: Acme UK Ltd   # by name
  auto_post: {sales_invoices: false, journals: true}
  schedules:
    journals: {frequency: Daily, at: "02:00"}
console:
  users:
    - {name: ann, role: admin, password_hash: "` + hash + `"}
`

// An edit changes the values it sets and nothing else: comments, key order and flow
// style stay; a missing section is added.
func TestDocumentEdits(t *testing.T) {
	d, err := config.ParseDocument([]byte(edited))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []struct {
		v    any
		path []string
	}{
		{"Acme Corp", []string{"settings", "default_company"}},
		{true, []string{"settings", "auto_post", "sales_invoices"}},
		{500, []string{"settings", "sales_invoice_line_limit"}},
		{"1s", []string{"settings", "automation", "poll_interval"}},
		{map[string]any{"frequency": "Hourly", "at": "00:15", "disabled": true}, []string{"settings", "schedules", "journals"}},
		{"viewer", []string{"console", "users", "0", "role"}},
	} {
		if err := d.Set(e.v, e.path...); err != nil {
			t.Fatalf("set %v: %v", e.path, err)
		}
	}
	if err := d.Append(map[string]string{"name": "bob", "role": "viewer", "password_hash": hash}, "console", "users"); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete("console", "users", "0"); err != nil {
		t.Fatal(err)
	}
	got, err := d.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	want := `# The tenant's configuration.
db: data.duckdb # the file OIM writes too
settings:
  default_company: Acme Corp # by name
  auto_post: {sales_invoices: true, journals: true}
  schedules:
    journals: {at: "00:15", disabled: true, frequency: Hourly}
  sales_invoice_line_limit: 500
  automation:
    poll_interval: 1s
console:
  users:
    - name: bob
      password_hash: ` + hash + `
      role: viewer
`
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// What is written loads as the values set.
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := config.WriteFileAtomic(path, got); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Settings; s.DefaultCompany != "Acme Corp" || !s.AutoPost.SalesInvoices || s.SalesInvoiceLineLimit != 500 ||
		!s.Schedules["journals"].Disabled || c.Console.Users[0].Name != "bob" {
		t.Errorf("loaded: %+v", c)
	}
}

// Index finds a list's item by a key's value in the document as it is now, and Scalar
// reads a single value: what edits keyed by name (a user) rather than by a position
// read earlier go by.
func TestDocumentIndexAndScalar(t *testing.T) {
	d, err := config.ParseDocument([]byte(edited + "    - {name: bob, role: viewer}\n    - name: cy\n      role: operator\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		want int
	}{{"ann", 0}, {"bob", 1}, {"cy", 2}, {"dan", -1}, {"", -1}} {
		if got, err := d.Index("name", c.name, "console", "users"); err != nil || got != c.want {
			t.Errorf("Index(%q) = %d, %v; want %d", c.name, got, err, c.want)
		}
	}
	if got, err := d.Index("name", "ann", "nothing", "here"); err != nil || got != -1 {
		t.Errorf("Index without a list = %d, %v", got, err)
	}
	if _, err := d.Index("name", "ann", "settings"); err == nil {
		t.Errorf("Index of a map is no error")
	}
	if err := d.Delete("console", "users", "0"); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.Index("name", "cy", "console", "users"); got != 1 {
		t.Errorf("after a removal, cy is at %d, want 1", got)
	}
	for _, c := range []struct {
		path []string
		want string
		ok   bool
	}{
		{[]string{"console", "users", "1", "role"}, "operator", true},
		{[]string{"settings", "default_company"}, "Acme UK Ltd", true},
		{[]string{"settings", "auto_post"}, "", false},
		{[]string{"console", "users", "7", "role"}, "", false},
		{[]string{"nothing"}, "", false},
	} {
		if got, ok := d.Scalar(c.path...); got != c.want || ok != c.ok {
			t.Errorf("Scalar(%v) = %q, %v; want %q, %v", c.path, got, ok, c.want, c.ok)
		}
	}
}

// The atomic write keeps the file's permissions, makes a new one private, and leaves
// no temporary file behind.
func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	fresh := filepath.Join(dir, "new.yaml")
	if err := config.WriteFileAtomic(fresh, []byte("db: a\n")); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dir, "old.yaml")
	if err := os.WriteFile(old, []byte("db: b\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := config.WriteFileAtomic(old, []byte("db: c\n")); err != nil {
		t.Fatal(err)
	}
	for path, mode := range map[string]os.FileMode{fresh: 0o600, old: 0o640} {
		st, err := os.Stat(path)
		if err != nil || st.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v (%v)", path, st.Mode().Perm(), mode, err)
		}
	}
	if data, _ := os.ReadFile(old); string(data) != "db: c\n" {
		t.Errorf("old.yaml: %q", data)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("left behind: %v", entries)
	}
}

// Reload checks edited contents exactly as Load checks the file, mistakes at their
// position in the new contents, with the environment still on top; SetBy names what
// overrides the file.
func TestReloadChecksTheEdit(t *testing.T) {
	path := writeConfig(t, edited)
	t.Setenv("OIMCONNECT_SETTINGS__TAX_SUMMARY_LINE", "true")
	c, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Reload([]byte("settings:\n  sales_invoice_line_limit: 0\n"))
	wantInput(t, err, path+":2:29: settings.sales_invoice_line_limit must be at least 1, got 0")
	n, err := c.Reload([]byte("settings:\n  default_company: Other\n"))
	if err != nil || n.Settings.DefaultCompany != "Other" || !n.Settings.TaxSummaryLine || n.File() != path {
		t.Errorf("reloaded: %+v %v", n.Settings, err)
	}
	if by := n.SetBy("settings", "tax_summary_line"); by != "environment variable OIMCONNECT_SETTINGS__TAX_SUMMARY_LINE" {
		t.Errorf("SetBy: %q", by)
	}
	if by := n.SetBy("settings", "default_company"); by != "" {
		t.Errorf("SetBy of a file value: %q", by)
	}
	if _, err := (&config.Config{}).Reload(nil); err == nil {
		t.Errorf("no file, no reload")
	}
}
