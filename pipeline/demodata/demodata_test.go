package demodata

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	_ "github.com/marcboeker/go-duckdb"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
)

// testOptions is small enough to generate in well under a second and large
// enough that every random case occurs besides the fixed showcase rows.
var testOptions = Options{Seed: 42, Invoices: 300, MaxLines: 40}

func newDB(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := catalog.Init(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return db
}

func generate(t testing.TB, opt Options) (*sql.DB, Stats) {
	t.Helper()
	db := newDB(t)
	st, err := Generate(context.Background(), db, opt)
	if err != nil {
		t.Fatalf("Generate(%+v): %v", opt, err)
	}
	return db, st
}

func queryInt(t testing.TB, db *sql.DB, q string) int64 {
	t.Helper()
	var n sql.NullInt64
	if err := db.QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	return n.Int64
}

func queryString(t testing.TB, db *sql.DB, q string) string {
	t.Helper()
	var s sql.NullString
	if err := db.QueryRow(q).Scan(&s); err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	return s.String
}

// tables lists every table of both schemas.
func tables(t testing.TB, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT table_schema || '.' || table_name FROM information_schema.tables
		WHERE table_schema IN ('oim', 'acct') ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// checksum is an order-independent digest of a table's content.
func checksum(t testing.TB, db *sql.DB, table string) string {
	return queryString(t, db, `SELECT md5(coalesce(string_agg(CAST(x AS VARCHAR), '|' ORDER BY CAST(x AS VARCHAR)), ''))
		FROM `+table+` x`)
}

func TestDeterministic(t *testing.T) {
	a, _ := generate(t, testOptions)
	b, _ := generate(t, testOptions)
	for _, table := range tables(t, a) {
		if ca, cb := checksum(t, a, table), checksum(t, b, table); ca != cb {
			t.Errorf("%s differs between two runs with the same options: %s vs %s", table, ca, cb)
		}
	}

	other := testOptions
	other.Seed++
	c, _ := generate(t, other)
	for _, table := range []string{"oim.invoice", "oim.invoice_line", "oim.inventory_transaction_financial_record"} {
		if checksum(t, a, table) == checksum(t, c, table) {
			t.Errorf("%s is the same for seeds %d and %d", table, testOptions.Seed, other.Seed)
		}
	}
}

func TestStatsAndSizes(t *testing.T) {
	db, st := generate(t, testOptions)
	for _, table := range tables(t, db) {
		n := queryInt(t, db, "SELECT count(*) FROM "+table)
		if st.Tables[table] != n {
			t.Errorf("Stats says %d rows in %s, the table has %d", st.Tables[table], table, n)
		}
		// Only the connector's target documents stay empty.
		isDocument := strings.HasPrefix(table, "acct.") && !map[string]bool{
			"acct.company": true, "acct.accounting_currency": true, "acct.period": true,
			"acct.general_ledger_account": true, "acct.dimension": true, "acct.product": true, "acct.account": true,
		}[table]
		if n == 0 && !isDocument {
			t.Errorf("%s is empty", table)
		}
		if n != 0 && isDocument {
			t.Errorf("target document table %s has %d rows", table, n)
		}
	}
	want := map[string]int64{
		"acct.company": 3, "acct.accounting_currency": 5, "acct.period": 108, "acct.product": 60,
		"oim.item": 2000, "oim.product_group": 40, "oim.supplier_site": 200,
		"oim.invoice": 300, "oim.sales_order": 240, "oim.purchase_order": 90, "oim.ap_voucher": 90,
		"oim.inventory_transaction": 150,
	}
	for table, n := range want {
		if st.Tables[table] != n {
			t.Errorf("%s: %d rows, want %d", table, st.Tables[table], n)
		}
	}
	for table, r := range map[string][2]int64{
		"oim.credit_invoice":          {15, 45}, // about 10% of the invoices
		"oim.ap_voucher_credit":       {3, 20},  // about 10% of the matched vouchers
		"acct.general_ledger_account": {35, 45},
		"acct.account":                {300, 320}, // 300 customers and 10 vendors
		"acct.dimension":              {40, 40},
	} {
		if n := st.Tables[table]; n < r[0] || n > r[1] {
			t.Errorf("%s: %d rows, want %d..%d", table, n, r[0], r[1])
		}
	}
}

// TestReferences checks that every reference points at an existing row, except
// the deliberate invalid cases, which are named in the query.
func TestReferences(t *testing.T) {
	db, _ := generate(t, testOptions)
	for name, q := range map[string]string{
		// Accounting reference data.
		"currency without company": `SELECT count(*) FROM acct.accounting_currency c ANTI JOIN acct.company k ON k.id = c.company_id`,
		"company without one home currency": `SELECT count(*) FROM acct.company k
			WHERE (SELECT count(*) FROM acct.accounting_currency c WHERE c.company_id = k.id AND c.is_home) <> 1`,
		"period without company": `SELECT count(*) FROM acct.period p ANTI JOIN acct.company k ON k.id = p.company_id`,
		"overlapping periods": `SELECT count(*) FROM acct.period a JOIN acct.period b
			ON a.company_id = b.company_id AND a.id < b.id AND a.start_date <= b.end_date AND b.start_date <= a.end_date`,
		"vendor account with unknown site": `SELECT count(*) FROM acct.account a
			WHERE a.oim_supplier_site_id IS NOT NULL AND a.oim_supplier_site_id NOT IN (SELECT id FROM oim.supplier_site)`,
		"account with unknown GLA": `SELECT count(*) FROM acct.account a
			WHERE coalesce(a.ap_control_gla_id, a.ar_control_gla_id) NOT IN (SELECT id FROM acct.general_ledger_account)`,

		// Master data.
		"product group with unknown reference": `SELECT count(*) FROM oim.product_group g WHERE
			   (g.product_id IS NOT NULL AND g.product_id NOT IN (SELECT id FROM acct.product))
			OR (g.dimension1_id IS NOT NULL AND g.dimension1_id NOT IN (SELECT id FROM acct.dimension WHERE level = 1))
			OR (g.dimension2_id IS NOT NULL AND g.dimension2_id NOT IN (SELECT id FROM acct.dimension WHERE level = 2))
			OR (g.dimension3_id IS NOT NULL AND g.dimension3_id NOT IN (SELECT id FROM acct.dimension WHERE level = 3))
			OR (g.dimension4_id IS NOT NULL AND g.dimension4_id NOT IN (SELECT id FROM acct.dimension WHERE level = 4))
			OR coalesce(g.inventory_gla_id, g.cogs_gla_id, g.purchase_analysis_gla_id) NOT IN (SELECT id FROM acct.general_ledger_account)`,
		"stock group without GLAs":     `SELECT count(*) FROM oim.product_group WHERE NOT is_category AND (inventory_gla_id IS NULL OR cogs_gla_id IS NULL)`,
		"item with unknown group":      `SELECT count(*) FROM oim.item WHERE product_group_id NOT IN (SELECT id FROM oim.product_group)`,
		"mapping to unknown product":   `SELECT count(*) FROM oim.line_type_product_mapping ANTI JOIN acct.product p ON p.id = product_id`,
		"mapping to unknown GLA":       `SELECT count(*) FROM oim.gl_account_mapping ANTI JOIN acct.general_ledger_account g ON g.id = general_ledger_account_id`,
		"reason code with unknown GLA": `SELECT count(*) FROM oim.reason_code WHERE general_ledger_account_id NOT IN (SELECT id FROM acct.general_ledger_account)`,
		"ICP with unknown company or currency": `SELECT count(*) FROM oim.inventory_control_point i
			ANTI JOIN acct.accounting_currency c ON c.company_id = i.accounting_company_id AND c.iso_code = i.currency`,

		// Order to cash.
		"sales order with unknown customer (other than the deliberate ACC-C-9999)": `SELECT count(*) FROM oim.sales_order
			WHERE customer_account_id <> 'ACC-C-9999' AND customer_account_id NOT IN (SELECT id FROM acct.account WHERE type = 'Customer')`,
		"prefilled sales order company or currency that disagrees with its name or ISO code": `SELECT count(*) FROM oim.sales_order s
			WHERE s.accounting_company_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM acct.company k JOIN acct.accounting_currency c ON c.company_id = k.id
				WHERE k.id = s.accounting_company_id AND k.name = s.company_name AND c.id = s.accounting_currency_id AND c.iso_code = s.currency)`,
		"shipment of unknown order": `SELECT count(*) FROM oim.shipment ANTI JOIN oim.sales_order s ON s.id = sales_order_id`,
		"invoice with unknown order, contract or shipment": `SELECT count(*) FROM oim.invoice i WHERE
			   (i.sales_order_id IS NOT NULL) = (i.service_contract_id IS NOT NULL)
			OR i.sales_order_id NOT IN (SELECT id FROM oim.sales_order)
			OR i.service_contract_id NOT IN (SELECT id FROM oim.service_contract)
			OR (i.shipment_id IS NOT NULL AND i.shipment_id NOT IN (SELECT id FROM oim.shipment WHERE sales_order_id = i.sales_order_id))`,
		"invoice customer not the order's or contract's": `SELECT count(*) FROM oim.invoice i
			LEFT JOIN oim.sales_order s ON s.id = i.sales_order_id LEFT JOIN oim.service_contract c ON c.id = i.service_contract_id
			WHERE i.customer_account_id IS DISTINCT FROM coalesce(s.customer_account_id, c.customer_account_id)`,
		"invoice with unknown billing account": `SELECT count(*) FROM oim.invoice WHERE billing_account_id NOT IN (SELECT id FROM acct.account WHERE type = 'Customer')`,
		"invoice with prefilled company or currency that disagrees with its order": `SELECT count(*) FROM oim.invoice i JOIN oim.sales_order s ON s.id = i.sales_order_id
			JOIN acct.company k ON k.name = s.company_name
			WHERE i.accounting_company_id IS NOT NULL AND (i.accounting_company_id <> k.id
				OR i.accounting_currency_id <> (SELECT id FROM acct.accounting_currency WHERE company_id = k.id AND iso_code = s.currency))`,
		"line of unknown invoice": `SELECT count(*) FROM oim.invoice_line ANTI JOIN oim.invoice i ON i.id = invoice_id`,
		"invoice without lines":   `SELECT count(*) FROM oim.invoice i ANTI JOIN oim.invoice_line l ON l.invoice_id = i.id`,
		"line with unknown item or product": `SELECT count(*) FROM oim.invoice_line
			WHERE item_id NOT IN (SELECT id FROM oim.item) OR product_id NOT IN (SELECT id FROM acct.product)`,
		"item line without item, or other line with one": `SELECT count(*) FROM oim.invoice_line
			WHERE (line_type IN ('Item', 'Drop Ship Item', 'Virtual Kit Item')) <> (item_id IS NOT NULL)`,
		"credit invoice of unknown invoice": `SELECT count(*) FROM oim.credit_invoice ANTI JOIN oim.invoice i ON i.id = invoice_id`,
		"credit line of another invoice": `SELECT count(*) FROM oim.credit_invoice_line cl
			JOIN oim.credit_invoice c ON c.id = cl.credit_invoice_id
			LEFT JOIN oim.invoice_line l ON l.id = cl.invoice_line_id
			WHERE l.invoice_id IS DISTINCT FROM c.invoice_id`,
		"credit line of unknown credit invoice": `SELECT count(*) FROM oim.credit_invoice_line ANTI JOIN oim.credit_invoice c ON c.id = credit_invoice_id`,
		"credit invoice with no or more than 3 lines": `SELECT count(*) FROM oim.credit_invoice c
			WHERE (SELECT count(*) FROM oim.credit_invoice_line l WHERE l.credit_invoice_id = c.id) NOT BETWEEN 1 AND 3`,
		"invoice line credited twice by one credit invoice": `SELECT count(*) FROM (SELECT credit_invoice_id, invoice_line_id
			FROM oim.credit_invoice_line GROUP BY ALL HAVING count(*) > 1)`,

		// Procure to pay.
		"linked site with unknown vendor account": `SELECT count(*) FROM oim.supplier_site
			WHERE account_id NOT IN (SELECT id FROM acct.account WHERE type = 'Vendor')`,
		"PO of unknown site":    `SELECT count(*) FROM oim.purchase_order ANTI JOIN oim.supplier_site s ON s.id = supplier_site_id`,
		"PO line of unknown PO": `SELECT count(*) FROM oim.purchase_order_line ANTI JOIN oim.purchase_order p ON p.id = purchase_order_id`,
		"PO line fields that do not fit its type": `SELECT count(*) FROM oim.purchase_order_line WHERE
			   (line_type = 'Item') <> (item_id IS NOT NULL)
			OR (line_type = 'Category') <> (category_id IS NOT NULL)
			OR (line_type <> 'Description' AND general_ledger_account_id IS NOT NULL)
			OR item_id NOT IN (SELECT id FROM oim.item)
			OR category_id NOT IN (SELECT id FROM oim.product_group WHERE is_category)
			OR general_ledger_account_id NOT IN (SELECT id FROM acct.general_ledger_account)`,
		"voucher of unknown site": `SELECT count(*) FROM oim.ap_voucher ANTI JOIN oim.supplier_site s ON s.id = supplier_site_id`,
		"voucher line of unknown voucher, PO line or item": `SELECT count(*) FROM oim.ap_voucher_line l WHERE
			   l.ap_voucher_id NOT IN (SELECT id FROM oim.ap_voucher)
			OR l.purchase_order_line_id NOT IN (SELECT id FROM oim.purchase_order_line)
			OR l.item_id NOT IN (SELECT id FROM oim.item)
			OR l.product_id NOT IN (SELECT id FROM acct.product)
			OR (l.line_type = 'Item') <> (l.purchase_order_line_id IS NOT NULL)`,
		"voucher currency that is not its PO's": `SELECT count(*) FROM oim.ap_voucher v
			JOIN oim.purchase_order p ON p.id = replace(v.id, 'APV-', 'PO-')
			WHERE EXISTS (SELECT 1 FROM oim.ap_voucher_line l WHERE l.ap_voucher_id = v.id AND l.purchase_order_line_id IS NOT NULL)
			  AND (v.currency_iso_code <> p.currency OR v.supplier_site_id <> p.supplier_site_id)`,
		"voucher credit of unknown voucher": `SELECT count(*) FROM oim.ap_voucher_credit ANTI JOIN oim.ap_voucher v ON v.id = ap_voucher_id`,
		"line credit of another voucher": `SELECT count(*) FROM oim.ap_voucher_line_credit lc
			JOIN oim.ap_voucher_credit c ON c.id = lc.ap_voucher_credit_id
			LEFT JOIN oim.ap_voucher_line l ON l.id = lc.ap_voucher_line_id
			WHERE l.ap_voucher_id IS DISTINCT FROM c.ap_voucher_id`,

		// Inventory.
		"transaction with unknown reference": `SELECT count(*) FROM oim.inventory_transaction WHERE
			   item_id NOT IN (SELECT id FROM oim.item)
			OR inventory_control_point_id NOT IN (SELECT id FROM oim.inventory_control_point)
			OR purchase_order_line_id NOT IN (SELECT id FROM oim.purchase_order_line)
			OR ap_voucher_id NOT IN (SELECT id FROM oim.ap_voucher)
			OR invoice_line_id NOT IN (SELECT id FROM oim.invoice_line)
			OR reason_code_id NOT IN (SELECT id FROM oim.reason_code)`,
		"transaction whose item is not its line's": `SELECT count(*) FROM oim.inventory_transaction t
			LEFT JOIN oim.invoice_line l ON l.id = t.invoice_line_id LEFT JOIN oim.purchase_order_line p ON p.id = t.purchase_order_line_id
			WHERE coalesce(l.id, p.id) IS NOT NULL AND t.transaction_type NOT IN ('Use Tax', 'Credit Use Tax')
			  AND t.item_id IS DISTINCT FROM coalesce(l.item_id, p.item_id)`,
		"record of unknown transaction or GLA": `SELECT count(*) FROM oim.inventory_transaction_financial_record WHERE
			   inventory_transaction_id NOT IN (SELECT id FROM oim.inventory_transaction)
			OR general_ledger_account_id NOT IN (SELECT id FROM acct.general_ledger_account)`,
		"transaction without two or four records": `SELECT count(*) FROM oim.inventory_transaction t
			WHERE (SELECT count(*) FROM oim.inventory_transaction_financial_record r WHERE r.inventory_transaction_id = t.id) NOT IN (2, 4)`,
		"record in another currency than its warehouse": `SELECT count(*) FROM oim.inventory_transaction_financial_record r
			JOIN oim.inventory_transaction t ON t.id = r.inventory_transaction_id
			JOIN oim.inventory_control_point i ON i.id = t.inventory_control_point_id
			WHERE r.icp_currency <> i.currency`,
	} {
		if n := queryInt(t, db, q); n != 0 {
			t.Errorf("%s: %d rows", name, n)
		}
	}
}

func TestAmountsAndLines(t *testing.T) {
	db, _ := generate(t, testOptions)
	for name, q := range map[string]string{
		"invoice line count outside 1..MaxLines": `SELECT count(*) FROM (SELECT invoice_id, count(*) n, max(line_number) m, min(line_number) f
			FROM oim.invoice_line GROUP BY ALL) WHERE n NOT BETWEEN 1 AND 40 OR m <> n OR f <> 1`,
		"duplicate invoice line number": `SELECT count(*) FROM (SELECT invoice_id, line_number FROM oim.invoice_line GROUP BY ALL HAVING count(*) > 1)`,
		"invoice line amount <> round(quantity * price, 2)": `SELECT count(*) FROM oim.invoice_line
			WHERE amount <> round(quantity * derived_unit_price, 2) OR quantity <= 0 OR derived_unit_price <= 0`,
		"voucher line amount <> round(quantity * price, 2)": `SELECT count(*) FROM oim.ap_voucher_line
			WHERE amount <> round(quantity_vouchered * unit_price, 2) OR quantity_vouchered <= 0 OR unit_price <= 0`,
		"PO or voucher line numbers not 1..n": `SELECT count(*) FROM (
			SELECT purchase_order_id k, count(*) n, max(line_number) m FROM oim.purchase_order_line GROUP BY ALL
			UNION ALL SELECT ap_voucher_id, count(*), max(line_number) FROM oim.ap_voucher_line GROUP BY ALL) WHERE m <> n`,
		"credit line above its invoice line": `SELECT count(*) FROM oim.credit_invoice_line c JOIN oim.invoice_line l ON l.id = c.invoice_line_id
			WHERE c.amount > l.amount OR c.amount < 0`,
		"full or void credit line below its invoice line": `SELECT count(*) FROM oim.credit_invoice_line cl
			JOIN oim.credit_invoice c ON c.id = cl.credit_invoice_id JOIN oim.invoice_line l ON l.id = cl.invoice_line_id
			WHERE c.credit_type <> 'Partial' AND cl.amount <> l.amount`,
		"line credit above its voucher line": `SELECT count(*) FROM oim.ap_voucher_line_credit c JOIN oim.ap_voucher_line l ON l.id = c.ap_voucher_line_id
			WHERE c.amount > l.amount OR c.amount < 0 OR c.quantity_vouchered > l.quantity_vouchered OR c.quantity_vouchered <= 0`,
		"discount above the net": `SELECT count(*) FROM oim.invoice i
			WHERE i.discount_amount < 0 OR i.total_tax < 0
			   OR i.discount_amount > (SELECT sum(amount) FROM oim.invoice_line l WHERE l.invoice_id = i.id)`,
		"record value <> round(quantity * unit cost, 9)": `SELECT count(*) FROM oim.inventory_transaction_financial_record
			WHERE icp_value_amount <> round(CAST(quantity AS DECIMAL(38,4)) * CAST(icp_unit_cost AS DECIMAL(38,9)), 9)`,
		"invoice date outside 2024-01..2026-10": `SELECT count(*) FROM oim.invoice
			WHERE invoice_date NOT BETWEEN DATE '2024-01-01' AND DATE '2026-10-31' OR invoice_due_date < invoice_date`,
		"document not New": `SELECT (SELECT count(*) FROM oim.invoice WHERE export_status <> 'New' OR sales_invoice_id IS NOT NULL)
			+ (SELECT count(*) FROM oim.credit_invoice WHERE export_status <> 'New')
			+ (SELECT count(*) FROM oim.ap_voucher WHERE export_status <> 'New')
			+ (SELECT count(*) FROM oim.ap_voucher_credit WHERE export_status <> 'New')
			+ (SELECT count(*) FROM oim.inventory_transaction WHERE export_status <> 'New')`,
	} {
		if n := queryInt(t, db, q); n != 0 {
			t.Errorf("%s: %d rows", name, n)
		}
	}

	// Balanced: every transaction's records sum to exactly 0, but for the
	// deliberately unbalanced ones (at least one, at most 1%).
	unbalanced := queryInt(t, db, `SELECT count(*) FROM (SELECT inventory_transaction_id FROM oim.inventory_transaction_financial_record
		GROUP BY ALL HAVING sum(icp_value_amount) <> 0)`)
	if unbalanced < 1 || unbalanced > 2 {
		t.Errorf("%d unbalanced transactions out of 150, want 1 or 2", unbalanced)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM (SELECT inventory_transaction_id FROM oim.inventory_transaction_financial_record
		GROUP BY ALL HAVING sum(icp_value_amount) <> 0 AND abs(sum(icp_value_amount)) < 1)`); n != 0 {
		t.Errorf("%d transactions are unbalanced by less than 1.00: they would pass the rounding rule", n)
	}
}

// TestLineCounts checks the line count distribution: 1..MaxLines, mean near MaxLines/4.
func TestLineCounts(t *testing.T) {
	db, _ := generate(t, Options{Seed: 7, Invoices: 3000, MaxLines: 40})
	var mean float64
	var lo, hi int64
	if err := db.QueryRow(`SELECT avg(n), min(n), max(n) FROM (SELECT count(*) n FROM oim.invoice_line GROUP BY invoice_id)`).
		Scan(&mean, &lo, &hi); err != nil {
		t.Fatal(err)
	}
	if mean < 9 || mean > 11 || lo != 1 || hi != 40 {
		t.Errorf("lines per invoice: mean %.2f, min %d, max %d; want mean 9..11 within 1..40", mean, lo, hi)
	}

	db, _ = generate(t, Options{Seed: 7, Invoices: 50, MaxLines: 1})
	if n := queryInt(t, db, `SELECT count(*) FROM oim.invoice_line WHERE line_number <> 1`); n != 0 {
		t.Errorf("MaxLines 1: %d lines beyond the first", n)
	}
}

// TestDeliberateCases checks that the data set shows every case of the
// contract the demo is meant to exercise, and that the invalid ones stay rare.
func TestDeliberateCases(t *testing.T) {
	db, _ := generate(t, testOptions)
	for name, q := range map[string]string{
		"drop ship invoice": `SELECT count(*) FROM oim.invoice i WHERE i.shipment_id IS NULL AND i.sales_order_id IS NOT NULL
			AND EXISTS (SELECT 1 FROM oim.invoice_line l WHERE l.invoice_id = i.id AND l.line_type = 'Drop Ship Item')
			AND NOT EXISTS (SELECT 1 FROM oim.invoice_line l WHERE l.invoice_id = i.id AND l.line_type IN ('Item', 'Virtual Kit Item'))`,
		"Open invoice":     `SELECT count(*) FROM oim.invoice WHERE status = 'Open'`,
		"Proforma invoice": `SELECT count(*) FROM oim.invoice WHERE status = 'Proforma'`,
		"Voided invoice":   `SELECT count(*) FROM oim.invoice WHERE status = 'Voided'`,
		"Closed invoice of an Open shipment": `SELECT count(*) FROM oim.invoice i JOIN oim.shipment s ON s.id = i.shipment_id
			WHERE i.status = 'Closed' AND s.status = 'Open'`,
		"invoice linked to a billing document":          `SELECT count(*) FROM oim.invoice WHERE billing_document_id IS NOT NULL`,
		"invoice of a service contract":                 `SELECT count(*) FROM oim.invoice WHERE service_contract_id IS NOT NULL`,
		"invoice with a billing account":                `SELECT count(*) FROM oim.invoice WHERE billing_account_id IS NOT NULL`,
		"invoice with a discount":                       `SELECT count(*) FROM oim.invoice WHERE discount_amount > 0`,
		"invoice with a total tax":                      `SELECT count(*) FROM oim.invoice WHERE total_tax > 0`,
		"invoice with its Accounting company prefilled": `SELECT count(*) FROM oim.invoice WHERE accounting_company_id IS NOT NULL`,
		"line with its product prefilled":               `SELECT count(*) FROM oim.invoice_line WHERE product_id IS NOT NULL`,
		"line with a fractional quantity":               `SELECT count(*) FROM oim.invoice_line WHERE quantity <> floor(quantity)`,
		"closed period, for every company":              `SELECT CASE WHEN count(DISTINCT company_id) = 3 THEN 1 ELSE 0 END FROM acct.period WHERE closed`,
		"Closed invoice dated in a closed period of its company": `SELECT count(*) FROM oim.invoice i
			JOIN oim.sales_order s ON s.id = i.sales_order_id JOIN acct.company k ON k.name = s.company_name
			JOIN acct.period p ON p.company_id = k.id AND i.invoice_date BETWEEN p.start_date AND p.end_date
			WHERE p.closed AND i.status = 'Closed' AND i.billing_document_id IS NULL`,
		"line whose item has no product group": `SELECT count(*) FROM oim.invoice_line l JOIN oim.item it ON it.id = l.item_id
			WHERE it.product_group_id IS NULL`,
		"line whose item's group has no product": `SELECT count(*) FROM oim.invoice_line l JOIN oim.item it ON it.id = l.item_id
			JOIN oim.product_group g ON g.id = it.product_group_id WHERE g.product_id IS NULL AND l.product_id IS NULL`,
		"line of an unmapped line type": `SELECT count(*) FROM oim.invoice_line l
			WHERE l.item_id IS NULL AND l.line_type NOT IN (SELECT line_type FROM oim.line_type_product_mapping)`,
		"sales order naming no company": `SELECT count(*) FROM oim.sales_order
			WHERE company_name <> '' AND company_name NOT IN (SELECT name FROM acct.company)`,
		"sales order in a currency its company lacks": `SELECT count(*) FROM oim.sales_order s JOIN acct.company k ON k.name = s.company_name
			ANTI JOIN acct.accounting_currency c ON c.company_id = k.id AND c.iso_code = s.currency`,
		"sales order without a company name (NULL)": `SELECT count(*) FROM oim.sales_order WHERE company_name IS NULL`,
		"sales order without a company name ('')":   `SELECT count(*) FROM oim.sales_order WHERE company_name = ''`,
		"sales order with an unknown customer":      `SELECT count(*) FROM oim.sales_order WHERE customer_account_id NOT IN (SELECT id FROM acct.account)`,
		"sales order with an engagement":            `SELECT count(*) FROM oim.sales_order WHERE engagement_id IS NOT NULL`,
		"Full, Partial and Void credit invoices":    `SELECT CASE WHEN count(DISTINCT credit_type) = 3 THEN 1 ELSE 0 END FROM oim.credit_invoice`,
		"site linked to a vendor account":           `SELECT count(*) FROM oim.supplier_site WHERE account_id IS NOT NULL`,
		"linked site changed after its account": `SELECT count(*) FROM oim.supplier_site s JOIN acct.account a ON a.id = s.account_id
			WHERE s.updated_at > a.updated_at`,
		"unlinked site named like a vendor account but for case and spaces": `SELECT count(*) FROM oim.supplier_site s
			JOIN acct.account a ON lower(trim(a.name)) = lower(trim(s.name)) AND a.name <> s.name
			WHERE s.account_id IS NULL AND a.type = 'Vendor'`,
		"payment terms longer than 24 characters": `SELECT count(*) FROM oim.supplier_site WHERE length(payment_terms_name) > 24`,
		"PO line of each type":                    `SELECT CASE WHEN count(DISTINCT line_type) = 3 THEN 1 ELSE 0 END FROM oim.purchase_order_line`,
		"Description PO line without a GLA":       `SELECT count(*) FROM oim.purchase_order_line WHERE line_type = 'Description' AND general_ledger_account_id IS NULL`,
		"Category PO line whose category has no purchase analysis GLA": `SELECT count(*) FROM oim.purchase_order_line l
			JOIN oim.product_group g ON g.id = l.category_id WHERE g.purchase_analysis_gla_id IS NULL`,
		"PO whose Accounting company is left to derive": `SELECT count(*) FROM oim.purchase_order WHERE accounting_company_id IS NULL AND company_name IS NOT NULL`,
		"voucher whose PO lines disagree on the company": `SELECT count(*) FROM (SELECT l.ap_voucher_id FROM oim.ap_voucher_line l
			JOIN oim.purchase_order_line pl ON pl.id = l.purchase_order_line_id JOIN oim.purchase_order p ON p.id = pl.purchase_order_id
			GROUP BY ALL HAVING count(DISTINCT p.company_name) > 1)`,
		"voucher without PO lines": `SELECT count(*) FROM oim.ap_voucher v
			WHERE NOT EXISTS (SELECT 1 FROM oim.ap_voucher_line l WHERE l.ap_voucher_id = v.id AND l.purchase_order_line_id IS NOT NULL)`,
		"voucher line of each type":       `SELECT CASE WHEN count(DISTINCT line_type) = 3 THEN 1 ELSE 0 END FROM oim.ap_voucher_line`,
		"Open voucher":                    `SELECT count(*) FROM oim.ap_voucher WHERE status = 'Open'`,
		"Credit and Void voucher credits": `SELECT CASE WHEN count(DISTINCT credit_type) = 2 THEN 1 ELSE 0 END FROM oim.ap_voucher_credit`,
		"line credit without a quantity":  `SELECT count(*) FROM oim.ap_voucher_line_credit WHERE quantity_vouchered IS NULL`,
		"line credit whose amount / quantity is not exact to 2 decimals": `SELECT count(*) FROM oim.ap_voucher_line_credit
			WHERE quantity_vouchered IS NOT NULL AND round(amount / quantity_vouchered, 2) * quantity_vouchered <> amount`,
		"transaction of a type the journals flow does not select": `SELECT count(*) FROM oim.inventory_transaction WHERE transaction_type LIKE 'Transfer Order%' OR transaction_type = 'Reserve Inventory'`,
		"transaction with a reason code":                          `SELECT count(*) FROM oim.inventory_transaction WHERE reason_code_id IS NOT NULL`,
		"transaction linked to an invoice line":                   `SELECT count(*) FROM oim.inventory_transaction WHERE invoice_line_id IS NOT NULL`,
		"transaction linked to a voucher":                         `SELECT count(*) FROM oim.inventory_transaction WHERE ap_voucher_id IS NOT NULL`,
		"transaction without a warehouse":                         `SELECT count(*) FROM oim.inventory_transaction WHERE inventory_control_point_id IS NULL`,
		"transaction with four records":                           `SELECT count(*) FROM (SELECT inventory_transaction_id FROM oim.inventory_transaction_financial_record GROUP BY ALL HAVING count(*) = 4)`,
		"balanced transaction whose 2-decimal rounding leaves a residue": `SELECT count(*) FROM (SELECT inventory_transaction_id
			FROM oim.inventory_transaction_financial_record GROUP BY ALL
			HAVING sum(icp_value_amount) = 0 AND sum(round(icp_value_amount, 2)) <> 0)`,
		"transaction whose records all round to 0": `SELECT count(*) FROM (SELECT inventory_transaction_id
			FROM oim.inventory_transaction_financial_record GROUP BY ALL HAVING max(abs(round(icp_value_amount, 2))) = 0)`,
		"record of an unmapped GL account category without a GLA": `SELECT count(*) FROM oim.inventory_transaction_financial_record
			WHERE general_ledger_account_id IS NULL AND gl_account NOT IN (SELECT gl_account FROM oim.gl_account_mapping)`,
		"record with its own GLA": `SELECT count(*) FROM oim.inventory_transaction_financial_record WHERE general_ledger_account_id IS NOT NULL`,
		"record with 9 significant decimals": `SELECT count(*) FROM oim.inventory_transaction_financial_record
			WHERE icp_value_amount <> round(icp_value_amount, 8)`,
	} {
		if n := queryInt(t, db, q); n < 1 {
			t.Errorf("no %s", name)
		}
	}

	// The invalid invoices (by the rules the data can show without the
	// connector) stay a small share of the selectable ones.
	invalid := queryInt(t, db, `SELECT count(*) FROM oim.invoice i
		LEFT JOIN oim.sales_order s ON s.id = i.sales_order_id
		LEFT JOIN acct.company k ON k.name = coalesce(nullif(s.company_name, ''), 'Acme UK Ltd') -- the default company
		WHERE i.status NOT IN ('Open', 'Proforma') AND i.billing_document_id IS NULL AND (
		       k.id IS NULL AND s.id IS NOT NULL
		    OR s.currency NOT IN (SELECT iso_code FROM acct.accounting_currency c WHERE c.company_id = k.id)
		    OR i.customer_account_id NOT IN (SELECT id FROM acct.account)
		    OR EXISTS (SELECT 1 FROM acct.period p WHERE p.company_id = k.id AND p.closed AND i.invoice_date BETWEEN p.start_date AND p.end_date)
		    OR EXISTS (SELECT 1 FROM oim.invoice_line l LEFT JOIN oim.item it ON it.id = l.item_id
		               LEFT JOIN oim.product_group g ON g.id = it.product_group_id
		               WHERE l.invoice_id = i.id AND l.product_id IS NULL AND (
		                     (l.item_id IS NOT NULL AND g.product_id IS NULL)
		                  OR (l.item_id IS NULL AND l.line_type NOT IN (SELECT line_type FROM oim.line_type_product_mapping)))))`)
	selectable := queryInt(t, db, `SELECT count(*) FROM oim.invoice WHERE status NOT IN ('Open', 'Proforma') AND billing_document_id IS NULL`)
	if invalid < 5 || float64(invalid) > 0.08*float64(selectable) {
		t.Errorf("%d of %d selectable invoices are invalid; want a handful, at most 8%%", invalid, selectable)
	}
}

func TestOptionsAndErrors(t *testing.T) {
	ctx := context.Background()
	for _, opt := range []Options{{Invoices: -1, MaxLines: 40}, {Invoices: 10, MaxLines: 0}} {
		if _, err := Generate(ctx, newDB(t), opt); err == nil {
			t.Errorf("Generate(%+v) succeeded", opt)
		}
	}

	// Reference and master data only.
	_, st := generate(t, Options{Seed: 1, Invoices: 0, MaxLines: 40})
	if st.Tables["oim.item"] != 2000 || st.Tables["oim.invoice"] != 0 || st.Tables["oim.inventory_transaction"] != 0 {
		t.Errorf("zero invoices: %v", st.Tables)
	}

	// One connection, so that the checks below see the generator's temporary objects.
	db := newDB(t)
	db.SetMaxOpenConns(1)
	helpers := func() int64 {
		return queryInt(t, db, `SELECT (SELECT count(*) FROM duckdb_functions() WHERE function_type = 'macro' AND function_name LIKE 'dd\_%' ESCAPE '\')
			+ (SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'dd\_%' ESCAPE '\')`)
	}
	if _, err := Generate(ctx, db, testOptions); err != nil {
		t.Fatal(err)
	}
	if n := helpers(); n != 0 {
		t.Errorf("%d helper macros and tables left behind", n)
	}

	// A second run into the same database fails and leaves it as it was.
	if _, err := Generate(ctx, db, testOptions); err == nil || !strings.Contains(err.Error(), "already has") {
		t.Errorf("second Generate into the same database: err = %v, want an 'already has rows' error", err)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM oim.invoice`); n != 300 {
		t.Errorf("after the failed second run: %d invoices, want 300", n)
	}

	// A failure part-way rolls everything back, helpers included.
	db = newDB(t)
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`DROP TABLE oim.ap_voucher_line; CREATE TABLE oim.ap_voucher_line (id VARCHAR PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(ctx, db, testOptions); err == nil || !strings.Contains(err.Error(), "demodata: oim.ap_voucher_line:") {
		t.Errorf("Generate into a changed schema: err = %v, want it to name oim.ap_voucher_line", err)
	}
	if n := queryInt(t, db, `SELECT (SELECT count(*) FROM acct.company) + (SELECT count(*) FROM oim.invoice_line)`); n != 0 {
		t.Errorf("the failed run left %d rows", n)
	}
	if n := helpers(); n != 0 {
		t.Errorf("the failed run left %d helper macros and tables", n)
	}
}

func TestDefaultOptions(t *testing.T) {
	opt := DefaultOptions()
	if opt.Invoices != 3000 || opt.MaxLines != 40 {
		t.Errorf("DefaultOptions() = %+v", opt)
	}
}

// TestGenerateLarge generates 100k invoices (about a million lines) and
// reports the time. Skipped with -short.
func TestGenerateLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("100k invoices: skipped with -short")
	}
	start := time.Now()
	db, st := generate(t, Options{Seed: 1, Invoices: 100_000, MaxLines: 40})
	elapsed := time.Since(start)
	var rows int64
	for _, n := range st.Tables {
		rows += n
	}
	t.Logf("100k invoices: %d invoice lines, %d rows in all, in %v", st.Tables["oim.invoice_line"], rows, elapsed)
	if n := queryInt(t, db, `SELECT count(*) FROM oim.invoice_line`); n < 900_000 || n > 1_100_000 {
		t.Errorf("%d invoice lines, want about a million", n)
	}
}

func BenchmarkGenerate(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db := newDB(b)
		b.StartTimer()
		st, err := Generate(context.Background(), db, Options{Seed: 1, Invoices: 100_000, MaxLines: 40})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(st.Tables["oim.invoice_line"]), "lines/op")
		b.StopTimer()
		db.Close()
	}
}
