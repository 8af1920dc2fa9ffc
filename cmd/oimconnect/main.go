// Command oimconnect exports Order and Inventory Management records into Accounting
// documents, as the flow specs say. Run `oimconnect help` for the commands.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/plan"
)

func main() {
	// Under a file size limit (ulimit -f, systemd's LimitFSIZE) a write past it raises
	// SIGXFSZ. Go ignores it on its own threads only; on DuckDB's threads it would kill
	// the process without a word. Ignored, the write fails with "File too large" and
	// the run rolls back and says so (exit status 3).
	signal.Ignore(syscall.SIGXFSZ)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// invocation is one command as run: the values of its own flags, the configuration,
// and where output goes.
type invocation struct {
	cmd            *command
	opt            *options
	cfg            *config.Config
	log            *slog.Logger
	stdout, stderr io.Writer
}

// run runs the command line args and returns the exit status (README, "Exit status").
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		overview(stderr)
		return fault.ExitInput
	}
	switch args[0] {
	case "help", "-h", "--help":
		return help(args[1:], stdout, stderr)
	}
	c, rest := lookup(args[0]), args[1:]
	if len(args) > 1 {
		if sub := lookup(args[0] + " " + args[1]); sub != nil { // backfill status, queue retry
			c, rest = sub, args[2:]
		}
	}
	if c == nil {
		fmt.Fprintf(stderr, "oimconnect: unknown command %q\n\n", args[0])
		overview(stderr)
		return fault.ExitInput
	}
	inv, code := parse(c, rest, stdout, stderr)
	if inv == nil {
		return code
	}
	return c.do(ctx, inv)
}

// help is `oimconnect help [COMMAND]`.
func help(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		overview(stdout)
		return fault.ExitOK
	}
	if c := lookup(strings.Join(args, " ")); c != nil {
		page(stdout, c)
		return fault.ExitOK
	}
	fmt.Fprintf(stderr, "oimconnect help: no command %q\n\n", strings.Join(args, " "))
	overview(stderr)
	return fault.ExitInput
}

// parse reads the command's own flags (any other is refused, with the command's
// usage), then loads the configuration. --help prints the command's page.
func parse(c *command, args []string, stdout, stderr io.Writer) (*invocation, int) {
	opt := &options{}
	fs := pflag.NewFlagSet(c.name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for _, f := range c.flags {
		defineFlag(fs, opt, f.name)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			page(stdout, c)
			return nil, fault.ExitOK
		}
		return nil, refuse(c, stderr, flagError(c, err))
	}
	if err := positional(c, fs, opt); err != nil {
		return nil, refuse(c, stderr, err)
	}
	if err := emptyValues(fs); err != nil {
		return nil, refuse(c, stderr, err)
	}
	if opt.report != "" {
		if err := writable(opt.report); err != nil {
			return nil, refuse(c, stderr, err)
		}
	}
	if fs.Lookup("limit") != nil && opt.limit < 1 {
		return nil, refuse(c, stderr, fmt.Errorf("--limit must be at least 1, got %d", opt.limit))
	}
	if c.name == "demo" && !fs.Changed("db") {
		_ = fs.Set("db", "demo.duckdb")
	}
	file := opt.config
	if c.editsConfig {
		file = "" // the command reads it itself: it may not exist yet
	}
	cfg, err := config.Load(file, fs)
	if err != nil {
		return nil, fail(stderr, err)
	}
	if c.name == "demo" && opt.config == "" {
		// The demo's sales orders with no company name mean the default company, and
		// documents are posted so the credit notes find complete invoices in one run.
		cfg.Settings.DefaultCompany = "Acme UK Ltd"
		cfg.Settings.AutoPost = config.AutoPost{SalesInvoices: true, SalesCreditNotes: true, PayableInvoices: true, PayableCreditNotes: true, Journals: true}
	}
	return &invocation{cmd: c, opt: opt, cfg: cfg, log: newLogger(cfg.Log, stderr), stdout: stdout, stderr: stderr}, fault.ExitOK
}

// emptyValues refuses a text flag given an empty value (--report "", --config ""):
// it was taken as not given, so a run wrote no report, or ran without the file the
// operator meant to name, without a word.
func emptyValues(fs *pflag.FlagSet) error {
	var err error
	fs.Visit(func(f *pflag.Flag) {
		if err == nil && f.Value.Type() == "string" && f.Value.String() == "" {
			err = fmt.Errorf("--%s needs a value, got an empty one", f.Name)
		}
	})
	return err
}

// flagError says which commands take a flag this one refuses.
func flagError(c *command, err error) error {
	name, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok {
		return err
	}
	if others := flagsOf(name, c); len(others) > 0 {
		return fmt.Errorf("%w (a flag of %s, not of %s)", err, strings.Join(others, ", "), c.name)
	}
	return err
}

// positional takes the command's argument (validate's and test's SPEC_DIR, user's
// ACTION, the job ids of queue retry and cancel) and refuses any other.
func positional(c *command, fs *pflag.FlagSet, opt *options) error {
	switch {
	case c.arg == "ID":
		opt.args = fs.Args()
		return nil
	case fs.NArg() == 0:
		return nil
	case c.arg == "" || fs.NArg() > 1:
		return fmt.Errorf("unexpected argument %q", fs.Arg(fs.NArg()-1))
	case c.actions != nil:
		if !slices.Contains(c.actions, fs.Arg(0)) {
			return fmt.Errorf("no action %q: %s", fs.Arg(0), strings.Join(c.actions, ", "))
		}
		opt.action = fs.Arg(0)
		return nil
	case fs.Changed("specs"):
		return fmt.Errorf("give the spec directory once: %s or --specs", c.arg)
	}
	return fs.Set("specs", fs.Arg(0))
}

// refuse prints a refused command line with the command's usage: exit status 2.
func refuse(c *command, stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "oimconnect %s: %v\n\n", c.name, err)
	usage(stderr, c)
	fmt.Fprintf(stderr, "\n`oimconnect help %s` shows examples.\n", c.name)
	return fault.ExitInput
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// looks are the commands on withEngine that read the databases and write nothing.
var looks = map[string]bool{"runs": true, "explain": true, "plan": true, "reconcile": true} // validate opens its own (doValidate)

// fail prints an error and maps it to an exit status.
func fail(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "oimconnect: %v\n", err)
	return fault.ExitStatus(err)
}

// withEngine opens the engine for do and closes it after: to write nothing for a dry
// run and for the commands that only look.
func withEngine(ctx context.Context, inv *invocation, do func(*pipeline.Engine) int) int {
	var opts []pipeline.Option
	if inv.opt.dryRun || looks[inv.cmd.name] {
		opts = append(opts, pipeline.ReadOnly())
	}
	eng, err := pipeline.Open(ctx, inv.cfg, inv.log, opts...)
	if err != nil {
		return fail(inv.stderr, err)
	}
	defer eng.Close()
	return do(eng)
}

func doRun(ctx context.Context, inv *invocation) int {
	o := inv.opt
	if o.tenant != "" || o.queue != "" {
		return enqueueRun(ctx, inv)
	}
	return runFlows(ctx, inv, pipeline.Request{Flows: o.flows, IDs: o.ids, DryRun: o.dryRun, Created: o.report != ""})
}

func runFlows(ctx context.Context, inv *invocation, req pipeline.Request) int {
	return withEngine(ctx, inv, func(eng *pipeline.Engine) int { return runWith(ctx, eng, req, inv) })
}

func runWith(ctx context.Context, eng *pipeline.Engine, req pipeline.Request, inv *invocation) int {
	stdout, stderr := inv.stdout, inv.stderr
	if isTerminal(stderr) {
		req.Progress = func(flow, step string) {
			fmt.Fprintf(stderr, "\r\033[K%s: %s", flow, plan.Words(step))
		}
	}
	sums, err := eng.Run(ctx, req)
	if req.Progress != nil {
		fmt.Fprint(stderr, "\r\033[K")
	}
	failed := false
	for _, s := range sums {
		printSummary(stdout, s, req.DryRun)
		failed = failed || s.Errors > 0
	}
	if inv.opt.report != "" {
		if werr := writeReport(inv.opt.report, req, sums, err); werr != nil {
			fmt.Fprintf(stderr, "oimconnect: report: %v\n", werr)
		}
	}
	if err != nil {
		return fail(stderr, err)
	}
	if failed {
		return fault.ExitRecords
	}
	return fault.ExitOK
}

// printSummary prints a flow's summary line, and for a dry run what it could not know.
func printSummary(w io.Writer, s pipeline.Summary, dryRun bool) {
	if !dryRun {
		fmt.Fprintln(w, s)
		return
	}
	fmt.Fprintln(w, s.String()+" [dry run: nothing written]")
	if s.Note != "" {
		fmt.Fprintf(w, "  note: %s\n", s.Note)
	}
}

// writable refuses, before anything runs, a --report the command could not write when
// it is done (a run would otherwise export everything and lose its report), and one that
// would replace a file that is not a report: a database or a configuration named by
// mistake would be lost.
func writable(path string) error {
	if st, err := os.Stat(path); err == nil {
		if st.IsDir() {
			return fmt.Errorf("--report %s is a directory", path)
		}
		if st.Size() > 0 && !isReport(path) {
			return fmt.Errorf("--report %s exists and is not a report oimconnect wrote: it is never replaced (remove it, or choose another file)", path)
		}
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".oimconnect-report-*")
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("--report %s: cannot write in %s: %v", path, filepath.Dir(path), err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// isReport reports whether a file is a report an earlier run wrote (a JSON object
// whose first field is a run report's or a reconciliation's), reading only its start:
// a database, a configuration or any other file is not.
func isReport(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	dec := json.NewDecoder(io.LimitReader(f, 1<<10))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	t, err := dec.Token()
	return err == nil && (t == "dry_run" || t == "From")
}

// saveReport writes a report whole or not at all: into a new file beside it, then
// renamed over it.
func saveReport(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".oimconnect-report-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after the rename, nothing is there
	if _, err = f.Write(append(data, '\n')); err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// writeReport writes the run's summary as JSON: the counterpart of the product's email
// and notification.
func writeReport(path string, req pipeline.Request, sums []pipeline.Summary, runErr error) error {
	r := struct {
		DryRun bool               `json:"dry_run"`
		Flows  []pipeline.Summary `json:"flows"`
		Error  string             `json:"error,omitempty"`
	}{DryRun: req.DryRun, Flows: sums}
	if r.Flows == nil {
		r.Flows = []pipeline.Summary{}
	}
	if runErr != nil {
		r.Error = runErr.Error()
	}
	return saveReport(path, r)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0 && !strings.EqualFold(os.Getenv("TERM"), "dumb")
}
