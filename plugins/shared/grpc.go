package shared

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/oimconnect/oimconnect/plugins/proto"
)

// MaxMessageBytes bounds one gRPC message either way: a batch of tens of thousands of
// lines is tens of megabytes, far above gRPC's 4 MB default.
const MaxMessageBytes = 1 << 30

// windowBytes is the HTTP/2 flow-control window: large batches stream faster with a
// window of a few megabytes than with the 64 KB default.
const windowBytes = 8 << 20

// bufferBytes is the size of the connection's read and write buffers.
const bufferBytes = 1 << 20

// DialOptions are the host's gRPC options for a plugin connection.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageBytes), grpc.MaxCallSendMsgSize(MaxMessageBytes)),
		grpc.WithInitialWindowSize(windowBytes),
		grpc.WithInitialConnWindowSize(windowBytes),
		grpc.WithReadBufferSize(bufferBytes),
		grpc.WithWriteBufferSize(bufferBytes),
	}
}

// NewGRPCServer is the plugin's gRPC server, with the limits and windows the host's
// DialOptions expect (go-plugin's ServeConfig.GRPCServer).
func NewGRPCServer(opts []grpc.ServerOption) *grpc.Server {
	return grpc.NewServer(append(opts,
		grpc.MaxRecvMsgSize(MaxMessageBytes),
		grpc.MaxSendMsgSize(MaxMessageBytes),
		grpc.InitialWindowSize(windowBytes),
		grpc.InitialConnWindowSize(windowBytes),
		grpc.ReadBufferSize(bufferBytes),
		grpc.WriteBufferSize(bufferBytes),
	)...)
}

// ErrBadReply wraps a reply the host cannot read (not Arrow IPC, or naming a table it
// did not send).
var ErrBadReply = errors.New("unreadable reply")

// GRPCClient is the host's side of a plugin: the same Transform, over gRPC.
type GRPCClient struct{ client proto.TransformerClient }

var _ Transform = (*GRPCClient)(nil)

// Columns asks which columns of the flow's tables the plugin wants (nil: all).
func (c *GRPCClient) Columns(ctx context.Context, flow string) (map[string][]string, error) {
	resp, err := c.client.Columns(ctx, &proto.ColumnsRequest{Flow: flow})
	if err != nil {
		return nil, err
	}
	if resp.All {
		return nil, nil
	}
	out := map[string][]string{}
	for _, t := range resp.Tables {
		out[t.Table] = append([]string{}, t.Columns...)
	}
	return out, nil
}

// Transform sends the batch and applies the reply to it: the columns the plugin
// changed replace the batch's (Changed reports their tables) and the invalid
// documents are added. Nothing is checked beyond readability: that is the host's job.
func (c *GRPCClient) Transform(ctx context.Context, b *Batch) error {
	req := &proto.TransformRequest{Flow: b.Flow}
	if b.Settings != nil {
		data, err := json.Marshal(b.Settings)
		if err != nil {
			return fmt.Errorf("settings: %w", err)
		}
		req.Settings = data
	}
	for _, t := range b.Tables {
		data, err := Encode(t.rec)
		if err != nil {
			return fmt.Errorf("encode %s: %w", t.Name, err)
		}
		req.Tables = append(req.Tables, &proto.Table{Name: t.Name, Header: t.Header, Arrow: data})
	}
	resp, err := c.client.Transform(ctx, req)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, rt := range resp.Tables {
		t := b.Table(rt.Name)
		if t == nil || seen[rt.Name] {
			return fmt.Errorf("%w: table %q was not sent or comes twice", ErrBadReply, rt.Name)
		}
		seen[rt.Name] = true
		rec, err := Decode(rt.Arrow)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrBadReply, rt.Name, err)
		}
		t.merge(rec)
	}
	for _, v := range resp.Invalid {
		b.Invalidate(v.Key, v.Reason)
	}
	return nil
}

// GRPCServer is the plugin's side: it decodes batches for the Transform and encodes
// what it changed: of each table it changed, only the columns whose values differ
// from those received (Table.changes).
type GRPCServer struct {
	proto.UnimplementedTransformerServer
	Impl Transform
}

// Columns answers from the Transform's ColumnSelector, if any.
func (s *GRPCServer) Columns(_ context.Context, req *proto.ColumnsRequest) (*proto.ColumnsResponse, error) {
	sel, ok := s.Impl.(ColumnSelector)
	if !ok {
		return &proto.ColumnsResponse{All: true}, nil
	}
	cols := sel.Columns(req.Flow)
	if cols == nil {
		return &proto.ColumnsResponse{All: true}, nil
	}
	resp := &proto.ColumnsResponse{}
	for t, c := range cols {
		resp.Tables = append(resp.Tables, &proto.TableColumns{Table: t, Columns: c})
	}
	return resp, nil
}

// Transform runs the Transform on one batch. A panic in it is recovered and reported
// as the batch's error (with the stack in the plugin's log), so the plugin lives on.
func (s *GRPCServer) Transform(ctx context.Context, req *proto.TransformRequest) (*proto.TransformResponse, error) {
	b := &Batch{Flow: req.Flow}
	if len(req.Settings) > 0 {
		if err := json.Unmarshal(req.Settings, &b.Settings); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "settings: %v", err)
		}
	}
	for _, t := range req.Tables {
		rec, err := Decode(t.Arrow)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "%s: %v", t.Name, err)
		}
		b.Tables = append(b.Tables, NewTable(t.Name, t.Header, rec))
	}
	if err := s.run(ctx, b); err != nil {
		return nil, status.Error(codes.Unknown, err.Error())
	}
	resp := &proto.TransformResponse{}
	for _, t := range b.Tables {
		if !t.changed {
			continue
		}
		rec := t.changes()
		if rec == nil {
			continue // set, to the same values
		}
		data, err := Encode(rec)
		if err != nil {
			return nil, status.Errorf(codes.Internal, "encode %s: %v", t.Name, err)
		}
		resp.Tables = append(resp.Tables, &proto.Table{Name: t.Name, Header: t.Header, Arrow: data})
	}
	for _, v := range b.Invalid() {
		resp.Invalid = append(resp.Invalid, &proto.Invalid{Key: v.Key, Reason: v.Reason})
	}
	return resp, nil
}

func (s *GRPCServer) run(ctx context.Context, b *Batch) (err error) {
	defer func() {
		if r := recover(); r != nil {
			Logger().Error("transform panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return s.Impl.Transform(ctx, b)
}
