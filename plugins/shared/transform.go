// Package shared is the SDK of oimconnect transform plugins, in the shape of
// go-plugin's examples/grpc: the Transform interface a tenant implements, the batch it
// receives (a flow's mapped documents and lines as Arrow records), the Handshake and
// PluginMap both sides use, and the gRPC adapters between them. A tenant's plugin is a
// program whose main calls Serve:
//
//	type upper struct{}
//
//	func (upper) Transform(ctx context.Context, b *shared.Batch) error {
//		for _, t := range b.Lines() {
//			err := t.MapText("line_description", func(_ int, v sql.NullString) sql.NullString {
//				v.String = strings.ToUpper(v.String)
//				return v
//			})
//			if err != nil {
//				return err
//			}
//		}
//		return nil
//	}
//
//	func main() { shared.Serve(upper{}) }
//
// A transform may set fields and mark documents invalid (Batch.Invalidate); it may not
// add, drop or reorder rows, change keys (the _ columns, a table's id, a line's
// document id) or change a column's type: the host checks every reply and fails the
// batch's documents when it breaks one of these rules.
package shared

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// The engine's own columns, present in every table of a batch.
const (
	// KeyColumn holds the source record's key: every row of one document (and of the
	// documents one record splits into) has the same. Batch.Invalidate takes it.
	KeyColumn = "_hkey"
	// LineKeyColumn holds a line's source line key (null on lines made from the header,
	// such as a discount line).
	LineKeyColumn = "_lkey"
)

// Transform changes one batch of a flow's documents. It runs in the plugin process;
// the host calls it for batches of whole documents (a document's header and all its
// lines come in the same batch) and waits at most the configured timeout. An error
// fails every document of the batch, with the error's text as their reason.
type Transform interface {
	Transform(ctx context.Context, b *Batch) error
}

// ColumnSelector is implemented by a Transform that reads or sets only some columns:
// the host then sends only those (plus the keys), which makes large batches cheaper.
// Columns maps a target table (e.g. acct.sales_invoice_line_item) to the columns
// wanted; a table left out is not sent, an empty list sends all its columns, and a nil
// map sends everything.
type ColumnSelector interface {
	Columns(flow string) map[string][]string
}

// Batch is whole documents of one flow: the documents' table first, then a table per
// line target, each holding the rows exactly as they will be inserted (the target
// table's columns, typed as the target: money is decimal128) plus the engine's _
// columns.
type Batch struct {
	Flow string
	// Settings are the plugin's settings from the configuration (plugins[].settings).
	Settings map[string]any
	Tables   []*Table
	invalid  []Invalid
}

// Invalid is a document the transform refuses: the source record's key and why. The
// record gets Export Error with the reason, like any invalid record.
type Invalid struct {
	Key    string
	Reason string
}

// Invalidate marks the documents of the source record key (a KeyColumn value) invalid:
// none of them is written, and the record gets Export Error with the reason.
func (b *Batch) Invalidate(key, reason string) {
	b.invalid = append(b.invalid, Invalid{Key: key, Reason: reason})
}

// Invalid lists the documents marked invalid, one entry per key in the order first
// marked (several reasons for one key are joined with "; ").
func (b *Batch) Invalid() []Invalid {
	var out []Invalid
	at := map[string]int{}
	for _, v := range b.invalid {
		if i, ok := at[v.Key]; ok {
			out[i].Reason += "; " + v.Reason
			continue
		}
		at[v.Key] = len(out)
		out = append(out, v)
	}
	return out
}

// Table returns the table of that target name (e.g. acct.sales_invoice), or nil.
func (b *Batch) Table(name string) *Table {
	for _, t := range b.Tables {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Documents returns the documents' table (nil when the plugin did not ask for it).
func (b *Batch) Documents() *Table {
	for _, t := range b.Tables {
		if t.Header {
			return t
		}
	}
	return nil
}

// Lines returns the line tables.
func (b *Batch) Lines() []*Table {
	var out []*Table
	for _, t := range b.Tables {
		if !t.Header {
			out = append(out, t)
		}
	}
	return out
}

// DecodeSettings decodes the settings into v (a pointer to a struct with json tags).
func (b *Batch) DecodeSettings(v any) error {
	data, err := json.Marshal(b.Settings)
	if err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	return nil
}

// Table is one target table's rows in a batch.
type Table struct {
	// Name is the target table, e.g. acct.sales_invoice_line_item.
	Name string
	// Header is true for the documents' table.
	Header  bool
	rec     arrow.Record
	sent    arrow.Record // the rows as received: a reply carries only what differs
	changed bool
}

// NewTable is a table holding rec (for hosts and tests; plugins receive theirs).
func NewTable(name string, header bool, rec arrow.Record) *Table {
	return &Table{Name: name, Header: header, rec: rec, sent: rec}
}

// Record returns the table's rows. Records use Go memory: Release is not needed.
func (t *Table) Record() arrow.Record { return t.rec }

// Changed reports whether the transform set anything in the table.
func (t *Table) Changed() bool { return t.changed }

// Len is the number of rows.
func (t *Table) Len() int { return int(t.rec.NumRows()) }

// Index returns the position of a column, or -1.
func (t *Table) Index(column string) int {
	idx := t.rec.Schema().FieldIndices(column)
	if len(idx) == 0 {
		return -1
	}
	return idx[0]
}

// Column returns a column's values, or nil when the table has no such column.
func (t *Table) Column(column string) arrow.Array {
	i := t.Index(column)
	if i < 0 {
		return nil
	}
	return t.rec.Column(i)
}

// Text returns a text column, or nil when there is no such column or it is not text.
func (t *Table) Text(column string) *array.String {
	a, _ := t.Column(column).(*array.String)
	return a
}

// TextAt reads one row of a text column (not valid when null or absent).
func (t *Table) TextAt(column string, row int) sql.NullString {
	a := t.Text(column)
	if a == nil || a.IsNull(row) {
		return sql.NullString{}
	}
	return sql.NullString{String: a.Value(row), Valid: true}
}

// Set replaces a column's values; they must have the column's type and one value per
// row.
func (t *Table) Set(column string, values arrow.Array) error {
	i := t.Index(column)
	if i < 0 {
		return fmt.Errorf("%s has no column %s (columns: %s)", t.Name, column, strings.Join(t.columnNames(), ", "))
	}
	f := t.rec.Schema().Field(i)
	if !arrow.TypeEqual(f.Type, values.DataType()) {
		return fmt.Errorf("%s.%s is %s, not %s", t.Name, column, f.Type, values.DataType())
	}
	if values.Len() != t.Len() {
		return fmt.Errorf("%s.%s: %d values for %d rows", t.Name, column, values.Len(), t.Len())
	}
	cols := make([]arrow.Array, t.rec.NumCols())
	copy(cols, t.rec.Columns())
	cols[i] = values
	t.rec = array.NewRecord(t.rec.Schema(), cols, t.rec.NumRows())
	t.changed = true
	return nil
}

// MapText sets every row of a text column to f(row, value); a null comes in and goes
// out with Valid false.
func (t *Table) MapText(column string, f func(row int, v sql.NullString) sql.NullString) error {
	a := t.Text(column)
	if a == nil {
		if t.Index(column) < 0 {
			return fmt.Errorf("%s has no column %s (columns: %s)", t.Name, column, strings.Join(t.columnNames(), ", "))
		}
		return fmt.Errorf("%s.%s is not text", t.Name, column)
	}
	b := array.NewStringBuilder(memory.DefaultAllocator)
	defer b.Release()
	b.Reserve(a.Len())
	b.ReserveData(len(a.ValueBytes())) // about as long as the values received: no regrowth
	for i := 0; i < a.Len(); i++ {
		v := sql.NullString{}
		if a.IsValid(i) {
			v = sql.NullString{String: a.Value(i), Valid: true}
		}
		if v = f(i, v); v.Valid {
			b.Append(v.String)
		} else {
			b.AppendNull()
		}
	}
	out := b.NewArray()
	defer out.Release()
	return t.Set(column, out)
}

// Replace swaps the whole record (same columns and types, same rows and keys, or the
// host refuses the batch).
func (t *Table) Replace(rec arrow.Record) {
	t.rec = rec
	t.changed = true
}

func (t *Table) columnNames() []string {
	var out []string
	for _, f := range t.rec.Schema().Fields() {
		out = append(out, f.Name)
	}
	sort.Strings(out)
	return out
}
