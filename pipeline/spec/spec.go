// Package spec defines the flow specs data teams edit (one YAML file per flow) and the
// shared object model, loads them with koanf, and checks their shape with positions
// (file:line:column) taken from a parallel yaml.Node parse.
package spec

import (
	"errors"
	"fmt"
	"slices"
	"sort"
)

// Flow is one flow: where its records come from, when they are exported, how they are
// checked and mapped, and where the documents go.
type Flow struct {
	Name        string `koanf:"flow" doc:"the flow's name, used by --flow"`
	Description string `koanf:"description" doc:"one line on what the flow creates"`
	// Order places the flow among the others when all run (lowest first).
	Order     int            `koanf:"order" doc:"position among the flows when all run, lowest first"`
	Source    Source         `koanf:"source" doc:"the source records: header table and lines"`
	Constants map[string]any `koanf:"constants" doc:"named values the expressions can use"`
	Derive    Derive         `koanf:"derive" doc:"fields the connector fills when the source leaves them empty (given values win)"`
	Select    []string       `koanf:"select" doc:"conditions on the header, all must hold: a record that fails one is left untouched"`
	Ready     []string       `koanf:"ready" doc:"conditions a selected record waits for (it stays as it is and counts as waiting)"`
	Rules     Rules          `koanf:"rules" doc:"validity rules: a selected record breaking one gets Export Error with the message"`
	Document  Document       `koanf:"document" doc:"the document created per record, its lines and the write-back"`
	Reconcile *Reconcile     `koanf:"reconcile" doc:"what oimconnect reconcile compares: each exported record's total against its documents'"`

	// File is where the spec was read from; Pos finds positions inside it.
	File string     `koanf:"-"`
	Pos  *Positions `koanf:"-"`
}

// Source names the source tables.
type Source struct {
	Table  string      `koanf:"table" doc:"the header table, e.g. oim.invoice"`
	Status string      `koanf:"status" doc:"the export status column (default export_status); none: the source has no export status, select decides alone"`
	Error  string      `koanf:"error" doc:"the export error column (default export_error)"`
	Date   string      `koanf:"date" doc:"the document date column: backfill partitions records by it"`
	Lines  *LineSource `koanf:"lines" doc:"the line table, if the records have lines"`
}

// LineSource names the line table of a flow.
type LineSource struct {
	Table  string   `koanf:"table" doc:"the line table, e.g. oim.invoice_line"`
	Parent string   `koanf:"parent" doc:"the line column holding the header key, e.g. invoice_id"`
	Order  []string `koanf:"order" doc:"the columns giving source line order"`
}

// Derive lists derived fields, each an expression.
type Derive struct {
	Header map[string]string `koanf:"header" doc:"header field -> expression"`
	Lines  map[string]string `koanf:"lines" doc:"line field -> expression"`
}

// Rules are the validity rules.
type Rules struct {
	Header []Rule `koanf:"header" doc:"rules on the header"`
	Lines  []Rule `koanf:"lines" doc:"rules on each line; messages get the prefix 'line <id>: '"`
}

// Rule is one validity rule.
type Rule struct {
	Check   string `koanf:"check" doc:"condition that must hold"`
	When    string `koanf:"when" doc:"the rule applies only when this holds"`
	Message string `koanf:"message" doc:"the export_error text; {expression} inserts a value"`
}

// Document describes the created documents.
type Document struct {
	Into      string           `koanf:"into" doc:"the target header table, e.g. acct.sales_invoice"`
	IDPrefix  string           `koanf:"id_prefix" doc:"document ids are <id_prefix><source id>/<split>"`
	ID        string           `koanf:"id" doc:"an expression giving the document id instead (flows without lines only)"`
	Upsert    *Upsert          `koanf:"upsert" doc:"update or link existing target rows instead of always creating"`
	LineLimit string           `koanf:"line_limit" doc:"the most lines per document, more are split: a whole number, a constant or a setting (settings.sales_invoice_line_limit)"`
	WhenEmpty string           `koanf:"when_empty" enum:"error,skip,document" doc:"a record with no lines: error (default), skip (export with no document) or document"`
	Fields    map[string]Field `koanf:"fields" doc:"target field -> source path, {value: static} or {expr: expression}"`
	WriteBack WriteBack        `koanf:"write_back" doc:"what the source gets back"`
	Lines     []LineKind       `koanf:"lines" doc:"the kinds of document lines, in output order"`
}

// Reconcile says how an exported record's documents must add up: its total in the
// source (an expression over the record, its lines and the settings) against the sum of
// its documents' line amounts (one expression per target line table, over the line's
// fields), and, for documents that must balance (journals), a line amount that sums to
// zero per document.
type Reconcile struct {
	Source  string            `koanf:"source" doc:"the record's total: an expression over the record, its lines and the settings, e.g. sum(lines, .amount) - discount_amount"`
	Lines   map[string]string `koanf:"lines" doc:"target line table -> the line's amount, e.g. round_half_up(quantity * unit_price, 2)"`
	Balance string            `koanf:"balance" doc:"a line amount that must sum to zero per document (journals), e.g. value"`
}

// Upsert makes a flow update or link an existing target row when there is one.
type Upsert struct {
	Existing string   `koanf:"existing" doc:"expression giving the key of the existing target row, nil to create one"`
	Update   string   `koanf:"update" doc:"condition: write the mapped fields onto the existing row (else only link it)"`
	Linked   []string `koanf:"linked" doc:"mapped fields written onto an existing row that is linked but not updated (update false): what records the link, e.g. the source record and the time it was linked"`
	Latest   string   `koanf:"latest" doc:"expression: when several records create or update one target row, the record with the greatest value writes it (default: the lowest record key), e.g. a last-changed time"`
}

// LineKind is one kind of document line: made from source lines, or one extra line per
// header (a discount line, a tax summary line).
type LineKind struct {
	Name      string           `koanf:"name" doc:"a name for messages, e.g. discount"`
	From      string           `koanf:"from" enum:"lines,header" doc:"lines (one per source line) or header (one extra line per record)"`
	When      string           `koanf:"when" doc:"condition for this kind; source lines take the first kind whose condition holds"`
	Skip      bool             `koanf:"skip" doc:"source lines of this kind make no document line (and are no error)"`
	Into      string           `koanf:"into" doc:"the target line table"`
	Parent    string           `koanf:"parent" doc:"the target column holding the document id"`
	Fields    map[string]Field `koanf:"fields" doc:"target field -> source path, {value: static} or {expr: expression}"`
	WriteBack WriteBack        `koanf:"write_back" doc:"what the source line gets back"`
}

// WriteBack names the source column that receives the created document's id.
type WriteBack struct {
	Link string `koanf:"link" doc:"source column set to the (last) created document or line id"`
}

// Field is the source of one target field: exactly one of a path, a static value or an
// expression. In YAML a plain string is a path.
type Field struct {
	Path  string `koanf:"path" doc:"a relationship path, e.g. Item > Product Group > Dimension 1"`
	Expr  string `koanf:"expr" doc:"an expression"`
	Value any    `koanf:"value" doc:"a static value"`
	// HasValue distinguishes `value: null` from no value.
	HasValue bool `koanf:"-"`
}

// Kind says which of path, value, expr is set.
func (f Field) Kind() string {
	switch {
	case f.HasValue:
		return "value"
	case f.Expr != "":
		return "expr"
	}
	return "path"
}

// SortedKeys returns the keys of a map in order, so plans and messages are stable.
func SortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Model is the shared object model: references between tables, labels for columns, and
// named lookups. It lives in specs/model.yaml.
type Model struct {
	Tables  map[string]ModelTable  `koanf:"tables" doc:"per table (schema.name): labels and references"`
	Lookups map[string]ModelLookup `koanf:"lookups" doc:"named lookups callable from expressions"`

	File string     `koanf:"-"`
	Pos  *Positions `koanf:"-"`
}

// ModelTable declares a table's references and labels.
type ModelTable struct {
	References map[string]string `koanf:"references" doc:"column -> the table whose key it holds"`
	Labels     map[string]string `koanf:"labels" doc:"label as the product documents write it -> column"`
}

// ModelLookup declares a lookup: find the row of Table whose Match columns equal the
// arguments (and, with Within, whose [start, end] holds the last argument).
type ModelLookup struct {
	Table  string            `koanf:"table" doc:"the table searched"`
	Match  []string          `koanf:"match" doc:"columns compared with the leading arguments"`
	Within []string          `koanf:"within" doc:"[start column, end column] holding the last argument"`
	Fold   bool              `koanf:"fold" doc:"compare text trimmed and case-insensitively"`
	Where  map[string]string `koanf:"where" doc:"only rows whose column equals the value: column -> value"`
	Doc    string            `koanf:"doc" doc:"what the lookup finds"`
}

// Problem is a spec error at a position.
type Problem struct {
	File         string
	Line, Column int
	Msg          string
}

func (p Problem) Error() string {
	if p.Line == 0 {
		return fmt.Sprintf("%s: %s", p.File, p.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Column, p.Msg)
}

// Problems is a list of spec errors, reported together.
type Problems []Problem

// ProblemsOf are the positioned problems an error holds (a Problem or Problems,
// wrapped or not).
func ProblemsOf(err error) (Problems, bool) {
	var ps Problems
	var p Problem
	switch {
	case errors.As(err, &ps):
		return ps, true
	case errors.As(err, &p):
		return Problems{p}, true
	}
	return nil, false
}

// Add appends the positioned problems err holds (nothing for nil), but for those it
// holds already: one mistake two checks meet is one problem. An error that holds none
// is no spec mistake: it is returned, for the caller to stop at.
func (ps *Problems) Add(err error) error {
	if err == nil {
		return nil
	}
	more, ok := ProblemsOf(err)
	if !ok {
		return err
	}
	for _, p := range more {
		if !slices.Contains(*ps, p) { // one mistake found by two checks is one problem
			*ps = append(*ps, p)
		}
	}
	return nil
}

func (ps Problems) Error() string {
	s := ""
	for i, p := range ps {
		if i > 0 {
			s += "\n"
		}
		s += p.Error()
	}
	return s
}
