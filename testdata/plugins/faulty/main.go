// Command faulty is a transform plugin that misbehaves on purpose, for the host's
// tests: settings.mode picks the fault, and settings.only (a source record key) limits
// it to the batch holding that record; other batches are transformed normally (their
// lines' dimension4_id set to settings.mark, when given). Modes:
//
//	ok          no fault
//	crash       the process exits (status 3)
//	panic       the transform panics (the SDK recovers: the batch fails, the plugin lives)
//	hang        the call never returns
//	error       the transform returns an error
//	garbage     the reply is not Arrow IPC
//	drop        a line is dropped
//	duplicate   a line is duplicated
//	keys        a line's id is changed
//	link        a line's link to its OIM invoice line is changed
//	reorder     the lines come back in reverse order
//	schema      quantity comes back as float64
//	add-column  a column is added
//	invalid     the record of settings.only is refused (settings.reason)
//	unknown     a record that is not in the batch is refused
//	mark-one    no fault: only the lines of settings.only get the mark
//
// Built with -ldflags "-X main.protocolVersion=2" it speaks another protocol version.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/decimal128"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/oimconnect/oimconnect/plugins/proto"
	"github.com/oimconnect/oimconnect/plugins/shared"
)

// protocolVersion, when set at build time, overrides the SDK's protocol version.
var protocolVersion string

type settings struct {
	Mode   string `json:"mode"`
	Only   string `json:"only"`
	Mark   string `json:"mark"`
	Reason string `json:"reason"`
}

func (s settings) hits(b *shared.Batch) bool {
	if s.Only == "" {
		return true
	}
	for _, t := range b.Tables {
		if keys := t.Text(shared.KeyColumn); keys != nil {
			for i := 0; i < keys.Len(); i++ {
				if keys.Value(i) == s.Only {
					return true
				}
			}
		}
	}
	return false
}

type faulty struct{}

func (faulty) Transform(ctx context.Context, b *shared.Batch) error {
	var s settings
	if err := b.DecodeSettings(&s); err != nil {
		return err
	}
	if s.Mode == "mark-one" {
		if s.hits(b) {
			return mark(b, s.Mark)
		}
		return nil
	}
	if !s.hits(b) || s.Mode == "ok" || s.Mode == "garbage" {
		return mark(b, s.Mark)
	}
	log := shared.Logger()
	lines := b.Lines()
	if len(lines) == 0 {
		return errors.New("faulty: no lines")
	}
	t := lines[0]
	switch s.Mode {
	case "crash":
		log.Error("faulty: crashing on purpose")
		os.Exit(3)
	case "panic":
		panic("faulty: panicking on purpose")
	case "hang":
		log.Info("faulty: hanging on purpose")
		select {}
	case "error":
		return errors.New("faulty: refusing the batch on purpose")
	case "drop":
		t.Replace(t.Record().NewSlice(0, t.Record().NumRows()-1))
	case "duplicate":
		rec, err := shared.Concat(t.Record().Schema(), []arrow.Record{t.Record(), t.Record().NewSlice(0, 1)})
		if err != nil {
			return err
		}
		t.Replace(rec)
	case "keys":
		return t.MapText("id", func(row int, v sql.NullString) sql.NullString {
			if row == 0 {
				v.String += "-changed"
			}
			return v
		})
	case "link": // a line's link to its OIM invoice line
		return t.MapText("oim_invoice_line_id", func(row int, v sql.NullString) sql.NullString {
			if row == 0 {
				v.String += "-moved"
			}
			return v
		})
	case "reorder":
		if t.Len() < 2 {
			return errors.New("faulty: one line cannot be reordered")
		}
		var parts []arrow.Record
		for i := t.Len() - 1; i >= 0; i-- {
			parts = append(parts, t.Record().NewSlice(int64(i), int64(i+1)))
		}
		rec, err := shared.Concat(t.Record().Schema(), parts)
		if err != nil {
			return err
		}
		t.Replace(rec)
	case "schema":
		i := t.Index("quantity")
		if i < 0 {
			return errors.New("faulty: no quantity")
		}
		b := array.NewFloat64Builder(memory.DefaultAllocator)
		for r := 0; r < t.Len(); r++ {
			b.Append(1.5)
		}
		fields := append([]arrow.Field{}, t.Record().Schema().Fields()...)
		fields[i] = arrow.Field{Name: "quantity", Type: arrow.PrimitiveTypes.Float64, Nullable: true}
		cols := append([]arrow.Array{}, t.Record().Columns()...)
		cols[i] = b.NewArray()
		t.Replace(array.NewRecord(arrow.NewSchema(fields, nil), cols, t.Record().NumRows()))
	case "null-required": // a column Accounting requires, left empty
		if err := t.MapText("product_id", func(int, sql.NullString) sql.NullString { return sql.NullString{} }); err != nil {
			return err
		}
	case "overflow": // a decimal128 beyond the column's DECIMAL(18,2)
		i := t.Index("unit_price")
		if i < 0 {
			return errors.New("faulty: no unit_price")
		}
		typ := t.Record().Schema().Field(i).Type
		b := array.NewDecimal128Builder(memory.DefaultAllocator, typ.(*arrow.Decimal128Type))
		for r := 0; r < t.Len(); r++ {
			b.Append(decimal128.FromU64(10000000000000000007))
		}
		if err := t.Set("unit_price", b.NewArray()); err != nil {
			return err
		}
	case "add-column":
		b := array.NewStringBuilder(memory.DefaultAllocator)
		for r := 0; r < t.Len(); r++ {
			b.Append("extra")
		}
		fields := append(append([]arrow.Field{}, t.Record().Schema().Fields()...), arrow.Field{Name: "tenant_note", Type: arrow.BinaryTypes.String, Nullable: true})
		cols := append(append([]arrow.Array{}, t.Record().Columns()...), b.NewArray())
		t.Replace(array.NewRecord(arrow.NewSchema(fields, nil), cols, t.Record().NumRows()))
	case "invalid":
		b.Invalidate(s.Only, s.Reason)
		return mark(b, s.Mark)
	case "unknown":
		b.Invalidate("NO-SUCH-RECORD", "made up")
	default:
		return fmt.Errorf("faulty: unknown mode %q", s.Mode)
	}
	return nil
}

// mark sets the lines' dimension4_id, showing a batch went through the plugin.
func mark(b *shared.Batch, m string) error {
	if m == "" {
		return nil
	}
	for _, t := range b.Lines() {
		if err := t.MapText("dimension4_id", func(int, sql.NullString) sql.NullString {
			return sql.NullString{String: m, Valid: true}
		}); err != nil {
			return err
		}
	}
	return nil
}

// server wraps the SDK's server to answer garbage when asked to.
type server struct {
	proto.UnimplementedTransformerServer
	inner *shared.GRPCServer
}

func (s *server) Columns(ctx context.Context, req *proto.ColumnsRequest) (*proto.ColumnsResponse, error) {
	return s.inner.Columns(ctx, req)
}

func (s *server) Transform(ctx context.Context, req *proto.TransformRequest) (*proto.TransformResponse, error) {
	resp, err := s.inner.Transform(ctx, req)
	var set settings
	_ = json.Unmarshal(req.Settings, &set)
	if err != nil || set.Mode != "garbage" {
		return resp, err
	}
	b := &shared.Batch{}
	for _, t := range req.Tables {
		rec, err := shared.Decode(t.Arrow)
		if err != nil {
			return nil, err
		}
		b.Tables = append(b.Tables, shared.NewTable(t.Name, t.Header, rec))
	}
	if set.hits(b) {
		resp.Tables = []*proto.Table{{Name: req.Tables[len(req.Tables)-1].Name, Arrow: []byte("this is not Arrow IPC")}}
	}
	return resp, nil
}

type faultyPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

func (faultyPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	proto.RegisterTransformerServer(s, &server{inner: &shared.GRPCServer{Impl: faulty{}}})
	return nil
}

func (faultyPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("faulty: plugin side only")
}

func main() {
	if d, err := time.ParseDuration(os.Getenv("FAULTY_START_DELAY")); err == nil {
		time.Sleep(d) // a plugin slow to start: its handshake comes late
	}
	hs := shared.Handshake
	if protocolVersion != "" {
		v, err := strconv.Atoi(protocolVersion)
		if err != nil {
			panic(err)
		}
		hs.ProtocolVersion = uint(v)
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: hs,
		Plugins:         plugin.PluginSet{shared.PluginName: faultyPlugin{}},
		GRPCServer:      shared.NewGRPCServer,
	})
}
