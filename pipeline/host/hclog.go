package host

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// hclogger passes go-plugin's log (hclog) to the host's slog logger. Lines a plugin
// writes on standard error come through a Named logger and keep their level; go-plugin's
// own chatter (starting, handshakes, exits) is debug, its warnings and errors warnings.
// It also remembers what explains a crash: the panic and the exit status.
type hclogger struct {
	log   *slog.Logger
	name  string
	args  []any
	named bool
	crash *crashNotes
}

// crashNotes collects, for one plugin process, what its log said about its end.
type crashNotes struct {
	mu     sync.Mutex
	panic  string // the first "panic: ..." or "fatal error: ..." line
	last   string // the last error the plugin logged itself
	exited string // the exit status go-plugin reported
}

func (c *crashNotes) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	if c.exited != "" {
		b.WriteString(" (" + c.exited + ")")
	}
	switch {
	case c.panic != "":
		b.WriteString(": " + c.panic)
	case c.last != "":
		b.WriteString(": " + c.last)
	}
	return b.String()
}

func newHCLogger(log *slog.Logger, crash *crashNotes) *hclogger {
	return &hclogger{log: log, crash: crash}
}

func (l *hclogger) note(level hclog.Level, msg string, args []any) {
	if l.crash == nil {
		return
	}
	l.crash.mu.Lock()
	defer l.crash.mu.Unlock()
	if l.named {
		if l.crash.panic == "" && (strings.HasPrefix(msg, "panic: ") || strings.HasPrefix(msg, "fatal error: ")) {
			l.crash.panic = msg
		}
		if level >= hclog.Error {
			l.crash.last = msg
		}
		return
	}
	if msg == "plugin process exited" {
		for i := 0; i+1 < len(args); i += 2 {
			if args[i] == "error" {
				l.crash.exited = fmt.Sprint(args[i+1])
			}
		}
	}
}

func (l *hclogger) Log(level hclog.Level, msg string, args ...any) {
	l.note(level, msg, args)
	var lv slog.Level
	switch {
	case !l.named && level >= hclog.Warn:
		lv = slog.LevelWarn
	case !l.named:
		lv = slog.LevelDebug
	case level >= hclog.Error:
		lv = slog.LevelError
	case level == hclog.Warn:
		lv = slog.LevelWarn
	case level == hclog.Info:
		lv = slog.LevelInfo
	default:
		lv = slog.LevelDebug
	}
	if !l.log.Enabled(context.Background(), lv) {
		return
	}
	attrs := append(append([]any{}, l.args...), cleanArgs(args)...)
	if l.name != "" {
		attrs = append(attrs, "logger", l.name)
	}
	l.log.Log(context.Background(), lv, msg, attrs...)
}

// cleanArgs drops go-plugin's copy of the plugin's timestamp (slog stamps its own) and
// renames its "plugin" (the executable) so it does not repeat the plugin's name.
func cleanArgs(args []any) []any {
	out := make([]any, 0, len(args))
	for i := 0; i < len(args); i++ {
		if i+1 < len(args) {
			switch args[i] {
			case "timestamp", "@timestamp":
				i++
				continue
			case "plugin":
				out = append(out, "executable", args[i+1])
				i++
				continue
			}
		}
		out = append(out, args[i])
	}
	return out
}

func (l *hclogger) Trace(msg string, args ...any) { l.Log(hclog.Trace, msg, args...) }
func (l *hclogger) Debug(msg string, args ...any) { l.Log(hclog.Debug, msg, args...) }
func (l *hclogger) Info(msg string, args ...any)  { l.Log(hclog.Info, msg, args...) }
func (l *hclogger) Warn(msg string, args ...any)  { l.Log(hclog.Warn, msg, args...) }
func (l *hclogger) Error(msg string, args ...any) { l.Log(hclog.Error, msg, args...) }

func (l *hclogger) IsTrace() bool { return l.log.Enabled(context.Background(), slog.LevelDebug) }
func (l *hclogger) IsDebug() bool { return l.log.Enabled(context.Background(), slog.LevelDebug) }
func (l *hclogger) IsInfo() bool  { return l.log.Enabled(context.Background(), slog.LevelInfo) }
func (l *hclogger) IsWarn() bool  { return l.log.Enabled(context.Background(), slog.LevelWarn) }
func (l *hclogger) IsError() bool { return l.log.Enabled(context.Background(), slog.LevelError) }

func (l *hclogger) ImpliedArgs() []any { return l.args }

func (l *hclogger) With(args ...any) hclog.Logger {
	c := *l
	c.args = append(append([]any{}, l.args...), args...)
	return &c
}

func (l *hclogger) Name() string { return l.name }

// Named is how go-plugin logs what a plugin writes on standard error.
func (l *hclogger) Named(name string) hclog.Logger {
	c := *l
	c.named = true
	if c.name != "" {
		name = c.name + "." + name
	}
	c.name = name
	return &c
}

func (l *hclogger) ResetNamed(name string) hclog.Logger {
	c := *l
	c.name = name
	c.named = name != ""
	return &c
}

// SetLevel is ignored: the slog handler decides.
func (l *hclogger) SetLevel(hclog.Level) {}

// GetLevel is the level go-plugin filters the plugin's lines with. Trace and debug
// lines always pass (demoted or not, the handler decides), so a plugin's info line is
// never dropped for being below go-plugin's guess.
func (l *hclogger) GetLevel() hclog.Level {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		return hclog.Trace
	}
	return hclog.Info
}

func (l *hclogger) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(l.StandardWriter(opts), "", 0)
}

func (l *hclogger) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		l.Info(strings.TrimRight(string(p), "\n"))
		return len(p), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// lineLog logs what a plugin writes on its redirected standard output or error, a line
// at a time.
type lineLog struct {
	log   *slog.Logger
	level slog.Level
	mu    sync.Mutex
	buf   []byte
}

func (w *lineLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		if line := strings.TrimRight(string(w.buf[:i]), "\r"); line != "" {
			w.log.Log(context.Background(), w.level, "plugin output", "line", line)
		}
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}
