package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Document is a configuration file's YAML as a node tree, edited in place: the keys an
// edit does not touch, their order and the comments stay as they were. The console's
// settings and schedules pages and `oimconnect user` change the file through it.
type Document struct {
	root *yaml.Node // the mapping at the top of the file
	doc  *yaml.Node
}

// ParseDocument reads a configuration file's YAML; empty data is an empty file.
func ParseDocument(data []byte) (*Document, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if len(doc.Content) == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config: the file must be a map of keys, not a %s", kindOf(root))
	}
	return &Document{root: root, doc: &doc}, nil
}

// ReadDocument reads the configuration file at path; a file that does not exist is an
// empty one.
func ReadDocument(path string) (*Document, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		data = nil
	} else if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return ParseDocument(data)
}

// Bytes is the edited file.
func (d *Document) Bytes() ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if len(d.root.Content) == 0 {
		return nil, nil
	}
	if err := enc.Encode(d.doc); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Set sets the value at path (map keys, and list indexes as numbers), making the maps
// on the way; a value replaced keeps its comments, and a flow-style map or list stays
// one.
func (d *Document) Set(value any, path ...string) error {
	var n yaml.Node
	if err := n.Encode(value); err != nil {
		return fmt.Errorf("config: %s: %w", dotted(path), err)
	}
	parent, err := d.walk(path[:len(path)-1], true)
	if err != nil {
		return err
	}
	last := path[len(path)-1]
	switch parent.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(parent.Content); i += 2 {
			if parent.Content[i].Value == last {
				keep(parent.Content[i+1], &n)
				parent.Content[i+1] = &n
				return nil
			}
		}
		parent.Content = append(parent.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: last}, &n)
		return nil
	case yaml.SequenceNode:
		i, err := strconv.Atoi(last)
		if err != nil || i < 0 || i >= len(parent.Content) {
			return fmt.Errorf("config: %s: no item %s", dotted(path[:len(path)-1]), last)
		}
		keep(parent.Content[i], &n)
		parent.Content[i] = &n
		return nil
	}
	return fmt.Errorf("config: %s is a single value, not a section", dotted(path[:len(path)-1]))
}

// Append adds value at the end of the list at path, making the list when missing.
func (d *Document) Append(value any, path ...string) error {
	var n yaml.Node
	if err := n.Encode(value); err != nil {
		return fmt.Errorf("config: %s: %w", dotted(path), err)
	}
	list, err := d.walk(path, true)
	if err != nil {
		return err
	}
	if list.Kind == yaml.MappingNode && len(list.Content) == 0 { // made just now
		list.Kind, list.Tag = yaml.SequenceNode, "!!seq"
	}
	if list.Kind != yaml.SequenceNode {
		return fmt.Errorf("config: %s is not a list", dotted(path))
	}
	list.Content = append(list.Content, &n)
	return nil
}

// Delete removes the value at path (a map key, or a list item); a missing one is no
// error.
func (d *Document) Delete(path ...string) error {
	parent, err := d.walk(path[:len(path)-1], false)
	if err != nil || parent == nil {
		return err
	}
	last := path[len(path)-1]
	switch parent.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(parent.Content); i += 2 {
			if parent.Content[i].Value == last {
				parent.Content = append(parent.Content[:i], parent.Content[i+2:]...)
				return nil
			}
		}
	case yaml.SequenceNode:
		if i, err := strconv.Atoi(last); err == nil && i >= 0 && i < len(parent.Content) {
			parent.Content = append(parent.Content[:i], parent.Content[i+1:]...)
		}
	}
	return nil
}

// Index is the position of the item, in the list at path, that is a map whose key holds
// value (a user by name), as the document is now: edits keyed by a name, not by a
// position read earlier, change the item meant even when the list changed meanwhile.
// It is -1 when no item matches (or there is no list).
func (d *Document) Index(key, value string, path ...string) (int, error) {
	list, err := d.walk(path, false)
	if err != nil || list == nil {
		return -1, err
	}
	if list.Kind != yaml.SequenceNode {
		return -1, fmt.Errorf("config: %s is not a list", dotted(path))
	}
	for i, item := range list.Content {
		if v, ok := scalarOf(item, key); ok && v == value {
			return i, nil
		}
	}
	return -1, nil
}

// Scalar is the single value at path as written; false when there is none.
func (d *Document) Scalar(path ...string) (string, bool) {
	parent, err := d.walk(path[:len(path)-1], false)
	if err != nil || parent == nil {
		return "", false
	}
	if parent.Kind == yaml.SequenceNode {
		i, err := strconv.Atoi(path[len(path)-1])
		if err != nil || i < 0 || i >= len(parent.Content) || parent.Content[i].Kind != yaml.ScalarNode {
			return "", false
		}
		return parent.Content[i].Value, true
	}
	return scalarOf(parent, path[len(path)-1])
}

// scalarOf is the single value under key of a map node.
func scalarOf(m *yaml.Node, key string) (string, bool) {
	if m.Kind == yaml.AliasNode {
		m = m.Alias
	}
	if m.Kind != yaml.MappingNode {
		return "", false
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if v := m.Content[i+1]; m.Content[i].Value == key && v.Kind == yaml.ScalarNode {
			return v.Value, true
		}
	}
	return "", false
}

// walk finds the node at path; with create, missing map keys on the way are added as
// empty maps (without, a missing one is nil).
func (d *Document) walk(path []string, create bool) (*yaml.Node, error) {
	n := d.root
	for i, seg := range path {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		switch n.Kind {
		case yaml.MappingNode:
			var next *yaml.Node
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value == seg {
					next = n.Content[j+1]
				}
			}
			if next == nil || (next.Kind == yaml.ScalarNode && next.Tag == "!!null") {
				if !create {
					return nil, nil
				}
				fresh := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
				if next != nil { // `key:` with nothing: becomes the map
					*next = *fresh
					fresh = next
				} else {
					n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: seg}, fresh)
				}
				next = fresh
			}
			n = next
		case yaml.SequenceNode:
			j, err := strconv.Atoi(seg)
			if err != nil || j < 0 || j >= len(n.Content) {
				return nil, fmt.Errorf("config: %s: no item %s", dotted(path[:i]), seg)
			}
			n = n.Content[j]
		default:
			return nil, fmt.Errorf("config: %s is a single value, not a section", dotted(path[:i]))
		}
	}
	return n, nil
}

// keep carries what the replaced node had that the new one should keep: comments, and
// the flow style of a map or list.
func keep(old, n *yaml.Node) {
	n.HeadComment, n.LineComment, n.FootComment = old.HeadComment, old.LineComment, old.FootComment
	if old.Kind == n.Kind && old.Style&yaml.FlowStyle != 0 && n.Kind != yaml.ScalarNode {
		n.Style |= yaml.FlowStyle
	}
}

func kindOf(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "single value"
	}
	return "map"
}

func dotted(path []string) string {
	if len(path) == 0 {
		return "the top level"
	}
	s := path[0]
	for _, p := range path[1:] {
		s += "." + p
	}
	return s
}

// WriteFileAtomic replaces the file at path with data all at once: written to a
// temporary file beside it, synced, and renamed over it (then the directory synced), so
// a crash leaves the old file or the new one, never half of either. The file keeps its
// permissions; a new one is readable by its owner only (it holds password hashes).
func WriteFileAtomic(path string, data []byte) error {
	mode := fs.FileMode(0o600)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after the rename, nothing
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
