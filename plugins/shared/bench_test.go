package shared_test

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"path/filepath"
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

// wide is n lines of the columns the regiondims example asks for.
func wide(n int) arrow.Record {
	str := arrow.BinaryTypes.String
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "_hkey", Type: str, Nullable: true}, {Name: "id", Type: str, Nullable: true},
		{Name: "line_number", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "line_description", Type: str, Nullable: true}, {Name: "item_id", Type: str, Nullable: true},
		{Name: "dimension3_id", Type: str, Nullable: true},
		{Name: "quantity", Type: &arrow.Decimal128Type{Precision: 18, Scale: 4}, Nullable: true},
		{Name: "unit_price", Type: &arrow.Decimal128Type{Precision: 18, Scale: 2}, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := 0; i < n; i++ {
		b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("INV-%07d", i/10))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("SIN-INV-%07d/1/%d", i/10, i%10+1))
		b.Field(2).(*array.Int32Builder).Append(int32(i%10 + 1))
		b.Field(3).(*array.StringBuilder).Append("Industrial widget, stainless")
		b.Field(4).(*array.StringBuilder).Append(fmt.Sprintf("ITM-%04d", i%2000))
		b.Field(5).(*array.StringBuilder).AppendNull()
		b.Field(6).(*array.Decimal128Builder).Append(decimal128.FromI64(int64(i%7) * 10000))
		b.Field(7).(*array.Decimal128Builder).Append(decimal128.FromI64(int64(i % 10000)))
	}
	return b.NewRecord()
}

type setDim struct{}

func (setDim) Transform(_ context.Context, b *shared.Batch) error {
	for _, t := range b.Lines() {
		if err := t.MapText("dimension3_id", func(int, sql.NullString) sql.NullString {
			return sql.NullString{String: "DIM3-001", Valid: true}
		}); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkRoundTrip is one batch of 50,000 lines (8 columns) to a transform and back
// over gRPC on a Unix socket with the SDK's options, in one process: the protocol's
// own cost per row, without a plugin process or DuckDB.
func BenchmarkRoundTrip(b *testing.B) {
	const rows = 50000
	sock := filepath.Join(b.TempDir(), "s")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	srv := shared.NewGRPCServer(nil)
	proto.RegisterTransformerServer(srv, &shared.GRPCServer{Impl: setDim{}})
	go srv.Serve(lis)
	defer srv.Stop()
	conn, err := grpc.Dial("unix://"+sock, append(shared.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	raw, err := (&shared.GRPCPlugin{}).GRPCClient(context.Background(), nil, conn)
	if err != nil {
		b.Fatal(err)
	}
	client := raw.(*shared.GRPCClient)
	rec := wide(rows)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		batch := &shared.Batch{Flow: "sales-invoices", Tables: []*shared.Table{shared.NewTable("acct.sales_invoice_line_item", false, rec)}}
		if err := client.Transform(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
		if !batch.Tables[0].Changed() {
			b.Fatal("no change came back")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/rows, "µs/row")
}

// BenchmarkMapText is one batch of 50,000 lines' descriptions rewritten by MapText, the
// SDK's way to change a text column: the builder is sized from the values received, so
// it does not regrow as it fills (3.6 -> 3.0 ms here when that came in).
func BenchmarkMapText(b *testing.B) {
	rec := wide(50000)
	defer rec.Release()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := shared.NewTable("acct.sales_invoice_line_item", false, rec)
		if err := t.MapText("line_description", func(_ int, v sql.NullString) sql.NullString {
			return sql.NullString{String: v.String + " x2 @ 10.00", Valid: true}
		}); err != nil {
			b.Fatal(err)
		}
	}
}
