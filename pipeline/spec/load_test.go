package spec

import (
	"os"
	"testing"
	"testing/fstest"
)

// An entry named like a spec file that Load would not read as one is refused, naming
// it and what is expected: a flow written as .yml or .YAML, or a directory named
// <flow>.yaml, was skipped without a word, and its flow never ran. Other files (notes,
// Go files beside the embedded specs) are no spec's business.
func TestOddSpecNamesRefused(t *testing.T) {
	model, err := os.ReadFile("../../specs/model.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const expected = ": a flow is <flow>.yaml, its tests <flow>_test.yaml, the object model model.yaml"
	for _, c := range []struct{ name, want string }{
		{"sales-invoices.yml", "sp/sales-invoices.yml: spec files end in .yaml, not .yml (rename it sales-invoices.yaml)" + expected},
		{"journals_test.yml", "sp/journals_test.yml: spec files end in .yaml, not .yml (rename it journals_test.yaml)" + expected},
		{"Sales-Invoices.YAML", "sp/Sales-Invoices.YAML: write its extension in lower case (Sales-Invoices.yaml)" + expected},
		{"sales-invoices.yaml/x", "sp/sales-invoices.yaml: a directory named like a spec file" + expected},
	} {
		t.Run(c.name, func(t *testing.T) {
			fsys := fstest.MapFS{"model.yaml": {Data: model}, "README.md": {Data: []byte("notes")}, "specs.go": {Data: []byte("package x")},
				c.name: {Data: []byte("flow: sales-invoices\n")}}
			_, err := Load(fsys, "sp")
			if err == nil || err.Error() != c.want {
				t.Errorf("got %v\nwant %s", err, c.want)
			}
		})
	}
	set, err := Load(fstest.MapFS{"model.yaml": {Data: model}, "README.md": {}, "notes/a.txt": {}}, "sp")
	if err != nil || set.Model == nil || len(set.Flows) != 0 {
		t.Errorf("other entries are left alone: %v", err)
	}
}
