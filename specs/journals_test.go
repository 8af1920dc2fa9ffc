package specs_test

import (
	"strings"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
)

// The contract's journals flow over testdata/fixtures/journals.sql.

var journalFlow = []string{"journals"}

func journalSettings(c *config.Config) { c.Settings.DefaultCompany = "Acme UK Ltd" }

var journalDump = []string{
	fixture.Table("acct.journal"),
	fixture.Table("acct.journal_line_item"),
	"SELECT id, export_status, export_error, journal_id FROM oim.inventory_transaction ORDER BY id",
	"SELECT id, journal_line_item_id FROM oim.inventory_transaction_financial_record ORDER BY id",
}

// journalsBalance fails the test for every journal whose lines do not sum to exactly 0
// and every journal line of value 0.
func journalsBalance(t *testing.T, e *pipeline.Engine) {
	t.Helper()
	got := fixture.Dump(t, e.DB(),
		"SELECT journal_id, sum(value)::VARCHAR AS total FROM acct.journal_line_item GROUP BY 1 HAVING sum(value) <> 0 ORDER BY 1",
		"SELECT id FROM acct.journal_line_item WHERE value = 0 ORDER BY 1",
		"SELECT id FROM acct.journal j WHERE NOT EXISTS (SELECT 1 FROM acct.journal_line_item l WHERE l.journal_id = j.id) ORDER BY 1")
	want := "## SELECT journal_id, sum(value)::VARCHAR AS total FROM acct.journal_line_item GROUP BY 1 HAVING sum(value) <> 0 ORDER BY 1\njournal_id\ttotal\n\n" +
		"## SELECT id FROM acct.journal_line_item WHERE value = 0 ORDER BY 1\nid\n\n" +
		"## SELECT id FROM acct.journal j WHERE NOT EXISTS (SELECT 1 FROM acct.journal_line_item l WHERE l.journal_id = j.id) ORDER BY 1\nid\n\n"
	if got != want {
		t.Errorf("unbalanced journals, zero lines or journals without lines:\n%s", got)
	}
}

func TestJournalsGolden(t *testing.T) {
	t.Parallel()
	e := engine(t, fixture.DB(t, "journals.sql"), journalSettings)
	s := run(t, e, pipeline.Request{Flows: journalFlow})[0]
	// 26 eligible transactions to export (T-NOTLISTED, T-CUSTOM and T-DONE are not selected);
	// T-NOGLA, T-CLOSED and T-UNBAL are invalid; T-ALLZERO is exported with no journal:
	// 22 journals, of 2 lines each but T-ROUND and T-ROUND-CREDIT (3 lines).
	want := tally{Selected: 26, Exported: 23, Documents: 22, Lines: 46, Errors: 3}
	if got := counts(s); got != want {
		t.Errorf("summary\n got %+v\nwant %+v", got, want)
	}
	fixture.Golden(t, "journals.txt", fixture.Dump(t, e.DB(), journalDump...))
	journalsBalance(t, e)

	// A rerun creates nothing and changes nothing; it retries the three invalid ones.
	before := fixture.Dump(t, e.DB(), journalDump...)
	again := run(t, e, pipeline.Request{Flows: journalFlow})[0]
	if got := counts(again); got != (tally{Selected: 3, Errors: 3}) {
		t.Errorf("second run: %+v", got)
	}
	if after := fixture.Dump(t, e.DB(), journalDump...); after != before {
		t.Errorf("a rerun changed the data:\n%s", after)
	}
}

// The contract's rules spelled out per transaction, worked out by hand, beside the
// golden file: header fields, then each line as gla:value (line order).
func TestJournalsPerTransaction(t *testing.T) {
	t.Parallel()
	e := engine(t, fixture.DB(t, "journals.sql"), journalSettings)
	run(t, e, pipeline.Request{Flows: journalFlow})
	type want struct {
		company, currency, date, period, description string
		lines                                        string // gla:value, ...
	}
	cases := map[string]want{
		"T-OWN":          {"C1", "CUR-C1-GBP", "2024-06-30", "P-C1-2024-06", "Receive Purchased Material - Widget", "GLA-OWN:12.50, GLA-MAP-AP:-12.50"},
		"T-PG":           {"C1", "CUR-C1-GBP", "2024-06-20", "P-C1-2024-06", "Issue Customer Items Pick-list - Widget", "GLA-COGS-W:30.00, GLA-INV-W:-30.00"},
		"T-PG-NONE":      {"C1", "CUR-C1-GBP", "2024-06-20", "P-C1-2024-06", "Miscellaneous Receipt - Bolt", "GLA-MAP-INV:4.00, GLA-MAP-MISC:-4.00"},
		"T-NOITEM":       {"C1", "CUR-C1-GBP", "2024-06-20", "P-C1-2024-06", "Accrual Reversal", "GLA-MAP-INV:2.00, GLA-MAP-COGS:-2.00"},
		"T-EXP-DESC":     {"C2", "CUR-C2-USD", "2024-06-20", "P-C2-2024-06", "Add Service Cost", "GLA-PO-DESC:50.00, GLA-MAP-AP:-50.00"},
		"T-EXP-CAT":      {"C2", "CUR-C2-USD", "2024-06-20", "P-C2-2024-06", "Add Logistics Cost", "GLA-CAT:20.00, GLA-MAP-AP:-20.00"},
		"T-EXP-ITEMPO":   {"C2", "CUR-C2-USD", "2024-06-20", "P-C2-2024-06", "PPV - Widget", "GLA-MAP-EXP:0.75, GLA-INV-W:-0.75"},
		"T-EXP-NOPO":     {"C1", "CUR-C1-GBP", "2024-06-20", "P-C1-2024-06", "Use Tax - Widget", "GLA-MAP-EXP:1.50, GLA-MAP-AP:-1.50"},
		"T-REASON":       {"C1", "CUR-C1-GBP", "2024-06-20", "P-C1-2024-06", "Scrap Inventory - Widget", "GLA-REASON:8.00, GLA-INV-W:-8.00"},
		"T-CYCLE":        {"C1", "CUR-C1-GBP", "2024-06-20", "P-C1-2024-06", "Cycle Count - Widget", "GLA-REASON:3.00, GLA-INV-W:-3.00"},
		"T-REASON-NOGLA": {"C1", "CUR-C1-GBP", "2024-06-20", "P-C1-2024-06", "Miscellaneous Issue - Widget", "GLA-MAP-MISC:6.00, GLA-INV-W:-6.00"},
		"T-PO-NAME":      {"C3", "CUR-C3-USD", "2024-06-20", "P-C3-2024-06", "Receive Purchased Material - Widget", "GLA-INV-W:40.00, GLA-MAP-AP:-40.00"},
		"T-ICP":          {"C2", "CUR-C2-USD", "2024-06-20", "P-C2-2024-06", "Item Transfer Inbound - Widget", "GLA-INV-W:15.00, GLA-MAP-TRANSIT:-15.00"},
		"T-DEFCO":        {"C1", "CUR-C1-EUR", "2024-06-20", "P-C1-2024-06", "Item Transfer Outbound - Widget", "GLA-MAP-TRANSIT:9.00, GLA-INV-W:-9.00"},
		"T-NOICP":        {"C1", "CUR-C1-GBP", "2024-06-20", "P-C1-2024-06", "Removed from Inventory - Consumed in Service Purchase Order - Widget", "GLA-MAP-EXP:2.20, GLA-INV-W:-2.20"},
		"T-GIVEN":        {"C3", "CUR-C3-EUR", "2024-06-15", "P-C3-2024-06", "Adjust Current Value - Widget", "GLA-INV-W:0.10, GLA-COGS-W:-0.10"},
		"T-INVDATE":      {"C1", "CUR-C1-GBP", "2024-06-03", "P-C1-2024-06", "Bill Drop Ship Item - Widget", "GLA-COGS-W:11.00, GLA-MAP-AP:-11.00"},
		"T-APDATE":       {"C1", "CUR-C1-GBP", "2024-06-07", "P-C1-2024-06", "AP Voucher Credit - Widget", "GLA-INV-W:-0.40, GLA-MAP-AP:0.40"},
		"T-NOPERIOD":     {"C1", "CUR-C1-GBP", "2024-07-02", "NULL", "Manufacture Item - Widget", "GLA-INV-W:1.00, GLA-COGS-W:-1.00"},
		"T-ROUND":        {"C1", "CUR-C1-GBP", "2024-06-20", "P-C1-2024-06", "Reverse Receive Purchased Material - Widget", "GLA-INV-W:10.01, GLA-COGS-W:-3.33, GLA-COGS-W:-6.68"},
		"T-ROUND-CREDIT": {"C1", "CUR-C1-GBP", "2024-06-20", "P-C1-2024-06", "Item Changed Ownership - Widget", "GLA-INV-W:3.34, GLA-INV-W:6.67, GLA-MAP-AP:-10.01"},
		"T-ZEROLINE":     {"C1", "CUR-C1-GBP", "2024-06-20", "P-C1-2024-06", "Issue Production Order Pick - Widget", "GLA-INV-W:25.00, GLA-MAP-AP:-25.00"},
	}
	for id, w := range cases {
		t.Run(id, func(t *testing.T) {
			var got want
			err := e.DB().QueryRow(`SELECT j.company_id, j.journal_currency_id, j.journal_date::VARCHAR, coalesce(j.period_id, 'NULL'), j.journal_description,
  (SELECT string_agg(general_ledger_account_id || ':' || value::VARCHAR, ', ' ORDER BY line_number) FROM acct.journal_line_item WHERE journal_id = j.id)
FROM acct.journal j JOIN oim.inventory_transaction t ON t.journal_id = j.id WHERE t.id = ? AND t.export_status = 'Exported'`, id).
				Scan(&got.company, &got.currency, &got.date, &got.period, &got.description, &got.lines)
			if err != nil {
				t.Fatalf("no journal linked to an exported %s: %v", id, err)
			}
			if got != w {
				t.Errorf("\n got %+v\nwant %+v", got, w)
			}
		})
	}
	// Invalid, skipped and untouched transactions.
	others := []struct{ id, status, errorHas, journal string }{
		{"T-NOGLA", "Export Error", "line FR-NOGLA-1: no general ledger account for GL account category Scrap", "NULL"},
		{"T-CLOSED", "Export Error", "period 2024/005 is closed (journal date 2024-05-28)", "NULL"},
		{"T-UNBAL", "Export Error", "journal does not balance", "NULL"},
		{"T-ALLZERO", "Exported", "", "NULL"},
		{"T-NOTLISTED", "New", "", "NULL"},
		{"T-CUSTOM", "New", "", "NULL"},
		{"T-DONE", "Exported", "", "JNL-T-DONE/1"},
	}
	for _, o := range others {
		t.Run(o.id, func(t *testing.T) {
			var status, errText, journal string
			if err := e.DB().QueryRow(`SELECT export_status, coalesce(export_error, ''), coalesce(journal_id, 'NULL') FROM oim.inventory_transaction WHERE id = ?`, o.id).
				Scan(&status, &errText, &journal); err != nil {
				t.Fatal(err)
			}
			if status != o.status || journal != o.journal || (o.errorHas == "") != (errText == "") || !strings.Contains(errText, o.errorHas) {
				t.Errorf("got %s / %q / %s, want %s / %q / %s", status, errText, journal, o.status, o.errorHas, o.journal)
			}
			var n int
			if err := e.DB().QueryRow(`SELECT count(*) FROM acct.journal WHERE inventory_transaction_id = ?`, o.id).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("%d journals for %s, want none", n, o.id)
			}
		})
	}
}

// A type listed only in journal_custom_transaction_types is selected when the setting
// names it, and only then.
func TestJournalsCustomTransactionType(t *testing.T) {
	t.Parallel()
	e := engine(t, fixture.DB(t, "journals.sql"), func(c *config.Config) {
		journalSettings(c)
		c.Settings.JournalCustomTransactionTypes = []string{"Consignment Transfer"}
		c.Settings.AutoPost.Journals = true
	})
	s := run(t, e, pipeline.Request{Flows: journalFlow, IDs: []string{"T-CUSTOM", "T-NOTLISTED"}})[0]
	if got := counts(s); got != (tally{Selected: 1, Exported: 1, Documents: 1, Lines: 2}) {
		t.Errorf("summary %+v", got)
	}
	got := fixture.Dump(t, e.DB(),
		"SELECT id, export_status, journal_id FROM oim.inventory_transaction WHERE id IN ('T-CUSTOM', 'T-NOTLISTED') ORDER BY id",
		"SELECT id, journal_description, status FROM acct.journal",
		"SELECT id, line_number, general_ledger_account_id, value::VARCHAR AS value, line_description, inventory_transaction_financial_record_id FROM acct.journal_line_item ORDER BY 1")
	want := "## SELECT id, export_status, journal_id FROM oim.inventory_transaction WHERE id IN ('T-CUSTOM', 'T-NOTLISTED') ORDER BY id\n" +
		"id\texport_status\tjournal_id\nT-CUSTOM\tExported\tJNL-T-CUSTOM/1\nT-NOTLISTED\tNew\tNULL\n\n" +
		"## SELECT id, journal_description, status FROM acct.journal\nid\tjournal_description\tstatus\n" +
		"JNL-T-CUSTOM/1\tConsignment Transfer - Widget\tComplete\n\n" +
		"## SELECT id, line_number, general_ledger_account_id, value::VARCHAR AS value, line_description, inventory_transaction_financial_record_id FROM acct.journal_line_item ORDER BY 1\n" +
		"id\tline_number\tgeneral_ledger_account_id\tvalue\tline_description\tinventory_transaction_financial_record_id\n" +
		"JNL-T-CUSTOM/1/1\t1\tGLA-INV-W\t2.50\tInventory - Consignment Transfer\tFR-CUSTOM-1\n" +
		"JNL-T-CUSTOM/1/2\t2\tGLA-MAP-TRANSIT\t-2.50\tIn Transit - Consignment Transfer\tFR-CUSTOM-2\n\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// Without an ICP currency the journal currency is by the ISO code of the FIRST financial
// record (source line order: the record id), not any other record's.
func TestJournalsCurrencyOfTheFirstRecord(t *testing.T) {
	t.Parallel()
	e := engine(t, fixture.DB(t, "journals.sql"), journalSettings)
	if _, err := e.DB().Exec(`INSERT INTO oim.inventory_transaction (id, name, transaction_type, item_id, quantity, transaction_date)
  VALUES ('T-FIRSTCUR', 'no ICP, records in USD then EUR: the first record''s USD', 'Miscellaneous Receipt', 'ITM-W', 1, '2024-06-20');
INSERT INTO oim.inventory_transaction_financial_record (id, inventory_transaction_id, gl_account, quantity, icp_unit_cost, icp_value_amount, icp_currency) VALUES
  ('FR-FIRSTCUR-1', 'T-FIRSTCUR', 'Inventory', 1, 5, 5.00, 'USD'),
  ('FR-FIRSTCUR-2', 'T-FIRSTCUR', 'Miscellaneous', -1, 5, -5.00, 'EUR')`); err != nil {
		t.Fatal(err)
	}
	run(t, e, pipeline.Request{Flows: journalFlow, IDs: []string{"T-FIRSTCUR"}})
	var status, currency string
	if err := e.DB().QueryRow(`SELECT t.export_status, coalesce(j.journal_currency_id, 'NULL') FROM oim.inventory_transaction t
  LEFT JOIN acct.journal j ON j.id = t.journal_id WHERE t.id = 'T-FIRSTCUR'`).Scan(&status, &currency); err != nil {
		t.Fatal(err)
	}
	if status != "Exported" || currency != "CUR-C1-USD" {
		t.Errorf("got %s with journal currency %s; want Exported with CUR-C1-USD (the first record FR-FIRSTCUR-1 is in USD)", status, currency)
	}
}
