package explain_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/explain"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
)

// Against a PostgreSQL source, explain reads the record where it lives, like a run: one
// record of every flow, in run order, is explained exactly as it is from the same data in
// a DuckDB file (its status, conditions, rules and the documents it would become); once
// the flow has run, the record is no candidate; an unknown record is an input error.
func TestExplainPostgres(t *testing.T) {
	pg := fixture.Postgres(t) // skips (or fails under CI) without a server
	gen := fixture.Generated(t, t.TempDir(), 60)
	fixture.LoadPostgres(t, pg, gen, "oim", "acct")
	ctx := context.Background()
	// Invoices written Complete: the credit notes wait for theirs to be.
	posted := func(c *config.Config) {
		c.Settings.AutoPost = config.AutoPost{SalesInvoices: true, PayableInvoices: true}
	}
	duck, pgEng := fixture.Engine(t, gen, posted), fixture.Engine(t, pg, posted)
	flows := pgEng.Specs().Ordered()
	if len(flows) < 6 {
		t.Fatalf("expected every flow, got %d", len(flows))
	}
	for _, f := range flows {
		t.Run(f.Name, func(t *testing.T) {
			ps, err := duck.Plan(ctx, pipeline.Request{Flows: []string{f.Name}})
			if err != nil {
				t.Fatal(err)
			}
			p := ps[0]
			id, want := exportable(t, duck, f.Name, p.Source, p.Status)
			x, err := explain.Record(ctx, pgEng, f.Name, id)
			if err != nil {
				t.Fatalf("explain %s on PostgreSQL: %v", id, err)
			}
			if got := x.String(); got != want.String() {
				t.Errorf("explain %s on PostgreSQL:\n%s\non DuckDB:\n%s", id, got, want)
			}
			if p.Status != "" && x.Status != "New" {
				t.Errorf("%s: status %q, want New", id, x.Status)
			}
			if len(x.Documents) == 0 || !strings.HasPrefix(x.Documents[0].Table, "acct.") ||
				x.Outcome != fmt.Sprintf("exported: %d row(s) written", len(x.Documents)) {
				t.Errorf("%s: no document: %s\n%s", id, x.Outcome, x)
			}
			var in *fault.InputError
			if _, err := explain.Record(ctx, pgEng, f.Name, "NOPE-0"); !errors.As(err, &in) || !strings.Contains(err.Error(), `has no record "NOPE-0"`) {
				t.Errorf("an unknown record is an input error, got %v", err)
			}
			// The flow exported on both sides: what later flows reach (a credit note's
			// invoice) is there, and the record is no candidate any more.
			for _, e := range []*pipeline.Engine{duck, pgEng} {
				if _, err := e.Run(ctx, pipeline.Request{Flows: []string{f.Name}}); err != nil {
					t.Fatal(err)
				}
			}
			if p.Status == "" {
				return
			}
			x, err = explain.Record(ctx, pgEng, f.Name, id)
			if err != nil || !strings.Contains(x.String(), fmt.Sprintf("(export status Exported)\n\noutcome: not a candidate: its %s is \"Exported\"", p.Status)) {
				t.Errorf("%s once exported: %v\n%s", id, err, x)
			}
		})
	}
}

// exportable is the first record of the flow (by key) that explain on the DuckDB file
// says would be exported with documents, and its explanation there.
func exportable(t *testing.T, e *pipeline.Engine, flow string, src *catalog.Table, status string) (string, *explain.Explanation) {
	t.Helper()
	q := fmt.Sprintf("SELECT CAST(%s AS VARCHAR) FROM %s", catalog.Ident(src.Key), src.SQLName())
	if status != "" {
		q += " WHERE " + catalog.Ident(status) + " = 'New'"
	}
	ids := fixture.Rows(t, e.DB(), q+" ORDER BY 1 LIMIT 40")
	for _, id := range ids {
		x, err := explain.Record(context.Background(), e, flow, id)
		if err != nil {
			t.Fatalf("explain %s on DuckDB: %v", id, err)
		}
		if len(x.Documents) > 0 {
			return id, x
		}
	}
	t.Fatalf("%s: none of %d records would be exported", flow, len(ids))
	return "", nil
}
