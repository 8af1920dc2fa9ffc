// Command oimconnect exports Order and Inventory Management records into Accounting
// documents, as the flow specs say. Run `oimconnect help` for the commands.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/explain"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/host"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
	"github.com/oimconnect/oimconnect/pipeline/spec"
	"github.com/oimconnect/oimconnect/pipeline/spectest"
	"github.com/oimconnect/oimconnect/pipeline/watch"
	"github.com/oimconnect/oimconnect/specs"
)

// Exit statuses.
const (
	exitOK      = 0 // every selected record exported
	exitRecords = 1 // some records failed: they carry Export Error
	exitInput   = 2 // usage, configuration, spec or database layout error: nothing written
	exitRun     = 3 // the run failed midway (database error): the batch in progress was rolled back
	exitBusy    = 4 // another process holds the DuckDB file: nothing written, try again later
)

const usage = `oimconnect exports Order and Inventory Management (OIM) records into Accounting
documents: invoices to sales invoices, and more, as declared by flow specs.

Usage:
  oimconnect run --db FILE [--config FILE] [--flow NAME]... [--id ID]... [--dry-run] [--report FILE]
      Export from and into one DuckDB file holding the oim and acct schemas.
      --flow limits the flows (default: all, in order); --id limits the run to
      those source records (the record page action). Prints one summary line
      per flow. --dry-run computes everything and writes nothing; --report FILE
      writes the summary as JSON: every created document with its source, every
      failure with its reason.
  oimconnect demo [--db FILE] [--invoices N] [--seed N]
      Generate a realistic OIM data set into a new DuckDB file and export it.
  oimconnect generate --db FILE [--invoices N] [--seed N]
      Create the schemas and generate the demo data set, without exporting.
  oimconnect watch --db FILE [--config FILE]
      Export automatically: every settings.automation.poll_interval (1s) open the
      file, export what became selected (a completed shipment, a matched voucher,
      a new or changed supplier site...), and close it so OIM can write between
      polls. settings.automation.flows.<flow> can disable a flow or name a boolean
      column as custom criteria. Runs until Ctrl-C or SIGTERM.
  oimconnect serve --db FILE [--config FILE]
      watch, plus the scheduled jobs of settings.schedules: per flow, Hourly,
      Daily, Weekly (days) or Monthly (day) at a start time, each running all
      eligible records. Runs of a flow never overlap.
  oimconnect backfill --db FILE --from DATE --to DATE [--flow NAME]... [--partition day|month]
      Export history partition by partition of document date (both days
      included), each partition's flows in their own transactions, with a
      progress bar on a terminal. Interrupted (Ctrl-C) or killed, the same
      command goes on where it stopped; nothing is exported twice.
  oimconnect runs --db FILE [--limit N]
      List the latest flow runs recorded in the database (schema connector):
      mode (manual, automatic, scheduled, backfill), counts, and errors.
  oimconnect init --db FILE
      Create the oim and acct schemas (the contract's DDL) in a DuckDB file.
  oimconnect plan --db FILE [--flow NAME]...
      Print the SQL each flow runs, without running it.
  oimconnect validate [--config FILE] [--db FILE] [SPEC_DIR]
      Check the specs and the configuration without touching data: keys and
      types, tables, columns and paths, target fields, required fields left
      unmapped, expressions. Against the database's tables with --db, else
      against the contract's schemas. Every problem is reported with
      file:line:column; exit status 2 when there is one.
  oimconnect explain --db FILE --flow NAME --id ID
      For one record: each select and ready condition with the values it read,
      the derived fields and where each came from, each rule's outcome, and the
      document(s) it would create. Nothing is written.
  oimconnect test [SPEC_DIR]
      Run the specs' unit tests (<flow>_test.yaml beside the specs: given source
      rows, expected target rows), each through the real engine in a fresh
      in-memory database. Exit status 1 when a test fails.
  oimconnect flows [--specs DIR]
      List the flows in run order.

Common flags:
  --config FILE   YAML configuration (db, specs, settings, log, batch_size, duckdb)
  --specs DIR     flow specs replacing the embedded defaults
  --log-level L   debug, info, warn, error (default info)

Configuration layers, later wins: defaults, --config file, OIMCONNECT_* environment
variables (OIMCONNECT_DB, OIMCONNECT_SETTINGS__TAX_SUMMARY_LINE=true), flags.

Exit status: 0 every selected record exported; 1 some records failed (they carry
Export Error and the reason); 2 usage, configuration or spec error (nothing
written); 3 the run failed midway (the batch in progress was rolled back;
earlier batches and flows stay exported); 4 the DuckDB file is in use by another
process (nothing written: try again when it is done).
`

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

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return exitInput
		}
		return exitOK
	}
	cmd, args := args[0], args[1:]
	fs := pflag.NewFlagSet(cmd, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	configFile := fs.String("config", "", "YAML configuration file")
	fs.String("db", "", "DuckDB file (or postgres:// URL) holding the oim and acct schemas")
	fs.String("source", "", "where OIM records are read when not --db: DuckDB file, postgres:// URL, or a directory of <table>.csv/.parquet files")
	fs.String("target", "", "where documents are written when not --db: DuckDB file or postgres:// URL")
	fs.String("specs", "", "directory of flow specs replacing the embedded defaults")
	logLevel := fs.String("log-level", "", "debug, info, warn or error")
	flows := fs.StringArray("flow", nil, "run only this flow (repeatable)")
	ids := fs.StringArray("id", nil, "export only this source record (repeatable)")
	dryRun := fs.Bool("dry-run", false, "compute the whole run, then roll it back: nothing is written")
	limit := fs.Int("limit", 20, "runs: how many flow runs to list")
	from := fs.String("from", "", "backfill: first document date, YYYY-MM-DD")
	to := fs.String("to", "", "backfill: last document date, YYYY-MM-DD")
	partition := fs.String("partition", "month", "backfill: day or month")
	report := fs.String("report", "", "write the run's summary as JSON to this file: counts per flow and every failure with its reason")
	invoices := fs.Int("invoices", 3000, "demo: number of invoices to generate")
	seed := fs.Int64("seed", 1, "demo: random seed")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return exitOK
		}
		fmt.Fprintf(stderr, "oimconnect %s: %v\n\n%s", cmd, err, usage)
		return exitInput
	}
	if (cmd == "validate" || cmd == "test") && fs.NArg() == 1 && !fs.Changed("specs") {
		_ = fs.Set("specs", fs.Arg(0))
	} else if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "oimconnect %s: unexpected argument %q\n", cmd, fs.Arg(0))
		return exitInput
	}
	if cmd == "demo" && !fs.Changed("db") {
		_ = fs.Set("db", "demo.duckdb")
	}
	cfg, err := config.Load(*configFile, fs)
	if err != nil {
		fmt.Fprintf(stderr, "oimconnect: %v\n", err)
		return exitInput
	}
	if *logLevel != "" {
		cfg.Log.Level = *logLevel
	}
	if cmd == "demo" && *configFile == "" {
		// The demo's sales orders with no company name mean the default company, and
		// documents are posted so the credit notes find complete invoices in one run.
		cfg.Settings.DefaultCompany = "Acme UK Ltd"
		cfg.Settings.AutoPost = config.AutoPost{SalesInvoices: true, SalesCreditNotes: true, PayableInvoices: true, PayableCreditNotes: true, Journals: true}
	}
	log := newLogger(cfg.Log, stderr)
	switch cmd {
	case "run":
		return runFlows(ctx, cfg, log, pipeline.Request{Flows: *flows, IDs: *ids, DryRun: *dryRun, Created: *report != ""}, *report, stdout, stderr)
	case "plan":
		return printPlan(ctx, cfg, log, pipeline.Request{Flows: *flows, IDs: *ids}, stdout, stderr)
	case "init":
		return initDB(ctx, cfg, stdout, stderr)
	case "validate":
		return validate(ctx, cfg, log, stdout, stderr)
	case "test":
		return testSpecs(ctx, cfg, stdout, stderr)
	case "watch", "serve":
		var plugins *host.Host
		if len(cfg.Plugins) > 0 {
			set, err := pipeline.LoadSpecs(cfg.Specs)
			if err == nil {
				plugins, err = host.New(cfg.Plugins, set, log)
			}
			if err != nil {
				return fail(stderr, err)
			}
			defer plugins.Close()
		}
		err := watch.Serve(ctx, cfg, log, watch.Options{Watch: true, Schedules: cmd == "serve", Transform: transformer(plugins),
			Report: func(mode string, sums []pipeline.Summary, err error) {
				stamp := time.Now().Format("15:04:05")
				for _, s := range sums {
					if s.Selected > 0 || s.Errors > 0 || mode == pipeline.ModeScheduled {
						fmt.Fprintf(stdout, "%s %s %s\n", stamp, mode, s)
					}
				}
				if err != nil {
					fmt.Fprintf(stderr, "%s oimconnect: %s: %v\n", stamp, mode, err)
				}
			}})
		if err != nil {
			return fail(stderr, err)
		}
		return exitOK
	case "backfill":
		return withEngine(ctx, cfg, log, stderr, func(eng *pipeline.Engine) int {
			return runBackfill(ctx, eng, *from, *to, *partition, *flows, *report, stdout, stderr)
		})
	case "runs":
		return withEngine(ctx, cfg, log, stderr, func(eng *pipeline.Engine) int {
			runs, err := eng.Runs(ctx, *limit)
			if err != nil {
				return fail(stderr, err)
			}
			fmt.Fprintf(stdout, "%-24s %-10s %-21s %-20s %8s %8s %9s %8s %7s %6s  %s\n", "run", "mode", "flow", "started (UTC)", "selected", "exported", "documents", "lines", "waiting", "errors", "detail")
			for _, r := range runs {
				detail := r.Detail
				if r.Error != "" {
					detail = strings.TrimSpace(detail + " FAILED: " + r.Error)
				}
				fmt.Fprintf(stdout, "%-24s %-10s %-21s %-20s %8d %8d %9d %8d %7d %6d  %s\n", r.RunID, r.Mode, r.Flow, r.Started.Format("2006-01-02 15:04:05"),
					r.Selected, r.Exported, r.Documents, r.Lines, r.Waiting, r.Errors, detail)
			}
			return exitOK
		})
	case "explain":
		if len(*flows) != 1 || len(*ids) != 1 {
			fmt.Fprintf(stderr, "oimconnect explain: give one --flow and one --id\n")
			return exitInput
		}
		return withEngine(ctx, cfg, log, stderr, func(eng *pipeline.Engine) int {
			x, err := explain.Record(ctx, eng, (*flows)[0], (*ids)[0])
			if err != nil {
				return fail(stderr, err)
			}
			fmt.Fprint(stdout, x)
			return exitOK
		})
	case "generate", "demo":
		if code := generate(ctx, cfg, *invoices, *seed, cmd == "demo", stdout, stderr); code != exitOK || cmd == "generate" {
			return code
		}
		code := runFlows(ctx, cfg, log, pipeline.Request{Flows: *flows}, *report, stdout, stderr)
		if code == exitRecords {
			// The demo data holds invalid records on purpose: show some of their reasons.
			showErrors(ctx, cfg.DB, stdout)
			return exitOK
		}
		return code
	case "flows":
		set, err := pipeline.LoadSpecs(cfg.Specs)
		if err != nil {
			return fail(stderr, err)
		}
		for _, f := range set.Ordered() {
			fmt.Fprintf(stdout, "%-22s %s\n", f.Name, f.Description)
		}
		return exitOK
	}
	fmt.Fprintf(stderr, "oimconnect: unknown command %q\n\n%s", cmd, usage)
	return exitInput
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

// fail prints an error and maps it to an exit status.
func fail(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "oimconnect: %v\n", err)
	return fault.ExitStatus(err)
}

// transformer is the plugin host as the engine's Transformer (nil without plugins).
func transformer(h *host.Host) pipeline.Transformer {
	if h == nil {
		return nil
	}
	return h
}

// withEngine opens the engine for do and closes it after, with the configured
// plugins as its transform.
func withEngine(ctx context.Context, cfg *config.Config, log *slog.Logger, stderr io.Writer, do func(*pipeline.Engine) int) int {
	eng, err := pipeline.Open(ctx, cfg, log)
	if err != nil {
		return fail(stderr, err)
	}
	defer eng.Close()
	return do(eng)
}

func runFlows(ctx context.Context, cfg *config.Config, log *slog.Logger, req pipeline.Request, report string, stdout, stderr io.Writer) int {
	return withEngine(ctx, cfg, log, stderr, func(eng *pipeline.Engine) int { return runWith(ctx, eng, req, report, stdout, stderr) })
}

func runWith(ctx context.Context, eng *pipeline.Engine, req pipeline.Request, report string, stdout, stderr io.Writer) int {
	if isTerminal(stderr) {
		req.Progress = func(flow, step string) {
			fmt.Fprintf(stderr, "\r\033[K%s: %s", flow, step)
		}
	}
	sums, err := eng.Run(ctx, req)
	if req.Progress != nil {
		fmt.Fprint(stderr, "\r\033[K")
	}
	failed := false
	for _, s := range sums {
		if req.DryRun {
			fmt.Fprintln(stdout, s.String()+" [dry run: nothing written]")
		} else {
			fmt.Fprintln(stdout, s)
		}
		failed = failed || s.Errors > 0
	}
	if report != "" {
		if werr := writeReport(report, req, sums, err); werr != nil {
			fmt.Fprintf(stderr, "oimconnect: report: %v\n", werr)
		}
	}
	if err != nil {
		return fail(stderr, err)
	}
	if failed {
		return exitRecords
	}
	return exitOK
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
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

func printPlan(ctx context.Context, cfg *config.Config, log *slog.Logger, req pipeline.Request, stdout, stderr io.Writer) int {
	return withEngine(ctx, cfg, log, stderr, func(eng *pipeline.Engine) int { return printPlanWith(ctx, eng, req, stdout, stderr) })
}

func printPlanWith(ctx context.Context, eng *pipeline.Engine, req pipeline.Request, stdout, stderr io.Writer) int {
	plans, err := eng.Plan(ctx, req)
	if err != nil {
		return fail(stderr, err)
	}
	for _, p := range plans {
		fmt.Fprintf(stdout, "-- flow %s\n", p.Flow)
		for _, st := range p.Stage {
			fmt.Fprintf(stdout, "\n-- stage: %s\n%s;\n", st.Name, st.SQL)
		}
		for _, st := range p.Write {
			fmt.Fprintf(stdout, "\n-- write: %s\n%s;\n", st.Name, st.SQL)
		}
		fmt.Fprintln(stdout)
	}
	return exitOK
}

func validate(ctx context.Context, cfg *config.Config, log *slog.Logger, stdout, stderr io.Writer) int {
	open := pipeline.OpenContract
	if cfg.DB != "" {
		open = pipeline.Open
	}
	eng, err := open(ctx, cfg, log)
	if err != nil {
		return fail(stderr, err)
	}
	defer eng.Close()
	plans, err := eng.Plan(ctx, pipeline.Request{})
	if err != nil {
		var probs spec.Problems
		if errors.As(err, &probs) {
			for _, p := range probs {
				fmt.Fprintln(stderr, p)
			}
			fmt.Fprintf(stderr, "%d problem(s)\n", len(probs))
			return exitInput
		}
		return fail(stderr, err)
	}
	for _, p := range plans {
		fmt.Fprintf(stdout, "ok  %s\n", p.Flow)
	}
	return exitOK
}

func testSpecs(ctx context.Context, cfg *config.Config, stdout, stderr io.Writer) int {
	var fsys iofs.FS = specs.FS
	dir := "specs (embedded)"
	if cfg.Specs != "" {
		fsys, dir = os.DirFS(cfg.Specs), cfg.Specs
	}
	results, err := spectest.RunDir(ctx, fsys, dir)
	if err != nil {
		return fail(stderr, &fault.InputError{Err: err})
	}
	failed := 0
	for _, r := range results {
		if r.Passed() {
			fmt.Fprintf(stdout, "PASS  %s: %s\n", r.File, r.Name)
			continue
		}
		failed++
		fmt.Fprintf(stdout, "FAIL  %s: %s\n", r.File, r.Name)
		for _, f := range r.Failures {
			fmt.Fprintf(stdout, "        %s\n", f)
		}
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", len(results)-failed, failed)
	if failed > 0 {
		return exitRecords
	}
	return exitOK
}

func initDB(ctx context.Context, cfg *config.Config, stdout, stderr io.Writer) int {
	type place struct {
		loc     string
		schemas []string
	}
	var places []place
	for _, p := range []place{{cfg.DB, []string{"oim", "acct"}}, {cfg.Source, []string{"oim"}}, {cfg.Target, []string{"acct"}}} {
		if p.loc != "" {
			places = append(places, p)
		}
	}
	if len(places) == 0 {
		return fail(stderr, &fault.InputError{Err: errors.New("init needs --db FILE|URL, --source URL or --target URL")})
	}
	for _, p := range places {
		if postgres.IsURL(p.loc) {
			conn, err := postgres.Connect(ctx, p.loc)
			if err != nil {
				return fail(stderr, &fault.InputError{Err: err})
			}
			err = postgres.Init(ctx, conn, p.schemas...)
			if err == nil && p.schemas[0] == "oim" {
				err = postgres.Notify(ctx, conn)
			}
			conn.Close(ctx)
			if err != nil {
				return fail(stderr, fmt.Errorf("%s: %w", postgres.Redact(p.loc), err))
			}
			fmt.Fprintf(stdout, "schemas %s ready in %s\n", strings.Join(p.schemas, " and "), postgres.Redact(p.loc))
			continue
		}
		db, err := sql.Open("duckdb", p.loc)
		if err != nil {
			return fail(stderr, err)
		}
		err = catalog.Init(ctx, db)
		db.Close()
		if err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintf(stdout, "schemas oim and acct ready in %s\n", p.loc)
	}
	return exitOK
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0 && !strings.EqualFold(os.Getenv("TERM"), "dumb")
}
