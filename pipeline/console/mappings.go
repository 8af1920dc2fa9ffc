package console

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/oimconnect/oimconnect/pipeline/spec"
)

// The mappings page draws each flow's spec the way the product documents draw their
// mappings ("Invoicing Field | Static Value | Sales Invoice Field"), with the selection,
// the conditions records wait for, the derived fields and the rules in words. It reads
// the specs in use, so it never drifts from what runs.

// mappingRow is one target field and where its value comes from.
type mappingRow struct {
	Source, Static, Target string
	Expr                   string // an expression, shown beside its words
	Note                   string // the spec's comment
}

// mappingTable is the mapping of one document or line kind.
type mappingTable struct {
	Title, SourceCol, TargetCol string
	Kind                        string // what makes a row of it
	When, WhenWords             string
	Skip                        bool
	Note                        string
	Rows                        []mappingRow
	WriteBack                   string
}

// phraseView is an expression of the spec with its words and comment.
type phraseView struct {
	Name, Expr, Words, Note string
}

// ruleView is a validity rule.
type ruleView struct {
	Check, CheckWords, When, WhenWords, Message string
	Line                                        bool
}

// mappingData is one flow's mapping page.
type mappingData struct {
	Flow, Description            string
	Source, Lines, Target        string
	SelectNote, ReadyNote        string
	Select, Ready                []phraseView
	Derived                      []phraseView
	Rules                        []ruleView
	Tables                       []mappingTable
	LineLimit, LineLimitWords    string
	IDs, Upsert, Update, Updates string
}

func (s *Server) mappings(w http.ResponseWriter, r *http.Request) {
	var all []mappingData
	for _, f := range s.specs.Ordered() {
		all = append(all, flowMapping(f))
	}
	s.render(w, r, http.StatusOK, "mappings", view{Title: "Mappings", Nav: "mappings", Data: all})
}

func (s *Server) mapping(w http.ResponseWriter, r *http.Request) {
	f := s.specs.Flows[r.PathValue("flow")]
	if f == nil {
		s.fail(w, r, notFound("no flow %s", r.PathValue("flow")))
		return
	}
	s.render(w, r, http.StatusOK, "mapping", view{Title: f.Name + ": mappings", Nav: "mappings", Data: flowMapping(f)})
}

// flowMapping draws one flow's spec.
func flowMapping(f *spec.Flow) mappingData {
	d := mappingData{Flow: f.Name, Description: f.Description, Source: f.Source.Table, Target: f.Document.Into,
		SelectNote: f.Pos.Comment("select"), ReadyNote: f.Pos.Comment("ready"),
		LineLimit: f.Document.LineLimit, LineLimitWords: words(f.Document.LineLimit)}
	if f.Source.Lines != nil {
		d.Lines = f.Source.Lines.Table
	}
	for i, c := range f.Select {
		d.Select = append(d.Select, phraseView{Expr: c, Words: words(c), Note: f.Pos.Comment("select", strconv.Itoa(i))})
	}
	for i, c := range f.Ready {
		d.Ready = append(d.Ready, phraseView{Expr: c, Words: words(c), Note: f.Pos.Comment("ready", strconv.Itoa(i))})
	}
	for _, sec := range []struct {
		key   string
		exprs map[string]string
	}{{"header", f.Derive.Header}, {"lines", f.Derive.Lines}} {
		for _, name := range inFileOrder(f, sec.exprs, "derive", sec.key) {
			label := name
			if sec.key == "lines" {
				label = "line " + name
			}
			d.Derived = append(d.Derived, phraseView{Name: label, Expr: sec.exprs[name], Words: words(sec.exprs[name]), Note: f.Pos.Comment("derive", sec.key, name)})
		}
	}
	for _, sec := range []struct {
		rules []spec.Rule
		line  bool
	}{{f.Rules.Header, false}, {f.Rules.Lines, true}} {
		for _, rule := range sec.rules {
			rv := ruleView{Check: rule.Check, CheckWords: words(rule.Check), When: rule.When, Message: rule.Message, Line: sec.line}
			if rule.When != "" {
				rv.WhenWords = words(rule.When)
			}
			d.Rules = append(d.Rules, rv)
		}
	}
	if f.Document.ID != "" {
		d.IDs = f.Document.ID
	}
	if u := f.Document.Upsert; u != nil {
		d.Upsert, d.Update, d.Updates = words(u.Existing), u.Update, words(u.Update)
	}
	head := mappingTable{
		Title:     fmt.Sprintf("Mappings between %s Fields and %s Fields", tableWords(f.Source.Table), tableWords(f.Document.Into)),
		SourceCol: tableWords(f.Source.Table) + " Field", TargetCol: tableWords(f.Document.Into) + " Field",
		Kind: "one per record", Rows: fieldRows(f, f.Document.Fields, "document", "fields"), WriteBack: f.Document.WriteBack.Link,
	}
	d.Tables = append(d.Tables, head)
	for i, k := range f.Document.Lines {
		t := mappingTable{SourceCol: "Line Field", TargetCol: tableWords(k.Into) + " Field", When: k.When, Skip: k.Skip,
			Note: f.Pos.Comment("document", "lines", strconv.Itoa(i)), WriteBack: k.WriteBack.Link,
			Rows: fieldRows(f, k.Fields, "document", "lines", strconv.Itoa(i), "fields")}
		if k.When != "" {
			t.WhenWords = words(k.When)
		}
		switch k.From {
		case "header":
			t.Kind = "one extra line per record"
			t.SourceCol = tableWords(f.Source.Table) + " Field"
		default:
			t.Kind = "one per source line"
			if f.Source.Lines != nil {
				t.SourceCol = tableWords(f.Source.Lines.Table) + " Field"
			}
		}
		t.Title = fmt.Sprintf("%s lines (%s): mappings to %s Fields", capital(k.Name), t.Kind, tableWords(k.Into))
		if k.Skip {
			t.Title = fmt.Sprintf("%s lines: no document line", capital(k.Name))
		}
		d.Tables = append(d.Tables, t)
	}
	return d
}

// fieldRows are a document's or line kind's fields, in the spec's order.
func fieldRows(f *spec.Flow, fields map[string]spec.Field, at ...string) []mappingRow {
	var out []mappingRow
	for _, name := range inFileOrder(f, fields, at...) {
		fd := fields[name]
		row := mappingRow{Target: name, Note: f.Pos.Comment(append(append([]string{}, at...), name)...)}
		switch fd.Kind() {
		case "value":
			row.Static = staticWords(fd.Value)
		case "expr":
			row.Source, row.Expr = words(fd.Expr), fd.Expr
		default:
			row.Source = fd.Path
		}
		out = append(out, row)
	}
	return out
}

// inFileOrder lists a map's keys in the order the spec file writes them.
func inFileOrder[V any](f *spec.Flow, m map[string]V, at ...string) []string {
	keys := spec.SortedKeys(m)
	line := func(k string) int {
		l, _ := f.Pos.At(append(append([]string{}, at...), k)...)
		return l
	}
	sort.SliceStable(keys, func(i, j int) bool { return line(keys[i]) < line(keys[j]) })
	return keys
}

// staticWords is a static value as the product documents write it.
func staticWords(v any) string {
	switch x := v.(type) {
	case bool:
		if x {
			return "Selected (true)"
		}
		return "Deselected (false)"
	case nil:
		return "(empty)"
	}
	return fmt.Sprint(v)
}

// capital is s with a capital letter first ("Document" for none).
func capital(s string) string {
	if s == "" {
		return "Document"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// tableWords is a table's name as the documents write it: acct.sales_invoice_line_item
// is Sales Invoice Line Item.
func tableWords(table string) string {
	_, name, ok := strings.Cut(table, ".")
	if !ok {
		name = table
	}
	parts := strings.Split(name, "_")
	for i, p := range parts {
		switch p {
		case "ap", "ar", "oim", "gl", "icp":
			parts[i] = strings.ToUpper(p)
		default:
			if p != "" {
				parts[i] = strings.ToUpper(p[:1]) + p[1:]
			}
		}
	}
	return strings.Join(parts, " ")
}
