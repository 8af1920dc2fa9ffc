package specs_test

import (
	"strings"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
)

func payableInvoiceSettings(c *config.Config) {
	c.Settings.DefaultCompany = "Acme UK Ltd"
}

var payableInvoiceFlow = []string{"payable-invoices"}

var payableInvoiceDump = []string{
	fixture.Table("acct.payable_invoice"),
	fixture.Table("acct.payable_invoice_line_item"),
	fixture.Table("acct.payable_invoice_expense_line_item"),
	"SELECT id, status, export_status, export_error, payable_invoice_id FROM oim.ap_voucher ORDER BY id",
	"SELECT id, payable_invoice_line_item_id, payable_invoice_expense_line_item_id FROM oim.ap_voucher_line ORDER BY id",
}

func payableInvoices(t *testing.T, edit func(*config.Config)) *pipeline.Engine {
	t.Helper()
	return engine(t, fixture.DB(t, "payable-invoices.sql"), func(c *config.Config) {
		payableInvoiceSettings(c)
		if edit != nil {
			edit(c)
		}
	})
}

// The whole fixture, checked line by line against the contract when the golden file
// was written.
func TestPayableInvoicesGolden(t *testing.T) {
	t.Parallel()
	e := payableInvoices(t, nil)
	s := run(t, e, pipeline.Request{Flows: payableInvoiceFlow})[0]
	// 15 Matched vouchers in New or Export Error: 8 exported, 7 invalid. VCH-OPEN and
	// VCH-VOIDED (status) and VCH-EXPORTED (export status) are not selected.
	if s.Selected != 15 || s.Exported != 8 || s.Errors != 7 || s.Waiting != 0 || s.Documents != 8 || s.Lines != 18 {
		t.Errorf("summary %v", s)
	}
	fixture.Golden(t, "payable-invoices.txt", fixture.Dump(t, e.DB(), payableInvoiceDump...))
}

// Selection, company and currency derivation, validity: one row per voucher.
func TestPayableInvoicesEachVoucher(t *testing.T) {
	t.Parallel()
	e := payableInvoices(t, nil)
	run(t, e, pipeline.Request{Flows: payableInvoiceFlow})
	cases := []struct {
		id     string
		source string // export_status, export_error, payable_invoice_id
		docs   string // each document: id company currency, or NULL for none
	}{
		{"VCH-OK", "Exported\tNULL\tPIN-VCH-OK/1", "PIN-VCH-OK/1 C1 CUR-C1-GBP"},
		{"VCH-OPEN", "New\tNULL\tNULL", "NULL"},
		{"VCH-VOIDED", "New\tNULL\tNULL", "NULL"},
		{"VCH-EXPORTED", "Exported\tNULL\tPIN-ELSEWHERE", "NULL"},
		{"VCH-RETRY", "Exported\tNULL\tPIN-VCH-RETRY/1", "PIN-VCH-RETRY/1 C1 CUR-C1-GBP"},
		// The PO's own accounting ids.
		{"VCH-PO-IDS", "Exported\tNULL\tPIN-VCH-PO-IDS/1", "PIN-VCH-PO-IDS/1 C2 CUR-C2-USD"},
		// The PO names no company: the default company, currency by the PO's ISO code.
		{"VCH-PO-DEFCO", "Exported\tNULL\tPIN-VCH-PO-DEFCO/1", "PIN-VCH-PO-DEFCO/1 C1 CUR-C1-EUR"},
		{"VCH-TWO-POS", "Exported\tNULL\tPIN-VCH-TWO-POS/1", "PIN-VCH-TWO-POS/1 C1 CUR-C1-GBP"},
		{"VCH-COMPANIES-DISAGREE", "Export Error\tthe purchase orders of its lines disagree: companies C1 and C2, currencies GBP and USD\tNULL", "NULL"},
		{"VCH-CURRENCIES-DISAGREE", "Export Error\tthe purchase orders of its lines disagree: companies C1 and C1, currencies EUR and GBP\tNULL", "NULL"},
		// No PO lines: the default company and the voucher's currency ISO code.
		{"VCH-NO-PO", "Exported\tNULL\tPIN-VCH-NO-PO/1", "PIN-VCH-NO-PO/1 C1 CUR-C1-EUR"},
		// Given values win over the PO (which says Acme UK Ltd, GBP).
		{"VCH-GIVEN", "Exported\tNULL\tPIN-VCH-GIVEN/1", "PIN-VCH-GIVEN/1 C2 CUR-C2-USD"},
		{"VCH-PO-NOCUR", "Export Error\tno currency: company Acme US Inc has no Accounting currency JPY\tNULL", "NULL"},
		{"VCH-SITE-NOACCT", "Export Error\tsupplier site SS-NOACCT is not linked to a vendor account\tNULL", "NULL"},
		{"VCH-SITE-CUST", "Export Error\tsupplier site SS-CUST is not linked to a vendor account (A-CUST1 is not an existing vendor account)\tNULL", "NULL"},
		{"VCH-SITE-GONE", "Export Error\tsupplier site SS-GONE is not linked to a vendor account (A-GONE is not an existing vendor account)\tNULL", "NULL"},
		// Every broken eligibility rule of seed 004, each naming its line; the good line
		// VL-BAD-1-OK is not named.
		{"VCH-BADLINES", "Export Error\t" +
			"line VL-BAD-2-GROUP-NOPROD: no product: product group PG-NOPROD of item ITM-NOPROD has no product; " +
			"line VL-BAD-3-NO-GROUP: no product: item ITM-ORPHAN has no product group; " +
			"line VL-BAD-4-CAT-NOGLA: no general ledger account: category PG-CAT-NOGLA has no Purchase Analysis GLA for Category; " +
			"line VL-BAD-5-DESC-NOGLA: no general ledger account: purchase order line POL-UK-DESC-NOGLA has none; " +
			"line VL-BAD-6-ACCOUNTING-NOPROD: no product: product group PG-NOPROD of item ITM-SVC-NOPROD has no product\tNULL", "NULL"},
		{"VCH-SPLIT", "Exported\tNULL\tPIN-VCH-SPLIT/1", "PIN-VCH-SPLIT/1 C1 CUR-C1-GBP"},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			if got := valueOf(t, e.DB(), "SELECT export_status, export_error, payable_invoice_id FROM oim.ap_voucher WHERE id = '"+c.id+"'"); got != c.source {
				t.Errorf("voucher:\n got %q\nwant %q", got, c.source)
			}
			if got := valueOf(t, e.DB(), "SELECT string_agg(id || ' ' || company_id || ' ' || invoice_currency_id, ', ' ORDER BY id) FROM acct.payable_invoice WHERE ap_voucher_id = '"+c.id+"'"); got != c.docs {
				t.Errorf("documents:\n got %q\nwant %q", got, c.docs)
			}
			if c.docs == "NULL" {
				if n := valueOf(t, e.DB(), "SELECT count(*) FROM oim.ap_voucher_line WHERE ap_voucher_id = '"+c.id+"' AND (payable_invoice_line_item_id IS NOT NULL OR payable_invoice_expense_line_item_id IS NOT NULL)"); n != "0" {
					t.Errorf("%s lines got a link without a document", n)
				}
			}
		})
	}
}

// VCH-OK: product lines (PO line of type Item, no PO line: Tax and Accounting) and
// expense lines (PO line of type Category or Description), each kind numbered 1..n in
// source line order; the seed's mappings and statics; each line's link written back.
func TestPayableInvoicesProductAndExpenseLines(t *testing.T) {
	t.Parallel()
	e := payableInvoices(t, nil)
	run(t, e, pipeline.Request{Flows: payableInvoiceFlow, IDs: []string{"VCH-OK"}})
	wantRows(t, e.DB(), "SELECT id, company_id, invoice_currency_id, currency_iso_code, account_id, vendor_invoice_number, invoice_date, due_date, registered_date, period_id, ap_voucher_id, copy_account_values, derive_currency, derive_due_date, status FROM acct.payable_invoice",
		"PIN-VCH-OK/1\tC1\tCUR-C1-GBP\tGBP\tA-VEND1\tSUP-100\t2024-02-10\t2024-03-10\t2024-02-12\tP-C1-2024-02\tVCH-OK\tfalse\tfalse\tfalse\tIn Progress")
	// Product lines: description from PO line > item > description (none without a PO
	// line), dimensions from the item's product group, quantity and unit price as given.
	wantRows(t, e.DB(), "SELECT line_number, ap_voucher_line_id, item_id, product_id, line_description, dimension1_id, dimension2_id, dimension3_id, dimension4_id, quantity, unit_price, derive_unit_price_from_product, derive_line_number FROM acct.payable_invoice_line_item WHERE payable_invoice_id = 'PIN-VCH-OK/1' ORDER BY line_number",
		"1\tVL-OK-1-ITEM\tITM-W\tPR-WIDGET\tWidget, blue, 10 mm\tD1-NORTH\tD2-RETAIL\tD3-X\tD4-Y\t2.0000\t10.00\tfalse\ttrue",
		"2\tVL-OK-3-ITEM-FRACTION\tITM-W\tPR-WIDGET\tWidget, blue, 10 mm\tD1-NORTH\tD2-RETAIL\tD3-X\tD4-Y\t1.5000\t3.33\tfalse\ttrue",
		"3\tVL-OK-5-TAX\tNULL\tPR-TAX\tNULL\tNULL\tNULL\tNULL\tNULL\t1.0000\t12.34\tfalse\ttrue",
		"4\tVL-OK-6-ACCOUNTING\tITM-SVC\tPR-SERVICE\tNULL\tD1-SOUTH\tNULL\tNULL\tNULL\t1.0000\t25.00\tfalse\ttrue")
	// Expense lines: net value = amount, GLA of the category or of the PO line,
	// description of the PO line.
	wantRows(t, e.DB(), "SELECT line_number, ap_voucher_line_id, general_ledger_account_id, net_value, line_description, set_gla_to_default, derive_line_number FROM acct.payable_invoice_expense_line_item WHERE payable_invoice_id = 'PIN-VCH-OK/1' ORDER BY line_number",
		"1\tVL-OK-2-CATEGORY\tGLA-CONSULT\t150.00\tPO line: consulting days\tfalse\ttrue",
		"2\tVL-OK-4-DESCRIPTION\tGLA-PURCH\t75.50\tPO line: office cleaning\tfalse\ttrue")
	wantRows(t, e.DB(), "SELECT id, payable_invoice_line_item_id, payable_invoice_expense_line_item_id FROM oim.ap_voucher_line WHERE ap_voucher_id = 'VCH-OK' ORDER BY line_number",
		"VL-OK-1-ITEM\tPIN-VCH-OK/1/1\tNULL",
		"VL-OK-2-CATEGORY\tNULL\tPIN-VCH-OK/1/1",
		"VL-OK-3-ITEM-FRACTION\tPIN-VCH-OK/1/2\tNULL",
		"VL-OK-4-DESCRIPTION\tNULL\tPIN-VCH-OK/1/2",
		"VL-OK-5-TAX\tPIN-VCH-OK/1/3\tNULL",
		"VL-OK-6-ACCOUNTING\tPIN-VCH-OK/1/4\tNULL")
	wantRows(t, e.DB(), "SELECT export_status, export_error, payable_invoice_id FROM oim.ap_voucher WHERE id = 'VCH-OK'",
		"Exported\tNULL\tPIN-VCH-OK/1")
}

// The line limit counts product and expense lines together: limit 2 on a voucher of
// three lines makes two documents with identical headers; the voucher links the last.
func TestPayableInvoicesLineLimitCountsBothKinds(t *testing.T) {
	t.Parallel()
	e := payableInvoices(t, func(c *config.Config) { c.Settings.PayableInvoiceLineLimit = 2 })
	s := run(t, e, pipeline.Request{Flows: payableInvoiceFlow, IDs: []string{"VCH-SPLIT"}})[0]
	if s.Selected != 1 || s.Exported != 1 || s.Documents != 2 || s.Lines != 3 || s.Errors != 0 {
		t.Errorf("summary %v", s)
	}
	wantRows(t, e.DB(), "SELECT id, company_id, invoice_currency_id, currency_iso_code, account_id, vendor_invoice_number, invoice_date, due_date, ap_voucher_id, status FROM acct.payable_invoice ORDER BY id",
		"PIN-VCH-SPLIT/1\tC1\tCUR-C1-GBP\tGBP\tA-VEND1\tSUP-118\t2024-02-21\t2024-03-21\tVCH-SPLIT\tIn Progress",
		"PIN-VCH-SPLIT/2\tC1\tCUR-C1-GBP\tGBP\tA-VEND1\tSUP-118\t2024-02-21\t2024-03-21\tVCH-SPLIT\tIn Progress")
	wantRows(t, e.DB(), "SELECT payable_invoice_id, kind, line_number, ap_voucher_line_id FROM (SELECT payable_invoice_id, 'product' AS kind, line_number, ap_voucher_line_id FROM acct.payable_invoice_line_item UNION ALL SELECT payable_invoice_id, 'expense', line_number, ap_voucher_line_id FROM acct.payable_invoice_expense_line_item) ORDER BY ap_voucher_line_id",
		"PIN-VCH-SPLIT/1\tproduct\t1\tVL-SPLIT-1",
		"PIN-VCH-SPLIT/1\texpense\t1\tVL-SPLIT-2",
		"PIN-VCH-SPLIT/2\tproduct\t1\tVL-SPLIT-3")
	wantRows(t, e.DB(), "SELECT export_status, payable_invoice_id FROM oim.ap_voucher WHERE id = 'VCH-SPLIT'", "Exported\tPIN-VCH-SPLIT/2")
	wantRows(t, e.DB(), "SELECT id, payable_invoice_line_item_id, payable_invoice_expense_line_item_id FROM oim.ap_voucher_line WHERE ap_voucher_id = 'VCH-SPLIT' ORDER BY line_number",
		"VL-SPLIT-1\tPIN-VCH-SPLIT/1/1\tNULL",
		"VL-SPLIT-2\tNULL\tPIN-VCH-SPLIT/1/1",
		"VL-SPLIT-3\tPIN-VCH-SPLIT/2/1\tNULL")
}

func TestPayableInvoicesReconcile(t *testing.T) {
	t.Parallel()
	for _, limit := range []int{1000, 2, 1} {
		e := payableInvoices(t, func(c *config.Config) { c.Settings.PayableInvoiceLineLimit = limit })
		run(t, e, pipeline.Request{Flows: payableInvoiceFlow})
		if n := valueOf(t, e.DB(), "SELECT count(*) FROM oim.ap_voucher WHERE export_status = 'Exported' AND payable_invoice_id IN (SELECT id FROM acct.payable_invoice)"); n != "8" {
			t.Errorf("limit %d: want 8 vouchers exported by the run, got %s", limit, n)
		}
		if bad := strings.Join(mismatches(t, e.DB(), "payable-invoices"), "\n"); bad != "" {
			t.Errorf("limit %d: vouchers whose documents do not add up (id, voucher, documents):\n%s", limit, bad)
		}
	}
}

func TestPayableInvoicesRerunCreatesNothing(t *testing.T) {
	t.Parallel()
	e := payableInvoices(t, nil)
	req := pipeline.Request{Flows: payableInvoiceFlow}
	first := run(t, e, req)[0]
	before := fixture.Dump(t, e.DB(), payableInvoiceDump...)
	second := run(t, e, req)[0]
	// Only the 7 invalid vouchers are selected again, and fail again.
	if first.Documents != 8 || second.Selected != first.Errors || second.Errors != first.Errors || second.Documents != 0 || second.Lines != 0 {
		t.Errorf("first %v, second %v", first, second)
	}
	if after := fixture.Dump(t, e.DB(), payableInvoiceDump...); after != before {
		t.Errorf("a rerun changed the data:\n%s", after)
	}
}

// --id: only the given vouchers; a given voucher that is not selected stays untouched.
func TestPayableInvoicesOnlyTheGivenIDs(t *testing.T) {
	t.Parallel()
	e := payableInvoices(t, nil)
	s := run(t, e, pipeline.Request{Flows: payableInvoiceFlow, IDs: []string{"VCH-OK", "VCH-SITE-NOACCT", "VCH-OPEN"}})[0]
	if s.Selected != 2 || s.Exported != 1 || s.Errors != 1 || s.Documents != 1 || s.Lines != 6 {
		t.Errorf("summary %v", s)
	}
	wantRows(t, e.DB(), "SELECT id, export_status FROM oim.ap_voucher WHERE export_status <> 'New' ORDER BY id",
		"VCH-EXPORTED\tExported", "VCH-OK\tExported", "VCH-RETRY\tExport Error", "VCH-SITE-NOACCT\tExport Error")
	wantRows(t, e.DB(), "SELECT export_error FROM oim.ap_voucher WHERE id = 'VCH-RETRY'", "an old reason")
	wantRows(t, e.DB(), "SELECT ap_voucher_id, count(*) FROM acct.payable_invoice GROUP BY 1", "VCH-OK\t1")
}

func TestPayableInvoicesAutoPost(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{false, true} {
		e := payableInvoices(t, func(c *config.Config) {
			c.Settings.AutoPost.PayableInvoices = on
			c.Settings.PayableInvoiceLineLimit = 2
		})
		run(t, e, pipeline.Request{Flows: payableInvoiceFlow, IDs: []string{"VCH-OK", "VCH-SPLIT"}})
		want := "In Progress\t5" // VCH-OK: 3 documents of 6 lines, VCH-SPLIT: 2 of 3
		if on {
			want = "Complete\t5"
		}
		wantRows(t, e.DB(), "SELECT status, count(*) FROM acct.payable_invoice GROUP BY 1", want)
	}
}

// Seed 004: a Tax line needs the line type to product mapping of 'Tax'.
func TestPayableInvoicesTaxLineNeedsTheTaxMapping(t *testing.T) {
	t.Parallel()
	e := payableInvoices(t, nil)
	execSQL(t, e.DB(), "DELETE FROM oim.line_type_product_mapping WHERE line_type = 'Tax'")
	s := run(t, e, pipeline.Request{Flows: payableInvoiceFlow, IDs: []string{"VCH-OK", "VCH-NO-PO"}})[0]
	if s.Selected != 2 || s.Errors != 2 || s.Documents != 0 {
		t.Errorf("summary %v", s)
	}
	wantRows(t, e.DB(), "SELECT id, export_status, export_error FROM oim.ap_voucher WHERE id IN ('VCH-OK', 'VCH-NO-PO') ORDER BY id",
		"VCH-NO-PO\tExport Error\tline VL-NO-PO-2: no product: no product is mapped to line type Tax",
		"VCH-OK\tExport Error\tline VL-OK-5-TAX: no product: no product is mapped to line type Tax")
	wantRows(t, e.DB(), "SELECT count(*) FROM acct.payable_invoice", "0")
}

// Seed 004: "The purchase order related to the AP voucher must have a valid Accounting
// company and Accounting currency"; contract: the company comes from the purchase
// orders (all must agree), a PO's company by name. A PO whose company name names no
// Accounting company makes the voucher invalid.
//
// Regression: this found a spec bug, fixed in 80bfebb. specs/payable-invoices.yaml
// (po_company_low/high) turned a PO whose company does not resolve into nil, which
// min()/max() skip, so the voucher fell back to the default company (or the other POs'
// company) and was exported.
func TestPayableInvoicesPurchaseOrderCompanyMustResolve(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, setup string }{
		{"the only PO names a company Accounting lacks", `
INSERT INTO oim.purchase_order (id, name, supplier_site_id, company_name, currency) VALUES
  ('PO-NOCO', 'company name not in Accounting', 'SS-1', 'Nobody Ltd', 'GBP');
INSERT INTO oim.purchase_order_line (id, purchase_order_id, line_number, line_type, item_id, description) VALUES
  ('POL-NOCO-ITEM', 'PO-NOCO', 1, 'Item', 'ITM-W', 'unknown company PO line');
INSERT INTO oim.ap_voucher (id, name, status, supplier_site_id, currency_iso_code, invoice_date) VALUES
  ('VCH-PO-NOCO', 'PO names a company Accounting lacks: invalid', 'Matched', 'SS-1', 'GBP', '2024-02-18');
INSERT INTO oim.ap_voucher_line (id, ap_voucher_id, line_number, line_type, purchase_order_line_id, quantity_vouchered, unit_price, amount) VALUES
  ('VL-PO-NOCO-1', 'VCH-PO-NOCO', 1, 'Item', 'POL-NOCO-ITEM', 1, 1.00, 1.00);`},
		{"one of two POs names a company Accounting lacks", `
INSERT INTO oim.purchase_order (id, name, supplier_site_id, company_name, currency) VALUES
  ('PO-NOCO-USD', 'company name not in Accounting, USD', 'SS-1', 'Nobody Ltd', 'USD');
INSERT INTO oim.purchase_order_line (id, purchase_order_id, line_number, line_type, item_id, description) VALUES
  ('POL-NOCO-USD-ITEM', 'PO-NOCO-USD', 1, 'Item', 'ITM-W', 'unknown company PO line');
INSERT INTO oim.ap_voucher (id, name, status, supplier_site_id, currency_iso_code, invoice_date) VALUES
  ('VCH-PO-NOCO', 'POs of Acme US Inc and of a company Accounting lacks: invalid', 'Matched', 'SS-1', 'USD', '2024-02-18');
INSERT INTO oim.ap_voucher_line (id, ap_voucher_id, line_number, line_type, purchase_order_line_id, quantity_vouchered, unit_price, amount) VALUES
  ('VL-PO-NOCO-1', 'VCH-PO-NOCO', 1, 'Item', 'POL-US-NAME-ITEM', 1, 1.00, 1.00),
  ('VL-PO-NOCO-2', 'VCH-PO-NOCO', 2, 'Item', 'POL-NOCO-USD-ITEM', 1, 1.00, 1.00);`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := payableInvoices(t, nil)
			execSQL(t, e.DB(), c.setup)
			run(t, e, pipeline.Request{Flows: payableInvoiceFlow, IDs: []string{"VCH-PO-NOCO"}})
			got := valueOf(t, e.DB(), "SELECT export_status, payable_invoice_id, export_error FROM oim.ap_voucher WHERE id = 'VCH-PO-NOCO'")
			f := strings.Split(got, "\t")
			if f[0] != "Export Error" || f[1] != "NULL" || !strings.Contains(f[2], "company") {
				t.Errorf("want Export Error naming the company, no link; got %q", got)
			}
			if docs := valueOf(t, e.DB(), "SELECT string_agg(id || ' ' || company_id, ', ') FROM acct.payable_invoice"); docs != "NULL" {
				t.Errorf("want no payable invoice, got %s", docs)
			}
		})
	}
}
