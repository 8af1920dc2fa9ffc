package spec

import (
	"errors"
	"testing"

	"gopkg.in/yaml.v3"
)

// A malformed spec names the line of the mistake, or of the collection it breaks,
// whichever part of yaml.v3 finds it (its parser counts lines from 0, its scanner
// from 1).
func TestMalformedYAMLNamesTheLine(t *testing.T) {
	for _, c := range []struct {
		doc  string
		line int
	}{
		{"flow: x\nsource:\n  table: [oim.invoice\n", 3},      // parser: unclosed [
		{"a: 1\nb: 2\nc: {x: 1\nd: 3\n", 3},                   // parser: unclosed {
		{"a: 1\nb:\n  - x\n  y: 2\n", 3},                      // parser: the list a key breaks
		{"a: 1\nb: 'x\nc: 2\n", 2},                            // scanner: unclosed quote
		{"a: 1\nb: 2\n  c: 3\n", 3},                           // scanner: a key under a value
		{"a: 1\nb: 2\nc: 3\nd: [1, 2\ne: 5\nf: 6\ng: 7\n", 4}, // parser, further down
	} {
		var v any
		err := yaml.Unmarshal([]byte(c.doc), &v)
		if err == nil {
			t.Fatalf("%q parsed", c.doc)
		}
		var p Problem
		if !errors.As(yamlProblem("f.yaml", err), &p) || p.Line != c.line {
			t.Errorf("%q: %v (yaml.v3: %v), want line %d", c.doc, yamlProblem("f.yaml", err), err, c.line)
		}
	}
}

// An unquoted true or false where an expression is expected is that word, not 1 or 0.
func TestUnquotedBoolIsAWord(t *testing.T) {
	var f Flow
	if _, err := decode("f.yaml", []byte("flow: x\nselect:\n  - true\n  - false\nready: [true]\nconstants: {n: 1}\n"), &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Select) != 2 || f.Select[0] != "true" || f.Select[1] != "false" || len(f.Ready) != 1 || f.Ready[0] != "true" {
		t.Errorf("select %q, ready %q: want the words", f.Select, f.Ready)
	}
	if f.Constants["n"] != 1 {
		t.Errorf("a constant keeps its type: %#v", f.Constants["n"])
	}
}
