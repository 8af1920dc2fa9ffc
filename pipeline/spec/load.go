package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	kyaml "github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
	"gopkg.in/yaml.v3"
)

// ModelFile is the name of the shared object model in a spec directory.
const ModelFile = "model.yaml"

// maxDepth bounds how deep a spec nests; only a recursive alias goes deeper.
const maxDepth = 32

// keyDelim separates key path segments inside koanf; labels such as "Unit of Work"
// may hold any printable character, so it is one no YAML key uses.
const keyDelim = "\x1f"

// Positions finds where a key path sits in a YAML file.
type Positions struct {
	File  string
	nodes map[string]*yaml.Node
	keys  map[string]*yaml.Node
}

// KeyErrorf makes a Problem at the key of the value at path (its name, where a map is
// about the name rather than its contents).
func (p *Positions) KeyErrorf(pathSegs []string, format string, args ...any) Problem {
	if p != nil {
		if k, ok := p.keys[strings.Join(pathSegs, keyDelim)]; ok {
			return Problem{File: p.File, Line: k.Line, Column: k.Column, Msg: fmt.Sprintf(format, args...)}
		}
	}
	return p.Errorf(pathSegs, format, args...)
}

// At returns the line and column of the value at path, or of its nearest ancestor.
func (p *Positions) At(pathSegs ...string) (line, col int) {
	if p == nil {
		return 0, 0
	}
	for i := len(pathSegs); i >= 0; i-- {
		if n, ok := p.nodes[strings.Join(pathSegs[:i], keyDelim)]; ok {
			return n.Line, n.Column
		}
	}
	return 0, 0
}

// Node returns the YAML node of the value at path.
func (p *Positions) Node(pathSegs ...string) *yaml.Node {
	if p == nil {
		return nil
	}
	return p.nodes[strings.Join(pathSegs, keyDelim)]
}

// Comment is what the file says about the value at path, in its comments: those above
// its key and on its line, and above and beside the value itself (without the #).
func (p *Positions) Comment(pathSegs ...string) string {
	if p == nil {
		return ""
	}
	var parts []string
	for _, n := range []*yaml.Node{p.keys[strings.Join(pathSegs, keyDelim)], p.nodes[strings.Join(pathSegs, keyDelim)]} {
		if n == nil {
			continue
		}
		for _, c := range []string{n.HeadComment, n.LineComment} {
			for _, l := range strings.Split(c, "\n") {
				if l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "#")); l != "" {
					parts = append(parts, l)
				}
			}
		}
	}
	return strings.Join(parts, " ")
}

// Errorf makes a Problem at the value at path.
func (p *Positions) Errorf(pathSegs []string, format string, args ...any) Problem {
	line, col := p.At(pathSegs...)
	file := ""
	if p != nil {
		file = p.File
	}
	return Problem{File: file, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

func index(file string, root *yaml.Node) *Positions {
	p := &Positions{File: file, nodes: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	var walk func(n *yaml.Node, segs []string)
	walk = func(n *yaml.Node, segs []string) {
		if len(segs) > maxDepth {
			return // a recursive alias: checkShape reports it
		}
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		p.nodes[strings.Join(segs, keyDelim)] = n
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, segs)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				child := append(append([]string{}, segs...), n.Content[i].Value)
				p.keys[strings.Join(child, keyDelim)] = n.Content[i]
				walk(n.Content[i+1], child)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, append(append([]string{}, segs...), fmt.Sprint(i)))
			}
		}
	}
	walk(root, nil)
	return p
}

// Check parses YAML data (read from file) and checks its shape against out's type (a
// pointer to a struct with koanf tags): malformed YAML, unknown keys and values of the
// wrong shape come back as Problems with their positions.
func Check(file string, data []byte, out any) (*Positions, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlProblem(file, err)
	}
	if len(root.Content) == 0 {
		return nil, Problem{File: file, Msg: "the file is empty"}
	}
	pos := index(file, &root)
	var probs Problems
	checkShape(root.Content[0], reflect.TypeOf(out).Elem(), nil, pos, &probs)
	if len(probs) > 0 {
		return pos, probs
	}
	return pos, nil
}

// decode checks data's shape (Check), then loads it with koanf and unmarshals it into out.
func decode(file string, data []byte, out any) (*Positions, error) {
	pos, err := Check(file, data, out)
	if err != nil {
		return pos, err
	}
	k := koanf.NewWithConf(koanf.Conf{Delim: keyDelim})
	if err := k.Load(rawbytes.Provider(data), kyaml.Parser()); err != nil {
		return pos, Problem{File: file, Msg: err.Error()}
	}
	err = k.UnmarshalWithConf("", out, koanf.UnmarshalConf{Tag: "koanf", DecoderConfig: &mapstructure.DecoderConfig{
		DecodeHook:       mapstructure.ComposeDecodeHookFunc(boolText, fieldHook),
		Result:           out,
		WeaklyTypedInput: true,
		TagName:          "koanf",
	}})
	if err != nil {
		return pos, Problem{File: file, Msg: err.Error()}
	}
	return pos, nil
}

// boolText keeps an unquoted YAML true or false where text is expected (a condition
// `- true`) as the word, where the weak decoding would make it 1 or 0.
func boolText(from, to reflect.Type, data any) (any, error) {
	if b, ok := data.(bool); ok && to.Kind() == reflect.String {
		return strconv.FormatBool(b), nil
	}
	return data, nil
}

var fieldType = reflect.TypeOf(Field{})

// fieldHook decodes a Field from a plain string (a path) or a {path|expr|value} map.
func fieldHook(from, to reflect.Type, data any) (any, error) {
	if to != fieldType {
		return data, nil
	}
	switch v := data.(type) {
	case string:
		return Field{Path: v}, nil
	case map[string]any:
		f := Field{}
		if p, ok := v["path"]; ok {
			f.Path = fmt.Sprint(p)
		}
		if e, ok := v["expr"]; ok {
			f.Expr = fmt.Sprint(e)
		}
		if val, ok := v["value"]; ok {
			f.Value, f.HasValue = val, true
		}
		return f, nil
	}
	return data, nil
}

// parserErrors are the errors of yaml.v3's parser (as against its scanner), whose
// line it counts from 0: an unclosed [ on line 3 is reported on line 2.
var parserErrors = []string{
	"did not find expected ',' or ']'", "did not find expected ',' or '}'", "did not find expected '-' indicator",
	"did not find expected <document start>", "did not find expected key", "did not find expected node content",
	"found duplicate %TAG directive", "found duplicate %YAML directive", "found incompatible YAML document",
	"found undefined tag handle",
}

func yamlProblem(file string, err error) error {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) {
		msg = strings.Join(te.Errors, "; ")
	}
	// yaml.v3 reports "yaml: line N: message".
	var line int
	if _, scanErr := fmt.Sscanf(strings.TrimPrefix(msg, "yaml: "), "line %d:", &line); scanErr == nil {
		rest := msg[strings.Index(msg, fmt.Sprintf("line %d:", line))+len(fmt.Sprintf("line %d:", line)):]
		if slices.Contains(parserErrors, strings.TrimSpace(rest)) {
			line++
		}
		return Problem{File: file, Line: line, Column: 1, Msg: "malformed YAML:" + rest}
	}
	return Problem{File: file, Msg: "malformed YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// checkShape walks a YAML node against a Go type: unknown keys, and scalars, lists or
// maps where another shape belongs, become Problems at their position.
func checkShape(n *yaml.Node, t reflect.Type, segs []string, pos *Positions, probs *Problems) {
	if len(segs) > maxDepth {
		*probs = append(*probs, Problem{File: pos.File, Line: n.Line, Column: n.Column, Msg: "nested too deep: a YAML alias that contains itself?"})
		return
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	here := func(format string, args ...any) {
		*probs = append(*probs, Problem{File: pos.File, Line: n.Line, Column: n.Column, Msg: fmt.Sprintf(format, args...)})
	}
	where := "the top level"
	if len(segs) > 0 {
		where = strings.Join(segs, ".")
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind == yaml.MappingNode {
		// A key written twice would be refused by the loader without a column, or,
		// merged, one of the two values silently lost.
		first := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Value == "<<" {
				continue
			}
			if f, dup := first[k.Value]; dup {
				*probs = append(*probs, Problem{File: pos.File, Line: k.Line, Column: k.Column,
					Msg: fmt.Sprintf("key %q written twice in %s (first at line %d)", k.Value, where, f.Line)})
				continue
			}
			first[k.Value] = k
		}
	}
	if t == fieldType {
		switch n.Kind {
		case yaml.ScalarNode:
			if n.Tag != "!!str" {
				here("field %s must be a path (text); for a static value write {value: %s}", where, n.Value)
			}
			return
		case yaml.MappingNode:
			set := 0
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				switch k.Value {
				case "path", "expr":
					set++
					if v.Kind != yaml.ScalarNode || v.Tag == "!!null" || v.Value == "" {
						*probs = append(*probs, Problem{File: pos.File, Line: v.Line, Column: v.Column, Msg: fmt.Sprintf("%s.%s must be non-empty text", where, k.Value)})
					}
				case "value":
					set++
					if v.Kind != yaml.ScalarNode {
						*probs = append(*probs, Problem{File: pos.File, Line: v.Line, Column: v.Column, Msg: fmt.Sprintf("%s.value must be text, a number, true/false or null, not a %s", where, kindName(v))})
					}
				default:
					*probs = append(*probs, Problem{File: pos.File, Line: k.Line, Column: k.Column, Msg: fmt.Sprintf("unknown key %q in field %s (allowed: path, expr, value)", k.Value, where)})
				}
			}
			if set != 1 {
				here("field %s needs exactly one of path, expr or value", where)
			}
			return
		}
		here("field %s must be a path (text) or a map with path, expr or value", where)
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		checkShape(n, t.Elem(), segs, pos, probs)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			here("%s must be a map of keys (%s)", where, strings.Join(allowedKeys(t), ", "))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" {
				continue
			}
			f, ok := fieldByTag(t, k.Value)
			if !ok {
				*probs = append(*probs, Problem{File: pos.File, Line: k.Line, Column: k.Column,
					Msg: fmt.Sprintf("unknown key %q in %s (allowed: %s)", k.Value, where, strings.Join(allowedKeys(t), ", "))})
				continue
			}
			checkShape(v, f.Type, append(append([]string{}, segs...), k.Value), pos, probs)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			here("%s must be a map", where)
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if strings.Contains(k.Value, keyDelim) {
				*probs = append(*probs, Problem{File: pos.File, Line: k.Line, Column: k.Column, Msg: "key holds a control character"})
			}
			checkShape(n.Content[i+1], t.Elem(), append(append([]string{}, segs...), k.Value), pos, probs)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			here("%s must be a list", where)
			return
		}
		for i, c := range n.Content {
			checkShape(c, t.Elem(), append(append([]string{}, segs...), fmt.Sprint(i)), pos, probs)
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			here("%s must be text, not a %s", where, kindName(n))
		}
	case reflect.Int:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			here("%s must be a whole number, not %q", where, n.Value)
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			here("%s must be true or false, not %q", where, n.Value)
		}
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "map"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}

func fieldByTag(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if tag := f.Tag.Get("koanf"); tag == key && tag != "-" {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func allowedKeys(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		if tag := t.Field(i).Tag.Get("koanf"); tag != "" && tag != "-" {
			out = append(out, tag)
		}
	}
	sort.Strings(out)
	return out
}

// Set is a loaded spec directory: the model and the flows, by name.
type Set struct {
	Model *Model
	Flows map[string]*Flow
}

// Ordered lists the flows in run order.
func (s *Set) Ordered() []*Flow {
	out := make([]*Flow, 0, len(s.Flows))
	for _, f := range s.Flows {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Order != out[j].Order {
			return out[i].Order < out[j].Order
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// oddSpecName says what is wrong with a directory entry named like a spec file that
// Load would not read as one ("" for any other entry): a flow written as .yml or .YAML,
// or a directory named <flow>.yaml, was skipped without a word, and its flow silently
// never ran.
func oddSpecName(e fs.DirEntry) string {
	name := e.Name()
	ext := path.Ext(name)
	lower := strings.ToLower(ext)
	if lower != ".yaml" && lower != ".yml" {
		return ""
	}
	const expected = "a flow is <flow>.yaml, its tests <flow>_test.yaml, the object model " + ModelFile
	switch {
	case e.IsDir():
		return "a directory named like a spec file: " + expected
	case lower == ".yml":
		return fmt.Sprintf("spec files end in .yaml, not %s (rename it %s.yaml): %s", ext, strings.TrimSuffix(name, ext), expected)
	case ext != ".yaml":
		return fmt.Sprintf("write its extension in lower case (%s.yaml): %s", strings.TrimSuffix(name, ext), expected)
	}
	return ""
}

// Load reads model.yaml and every other *.yaml of a spec directory (files ending in
// _test.yaml are spec tests, not flows). dir names the directory in messages.
func Load(fsys fs.FS, dir string) (*Set, error) {
	var probs Problems
	set := &Set{Flows: map[string]*Flow{}}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("spec: read %s: %w", dir, err)
	}
	add := func(err error) {
		var ps Problems
		var p Problem
		switch {
		case errors.As(err, &ps):
			probs = append(probs, ps...)
		case errors.As(err, &p):
			probs = append(probs, p)
		default:
			probs = append(probs, Problem{File: dir, Msg: err.Error()})
		}
	}
	for _, e := range entries {
		name := e.Name()
		if msg := oddSpecName(e); msg != "" {
			probs = append(probs, Problem{File: path.Join(dir, name), Msg: msg})
			continue
		}
		if e.IsDir() || path.Ext(name) != ".yaml" || strings.HasSuffix(name, "_test.yaml") {
			continue
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			add(err)
			continue
		}
		file := path.Join(dir, name)
		if name == ModelFile {
			m := &Model{}
			pos, err := decode(file, data, m)
			if err != nil {
				add(err)
				continue
			}
			m.File, m.Pos = file, pos
			set.Model = m
			continue
		}
		f := &Flow{}
		pos, err := decode(file, data, f)
		if err != nil {
			add(err)
			continue
		}
		f.File, f.Pos = file, pos
		if f.Name == "" {
			add(pos.Errorf(nil, "missing key \"flow\": every flow spec names its flow"))
			continue
		}
		if other, dup := set.Flows[f.Name]; dup {
			add(pos.Errorf([]string{"flow"}, "flow %q is also defined in %s", f.Name, other.File))
			continue
		}
		set.Flows[f.Name] = f
	}
	if set.Model == nil && len(probs) == 0 {
		probs = append(probs, Problem{File: dir, Msg: "no " + ModelFile + " (the object model every flow's paths use)"})
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return set, nil
}
