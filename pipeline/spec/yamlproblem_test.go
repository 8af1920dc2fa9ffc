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
