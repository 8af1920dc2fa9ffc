package backfill_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/backfill"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
	"github.com/oimconnect/oimconnect/pipeline/store"
)

func settings(t *testing.T, source, target string) *config.Config {
	t.Helper()
	cfg, err := config.WithSettings(map[string]any{"default_company": "Acme UK Ltd"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Source, cfg.Target = source, target
	return cfg
}

func run(t *testing.T, cfg *config.Config, b backfill.Request, opts ...pipeline.Option) ([]pipeline.Summary, error) {
	t.Helper()
	ctx := context.Background()
	e, err := pipeline.Open(ctx, cfg, fixture.Quiet, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	return backfill.Run(ctx, e, b, nil)
}

func flow(sums []pipeline.Summary, name string) pipeline.Summary {
	for _, s := range sums {
		if s.Flow == name {
			return s
		}
	}
	return pipeline.Summary{}
}

// A backfill into a PostgreSQL target cut between the two steps (the target committed
// a batch's documents with its partitions' marks; the source never heard of it) and
// started again finishes the cut partitions: their records are recovered (written back
// only), none is left saying New, none exported twice.
func TestBackfillResumesAfterTheWriteBackWasCut(t *testing.T) {
	t.Parallel()
	pg := fixture.Postgres(t)
	gen := fixture.Generated(t, t.TempDir(), 200)
	fixture.LoadPostgres(t, pg, gen, "acct")
	src := fixture.Copy(t, gen, filepath.Join(t.TempDir(), "source.duckdb"))
	b := backfill.Request{From: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC), Partition: "month"}
	cfg := settings(t, src, pg)
	cfg.BatchSize = 40 // several batches of sales invoices: the crash comes after some are done
	crash, batches := errors.New("crash between the steps"), 0
	_, err := run(t, cfg, b, pipeline.WithHooks(store.Hooks{AfterTarget: func(flow string) error {
		if flow == "sales-invoices" {
			if batches++; batches == 2 {
				return crash
			}
		}
		return nil
	}}))
	if !errors.Is(err, crash) {
		t.Fatalf("backfill: %v, want the injected crash", err)
	}
	sums, err := run(t, cfg, b)
	if err != nil {
		t.Fatal(err)
	}
	if si := flow(sums, "sales-invoices"); si.Recovered == 0 {
		t.Fatalf("sales-invoices on resuming: %s; want the cut batch's records recovered", si)
	}
	// The same as a backfill never cut.
	refPG := fixture.Postgres(t)
	fixture.LoadPostgres(t, refPG, gen, "acct")
	ref := fixture.Copy(t, gen, filepath.Join(t.TempDir(), "reference.duckdb"))
	if _, err := run(t, settings(t, ref, refPG), b); err != nil {
		t.Fatal(err)
	}
	const written = "SELECT id, export_status, export_error, sales_invoice_id FROM oim.invoice ORDER BY id"
	if got, want := fixture.DumpFile(t, src, written), fixture.DumpFile(t, ref, written); got != want {
		t.Errorf("the invoices after resuming differ from a backfill never cut:\n%s\nwant\n%s", got, want)
	}
	// Once more: nothing left to do, every partition skipped.
	sums, err = run(t, cfg, b)
	if err != nil {
		t.Fatal(err)
	}
	if si := flow(sums, "sales-invoices"); si.Documents != 0 || si.Recovered != 0 {
		t.Errorf("a third backfill: %s; want nothing", si)
	}
}
