package pipeline_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
	"github.com/oimconnect/oimconnect/pipeline/plan"
	"github.com/oimconnect/oimconnect/pipeline/store"
	"github.com/oimconnect/oimconnect/specs"
)

func engine(t *testing.T, path string, edit func(*config.Config), opts ...pipeline.Option) *pipeline.Engine {
	t.Helper()
	return fixture.Engine(t, path, edit, opts...)
}

var quiet = fixture.Quiet

func salesSettings(c *config.Config) {
	c.Settings.SalesInvoiceLineLimit = 3
	c.Settings.DefaultCompany = "Acme UK Ltd"
	c.Settings.TaxSummaryLine = true
}

var salesDump = []string{
	fixture.Table("acct.sales_invoice"),
	fixture.Table("acct.sales_invoice_line_item"),
	"SELECT id, export_status, export_error, sales_invoice_id FROM oim.invoice ORDER BY id",
	"SELECT id, sales_invoice_line_item_id FROM oim.invoice_line ORDER BY id",
}

func TestSalesInvoicesGolden(t *testing.T) {
	path := fixture.DB(t, "sales-invoices.sql")
	e := engine(t, path, salesSettings)
	sums, err := e.Run(context.Background(), pipeline.Request{Flows: []string{"sales-invoices"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(sums)
	fixture.Golden(t, "sales-invoices.txt", fixture.Dump(t, e.DB(), salesDump...))
}

func run(t *testing.T, e *pipeline.Engine, req pipeline.Request) []pipeline.Summary {
	t.Helper()
	sums, err := e.Run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return sums
}

func TestRerunCreatesNothingNew(t *testing.T) {
	e := engine(t, fixture.DB(t, "sales-invoices.sql"), salesSettings)
	req := pipeline.Request{Flows: []string{"sales-invoices"}}
	first := run(t, e, req)[0]
	before := fixture.Dump(t, e.DB(), salesDump...)
	second := run(t, e, req)[0]
	if first.Documents == 0 || second.Documents != 0 || second.Lines != 0 || second.Exported != first.Errors-second.Errors {
		t.Fatalf("second run must create nothing and retry only the failed records: first %v, second %v", first, second)
	}
	if second.Selected != first.Errors {
		t.Errorf("second run selects the %d records still in Export Error, got %d", first.Errors, second.Selected)
	}
	if after := fixture.Dump(t, e.DB(), salesDump...); after != before {
		t.Errorf("a rerun changed the data:\n%s", after)
	}
}

func TestOnlyTheGivenIDs(t *testing.T) {
	e := engine(t, fixture.DB(t, "sales-invoices.sql"), salesSettings)
	s := run(t, e, pipeline.Request{Flows: []string{"sales-invoices"}, IDs: []string{"INV-DISC", "INV-NOCO", "INV-OPEN"}})[0]
	if s.Selected != 2 || s.Exported != 1 || s.Errors != 1 || s.Documents != 1 || s.Lines != 3 {
		t.Fatalf("summary %v", s)
	}
	got := fixture.Dump(t, e.DB(), "SELECT id, export_status FROM oim.invoice WHERE export_status <> 'New' ORDER BY id",
		"SELECT oim_invoice_id, count(*) FROM acct.sales_invoice GROUP BY 1")
	want := "## SELECT id, export_status FROM oim.invoice WHERE export_status <> 'New' ORDER BY id\nid\texport_status\n" +
		"INV-DISC\tExported\nINV-NOCO\tExport Error\nINV-OK\tExport Error\n\n" +
		"## SELECT oim_invoice_id, count(*) FROM acct.sales_invoice GROUP BY 1\noim_invoice_id\tcount_star()\nINV-DISC\t1\n\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestFailureBeforeCommitLeavesNoTrace(t *testing.T) {
	cut := true
	e := engine(t, fixture.DB(t, "sales-invoices.sql"), salesSettings, pipeline.WithHooks(store.Hooks{BeforeCommit: func(flow string) error {
		if cut {
			return errors.New("injected: power cut")
		}
		return nil
	}}))
	before := fixture.Dump(t, e.DB(), salesDump...)
	_, err := e.Run(context.Background(), pipeline.Request{Flows: []string{"sales-invoices"}})
	if err == nil || !strings.Contains(err.Error(), "injected: power cut") || !strings.Contains(err.Error(), "rolled back") {
		t.Fatalf("want the injected failure reported as rolled back, got %v", err)
	}
	if after := fixture.Dump(t, e.DB(), salesDump...); after != before {
		t.Errorf("a failed run left a trace:\n%s", after)
	}
	// The next run exports everything, exactly once.
	cut = false
	s := run(t, e, pipeline.Request{Flows: []string{"sales-invoices"}})[0]
	if s.Documents != 8 {
		t.Errorf("after the failure, a rerun creates the 8 documents; got %v", s)
	}
}

func TestAutoPostAndExtraLineStartsANewDocument(t *testing.T) {
	e := engine(t, fixture.DB(t, "sales-invoices.sql"), func(c *config.Config) {
		salesSettings(c)
		c.Settings.SalesInvoiceLineLimit = 5
		c.Settings.AutoPost.SalesInvoices = true
	})
	run(t, e, pipeline.Request{Flows: []string{"sales-invoices"}, IDs: []string{"INV-SPLIT"}})
	got := fixture.Dump(t, e.DB(), "SELECT sales_invoice_id, line_number, line_description FROM acct.sales_invoice_line_item ORDER BY 1, 2",
		"SELECT DISTINCT status FROM acct.sales_invoice")
	want := "## SELECT sales_invoice_id, line_number, line_description FROM acct.sales_invoice_line_item ORDER BY 1, 2\n" +
		"sales_invoice_id\tline_number\tline_description\n" +
		"SIN-INV-SPLIT/1\t1\tone\nSIN-INV-SPLIT/1\t2\ttwo\nSIN-INV-SPLIT/1\t3\tthree\nSIN-INV-SPLIT/1\t4\tfour, product given\nSIN-INV-SPLIT/1\t5\tfive\n" +
		"SIN-INV-SPLIT/2\t1\tDiscount\n\n" +
		"## SELECT DISTINCT status FROM acct.sales_invoice\nstatus\nComplete\n\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// copySpecs copies the default specs into a directory a test may edit.
func copySpecs(t *testing.T, edit func(name, text string) string) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := fs.ReadDir(specs.FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		data, err := fs.ReadFile(specs.FS, en.Name())
		if err != nil {
			t.Fatal(err)
		}
		text := edit(en.Name(), string(data))
		if err := os.WriteFile(filepath.Join(dir, en.Name()), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestEditedSpecChangesTheOutput(t *testing.T) {
	dir := copySpecs(t, func(name, text string) string {
		if name != "sales-invoices.yaml" {
			return text
		}
		text = strings.Replace(text, "Derive Period: {value: true}", "Derive Period: {value: false}", 1)
		return strings.Replace(text, `status not in ["Open", "Proforma"]`, `status not in ["Open", "Proforma", "Voided"]`, 1)
	})
	e := engine(t, fixture.DB(t, "sales-invoices.sql"), func(c *config.Config) { salesSettings(c); c.Specs = dir })
	run(t, e, pipeline.Request{Flows: []string{"sales-invoices"}})
	got := fixture.Dump(t, e.DB(), "SELECT DISTINCT derive_period FROM acct.sales_invoice",
		"SELECT export_status FROM oim.invoice WHERE id = 'INV-SC'")
	want := "## SELECT DISTINCT derive_period FROM acct.sales_invoice\nderive_period\nfalse\n\n" +
		"## SELECT export_status FROM oim.invoice WHERE id = 'INV-SC'\nexport_status\nNew\n\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestDryRunCountsEverythingAndWritesNothing(t *testing.T) {
	e := engine(t, fixture.DB(t, "sales-invoices.sql"), salesSettings)
	before := fixture.Dump(t, e.DB(), salesDump...)
	dry := run(t, e, pipeline.Request{Flows: []string{"sales-invoices"}, DryRun: true})[0]
	if after := fixture.Dump(t, e.DB(), salesDump...); after != before {
		t.Fatalf("a dry run wrote:\n%s", after)
	}
	real := run(t, e, pipeline.Request{Flows: []string{"sales-invoices"}})[0]
	dry.Duration, real.Duration = 0, 0
	if fmt.Sprint(dry) != fmt.Sprint(real) || len(dry.Failures) != 6 || dry.Failures[0].ID != "INV-BADLINES" {
		t.Errorf("a dry run reports what the run does:\ndry  %v %v\nreal %v", dry, dry.Failures, real)
	}
}

func TestDuckDBLimits(t *testing.T) {
	path := fixture.DB(t, "sales-invoices.sql")
	e := engine(t, path, func(c *config.Config) {
		salesSettings(c)
		c.DuckDB = config.DuckDB{MemoryLimit: "256MB", Threads: 1, TempDirectory: t.TempDir()}
	})
	if s := run(t, e, pipeline.Request{Flows: []string{"sales-invoices"}})[0]; s.Documents != 8 {
		t.Errorf("limited resources change nothing but speed: %v", s)
	}
	var limit string
	if err := e.DB().QueryRow("SELECT current_setting('memory_limit')").Scan(&limit); err != nil || !strings.Contains(limit, "MiB") {
		t.Errorf("memory_limit not applied: %q %v", limit, err)
	}
	cfg, _ := config.Load("", nil)
	cfg.DB, cfg.DuckDB.MemoryLimit = path, "lots"
	var busy *fault.BusyError
	if _, err := pipeline.Open(context.Background(), cfg, quiet); !errors.As(err, &busy) {
		t.Errorf("a second database of the file in one process is refused as busy, got %v", err)
	}
	e.Close()
	var in *fault.InputError
	if _, err := pipeline.Open(context.Background(), cfg, quiet); !errors.As(err, &in) || !strings.Contains(err.Error(), "duckdb.memory_limit") {
		t.Errorf("a bad memory limit is an input error naming it, got %v", err)
	}
}

// noTransform changes nothing; setting it makes the plan store its line outputs.
type noTransform struct{}

func (noTransform) Transform(context.Context, *sql.Tx, *sql.Conn, *plan.Plan) error { return nil }

// A required target field that a line's mapping leaves empty fails the record, naming
// the line and the field; the narrow check (line outputs as views) says exactly what the
// check over stored outputs says.
func TestRequiredLineFieldLeftEmpty(t *testing.T) {
	dir := copySpecs(t, func(name, text string) string {
		if name != "sales-invoices.yaml" {
			return text
		}
		return strings.Replace(text, "Unit Price: Derived Unit Price", `Unit Price: {expr: 'invoice_id == "INV-OK" ? nil : derived_unit_price'}`, 1)
	})
	var got []string
	for _, stored := range []bool{false, true} {
		var opts []pipeline.Option
		if stored {
			opts = append(opts, pipeline.WithTransform(noTransform{}))
		}
		e := engine(t, fixture.DB(t, "sales-invoices.sql"), func(c *config.Config) { salesSettings(c); c.Specs = dir }, opts...)
		run(t, e, pipeline.Request{Flows: []string{"sales-invoices"}})
		var msg string
		if err := e.DB().QueryRow("SELECT export_status || ': ' || export_error FROM oim.invoice WHERE id = 'INV-OK'").Scan(&msg); err != nil {
			t.Fatal(err)
		}
		got = append(got, msg)
	}
	want := "Export Error: line IL-OK-1: sales_invoice_line_item.unit_price is empty; line IL-OK-2: sales_invoice_line_item.unit_price is empty"
	if got[0] != want || got[1] != want {
		t.Errorf("views: %s\nstored: %s\nwant:   %s", got[0], got[1], want)
	}
}
