package spec_test

import (
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/oimconnect/oimconnect/pipeline/spec"
	"github.com/oimconnect/oimconnect/specs"
)

// Whatever YAML a data team saves, loading it gives specs or problems, never a panic.
func FuzzLoad(f *testing.F) {
	entries, err := fs.ReadDir(specs.FS, ".")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		data, _ := fs.ReadFile(specs.FS, e.Name())
		f.Add(data)
	}
	for _, s := range []string{"", "flow: x\n", "flow: [\n", "document: {fields: {A: {value: [1]}}}\n", "flow: a\n\x00", ":\n- - -\n", "flow: a\nsource: &a\n  lines: *a\n"} {
		f.Add([]byte(s))
	}
	model, _ := fs.ReadFile(specs.FS, spec.ModelFile)
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{"model.yaml": {Data: model}, "x.yaml": {Data: data}}
		set, err := spec.Load(fsys, "specs")
		if err == nil && set == nil {
			t.Error("no specs and no error")
		}
		if err != nil {
			_ = err.Error()
		}
	})
}
