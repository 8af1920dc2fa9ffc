package specs_test

import (
	"context"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline/spectest"
	"github.com/oimconnect/oimconnect/specs"
)

// The default specs' own unit tests (*_test.yaml) pass.
func TestDefaultSpecs(t *testing.T) {
	results, err := spectest.RunDir(context.Background(), specs.FS, "specs")
	if err != nil {
		t.Fatal(err)
	}
	if len(results) == 0 {
		t.Fatal("no spec tests found")
	}
	for _, r := range results {
		for _, f := range r.Failures {
			t.Errorf("%s: %q: %s", r.File, r.Name, f)
		}
	}
}
