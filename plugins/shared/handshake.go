package shared

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/oimconnect/oimconnect/plugins/proto"
)

// ProtocolVersion is the version of the host-plugin protocol. A plugin built against
// another version is refused at start, and the documents it should transform fail.
const ProtocolVersion = 1

// PluginName is the name the transform is served and dispensed under.
const PluginName = "transform"

// Handshake is the configuration host and plugin must agree on. The magic cookie is a
// UX feature, not security: it tells a user who runs a plugin by hand that it is not
// a program to run on its own.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "OIM_TRANSFORM_PLUGIN",
	MagicCookieValue: "d2f6a3c1-oimconnect-transform",
}

// PluginMap is the plugins the host can dispense.
var PluginMap = map[string]plugin.Plugin{
	PluginName: &GRPCPlugin{},
}

// GRPCPlugin is the go-plugin Plugin of a transform, served over gRPC only.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	// Impl is the transform (plugin side only).
	Impl Transform
}

// GRPCServer registers the transform's gRPC server (plugin side).
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	proto.RegisterTransformerServer(s, &GRPCServer{Impl: p.Impl})
	return nil
}

// GRPCClient returns the host's client of the transform, a *GRPCClient.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &GRPCClient{client: proto.NewTransformerClient(c)}, nil
}
