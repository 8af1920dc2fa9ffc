package specs_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
)

// The contract's sales-credit-notes flow over testdata/fixtures/sales-credit-notes.sql.

var creditFlow = []string{"sales-credit-notes"}

func creditSettings(c *config.Config) {
	c.Settings.DefaultCompany = "Acme UK Ltd"
	c.Settings.SalesCreditNoteLineLimit = 2
}

var creditDump = []string{
	fixture.Table("acct.sales_credit_note"),
	fixture.Table("acct.sales_credit_note_line_item"),
	"SELECT id, export_status, export_error, sales_credit_note_id FROM oim.credit_invoice ORDER BY id",
	"SELECT id, sales_credit_note_line_item_id FROM oim.credit_invoice_line ORDER BY id",
}

// creditReconcile gives the exported credit invoices whose notes do not add up to their
// credit amounts (testdata/reconcile.sql), and how many were exported with their notes.
func creditReconcile(t *testing.T, e *pipeline.Engine) (mismatching, exported int) {
	t.Helper()
	n, err := strconv.Atoi(valueOf(t, e.DB(), "SELECT count(*) FROM oim.credit_invoice WHERE export_status = 'Exported' AND sales_credit_note_id IN (SELECT id FROM acct.sales_credit_note) AND id <> 'CI-DONE'"))
	if err != nil {
		t.Fatal(err)
	}
	return len(mismatches(t, e.DB(), "sales-credit-notes")), n
}

func TestSalesCreditNotesGolden(t *testing.T) {
	t.Parallel()
	e := engine(t, fixture.DB(t, "sales-credit-notes.sql"), creditSettings)
	s := run(t, e, pipeline.Request{Flows: creditFlow})[0]
	// Selected and ready: CI-FULL, CI-PART, CI-RETRY (exported), CI-CLOSED, CI-NOSIL (invalid).
	// CI-FULL splits into 2 documents (3 lines, limit 2): 4 documents, 3 + 2 + 1 lines.
	want := tally{Selected: 5, Exported: 3, Documents: 4, Lines: 6, Waiting: 2, Errors: 2}
	if got := counts(s); got != want {
		t.Errorf("summary\n got %+v\nwant %+v", got, want)
	}
	fixture.Golden(t, "sales-credit-notes.txt", fixture.Dump(t, e.DB(), creditDump...))

	if bad, n := creditReconcile(t, e); bad != 0 || n != 3 {
		t.Errorf("%d of %d exported credit invoices do not reconcile (want 0 of 3)", bad, n)
	}
}

// tally is a summary's counts, for comparison.
type tally struct{ Selected, Exported, Documents, Lines, Waiting, Errors int64 }

func counts(s pipeline.Summary) tally {
	return tally{Selected: s.Selected, Exported: s.Exported, Documents: s.Documents, Lines: s.Lines, Waiting: s.Waiting, Errors: s.Errors}
}

// The contract's rules, one credit invoice at a time, spelled out beside the golden file.
func TestSalesCreditNotesPerRecord(t *testing.T) {
	t.Parallel()
	e := engine(t, fixture.DB(t, "sales-credit-notes.sql"), creditSettings)
	run(t, e, pipeline.Request{Flows: creditFlow})
	cases := []struct {
		id, status, errorHas, link string // errorHas "": export_error must be NULL
		notes                      int    // acct.sales_credit_note rows for it
	}{
		{id: "CI-FULL", status: "Exported", link: "SCN-CI-FULL/2", notes: 2},
		{id: "CI-PART", status: "Exported", link: "SCN-CI-PART/1", notes: 1},
		{id: "CI-RETRY", status: "Exported", link: "SCN-CI-RETRY/1", notes: 1},
		{id: "CI-CLOSED", status: "Export Error", errorHas: "period 2024/003 is closed"},
		{id: "CI-NOSIL", status: "Export Error", errorHas: "line CIL-NOSIL-2: invoice line IL-G-2"},
		{id: "CI-WAIT-INPROG", status: "New"},
		{id: "CI-WAIT-NOSI", status: "New"},
		{id: "CI-BILLDOC", status: "New"},
		{id: "CI-VOIDED", status: "New", notes: 1}, // the void process's note, untouched
		{id: "CI-DONE", status: "Exported", link: "SCN-CI-DONE/1"},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			var status string
			var errText, link *string
			var notes int
			if err := e.DB().QueryRow(`SELECT export_status, export_error, sales_credit_note_id,
  (SELECT count(*) FROM acct.sales_credit_note WHERE oim_credit_invoice_id = c.id) FROM oim.credit_invoice c WHERE id = ?`, c.id).
				Scan(&status, &errText, &link, &notes); err != nil {
				t.Fatal(err)
			}
			if status != c.status {
				t.Errorf("export_status %q, want %q", status, c.status)
			}
			switch {
			case c.errorHas == "" && errText != nil:
				t.Errorf("export_error %q, want NULL", *errText)
			case c.errorHas != "" && (errText == nil || !strings.Contains(*errText, c.errorHas)):
				t.Errorf("export_error %v, want it to hold %q", deref(errText), c.errorHas)
			}
			if deref(link) != c.link && !(c.link == "" && link == nil) {
				t.Errorf("sales_credit_note_id %v, want %q", deref(link), c.link)
			}
			if notes != c.notes {
				t.Errorf("%d sales credit notes, want %d", notes, c.notes)
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return "NULL"
	}
	return *s
}

func TestSalesCreditNotesOnlyTheGivenIDs(t *testing.T) {
	t.Parallel()
	e := engine(t, fixture.DB(t, "sales-credit-notes.sql"), creditSettings)
	s := run(t, e, pipeline.Request{Flows: creditFlow, IDs: []string{"CI-PART", "CI-WAIT-INPROG", "CI-BILLDOC"}})[0]
	want := tally{Selected: 1, Exported: 1, Documents: 1, Lines: 2, Waiting: 1}
	if got := counts(s); got != want {
		t.Errorf("summary\n got %+v\nwant %+v", got, want)
	}
	got := fixture.Dump(t, e.DB(), "SELECT id, export_status, sales_credit_note_id FROM oim.credit_invoice WHERE export_status <> 'New' ORDER BY id",
		"SELECT oim_credit_invoice_id, count(*) FROM acct.sales_credit_note GROUP BY 1 ORDER BY 1")
	wantDump := "## SELECT id, export_status, sales_credit_note_id FROM oim.credit_invoice WHERE export_status <> 'New' ORDER BY id\n" +
		"id\texport_status\tsales_credit_note_id\n" +
		"CI-DONE\tExported\tSCN-CI-DONE/1\nCI-PART\tExported\tSCN-CI-PART/1\nCI-RETRY\tExport Error\tNULL\n\n" +
		"## SELECT oim_credit_invoice_id, count(*) FROM acct.sales_credit_note GROUP BY 1 ORDER BY 1\n" +
		"oim_credit_invoice_id\tcount_star()\nCI-PART\t1\nCI-VOIDED\t1\n\n"
	if got != wantDump {
		t.Errorf("got\n%s\nwant\n%s", got, wantDump)
	}
}

func TestSalesCreditNotesRerunCreatesNothing(t *testing.T) {
	t.Parallel()
	e := engine(t, fixture.DB(t, "sales-credit-notes.sql"), creditSettings)
	first := run(t, e, pipeline.Request{Flows: creditFlow})[0]
	before := fixture.Dump(t, e.DB(), creditDump...)
	second := run(t, e, pipeline.Request{Flows: creditFlow})[0]
	// Only the two invalid ones are selected again; the waiting ones still wait.
	want := tally{Selected: 2, Errors: 2, Waiting: 2}
	if got := counts(second); first.Documents == 0 || got != want {
		t.Errorf("second run\n got %+v\nwant %+v", got, want)
	}
	if after := fixture.Dump(t, e.DB(), creditDump...); after != before {
		t.Errorf("a rerun changed the data:\n%s", after)
	}
}

// A waiting credit invoice goes once its sales invoice is Complete; an invalid one once fixed.
func TestSalesCreditNotesWaitingThenReady(t *testing.T) {
	t.Parallel()
	e := engine(t, fixture.DB(t, "sales-credit-notes.sql"), creditSettings)
	run(t, e, pipeline.Request{Flows: creditFlow})
	if _, err := e.DB().Exec(`UPDATE acct.sales_invoice SET status = 'Complete' WHERE id = 'SIN-INV-B/1';
UPDATE oim.invoice_line SET sales_invoice_line_item_id = 'SIN-INV-G/1/2' WHERE id = 'IL-G-2';
INSERT INTO acct.sales_invoice_line_item VALUES ('SIN-INV-G/1/2', 'SIN-INV-G/1', 2, 'Gadget, late', 'ITM-2', 'PR-GADGET',
  'D1-NORTH', NULL, NULL, NULL, 1, 3.00, NULL, 'IL-G-2', false, true)`); err != nil {
		t.Fatal(err)
	}
	s := run(t, e, pipeline.Request{Flows: creditFlow})[0]
	want := tally{Selected: 3, Exported: 2, Documents: 2, Lines: 3, Waiting: 1, Errors: 1}
	if got := counts(s); got != want {
		t.Errorf("summary\n got %+v\nwant %+v", got, want)
	}
	got := fixture.Dump(t, e.DB(),
		"SELECT id, export_status, export_error, sales_credit_note_id FROM oim.credit_invoice WHERE id IN ('CI-WAIT-INPROG', 'CI-NOSIL', 'CI-WAIT-NOSI') ORDER BY id",
		"SELECT sales_credit_note_id, line_number, line_description, unit_price::VARCHAR AS unit_price, oim_credit_invoice_line_id FROM acct.sales_credit_note_line_item WHERE sales_credit_note_id IN ('SCN-CI-NOSIL/1', 'SCN-CI-WAIT-INPROG/1') ORDER BY 1, 5")
	wantDump := "## SELECT id, export_status, export_error, sales_credit_note_id FROM oim.credit_invoice WHERE id IN ('CI-WAIT-INPROG', 'CI-NOSIL', 'CI-WAIT-NOSI') ORDER BY id\n" +
		"id\texport_status\texport_error\tsales_credit_note_id\n" +
		"CI-NOSIL\tExported\tNULL\tSCN-CI-NOSIL/1\nCI-WAIT-INPROG\tExported\tNULL\tSCN-CI-WAIT-INPROG/1\nCI-WAIT-NOSI\tNew\tNULL\tNULL\n\n" +
		"## SELECT sales_credit_note_id, line_number, line_description, unit_price::VARCHAR AS unit_price, oim_credit_invoice_line_id FROM acct.sales_credit_note_line_item WHERE sales_credit_note_id IN ('SCN-CI-NOSIL/1', 'SCN-CI-WAIT-INPROG/1') ORDER BY 1, 5\n" +
		"sales_credit_note_id\tline_number\tline_description\tunit_price\toim_credit_invoice_line_id\n" +
		"SCN-CI-NOSIL/1\t1\tWidget\t12.00\tCIL-NOSIL-1\nSCN-CI-NOSIL/1\t2\tGadget, late\t3.00\tCIL-NOSIL-2\n" +
		"SCN-CI-WAIT-INPROG/1\t1\tWidget\t9.00\tCIL-WAIT-INPROG-1\n\n"
	if got != wantDump {
		t.Errorf("got\n%s\nwant\n%s", got, wantDump)
	}
	if bad, n := creditReconcile(t, e); bad != 0 || n != 5 {
		t.Errorf("%d of %d exported credit invoices do not reconcile (want 0 of 5)", bad, n)
	}
}

// With the default line limit no split happens; auto_post writes Complete notes.
func TestSalesCreditNotesAutoPostNoSplit(t *testing.T) {
	t.Parallel()
	e := engine(t, fixture.DB(t, "sales-credit-notes.sql"), func(c *config.Config) {
		c.Settings.DefaultCompany = "Acme UK Ltd"
		c.Settings.AutoPost.SalesCreditNotes = true
	})
	s := run(t, e, pipeline.Request{Flows: creditFlow})[0]
	if s.Documents != 3 || s.Lines != 6 || s.Exported != 3 {
		t.Errorf("summary %+v, want 3 documents of 6 lines for 3 credit invoices", s)
	}
	got := fixture.Dump(t, e.DB(),
		"SELECT id, status FROM acct.sales_credit_note WHERE id <> 'SCN-VOID-PROCESS' ORDER BY id",
		"SELECT sales_credit_note_id, count(*) FROM acct.sales_credit_note_line_item GROUP BY 1 ORDER BY 1",
		"SELECT sales_credit_note_id FROM oim.credit_invoice WHERE id = 'CI-FULL'")
	want := "## SELECT id, status FROM acct.sales_credit_note WHERE id <> 'SCN-VOID-PROCESS' ORDER BY id\nid\tstatus\n" +
		"SCN-CI-FULL/1\tComplete\nSCN-CI-PART/1\tComplete\nSCN-CI-RETRY/1\tComplete\n\n" +
		"## SELECT sales_credit_note_id, count(*) FROM acct.sales_credit_note_line_item GROUP BY 1 ORDER BY 1\n" +
		"sales_credit_note_id\tcount_star()\nSCN-CI-FULL/1\t3\nSCN-CI-PART/1\t2\nSCN-CI-RETRY/1\t1\n\n" +
		"## SELECT sales_credit_note_id FROM oim.credit_invoice WHERE id = 'CI-FULL'\nsales_credit_note_id\nSCN-CI-FULL/1\n\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if bad, n := creditReconcile(t, e); bad != 0 || n != 3 {
		t.Errorf("%d of %d exported credit invoices do not reconcile (want 0 of 3)", bad, n)
	}
}
