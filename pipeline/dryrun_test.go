package pipeline_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
)

// summaryText is summaries without its timing, for comparing a dry run with the run.
func summaryText(sums []pipeline.Summary) string {
	var b strings.Builder
	for _, s := range sums {
		fmt.Fprintf(&b, "%s: selected %d, exported %d, documents %d, lines %d, waiting %d, errors %d, recovered %d, failures %d\n",
			s.Flow, s.Selected, s.Exported, s.Documents, s.Lines, s.Waiting, s.Errors, s.Recovered, len(s.Failures))
		for _, f := range s.Failures {
			fmt.Fprintf(&b, "  %s: %s\n", f.ID, f.Reason)
		}
	}
	return b.String()
}

// A dry run of every flow is one rolled-back unit: the vendor accounts it would create
// are there when the payable invoices are checked, the sales invoices it would post
// when the credit notes are, and so on, in batches too. It predicts the run exactly and
// writes nothing.
func TestDryRunOfEveryFlowPredictsTheRun(t *testing.T) {
	t.Parallel()
	path := fixture.Copy(t, fixture.Generated(t, t.TempDir(), 400), filepath.Join(t.TempDir(), "oimconnect.duckdb"))
	cfg := demoConfig(t, path, "", "")
	cfg.BatchSize = 60
	ctx := context.Background()
	e, err := pipeline.Open(ctx, cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	before := fixture.Dump(t, e.DB(), allTables(t, e)...)
	dry, err := e.Run(ctx, pipeline.Request{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if after := fixture.Dump(t, e.DB(), allTables(t, e)...); after != before {
		t.Fatal("the dry run wrote something")
	}
	real, err := e.Run(ctx, pipeline.Request{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := summaryText(dry), summaryText(real); got != want {
		t.Errorf("the dry run predicted\n%s\nthe run did\n%s", got, want)
	}
	var vendors pipeline.Summary
	for _, s := range dry {
		if s.Flow == "vendor-accounts" {
			vendors = s
		}
		if s.Note != "" {
			t.Errorf("%s: a dry run of one DuckDB file knows everything, yet notes %q", s.Flow, s.Note)
		}
	}
	if vendors.Documents == 0 {
		t.Fatal("the data creates no vendor account: the test shows nothing")
	}
}

// A dry run of every flow applies a flow's writes only where a later flow reads them:
// the vendor accounts the payable invoices look up, the write-backs later flows read;
// the sales invoices' lines, which the credit notes only fetch by key, go into a temp
// table of their own (a million of them appended to the file's table would grow it);
// what nothing reads afterwards is not written at all.
func TestDryRunWritesWhatLaterFlowsRead(t *testing.T) {
	t.Parallel()
	path := fixture.DB(t)
	e, err := pipeline.Open(context.Background(), demoConfig(t, path, "", ""), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	plans, err := e.Plan(context.Background(), pipeline.Request{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(pipeline.DryWrites(plans), "\n") + "\n"
	fixture.Golden(t, "dry-run-writes.txt", got)
}

// Against a DuckDB source and a separate DuckDB target, one transaction cannot hold both
// sides' writes: each flow's dry run is rolled back on its own, and a flow that reads
// what an earlier one would write says so.
func TestDryRunAcrossTwoFilesSaysWhatItCannotKnow(t *testing.T) {
	t.Parallel()
	gen := fixture.Generated(t, t.TempDir(), 100)
	src := fixture.Copy(t, gen, filepath.Join(t.TempDir(), "source.duckdb"))
	tgt := fixture.Copy(t, gen, filepath.Join(t.TempDir(), "ledger.duckdb"))
	ctx := context.Background()
	e, err := pipeline.Open(ctx, demoConfig(t, "", src, tgt), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	sums, err := e.Run(ctx, pipeline.Request{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	notes := map[string]string{}
	for _, s := range sums {
		notes[s.Flow] = s.Note
	}
	if notes["vendor-accounts"] != "" {
		t.Errorf("the first flow reads nothing written before it, yet notes %q", notes["vendor-accounts"])
	}
	for _, flow := range []string{"payable-invoices", "sales-credit-notes"} {
		if n := notes[flow]; !strings.Contains(n, "counts assume the earlier flows of this dry run wrote nothing") {
			t.Errorf("%s: want a note on what the dry run cannot know, got %q", flow, n)
		}
	}
	if !strings.Contains(notes["payable-invoices"], "oim.supplier_site") {
		t.Errorf("payable-invoices: the note names the tables it reads that vendor-accounts writes: %q", notes["payable-invoices"])
	}
}

// allTables lists a query per contract table, for dumps.
func allTables(t *testing.T, e *pipeline.Engine) []string {
	t.Helper()
	rows, err := e.DB().Query(`SELECT table_schema || '.' || table_name FROM information_schema.tables
		WHERE table_schema IN ('oim', 'acct', 'connector') AND table_type = 'BASE TABLE' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, "SELECT COLUMNS(*)::VARCHAR FROM "+n+" ORDER BY ALL")
	}
	return out
}
