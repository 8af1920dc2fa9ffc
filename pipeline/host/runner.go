package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/plugins/shared"
)

// maxFailures is how many crashes or timeouts in a row a plugin gets within one
// transform (one batch of a flow) before it is no longer restarted: the remaining
// batches then fail at once.
const maxFailures = 3

// minStartTimeout bounds starting a plugin when its call timeout is shorter.
var minStartTimeout = 10 * time.Second

// endpoint is a started plugin: over gRPC (shared.GRPCClient) or in process.
type endpoint interface {
	shared.Transform
	Columns(ctx context.Context, flow string) (map[string][]string, error)
}

// instance is one started plugin process (or the in-process transform).
type instance struct {
	client *plugin.Client // nil in process
	ep     endpoint
	crash  *crashNotes
	cols   map[string]map[string][]string // flow -> the plugin's Columns answer
}

func (i *instance) exited() bool { return i.client != nil && i.client.Exited() }

// runner runs one configured plugin: it starts the process on first use, reuses it for
// every batch, and replaces it after a crash or a timeout.
type runner struct {
	name     string
	flows    []string
	settings map[string]any
	timeout  time.Duration
	rows     int
	log      *slog.Logger
	start    func() (*instance, error)

	cur      *instance
	peak     atomic.Int64 // the most batches in memory at once, in any pass (for tests)
	failures int          // crashes and timeouts in a row, in this transform
	broken   error        // why the plugin is not started again in this transform
	stats    stats        // for Health
}

func (r *runner) applies(flow string) bool {
	for _, f := range r.flows {
		if f == flow {
			return true
		}
	}
	return false
}

// reset starts a transform: a plugin that failed in the previous one gets a new chance.
func (r *runner) reset() {
	r.failures, r.broken = 0, nil
}

// fail is why a batch's documents are not exported: a plugin failure, which fails
// those documents and nothing else.
type fail struct{ msg string }

func (f *fail) Error() string { return f.msg }

func failf(format string, args ...any) *fail { return &fail{msg: fmt.Sprintf(format, args...)} }

// instance returns the running plugin, starting it when needed. A *fail means it
// cannot run now; any other error stops the flow.
func (r *runner) instance() (*instance, error) {
	if r.cur != nil && !r.cur.exited() {
		return r.cur, nil
	}
	if r.cur != nil {
		r.stop(false)
	}
	if r.broken != nil {
		return nil, r.broken
	}
	inst, err := r.start()
	if err != nil {
		var in *fault.InputError
		if errors.As(err, &in) {
			return nil, err
		}
		var crashed *startCrash
		if errors.As(err, &crashed) {
			return nil, r.counted(failf("%v", err)) // started again for the next batch
		}
		r.broken = failf("cannot start: %v", err)
		return nil, r.broken
	}
	r.log.Debug("plugin ready", "plugin", r.name)
	r.cur = inst
	r.stats.started()
	return inst, nil
}

// columns asks the plugin which columns of the flow's tables it wants (nil: all).
func (r *runner) columns(ctx context.Context, flow string) (map[string][]string, error) {
	inst, err := r.instance()
	if err != nil {
		return nil, err
	}
	if cols, ok := inst.cols[flow]; ok {
		return cols, nil
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	cols, err := inst.ep.Columns(cctx, flow)
	if err != nil {
		return nil, r.failure(ctx, cctx, inst, err)
	}
	inst.cols[flow] = cols
	return cols, nil
}

// transform runs one batch through the plugin. A *fail fails the batch's documents;
// any other error (the run is stopping) stops the flow.
func (r *runner) transform(ctx context.Context, b *shared.Batch) error {
	inst, err := r.instance()
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	if err := inst.ep.Transform(cctx, b); err != nil {
		return r.failure(ctx, cctx, inst, err)
	}
	r.failures = 0
	return nil
}

// failure explains a failed call, stopping the plugin when it crashed or hangs.
func (r *runner) failure(ctx, cctx context.Context, inst *instance, err error) error {
	if ctx.Err() != nil {
		return ctx.Err() // the run is stopping: not the plugin's doing
	}
	st, _ := status.FromError(err)
	switch {
	case errors.Is(cctx.Err(), context.DeadlineExceeded) || st.Code() == codes.DeadlineExceeded:
		r.stop(true)
		return r.counted(failf("timed out after %s", r.timeout))
	case errors.Is(err, shared.ErrBadReply):
		return failf("%v", err)
	case st.Code() == codes.Unavailable || st.Code() == codes.Canceled || inst.exited():
		if inst.waitExit(2 * time.Second) {
			notes := inst.crash.String()
			r.stop(false)
			return r.counted(failf("crashed%s", notes))
		}
		r.stop(true)
		return r.counted(failf("lost the connection: %s", st.Message()))
	case st.Code() == codes.ResourceExhausted:
		return failf("batch too large: %s (lower batch_size)", st.Message())
	case st.Code() == codes.Unknown:
		return failf("%s", st.Message())
	}
	return failf("%s: %s", strings.ToLower(st.Code().String()), st.Message())
}

// counted notes a crash or timeout; after maxFailures in a row the plugin stays down.
func (r *runner) counted(f *fail) *fail {
	r.failures++
	if r.failures >= maxFailures {
		r.broken = failf("not restarted after %d crashes or timeouts in a row (the last: %s)", r.failures, f.msg)
	}
	r.stats.crashed(f.msg, r.broken != nil)
	return f
}

// waitExit waits up to d for a plugin that dropped its connection to be seen exited.
func (i *instance) waitExit(d time.Duration) bool {
	if i.client == nil {
		return false
	}
	deadline := time.Now().Add(d)
	for !i.client.Exited() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return i.client.Exited()
}

// startCrash is a plugin process that ended before its handshake (killed, or died at
// start), or whose handshake did not come in time (killed then): a crash like any
// other, so it is started again for the next batch.
type startCrash struct {
	notes string
	late  time.Duration // the handshake did not come within it
}

func (e *startCrash) Error() string {
	if e.late > 0 {
		return fmt.Sprintf("did not start within %s (no handshake came; it was stopped)", e.late)
	}
	return "crashed while starting" + e.notes
}

// stop ends the running plugin, if any: gracefully, or at once when it hangs.
func (r *runner) stop(hard bool) {
	if r.cur == nil {
		return
	}
	if c := r.cur.client; c != nil {
		if rc := c.ReattachConfig(); hard && rc != nil && rc.Pid > 0 && !c.Exited() {
			// A hung plugin would not exit gracefully: end it at once.
			if p, err := os.FindProcess(rc.Pid); err == nil {
				_ = p.Kill()
			}
		}
		c.Kill()
	}
	r.cur = nil
	r.stats.stopped()
}

// processStarter starts the plugin's executable, verified against its checksum.
func processStarter(p config.Plugin, sum []byte, log *slog.Logger, timeout time.Duration) func() (*instance, error) {
	return func() (*instance, error) {
		crash := &crashNotes{}
		startTimeout := max(timeout, minStartTimeout)
		client := plugin.NewClient(&plugin.ClientConfig{
			HandshakeConfig:  shared.Handshake,
			Plugins:          shared.PluginMap,
			Cmd:              exec.Command(p.Path),
			SecureConfig:     &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()},
			AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
			Logger:           newHCLogger(log.With("plugin", p.Name), crash),
			SyncStdout:       &lineLog{log: log.With("plugin", p.Name, "stream", "stdout"), level: slog.LevelDebug},
			SyncStderr:       &lineLog{log: log.With("plugin", p.Name, "stream", "stderr"), level: slog.LevelInfo},
			StartTimeout:     startTimeout,
			GRPCDialOptions:  shared.DialOptions(),
		})
		rpc, err := client.Client()
		if err != nil {
			exited := (&instance{client: client}).waitExit(time.Second)
			client.Kill()
			if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
				return nil, &fault.InputError{Err: fmt.Errorf("plugin %s: %s changed since the run started: its checksum no longer matches; refusing to start it", p.Name, p.Path)}
			}
			if strings.Contains(err.Error(), "timeout while waiting for plugin to start") { // go-plugin's
				return nil, &startCrash{late: startTimeout}
			}
			// A version mismatch is go-plugin's refusal (it kills the plugin itself);
			// any other failure of a plugin that is gone is a crash.
			if exited && !strings.Contains(strings.ToLower(err.Error()), "incompatible") {
				return nil, &startCrash{notes: crash.String()}
			}
			// go-plugin's own explanation runs over many lines: its first says it.
			msg, _, _ := strings.Cut(err.Error(), "\n")
			return nil, errors.New(strings.TrimSpace(msg))
		}
		raw, err := rpc.Dispense(shared.PluginName)
		if err != nil {
			client.Kill()
			return nil, err
		}
		ep, ok := raw.(*shared.GRPCClient)
		if !ok {
			client.Kill()
			return nil, fmt.Errorf("the plugin serves %T, not a transform", raw)
		}
		return &instance{client: client, ep: ep, crash: crash, cols: map[string]map[string][]string{}}, nil
	}
}

// ErrNotExecutable is a plugin's path naming a file that cannot be started.
var ErrNotExecutable = errors.New("is not an executable file")

// verify checks the plugin's executable against the configured checksum before
// anything runs: a mismatch is a configuration error.
func verify(p config.Plugin) ([]byte, error) {
	want, err := hex.DecodeString(p.SHA256)
	if err != nil {
		return nil, &fault.InputError{Err: fmt.Errorf("plugin %s: sha256 %q is not hex", p.Name, p.SHA256)}
	}
	f, err := os.Open(p.Path)
	if err != nil {
		return nil, &fault.InputError{Err: fmt.Errorf("plugin %s: %w", p.Name, err)}
	}
	defer f.Close()
	// It could never start: every record of its flows would fail for nothing.
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, &fault.InputError{Err: fmt.Errorf("plugin %s: %s %w: it is a directory (path names the plugin's executable file)", p.Name, p.Path, ErrNotExecutable)}
	} else if err == nil && st.Mode().Perm()&0o111 == 0 {
		return nil, &fault.InputError{Err: fmt.Errorf("plugin %s: %s %w (chmod +x it)", p.Name, p.Path, ErrNotExecutable)}
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, &fault.InputError{Err: fmt.Errorf("plugin %s: %w", p.Name, err)}
	}
	if got := h.Sum(nil); string(got) != string(want) {
		return nil, &fault.InputError{Err: fmt.Errorf("plugin %s: checksum mismatch: %s has sha256 %x, the configuration says %s; refusing to start it",
			p.Name, p.Path, got, p.SHA256)}
	}
	return want, nil
}

// inProcess adapts a transform running in the host's own process.
type inProcess struct{ impl shared.Transform }

func (t inProcess) Transform(ctx context.Context, b *shared.Batch) error {
	return t.impl.Transform(ctx, b)
}

func (t inProcess) Columns(_ context.Context, flow string) (map[string][]string, error) {
	if s, ok := t.impl.(shared.ColumnSelector); ok {
		return s.Columns(flow), nil
	}
	return nil, nil
}
