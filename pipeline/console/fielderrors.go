package console

import (
	"fmt"
	"path/filepath"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/oimconnect/oimconnect/pipeline/spec"
)

// fieldErrors places the problems of a refused edit at the form's fields: a problem
// sits at the line and column of a value (or its key) in the edited file, and fields
// maps each form field to the path of its value there. Problems at no field are
// general, with their place in the file.
func fieldErrors(err error, data []byte, fields map[string][]string) (byField map[string]string, general []string) {
	byField = map[string]string{}
	probs := problemsOf(err)
	if len(probs) == 0 {
		return byField, []string{err.Error()}
	}
	at := positions(data, fields)
	for _, p := range probs {
		field, ok := at[[2]int{p.Line, p.Column}]
		if !ok || p.Line == 0 {
			general = append(general, placed(p))
			continue
		}
		if byField[field] != "" {
			byField[field] += "; "
		}
		byField[field] += p.Msg
	}
	return byField, general
}

// placed is a problem with its place in the file (by its base name: the page shows no
// paths of the server).
func placed(p spec.Problem) string {
	if p.Line == 0 {
		return p.Msg
	}
	return fmt.Sprintf("%s:%d:%d: %s", filepath.Base(p.File), p.Line, p.Column, p.Msg)
}

// positions finds where each field's value, and its key, sit in the YAML data.
func positions(data []byte, fields map[string][]string) map[[2]int]string {
	out := map[[2]int]string{}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return out
	}
	for field, path := range fields {
		key, val := find(doc.Content[0], path)
		if val != nil {
			out[[2]int{val.Line, val.Column}] = field
			walkNodes(val, func(n *yaml.Node) { out[[2]int{n.Line, n.Column}] = field })
		}
		if key != nil {
			out[[2]int{key.Line, key.Column}] = field
		}
	}
	return out
}

// find is the key and value nodes at path under n.
func find(n *yaml.Node, path []string) (key, val *yaml.Node) {
	for _, seg := range path {
		key, val = nil, nil
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == seg {
					key, val = n.Content[i], n.Content[i+1]
				}
			}
		case yaml.SequenceNode:
			if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(n.Content) {
				val = n.Content[i]
			}
		}
		if val == nil {
			return nil, nil
		}
		n = val
	}
	return key, val
}

// walkNodes calls fn on every node under n (a list's items: a problem at one of them
// is the field's).
func walkNodes(n *yaml.Node, fn func(*yaml.Node)) {
	for _, c := range n.Content {
		fn(c)
		walkNodes(c, fn)
	}
}
