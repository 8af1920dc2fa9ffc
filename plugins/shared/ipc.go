package shared

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// Encode writes a record as an Arrow IPC stream.
func Encode(rec arrow.Record) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(encodedSize(rec)) // one allocation, rather than doubling a batch's megabytes
	w := ipc.NewWriter(&buf, ipc.WithSchema(rec.Schema()), ipc.WithAllocator(memory.DefaultAllocator))
	if err := w.Write(rec); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// encodedSize is about the size of a record's IPC stream: its buffers, their padding
// and the messages' metadata (more for a record sliced from a larger one).
func encodedSize(rec arrow.Record) int {
	n := 1024
	for _, f := range rec.Schema().Fields() {
		n += 128 + len(f.Name)
	}
	for _, c := range rec.Columns() {
		n += dataSize(c.Data())
	}
	return n
}

func dataSize(d arrow.ArrayData) int {
	n := 0
	for _, b := range d.Buffers() {
		if b != nil {
			n += b.Len() + 64
		}
	}
	for _, c := range d.Children() {
		if c, ok := c.(*array.Data); ok && c != nil {
			n += dataSize(c)
		}
	}
	if dict, ok := d.Dictionary().(*array.Data); ok && dict != nil {
		n += dataSize(dict)
	}
	return n
}

// Decode reads an Arrow IPC stream into one record (its batches concatenated). Bytes
// that are not such a stream are an error, never a panic.
func Decode(data []byte) (rec arrow.Record, err error) {
	defer func() {
		if r := recover(); r != nil {
			rec, err = nil, fmt.Errorf("not an Arrow IPC stream: %v", r)
		}
	}()
	r, err := ipc.NewReader(bytes.NewReader(data), ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return nil, fmt.Errorf("not an Arrow IPC stream: %w", err)
	}
	defer r.Release()
	var recs []arrow.Record
	for r.Next() {
		rec := r.Record()
		rec.Retain()
		recs = append(recs, rec)
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("not an Arrow IPC stream: %w", err)
	}
	return Concat(r.Schema(), recs)
}

// Concat makes one record of records of the same schema (an empty one for none).
func Concat(schema *arrow.Schema, recs []arrow.Record) (arrow.Record, error) {
	if len(recs) == 1 {
		return recs[0], nil
	}
	cols := make([]arrow.Array, schema.NumFields())
	var rows int64
	for _, r := range recs {
		if !r.Schema().Equal(schema) {
			return nil, errors.New("record batches of different schemas")
		}
		rows += r.NumRows()
	}
	for c := range cols {
		if len(recs) == 0 {
			cols[c] = array.MakeArrayOfNull(memory.DefaultAllocator, schema.Field(c).Type, 0)
			continue
		}
		parts := make([]arrow.Array, len(recs))
		for i, r := range recs {
			parts[i] = r.Column(c)
		}
		a, err := array.Concatenate(parts, memory.DefaultAllocator)
		if err != nil {
			return nil, err
		}
		cols[c] = a
	}
	return array.NewRecord(schema, cols, rows), nil
}
