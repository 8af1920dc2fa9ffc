package shared

import (
	"log/slog"
	"os"
	"runtime/debug"
	"strings"

	"github.com/hashicorp/go-plugin"
)

// stderr is the process's standard error as it starts: go-plugin's Serve swaps
// os.Stderr for a pipe, but the host reads log lines from the original.
var stderr = os.Stderr

// gcPercent is the plugin's GOGC unless the environment sets one: a plugin allocates
// whole batches per call, and collecting less often makes a round trip about a fifth
// cheaper (BenchmarkRoundTrip) for a few batches' worth of memory.
const gcPercent = 400

// Serve serves the transform to the host and returns when the host is done with the
// plugin. It is the whole of a plugin's main.
func Serve(impl Transform) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         plugin.PluginSet{PluginName: &GRPCPlugin{Impl: impl}},
		GRPCServer:      NewGRPCServer,
	})
}

// Logger is a logger whose records reach the host's log, with their level and
// attributes (JSON lines on the process's original standard error, in the form
// go-plugin reads). Plain writes to os.Stdout and os.Stderr reach the host's log too,
// as "plugin output" lines.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				return slog.Attr{} // the host stamps its own time
			case slog.LevelKey:
				return slog.String("@level", strings.ToLower(a.Value.String()))
			case slog.MessageKey:
				return slog.String("@message", a.Value.String())
			}
			return a
		},
	}))
}
