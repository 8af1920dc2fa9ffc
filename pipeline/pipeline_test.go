package pipeline_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
	"github.com/oimconnect/oimconnect/pipeline/plan"
	"github.com/oimconnect/oimconnect/pipeline/store"
)

func engine(t *testing.T, path string, edit func(*config.Config), opts ...pipeline.Option) *pipeline.Engine {
	t.Helper()
	return fixture.Engine(t, path, edit, opts...)
}

var quiet = fixture.Quiet

func run(t *testing.T, e *pipeline.Engine, req pipeline.Request) []pipeline.Summary {
	t.Helper()
	sums, err := e.Run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return sums
}

func TestFailureBeforeCommitLeavesNoTrace(t *testing.T) {
	cut := true
	e := engine(t, fixture.DB(t, "sales-invoices.sql"), fixture.SalesInvoiceSettings, pipeline.WithHooks(store.Hooks{BeforeCommit: func(flow string) error {
		if cut {
			return errors.New("injected: power cut")
		}
		return nil
	}}))
	before := fixture.Dump(t, e.DB(), fixture.SalesInvoiceDump...)
	_, err := e.Run(context.Background(), pipeline.Request{Flows: []string{"sales-invoices"}})
	if err == nil || !strings.Contains(err.Error(), "injected: power cut") || !strings.Contains(err.Error(), "rolled back") {
		t.Fatalf("want the injected failure reported as rolled back, got %v", err)
	}
	if after := fixture.Dump(t, e.DB(), fixture.SalesInvoiceDump...); after != before {
		t.Errorf("a failed run left a trace:\n%s", after)
	}
	// The next run exports everything, exactly once.
	cut = false
	s := run(t, e, pipeline.Request{Flows: []string{"sales-invoices"}})[0]
	if s.Documents != 8 {
		t.Errorf("after the failure, a rerun creates the 8 documents; got %v", s)
	}
}

// A database lost (or refusing connections) in a flow is "nothing was written" (exit 4)
// only when no earlier flow or batch committed; after one did, the run failed midway
// (exit 3).
func TestDatabaseLostMidwayIsAFailureMidway(t *testing.T) {
	lost := func(at string) store.Hooks {
		return store.Hooks{BeforeCommit: func(flow string) error {
			if flow == at {
				return &fault.UnavailableError{Err: errors.New("injected: connection lost")}
			}
			return nil
		}}
	}
	for _, c := range []struct {
		flows []string
		want  int
	}{
		{[]string{"sales-invoices"}, fault.ExitLater},                  // the first thing written
		{[]string{"vendor-accounts", "sales-invoices"}, fault.ExitRun}, // after the vendor accounts
	} {
		e := engine(t, fixture.DB(t, "sales-invoices.sql"), fixture.SalesInvoiceSettings, pipeline.WithHooks(lost("sales-invoices")))
		if _, err := e.DB().Exec("INSERT INTO oim.supplier_site (id, name, active, updated_at) VALUES ('SS-LOST', 'Lost Parts Co', true, now())"); err != nil {
			t.Fatal(err)
		}
		sums, err := e.Run(context.Background(), pipeline.Request{Flows: c.flows})
		if got := fault.ExitStatus(err); got != c.want {
			t.Errorf("%v: exit %d (%v, %v), want %d", c.flows, got, sums, err, c.want)
		}
	}
}

// copySpecs copies the default specs into a directory a test may edit.

func TestDryRunCountsEverythingAndWritesNothing(t *testing.T) {
	e := engine(t, fixture.DB(t, "sales-invoices.sql"), fixture.SalesInvoiceSettings)
	before := fixture.Dump(t, e.DB(), fixture.SalesInvoiceDump...)
	dry := run(t, e, pipeline.Request{Flows: []string{"sales-invoices"}, DryRun: true})[0]
	if after := fixture.Dump(t, e.DB(), fixture.SalesInvoiceDump...); after != before {
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
		fixture.SalesInvoiceSettings(c)
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

func (noTransform) Transform(context.Context, catalog.Execer, *sql.Conn, *plan.Plan) (plan.Leftovers, error) {
	return plan.Leftovers{}, nil
}

// A required target field that a line's mapping leaves empty fails the record, naming
// the line, the field and where the spec takes it from; the narrow check (line outputs as views) says exactly what the
// check over stored outputs says.
func TestRequiredLineFieldLeftEmpty(t *testing.T) {
	dir := fixture.CopySpecs(t, func(name, text string) string {
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
		e := engine(t, fixture.DB(t, "sales-invoices.sql"), func(c *config.Config) { fixture.SalesInvoiceSettings(c); c.Specs = dir }, opts...)
		run(t, e, pipeline.Request{Flows: []string{"sales-invoices"}})
		var msg string
		if err := e.DB().QueryRow("SELECT export_status || ': ' || export_error FROM oim.invoice WHERE id = 'INV-OK'").Scan(&msg); err != nil {
			t.Fatal(err)
		}
		got = append(got, msg)
	}
	const why = `no Unit Price: Accounting requires one (sales_invoice_line_item.unit_price), and the expression invoice_id == "INV-OK" ? nil : derived_unit_price gives none`
	want := "Export Error: line IL-OK-1: " + why + "; line IL-OK-2: " + why
	if got[0] != want || got[1] != want {
		t.Errorf("views: %s\nstored: %s\nwant:   %s", got[0], got[1], want)
	}
}

// sizer makes a temp table of 5,000 rows, as the plugin host stages a plugin's changes,
// and leaves it for the write; or fails after making it.
type sizer struct {
	table string
	fail  bool
}

func (s *sizer) Transform(ctx context.Context, x catalog.Execer, _ *sql.Conn, p *plan.Plan) (plan.Leftovers, error) {
	s.table = strings.TrimSuffix(p.Bad, "bad") + "sized"
	if _, err := x.ExecContext(ctx, "CREATE TEMP TABLE "+s.table+" AS SELECT range AS x FROM range(5000)"); err != nil {
		return plan.Leftovers{}, err
	}
	if s.fail {
		return plan.Leftovers{}, errors.New("injected: the transform failed")
	}
	return plan.Leftovers{Temps: []string{s.table}}, nil
}

// The transform commits what it made before the flow's write transaction begins, so
// that DuckDB plans the write knowing its tables' sizes: it takes a table made in the
// running transaction for empty, and plans the joins reading it backwards. A transform
// that fails writes nothing to the schemas.
func TestTransformCommitsBeforeTheWrite(t *testing.T) {
	ctx := context.Background()
	tr := &sizer{}
	e := engine(t, fixture.DB(t, "sales-invoices.sql"), fixture.SalesInvoiceSettings, pipeline.WithTransform(tr))
	size := int64(-1)
	err := e.Inspect(ctx, "sales-invoices", "INV-OK", func(ctx context.Context, tx *sql.Tx, _ *plan.Plan, _ pipeline.Summary) error {
		return tx.QueryRowContext(ctx, "SELECT estimated_size FROM duckdb_tables() WHERE table_name = ?", tr.table).Scan(&size)
	})
	if err != nil || size != 5000 {
		t.Errorf("in the flow's transaction the transform's table has %d rows by its statistics, want 5000 (err %v)", size, err)
	}
	before := fixture.Dump(t, e.DB(), fixture.SalesInvoiceDump...)
	tr.fail = true
	if _, err := e.Run(ctx, pipeline.Request{Flows: []string{"sales-invoices"}}); err == nil || !strings.Contains(err.Error(), "injected: the transform failed") {
		t.Errorf("want the transform's failure reported, got %v", err)
	}
	if after := fixture.Dump(t, e.DB(), fixture.SalesInvoiceDump...); after != before {
		t.Errorf("a failed transform left a trace:\n%s", after)
	}
}
