package shared_test

import (
	"bytes"
	"context"
	"database/sql"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/decimal128"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/oimconnect/oimconnect/plugins/proto"
	"github.com/oimconnect/oimconnect/plugins/shared"
)

func TestFormatDecimal(t *testing.T) {
	for _, c := range []struct {
		v     int64
		scale int32
		want  string
	}{
		{25000, 4, "2.5000"}, {-50, 2, "-0.50"}, {0, 2, "0.00"}, {7, 0, "7"}, {1, 4, "0.0001"},
		{-999999999999999999, 4, "-99999999999999.9999"}, {12, -2, "1200"},
	} {
		if got := shared.FormatDecimal(decimal128.FromI64(c.v), c.scale); got != c.want {
			t.Errorf("FormatDecimal(%d, %d) = %q, want %q", c.v, c.scale, got, c.want)
		}
	}
	big := decimal128.New(1, 0) // 2^64
	if got := shared.FormatDecimal(big, 2); got != "184467440737095516.16" {
		t.Errorf("beyond 64 bits: %s", got)
	}
}

// lines is a small line table: _hkey, line_description (text), quantity (decimal).
func lines(t *testing.T) arrow.Record {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "_hkey", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "line_description", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "quantity", Type: &arrow.Decimal128Type{Precision: 18, Scale: 4}, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"INV-1", "INV-1", "INV-2"}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"one", "", "three"}, []bool{true, false, true})
	b.Field(2).(*array.Decimal128Builder).AppendValues([]decimal128.Num{decimal128.FromI64(10000), decimal128.FromI64(25000), decimal128.FromI64(-5)}, nil)
	return b.NewRecord()
}

func TestEncodeDecode(t *testing.T) {
	rec := lines(t)
	data, err := shared.Encode(rec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := shared.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !array.RecordEqual(rec, got) {
		t.Errorf("round trip changed the record:\n%v\n%v", rec, got)
	}
	for _, garbage := range [][]byte{nil, []byte("this is not Arrow IPC"), data[:len(data)/2], bytes.Repeat([]byte{0xff}, 64)} {
		if _, err := shared.Decode(garbage); err == nil {
			t.Errorf("Decode(%q...) = nil error", garbage[:min(len(garbage), 8)])
		}
	}
}

func TestTableSetChecksTypeAndLength(t *testing.T) {
	tab := shared.NewTable("acct.sales_invoice_line_item", false, lines(t))
	err := tab.MapText("line_description", func(_ int, v sql.NullString) sql.NullString {
		v.String = strings.ToUpper(v.String)
		return v
	})
	if err != nil || !tab.Changed() {
		t.Fatalf("MapText: %v (changed %v)", err, tab.Changed())
	}
	if got := tab.TextAt("line_description", 0); got.String != "ONE" || !got.Valid {
		t.Errorf("row 0: %v", got)
	}
	if got := tab.TextAt("line_description", 1); got.Valid {
		t.Errorf("a null stays null: %v", got)
	}
	f := array.NewFloat64Builder(memory.DefaultAllocator)
	f.AppendValues([]float64{1, 2, 3}, nil)
	if err := tab.Set("quantity", f.NewArray()); err == nil || !strings.Contains(err.Error(), "is decimal(18, 4), not float64") {
		t.Errorf("money stays decimal: %v", err)
	}
	s := array.NewStringBuilder(memory.DefaultAllocator)
	s.AppendValues([]string{"a"}, nil)
	if err := tab.Set("line_description", s.NewArray()); err == nil || !strings.Contains(err.Error(), "1 values for 3 rows") {
		t.Errorf("one value per row: %v", err)
	}
	if err := tab.MapText("nope", nil); err == nil || !strings.Contains(err.Error(), "has no column nope") {
		t.Errorf("unknown column: %v", err)
	}
}

func TestInvalidMergesReasons(t *testing.T) {
	b := &shared.Batch{}
	b.Invalidate("INV-2", "no region")
	b.Invalidate("INV-1", "a")
	b.Invalidate("INV-2", "no price")
	got := b.Invalid()
	if len(got) != 2 || got[0] != (shared.Invalid{Key: "INV-2", Reason: "no region; no price"}) || got[1].Key != "INV-1" {
		t.Errorf("got %v", got)
	}
}

type upper struct{}

func (upper) Transform(_ context.Context, b *shared.Batch) error {
	for _, t := range b.Lines() {
		if err := t.MapText("line_description", func(_ int, v sql.NullString) sql.NullString {
			v.String = strings.ToUpper(v.String)
			return v
		}); err != nil {
			return err
		}
	}
	b.Invalidate("INV-2", "too small")
	return nil
}

type panicky struct{}

func (panicky) Transform(context.Context, *shared.Batch) error { panic("boom") }

// The server side decodes, transforms and encodes only what changed (of a changed
// table, the columns whose values differ); a panic becomes the batch's error.
func TestServer(t *testing.T) {
	data, err := shared.Encode(lines(t))
	if err != nil {
		t.Fatal(err)
	}
	req := &proto.TransformRequest{Flow: "sales-invoices", Settings: []byte(`{"k":"v"}`), Tables: []*proto.Table{
		{Name: "acct.sales_invoice_line_item", Arrow: data}}}
	resp, err := (&shared.GRPCServer{Impl: upper{}}).Transform(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Tables) != 1 || len(resp.Invalid) != 1 || resp.Invalid[0].Key != "INV-2" {
		t.Fatalf("response %v", resp)
	}
	rec, err := shared.Decode(resp.Tables[0].Arrow)
	if err != nil {
		t.Fatal(err)
	}
	if rec.NumCols() != 1 || rec.ColumnName(0) != "line_description" || rec.NumRows() != 3 {
		t.Fatalf("the reply holds line_description alone: %v", rec.Schema())
	}
	if v := rec.Column(0).(*array.String).Value(2); v != "THREE" {
		t.Errorf("row 2: %q", v)
	}
	if _, err := (&shared.GRPCServer{Impl: panicky{}}).Transform(context.Background(), req); err == nil || !strings.Contains(err.Error(), "panic: boom") {
		t.Errorf("a panic fails the batch: %v", err)
	}
}

// client is a host's client of a transform served in process over a Unix socket.
func client(t testing.TB, impl shared.Transform) *shared.GRPCClient {
	t.Helper()
	lis, err := net.Listen("unix", filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	srv := shared.NewGRPCServer(nil)
	proto.RegisterTransformerServer(srv, &shared.GRPCServer{Impl: impl})
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("unix://"+lis.Addr().String(), append(shared.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	raw, err := (&shared.GRPCPlugin{}).GRPCClient(context.Background(), nil, conn)
	if err != nil {
		t.Fatal(err)
	}
	return raw.(*shared.GRPCClient)
}

type same struct{}

func (same) Transform(_ context.Context, b *shared.Batch) error {
	return b.Lines()[0].MapText("line_description", func(_ int, v sql.NullString) sql.NullString { return v })
}

type replaceWith func(rec arrow.Record) arrow.Record

func (f replaceWith) Transform(_ context.Context, b *shared.Batch) error {
	t := b.Lines()[0]
	t.Replace(f(t.Record()))
	return nil
}

// The columns a transform leaves as they were do not travel back: the host's batch
// keeps the very arrays it sent, and gets the changed ones; a column the transform
// dropped keeps its values too. A reply that no longer matches what was sent (a
// column retyped) comes back whole, for the host to refuse.
func TestReplyCarriesOnlyChangedColumns(t *testing.T) {
	sent := lines(t)
	send := func(impl shared.Transform) *shared.Table {
		b := &shared.Batch{Flow: "f", Tables: []*shared.Table{shared.NewTable("acct.sales_invoice_line_item", false, sent)}}
		if err := client(t, impl).Transform(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		return b.Tables[0]
	}
	got := send(upper{})
	if !got.Changed() || !got.Record().Schema().Equal(sent.Schema()) {
		t.Fatalf("changed with the columns sent: %v %v", got.Changed(), got.Record().Schema())
	}
	for i, name := range []string{"_hkey", "line_description", "quantity"} {
		kept := got.Record().Column(i) == sent.Column(i)
		if kept != (name != "line_description") {
			t.Errorf("%s: the array sent kept is %v", name, kept)
		}
	}
	if v := got.TextAt("line_description", 2).String; v != "THREE" {
		t.Errorf("row 2: %q", v)
	}
	if got := send(same{}); got.Changed() {
		t.Errorf("a transform that sets values to what they were changes nothing")
	}
	// quantity dropped, then line_description's type changed: the reply is whole.
	dropped := send(replaceWith(func(rec arrow.Record) arrow.Record {
		return array.NewRecord(arrow.NewSchema(rec.Schema().Fields()[:2], nil), rec.Columns()[:2], rec.NumRows())
	}))
	if dropped.Record().NumCols() != 3 || dropped.Record().Column(2) != sent.Column(2) {
		t.Errorf("a dropped column keeps its values: %v", dropped.Record().Schema())
	}
	retyped := send(replaceWith(func(rec arrow.Record) arrow.Record {
		b := array.NewBinaryBuilder(memory.DefaultAllocator, arrow.BinaryTypes.Binary)
		b.AppendValues([][]byte{[]byte("a"), nil, []byte("c")}, []bool{true, false, true})
		fields := slices.Clone(rec.Schema().Fields())
		fields[1].Type = arrow.BinaryTypes.Binary
		cols := slices.Clone(rec.Columns())
		cols[1] = b.NewArray()
		return array.NewRecord(arrow.NewSchema(fields, nil), cols, rec.NumRows())
	}))
	if f := retyped.Record().Schema().Field(1); f.Type.ID() != arrow.BINARY || retyped.Record().NumCols() != 3 {
		t.Errorf("a changed type shows: %v", retyped.Record().Schema())
	}
}
