package regions_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/decimal128"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/oimconnect/oimconnect/plugins/examples/regiondims/regions"
	"github.com/oimconnect/oimconnect/plugins/shared"
)

func TestRegion(t *testing.T) {
	s := regions.Settings{Regions: map[string]string{"ACC-C-0001": "NORTH"}, RegionDimensions: []string{"R0", "R1", "R2"}}
	for account, want := range map[string]string{"ACC-C-0001": "NORTH", "ACC-C-0042": "R0", "ACC-C-0043": "R1", "A-BILL": "", "ACC-99999999999999999999999": ""} {
		if got, _ := s.Region(account); got != want {
			t.Errorf("Region(%s) = %q, want %q", account, got, want)
		}
	}
}

func batch(t *testing.T, settings map[string]any) *shared.Batch {
	t.Helper()
	str := arrow.BinaryTypes.String
	docs := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{
		{Name: "_hkey", Type: str}, {Name: "id", Type: str}, {Name: "account_id", Type: str}, {Name: "oim_invoice_id", Type: str}}, nil))
	for i, v := range [][]string{{"INV-1", "INV-2"}, {"SIN-INV-1/1", "SIN-INV-2/1"}, {"ACC-C-0001", "A-BILL"}, {"INV-1", "INV-2"}} {
		docs.Field(i).(*array.StringBuilder).AppendValues(v, nil)
	}
	lines := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{
		{Name: "_hkey", Type: str}, {Name: "id", Type: str}, {Name: "line_number", Type: arrow.PrimitiveTypes.Int32},
		{Name: "line_description", Type: str}, {Name: "item_id", Type: str}, {Name: "dimension3_id", Type: str},
		{Name: "quantity", Type: &arrow.Decimal128Type{Precision: 18, Scale: 4}},
		{Name: "unit_price", Type: &arrow.Decimal128Type{Precision: 18, Scale: 2}}}, nil))
	lines.Field(0).(*array.StringBuilder).AppendValues([]string{"INV-1", "INV-2"}, nil)
	lines.Field(1).(*array.StringBuilder).AppendValues([]string{"SIN-INV-1/1/1", "SIN-INV-2/1/1"}, nil)
	lines.Field(2).(*array.Int32Builder).AppendValues([]int32{1, 1}, nil)
	lines.Field(3).(*array.StringBuilder).AppendValues([]string{"Widget", ""}, []bool{true, false})
	lines.Field(4).(*array.StringBuilder).AppendValues([]string{"ITM-1", ""}, []bool{true, false})
	lines.Field(5).(*array.StringBuilder).AppendValues([]string{"D3-X", ""}, []bool{true, false})
	lines.Field(6).(*array.Decimal128Builder).AppendValues([]decimal128.Num{decimal128.FromI64(20000), decimal128.FromI64(10000)}, nil)
	lines.Field(7).(*array.Decimal128Builder).AppendValues([]decimal128.Num{decimal128.FromI64(1000), decimal128.FromI64(-550)}, nil)
	return &shared.Batch{Flow: "sales-invoices", Settings: settings, Tables: []*shared.Table{
		shared.NewTable(regions.Invoices, true, docs.NewRecord()), shared.NewTable(regions.Lines, false, lines.NewRecord())}}
}

func TestTransform(t *testing.T) {
	b := batch(t, map[string]any{"regions": map[string]any{"ACC-C-0001": "NORTH"}, "require_region": true,
		"description": "{line}. {description} [{item}] {quantity} x {unit_price} ({region}, {invoice}, {account})"})
	if err := (regions.Transform{}).Transform(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	lines := b.Table(regions.Lines)
	for row, want := range []string{"1. Widget [ITM-1] 2.0000 x 10.00 (NORTH, INV-1, ACC-C-0001)", "1.  [] 1.0000 x -5.50 (, INV-2, A-BILL)"} {
		if got := lines.TextAt("line_description", row).String; got != want {
			t.Errorf("row %d: %q, want %q", row, got, want)
		}
	}
	if got := lines.TextAt("dimension3_id", 0).String; got != "NORTH" {
		t.Errorf("dimension 3: %q", got)
	}
	if inv := b.Invalid(); len(inv) != 1 || inv[0] != (shared.Invalid{Key: "INV-2", Reason: "no region for account A-BILL"}) {
		t.Errorf("refused: %v", inv)
	}
	if b.Table(regions.Invoices).Changed() {
		t.Errorf("the invoices are not changed")
	}
}

func TestBadFormat(t *testing.T) {
	for format, want := range map[string]string{"{nope}": "unknown field {nope}", "{line": "{ without }"} {
		err := (regions.Transform{}).Transform(context.Background(), batch(t, map[string]any{"description": format}))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: want %q, got %v", format, want, err)
		}
	}
}

// BenchmarkTransform is the transform alone on 50,000 lines of 5,000 invoices.
func BenchmarkTransform(b *testing.B) {
	const n = 50000
	str := arrow.BinaryTypes.String
	docs := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{
		{Name: "_hkey", Type: str}, {Name: "id", Type: str}, {Name: "account_id", Type: str}, {Name: "oim_invoice_id", Type: str}}, nil))
	for i := 0; i < n/10; i++ {
		k := "INV-" + strconv.Itoa(i)
		docs.Field(0).(*array.StringBuilder).Append(k)
		docs.Field(1).(*array.StringBuilder).Append("SIN-" + k + "/1")
		docs.Field(2).(*array.StringBuilder).Append("ACC-C-" + strconv.Itoa(i%300))
		docs.Field(3).(*array.StringBuilder).Append(k)
	}
	lines := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{
		{Name: "_hkey", Type: str}, {Name: "id", Type: str}, {Name: "line_number", Type: arrow.PrimitiveTypes.Int32},
		{Name: "line_description", Type: str}, {Name: "item_id", Type: str}, {Name: "dimension3_id", Type: str},
		{Name: "quantity", Type: &arrow.Decimal128Type{Precision: 18, Scale: 4}},
		{Name: "unit_price", Type: &arrow.Decimal128Type{Precision: 18, Scale: 2}}}, nil))
	for i := 0; i < n; i++ {
		k := "INV-" + strconv.Itoa(i/10)
		lines.Field(0).(*array.StringBuilder).Append(k)
		lines.Field(1).(*array.StringBuilder).Append("SIN-" + k + "/1/" + strconv.Itoa(i%10+1))
		lines.Field(2).(*array.Int32Builder).Append(int32(i%10 + 1))
		lines.Field(3).(*array.StringBuilder).Append("Industrial widget, stainless")
		lines.Field(4).(*array.StringBuilder).Append("ITM-" + strconv.Itoa(i%2000))
		lines.Field(5).(*array.StringBuilder).AppendNull()
		lines.Field(6).(*array.Decimal128Builder).Append(decimal128.FromI64(int64(i%7) * 10000))
		lines.Field(7).(*array.Decimal128Builder).Append(decimal128.FromI64(int64(i % 10000)))
	}
	d, l := docs.NewRecord(), lines.NewRecord()
	settings := map[string]any{"region_dimensions": []any{"DIM3-001", "DIM3-002", "DIM3-003"},
		"description": "{line}. {description} [{item}] {quantity} x {unit_price} ({region}, {invoice})"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		batch := &shared.Batch{Flow: "sales-invoices", Settings: settings, Tables: []*shared.Table{
			shared.NewTable(regions.Invoices, true, d), shared.NewTable(regions.Lines, false, l)}}
		if err := (regions.Transform{}).Transform(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/line")
}
