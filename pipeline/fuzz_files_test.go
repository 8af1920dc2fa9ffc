package pipeline_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline/fixture"
)

// Whatever bytes an OIM export leaves in invoice.csv and invoice_line.csv, a run of the
// sales-invoices flow from that directory into a DuckDB file gives summaries or an
// error, never a panic (nor a crash of DuckDB inside the process). The other oim tables
// are the sales-invoices fixture's, as CSV. The seed corpus is testdata/fuzz/
// FuzzFilesSource (run by go test); `go test -fuzz FuzzFilesSource ./pipeline/` explores.
func FuzzFilesSource(f *testing.F) {
	template, target := filesSource(f)
	invoices, err := os.ReadFile(filepath.Join(template, "invoice.csv"))
	if err != nil {
		f.Fatal(err)
	}
	lines, err := os.ReadFile(filepath.Join(template, "invoice_line.csv"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(invoices, lines)
	others, err := filepath.Glob(filepath.Join(template, "*.csv"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, invoice, invoiceLine []byte) {
		dir := t.TempDir()
		for _, p := range others {
			name := filepath.Base(p)
			data := map[string][]byte{"invoice.csv": invoice, "invoice_line.csv": invoiceLine}[name]
			if data == nil {
				var err error
				if data, err = os.ReadFile(p); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		tgt := fixture.Copy(t, target, filepath.Join(t.TempDir(), "target.duckdb"))
		sums, err := runFiles(t, dir, tgt)
		if err != nil {
			_ = err.Error()
			return
		}
		for _, s := range sums {
			if s.Exported+s.Errors+s.Recovered != s.Selected || s.Exported > 0 && s.Documents == 0 {
				t.Errorf("inconsistent summary: %s", s)
			}
		}
	})
}
