package plan

import (
	"strings"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/compile"
	"github.com/oimconnect/oimconnect/pipeline/spec"
)

// Model is the compiled object model shared by every flow.
type Model struct {
	Catalog *catalog.Catalog
	Lookups map[string]compile.Lookup
}

// NewModel applies the spec model's references and labels to the catalog and
// compiles its lookups.
func NewModel(m *spec.Model, cat *catalog.Catalog) (*Model, error) {
	var probs spec.Problems
	for _, tname := range spec.SortedKeys(m.Tables) {
		t := m.Tables[tname]
		if _, ok := cat.Table(tname); !ok {
			probs = append(probs, m.Pos.KeyErrorf([]string{"tables", tname}, "unknown table %s: the database lacks it", tname))
			continue
		}
		for _, col := range spec.SortedKeys(t.References) {
			if _, ok := cat.Table(t.References[col]); !ok {
				if _, listed := m.Tables[t.References[col]]; !listed {
					probs = append(probs, m.Pos.Errorf([]string{"tables", tname, "references", col}, "unknown table %s: the database lacks it", t.References[col]))
				}
				continue // else reported once, at the table's own entry
			}
			if err := cat.AddReference(tname, col, t.References[col]); err != nil {
				probs = append(probs, m.Pos.Errorf([]string{"tables", tname, "references", col}, "%v", err))
			}
		}
		for _, label := range spec.SortedKeys(t.Labels) {
			if err := cat.AddLabel(tname, label, t.Labels[label]); err != nil {
				probs = append(probs, m.Pos.Errorf([]string{"tables", tname, "labels", label}, "%v", err))
			}
		}
	}
	out := &Model{Catalog: cat, Lookups: map[string]compile.Lookup{}}
	for _, name := range spec.SortedKeys(m.Lookups) {
		l := m.Lookups[name]
		at := []string{"lookups", name}
		t, ok := cat.Table(l.Table)
		if !ok {
			probs = append(probs, m.Pos.Errorf(append(at, "table"), "unknown table %s", l.Table))
			continue
		}
		for _, c := range append(append([]string{}, l.Match...), l.Within...) {
			if _, ok := t.Column(c); !ok {
				probs = append(probs, m.Pos.Errorf(at, "table %s has no column %s (columns: %s)", l.Table, c, strings.Join(t.ColumnNames(), ", ")))
			}
		}
		if len(l.Within) != 0 && len(l.Within) != 2 {
			probs = append(probs, m.Pos.Errorf(append(at, "within"), "within names two columns: [start, end]"))
		}
		for c := range l.Where {
			if _, ok := t.Column(c); !ok {
				probs = append(probs, m.Pos.Errorf(append(at, "where"), "table %s has no column %s", l.Table, c))
			}
		}
		out.Lookups[name] = compile.Lookup{Name: name, Table: t, Match: l.Match, Within: l.Within, Fold: l.Fold, Where: l.Where, Doc: l.Doc}
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return out, nil
}
