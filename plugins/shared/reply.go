package shared

import (
	"slices"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
)

// A reply carries, of each table the transform changed, only the columns whose values
// differ from what the plugin received, in the order received: the host keeps every
// other column as it sent it, so a plugin passes the columns it does not change
// through untouched, and they do not travel back. A table that no longer matches what
// was received (rows added or dropped; a column added, renamed or retyped) goes back
// whole, for the host to refuse it. Rows reordered, or a key changed, show as a
// changed key column (every row's key differs), which the host refuses too. A column
// left out of a reply, dropped or not, keeps the values sent.

// changes is what the plugin sends back for a changed table: nil when every value is
// still the one received.
func (t *Table) changes() arrow.Record {
	sent, rec := t.sent, t.rec
	if sent == nil || rec == nil || rec.NumRows() != sent.NumRows() || !rec.Schema().Equal(sent.Schema()) {
		return rec
	}
	var fields []arrow.Field
	var cols []arrow.Array
	for i, c := range rec.Columns() {
		if c == sent.Column(i) || array.Equal(c, sent.Column(i)) {
			continue
		}
		fields = append(fields, rec.Schema().Field(i))
		cols = append(cols, c)
	}
	switch len(cols) {
	case 0:
		return nil
	case int(rec.NumCols()):
		return rec
	}
	return array.NewRecord(arrow.NewSchema(fields, nil), cols, rec.NumRows())
}

// merge applies a reply to the table (host side).
func (t *Table) merge(reply arrow.Record) { t.Replace(Merge(t.rec, reply)) }

// Merge is the record a reply makes of the one sent (for hosts): a reply holding some
// of the columns sent, in the order sent, with their types and as many rows, replaces
// those columns and keeps the others (the very arrays sent); any other reply is
// returned as it is, for the host's checks to refuse.
func Merge(sent, reply arrow.Record) arrow.Record {
	if reply.NumRows() != sent.NumRows() || reply.NumCols() >= sent.NumCols() {
		return reply
	}
	cols := slices.Clone(sent.Columns())
	j := 0
	for i, f := range reply.Schema().Fields() {
		for j < len(cols) && sent.Schema().Field(j).Name != f.Name {
			j++
		}
		if j == len(cols) || !arrow.TypeEqual(sent.Schema().Field(j).Type, f.Type) {
			return reply
		}
		cols[j] = reply.Column(i)
		j++
	}
	return array.NewRecord(sent.Schema(), cols, sent.NumRows())
}
