package spec_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/oimconnect/oimconnect/pipeline/compile"
	_ "github.com/oimconnect/oimconnect/transforms"

	"gopkg.in/yaml.v3"

	"github.com/oimconnect/oimconnect/pipeline/spec"
)

// specDir is the checked-in spec directory, seen from this package.
var specDir = filepath.Join("..", "..", "specs")

func generated(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := spec.Generated(functionDocs())
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestGeneratedFilesUpToDate(t *testing.T) {
	for name, want := range generated(t) {
		got, err := os.ReadFile(filepath.Join(specDir, name))
		if err != nil {
			t.Errorf("specs/%s: %v: run `go run ./cmd/specdoc`", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("specs/%s is not what the spec types generate (%s): run `go run ./cmd/specdoc`", name, firstDiff(got, want))
		}
	}
}

// firstDiff describes the first line where got and want differ.
func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d is %q, want %q", i+1, gl, wl)
		}
	}
	return "they differ"
}

func TestJSONSchemaDeterministic(t *testing.T) {
	a, err := spec.JSONSchema(spec.Flow{}, "x")
	if err != nil {
		t.Fatal(err)
	}
	b, err := spec.JSONSchema(&spec.Flow{}, "x")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) || !bytes.HasSuffix(a, []byte("}\n")) {
		t.Errorf("JSONSchema is not stable or lacks its trailing newline")
	}
	if _, err := spec.JSONSchema("text", "x"); err == nil {
		t.Errorf("JSONSchema of a string: no error")
	}
	if spec.Reference(functionDocs()) != spec.Reference(functionDocs()) {
		t.Errorf("Reference is not stable")
	}
}

// schemas returns the generated flow and model schemas, decoded.
func schemas(t *testing.T) (flow, model map[string]any) {
	t.Helper()
	files := generated(t)
	for name, out := range map[string]*map[string]any{spec.FlowSchemaFile: &flow, spec.ModelSchemaFile: &model} {
		if err := json.Unmarshal(files[name], out); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return flow, model
}

func TestSpecsMatchSchema(t *testing.T) {
	flow, model := schemas(t)
	paths, err := filepath.Glob(filepath.Join(specDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	flows := 0
	for _, path := range paths {
		name := filepath.Base(path)
		if strings.HasSuffix(name, "_test.yaml") {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		schema, out := flow, any(&spec.Flow{})
		if name == spec.ModelFile {
			schema, out = model, &spec.Model{}
		} else {
			flows++
		}
		if errs := validateYAML(schema, data); len(errs) > 0 {
			t.Errorf("specs/%s does not match its schema:\n  %s", name, strings.Join(errs, "\n  "))
		}
		if _, err := spec.Check("specs/"+name, data, out); err != nil {
			t.Errorf("spec.Check: %v", err)
		}
	}
	if flows == 0 {
		t.Fatalf("no flow specs in %s", specDir)
	}
}

// TestSchemaAgreesWithCheck runs documents through both the schema and spec.Check.
// Where they differ on purpose, the schema is the stricter: it rejects values that pass
// the shape check but load as something else or fail later.
func TestSchemaAgreesWithCheck(t *testing.T) {
	flow, model := schemas(t)
	cases := []struct {
		name, doc        string
		model            bool
		schemaOK, loadOK bool
	}{
		// Broken documents.
		{name: "unknown top-level key", doc: "flow: a\nsourse: {table: t}\n"},
		{name: "unknown nested key", doc: "flow: a\nsource: {table: t, tabel: u}\n"},
		{name: "unknown key in a line kind", doc: "flow: a\ndocument: {lines: [{name: x, form: lines}]}\n"},
		{name: "field with path and expr", doc: "flow: a\ndocument: {fields: {A: {path: X, expr: y}}}\n"},
		{name: "field with expr and value", doc: "flow: a\ndocument: {lines: [{fields: {A: {expr: y, value: 1}}}]}\n"},
		{name: "field with no key", doc: "flow: a\ndocument: {fields: {A: {}}}\n"},
		{name: "field with an unknown key", doc: "flow: a\ndocument: {fields: {A: {exp: y}}}\n"},
		{name: "field as a list", doc: "flow: a\ndocument: {fields: {A: [x]}}\n"},
		{name: "list where a map belongs", doc: "flow: a\nderive: [a, b]\n"},
		{name: "list where a map of fields belongs", doc: "flow: a\ndocument: {fields: [Company]}\n"},
		{name: "list where a line source belongs", doc: "flow: a\nsource: {lines: [oim.invoice_line]}\n"},
		{name: "map where a list belongs", doc: "flow: a\nselect: {a: b}\n"},
		{name: "map where text belongs", doc: "flow: a\ndescription: {a: b}\n"},
		{name: "quoted number for a whole number", doc: "flow: a\norder: '1'\n"},
		{name: "yes for true/false", doc: "flow: a\ndocument: {lines: [{skip: yes}]}\n"},
		{name: "model: text where a list belongs", doc: "lookups: {x: {table: t, match: name}}\n", model: true},
		{name: "model: list where a map belongs", doc: "tables: [oim.invoice]\n", model: true},
		{name: "model: unknown key in a table", doc: "tables: {oim.invoice: {refs: {a_id: b}}}\n", model: true},
		{name: "model: flow key", doc: "flow: a\n", model: true},
		// Documents that load.
		{name: "empty keys", doc: "flow: a\ndescription:\nsource:\nselect:\nrules: {header: }\n", schemaOK: true, loadOK: true},
		{name: "number as text", doc: "flow: a\norder: 3\ndocument: {line_limit: 500}\n", schemaOK: true, loadOK: true},
		{name: "field kinds", doc: "flow: a\ndocument: {fields: {A: X > Y, B: {expr: 0}, C: {value: null}, D: {value: 1.5}, E: {path: X}}}\n", schemaOK: true, loadOK: true},
		{name: "constants of any shape", doc: "flow: a\nconstants: {a: [1, {b: 2}], c: null, d: x}\n", schemaOK: true, loadOK: true},
		{name: "model lookup", doc: "lookups: {v: {table: t, match: [name], fold: true, where: {type: Vendor}}}\n", model: true, schemaOK: true, loadOK: true},
		// Stricter on purpose.
		{name: "true as an expression (loads as \"1\")", doc: "flow: a\nrules: {header: [{check: true}]}\n", loadOK: true},
		{name: "list as a static value", doc: "flow: a\ndocument: {fields: {A: {value: [1, 2]}}}\n"},
		{name: "bare number as a field", doc: "flow: a\ndocument: {fields: {A: 1}}\n"},
		{name: "a word when_empty does not take (the plan refuses it)", doc: "flow: a\ndocument: {when_empty: skipp}\n", loadOK: true},
		{name: "a word a line kind's from does not take", doc: "flow: a\ndocument: {lines: [{from: line}]}\n", loadOK: true},
		{name: "when_empty and from words", doc: "flow: a\ndocument: {when_empty: skip, lines: [{from: header}]}\n", schemaOK: true, loadOK: true},
	}
	for _, c := range cases {
		schema, out := flow, any(&spec.Flow{})
		if c.model {
			schema, out = model, &spec.Model{}
		}
		errs := validateYAML(schema, []byte(c.doc))
		if ok := len(errs) == 0; ok != c.schemaOK {
			t.Errorf("%s: schema accepts = %v, want %v (%s)", c.name, ok, c.schemaOK, strings.Join(errs, "; "))
		}
		_, err := spec.Check("x.yaml", []byte(c.doc), out)
		if ok := err == nil; ok != c.loadOK {
			t.Errorf("%s: spec.Check accepts = %v, want %v (%v)", c.name, ok, c.loadOK, err)
		}
	}
}

// TestReferenceExample checks the YAML examples of the reference against the flow schema
// and spec.Check.
func TestReferenceExample(t *testing.T) {
	flow, _ := schemas(t)
	ref := spec.Reference(functionDocs())
	blocks := 0
	for _, part := range strings.Split(ref, "```yaml\n")[1:] {
		block, _, ok := strings.Cut(part, "```")
		if !ok {
			t.Fatalf("unterminated yaml block in the reference")
		}
		blocks++
		if errs := validateYAML(flow, []byte(block)); len(errs) > 0 {
			t.Errorf("reference example does not match the flow schema: %s", strings.Join(errs, "; "))
		}
		if _, err := spec.Check("REFERENCE.md", []byte(block), &spec.Flow{}); err != nil {
			t.Errorf("reference example: %v", err)
		}
	}
	if blocks == 0 {
		t.Errorf("the reference has no yaml example")
	}
	for _, want := range []string{"### Flow\n", "### Field\n", "### ModelLookup\n", "| `present(s)` |", "| `when_empty` | text |"} {
		if !strings.Contains(ref, want) {
			t.Errorf("the reference lacks %q", want)
		}
	}
}

// TestEveryKeyDocumented makes sure the schema and the reference have a description for
// every key.
func TestEveryKeyDocumented(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(rt reflect.Type) {
		switch rt.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map:
			walk(rt.Elem())
			return
		case reflect.Struct:
		default:
			return
		}
		if seen[rt] {
			return
		}
		seen[rt] = true
		for i := 0; i < rt.NumField(); i++ {
			f := rt.Field(i)
			if key := f.Tag.Get("koanf"); key == "" || key == "-" {
				continue
			}
			if f.Tag.Get("doc") == "" {
				t.Errorf("%s.%s (key %q) has no doc tag", rt.Name(), f.Name, f.Tag.Get("koanf"))
			}
			walk(f.Type)
		}
	}
	walk(reflect.TypeOf(spec.Flow{}))
	walk(reflect.TypeOf(spec.Model{}))
}

// validateYAML decodes YAML data and validates it against a JSON Schema.
func validateYAML(schema map[string]any, data []byte) []string {
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return []string{err.Error()}
	}
	var errs []string
	validate(schema, doc, "", &errs)
	return errs
}

// validate checks v against the subset of JSON Schema that spec.JSONSchema emits: type,
// properties, additionalProperties, items, oneOf, minProperties and maxProperties
// (annotations are ignored). Any other keyword is reported, so the schema cannot grow
// one this validator does not check.
func validate(s map[string]any, v any, at string, errs *[]string) {
	where := at
	if where == "" {
		where = "the top level"
	}
	fail := func(format string, args ...any) {
		*errs = append(*errs, where+": "+fmt.Sprintf(format, args...))
	}
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch k {
		case "$schema", "$comment", "title", "description",
			"type", "properties", "additionalProperties", "items", "oneOf", "minProperties", "maxProperties", "enum":
		default:
			fail("unsupported schema keyword %q", k)
		}
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, v) {
		fail("%v is none of %v", v, enum)
	}
	if typ, ok := s["type"]; ok {
		var types []string
		switch x := typ.(type) {
		case string:
			types = []string{x}
		case []any:
			for _, e := range x {
				types = append(types, e.(string))
			}
		}
		matched := false
		for _, ty := range types {
			matched = matched || hasType(v, ty)
		}
		if !matched {
			fail("%s is not %s", describe(v), strings.Join(types, " or "))
			return
		}
	}
	if obj, ok := asObject(v); ok {
		props, _ := s["properties"].(map[string]any)
		names := make([]string, 0, len(obj))
		for k := range obj {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			sub := joinPath(at, k)
			if p, ok := props[k]; ok {
				validate(p.(map[string]any), obj[k], sub, errs)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					fail("unknown key %q", k)
				}
			case map[string]any:
				validate(ap, obj[k], sub, errs)
			}
		}
		if n, ok := s["minProperties"].(float64); ok && float64(len(obj)) < n {
			fail("has %d keys, needs at least %v", len(obj), n)
		}
		if n, ok := s["maxProperties"].(float64); ok && float64(len(obj)) > n {
			fail("has %d keys, allows at most %v", len(obj), n)
		}
	}
	if list, ok := v.([]any); ok {
		if items, ok := s["items"].(map[string]any); ok {
			for i, e := range list {
				validate(items, e, fmt.Sprintf("%s[%d]", at, i), errs)
			}
		}
	}
	if branches, ok := s["oneOf"].([]any); ok {
		matched := 0
		var why []string
		for _, b := range branches {
			var sub []string
			validate(b.(map[string]any), v, at, &sub)
			if len(sub) == 0 {
				matched++
			}
			why = append(why, sub...)
		}
		if matched != 1 {
			fail("matches %d of the %d alternatives (%s)", matched, len(branches), strings.Join(why, "; "))
		}
	}
}

func joinPath(at, key string) string {
	if at == "" {
		return key
	}
	return at + "." + key
}

// asObject returns a YAML map with its keys as text.
func asObject(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, e := range m {
			out[fmt.Sprint(k)] = e
		}
		return out, true
	}
	return nil, false
}

// hasType says whether a value decoded from YAML is of a JSON Schema type.
func hasType(v any, typ string) bool {
	switch typ {
	case "object":
		_, ok := asObject(v)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		switch v.(type) {
		case string, time.Time:
			return true
		}
	case "integer":
		switch x := v.(type) {
		case int, int64, uint64:
			return true
		case float64:
			return x == math.Trunc(x) && !math.IsInf(x, 0)
		}
	case "number":
		switch v.(type) {
		case int, int64, uint64, float64:
			return true
		}
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "null":
		return v == nil
	}
	return false
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "a list"
	case map[string]any, map[any]any:
		return "a map"
	}
	return fmt.Sprintf("%T %v", v, v)
}

// functionDocs documents the built-in functions, as cmd/specdoc does.
func functionDocs() []spec.FunctionDoc {
	var out []spec.FunctionDoc
	for _, f := range compile.Functions() {
		out = append(out, spec.FunctionDoc{Name: f.Name, Args: f.Args, Doc: f.Doc})
	}
	return out
}
