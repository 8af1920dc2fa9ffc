package spec_test

import (
	"testing"

	"github.com/oimconnect/oimconnect/pipeline/spec"
	"github.com/oimconnect/oimconnect/specs"
)

// A spec's comments are read back by path: above the key, on its line, above a value.
func TestComment(t *testing.T) {
	set, err := spec.Load(specs.FS, "specs")
	if err != nil {
		t.Fatal(err)
	}
	f := set.Flows["sales-invoices"]
	for _, c := range []struct {
		path []string
		want string
	}{
		{[]string{"select"}, "Eligible invoices. A record that fails one of these is left untouched."},
		{[]string{"document", "fields", "Account"}, "Billing Account, else Customer"},
		{[]string{"document", "fields", "Company"}, ""},
		{[]string{"nowhere"}, ""},
	} {
		if got := f.Pos.Comment(c.path...); got != c.want {
			t.Errorf("%v: got %q, want %q", c.path, got, c.want)
		}
	}
}
