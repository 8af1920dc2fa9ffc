package demodata

// The generator, one SQL statement per table, run in this order on one
// connection. {placeholders} are filled by replacer. Helpers (temporary macros
// and plan tables) are prefixed dd_ and dropped at the end.
//
// Conventions:
//   - dd_pick(k, 'salt', n) is a deterministic "random" integer in [0, n) for row
//     k; dd_bp is the same in basis points (0..9999) for percentages; dd_u is a
//     DOUBLE in [0, 1) used only to shape distributions (never for money).
//   - Money is built from integer cents (dd_money) and DECIMAL arithmetic.
//   - Ids are readable and zero-padded so they sort in creation order:
//     INV-0000001, IL-00000001, ...
//   - Plan tables (dd_so, dd_inv, ...) hold the integer keys and the choices
//     that several tables share (which sales order an invoice bills, where its
//     lines start), so every reference points at a row that exists.
var steps = []step{
	{"macros", macrosSQL},

	// ---------------------------------------------------------------- acct reference data

	// Three companies: a UK company trading in three currencies, a US and a German one.
	{"acct.company", `
INSERT INTO acct.company VALUES
    ('CMP-001', 'Acme UK Ltd'), ('CMP-002', 'Acme US Inc'), ('CMP-003', 'Acme GmbH')`},

	// Each company's own accounting currencies, exactly one of them home.
	{"acct.accounting_currency", `
INSERT INTO acct.accounting_currency VALUES
    ('ACUR-001-GBP', 'CMP-001', 'GBP', TRUE),  ('ACUR-001-EUR', 'CMP-001', 'EUR', FALSE),
    ('ACUR-001-USD', 'CMP-001', 'USD', FALSE), ('ACUR-002-USD', 'CMP-002', 'USD', TRUE),
    ('ACUR-003-EUR', 'CMP-003', 'EUR', TRUE)`},

	// Monthly periods 2024/001..2026/012 per company. 2024/001 is closed everywhere and
	// Acme GmbH has also closed 2025/006, so a few documents fall in a closed period.
	{"acct.period", `
INSERT INTO acct.period
SELECT dd_period_id(c.id, m::DATE), c.id,
       strftime(m, '%Y') || '/' || printf('%03d', month(m)),
       m::DATE, (m + INTERVAL 1 MONTH - INTERVAL 1 DAY)::DATE,
       m = TIMESTAMP '2024-01-01' OR (c.id = 'CMP-003' AND m = TIMESTAMP '2025-06-01')
FROM acct.company c, range(TIMESTAMP '2024-01-01', TIMESTAMP '2027-01-01', INTERVAL 1 MONTH) r(m)
ORDER BY 1`},

	// A small chart of accounts: balance sheet control and inventory accounts, P&L
	// sales, COGS, purchase analysis, variances and overheads.
	{"acct.general_ledger_account", `
INSERT INTO acct.general_ledger_account
SELECT 'GLA-' || code, name, code, type FROM (VALUES
    ('1000', 'Cash at Bank', 'Balance Sheet'), ('1100', 'AR Control', 'Balance Sheet'),
    ('1200', 'Inventory', 'Balance Sheet'), ('1210', 'Inventory - Raw Materials', 'Balance Sheet'),
    ('1220', 'Inventory - Finished Goods', 'Balance Sheet'), ('1230', 'Inventory In Transit', 'Balance Sheet'),
    ('1300', 'Prepayments', 'Balance Sheet'), ('1400', 'Fixed Assets', 'Balance Sheet'),
    ('1500', 'VAT Input', 'Balance Sheet'), ('2000', 'AP Control', 'Balance Sheet'),
    ('2010', 'Goods Received Not Invoiced', 'Balance Sheet'), ('2100', 'VAT Output', 'Balance Sheet'),
    ('2200', 'Sales Tax Payable', 'Balance Sheet'), ('2300', 'Use Tax Payable', 'Balance Sheet'),
    ('2400', 'Accruals', 'Balance Sheet'), ('2500', 'Customer Deposits', 'Balance Sheet'),
    ('3000', 'Share Capital', 'Balance Sheet'), ('3100', 'Retained Earnings', 'Balance Sheet'),
    ('4000', 'Sales - Products', 'Profit and Loss'), ('4010', 'Sales - Services', 'Profit and Loss'),
    ('4020', 'Sales - Freight', 'Profit and Loss'), ('4030', 'Sales Discounts', 'Profit and Loss'),
    ('5000', 'COGS', 'Profit and Loss'), ('5010', 'COGS - Components', 'Profit and Loss'),
    ('5020', 'COGS - Services', 'Profit and Loss'), ('5100', 'Purchase Analysis', 'Profit and Loss'),
    ('5110', 'Purchase Analysis - Consumables', 'Profit and Loss'),
    ('5120', 'Purchase Analysis - Services', 'Profit and Loss'),
    ('5200', 'Purchase Price Variance', 'Profit and Loss'), ('5300', 'Freight', 'Profit and Loss'),
    ('5400', 'Scrap', 'Profit and Loss'), ('5410', 'Cycle Count Adjustments', 'Profit and Loss'),
    ('5500', 'Inventory Adjustments', 'Profit and Loss'), ('6000', 'Salaries', 'Profit and Loss'),
    ('6100', 'Rent', 'Profit and Loss'), ('6200', 'Utilities', 'Profit and Loss'),
    ('6300', 'Travel', 'Profit and Loss'), ('6400', 'Repairs and Maintenance', 'Profit and Loss'),
    ('6500', 'Office Supplies', 'Profit and Loss'), ('6600', 'Miscellaneous Expense', 'Profit and Loss'),
    ('6700', 'Bank Charges', 'Profit and Loss'), ('6800', 'IT and Software', 'Profit and Loss'),
    ('6900', 'Marketing', 'Profit and Loss')
) g(code, name, type)`},

	// Ten dimensions at each of the four levels: department, region, market, channel.
	{"acct.dimension", `
INSERT INTO acct.dimension
SELECT printf('DIM%d-%03d', lvl, k), lvl, names[k], printf('D%d-%02d', lvl, k)
FROM (VALUES
    (1, ['Sales', 'Service', 'Operations', 'Manufacturing', 'Distribution', 'Finance',
         'Marketing', 'R&D', 'Procurement', 'Administration']),
    (2, ['North', 'South', 'East', 'West', 'Central', 'Scotland', 'Benelux', 'DACH',
         'Nordics', 'Americas']),
    (3, ['Industrial', 'Commercial', 'Residential', 'Automotive', 'Marine', 'Aerospace',
         'Energy', 'Agriculture', 'Medical', 'Retail']),
    (4, ['Direct', 'Distributor', 'E-commerce', 'OEM', 'Government', 'Export',
         'Key Accounts', 'Aftermarket', 'Projects', 'Internal'])
) d(lvl, names), range(1, 11) r(k)
ORDER BY 1`},

	// 60 products: one per stocked product group (1-30), services and non-stock
	// supplies (31-32), a wider catalogue (33-54) and the products the line types
	// map to (55-59). 60 'Customer Deposit' exists but no line type maps to it.
	{"acct.product", `
INSERT INTO acct.product
SELECT printf('PRD-%03d', k),
       CASE WHEN k <= 30 THEN dd_group_name(k)
            ELSE ['Professional Services', 'Non-stock Supplies', 'Extended Warranty', 'Installation',
                  'Commissioning', 'Training', 'Calibration Service', 'Repair Service',
                  'Rental Equipment', 'Software Licence', 'Support Contract', 'Spare Parts Bundle',
                  'Consumables Bundle', 'Custom Fabrication', 'Engineering Hours', 'Site Survey',
                  'Preventive Maintenance', 'Emergency Call-out', 'Expedited Handling',
                  'Restocking Fee', 'Core Charge', 'Environmental Fee', 'Pallet Charge',
                  'Gift Card', 'Freight Charges', 'Labor', 'Miscellaneous Charges', 'Sales Tax',
                  'Discount', 'Customer Deposit'][k - 30] END
FROM range(1, 61) r(k)`},

	// ---------------------------------------------------------------- oim master data

	// 40 product groups: 30 stocked groups with product, dimensions (3 and 4 only
	// on some) and inventory/COGS GLAs; services and non-stock supplies (31-32);
	// six purchasing categories with a purchase analysis GLA (33-38); a legacy
	// group without a product (39: its items' lines are invalid); a category
	// without a purchase analysis GLA (40: its PO lines are invalid).
	{"oim.product_group", `
INSERT INTO oim.product_group
SELECT printf('PG-%03d', g), name, is_category,
       CASE WHEN g <= 32 THEN printf('PRD-%03d', g) END,
       CASE WHEN NOT is_category THEN printf('DIM1-%03d', 1 + g % 10) END,
       CASE WHEN NOT is_category THEN printf('DIM2-%03d', 1 + (3 * g) % 10) END,
       CASE WHEN NOT is_category AND g % 5 <> 0 THEN printf('DIM3-%03d', 1 + (7 * g) % 10) END,
       CASE WHEN NOT is_category AND g % 3 = 0 THEN printf('DIM4-%03d', 1 + g % 10) END,
       CASE WHEN NOT is_category THEN ['GLA-1200', 'GLA-1210', 'GLA-1220'][1 + g % 3] END,
       CASE WHEN NOT is_category THEN CASE WHEN g > 30 THEN 'GLA-5020' ELSE ['GLA-5000', 'GLA-5010'][1 + g % 2] END END,
       pa_gla
FROM (
    SELECT g, CASE WHEN g <= 30 THEN dd_group_name(g)
                   ELSE ['Professional Services', 'Non-stock Supplies', 'Office Supplies', 'IT Hardware',
                         'Facilities Maintenance', 'Travel', 'Marketing Services', 'Logistics Services',
                         'Legacy Parts (unmapped)', 'Miscellaneous Spend'][g - 30] END AS name,
           g BETWEEN 33 AND 38 OR g = 40 AS is_category,
           CASE WHEN g BETWEEN 33 AND 38
                THEN ['GLA-6500', 'GLA-6800', 'GLA-6400', 'GLA-6300', 'GLA-6900', 'GLA-5300'][g - 32] END AS pa_gla
    FROM range(1, 41) r(g)
)`},

	// Plan of the 2000 items (see dd_item_pg): id, name, list price and group,
	// looked up by number wherever a document line names an item.
	{"dd_item", `
CREATE TEMP TABLE dd_item AS
SELECT n AS item_no, printf('ITM-%05d', n) AS id, dd_item_name(n) AS name, dd_item_cents(n) AS cents, dd_item_pg(n) AS pg
FROM range(1, 2001) r(n)`},

	// Items: 1-1960 stocked (in groups 1-30), 1961-1980 services and non-stock
	// supplies used as accounting items, 1981-1990 in the legacy group without a
	// product, 1991-2000 without a product group at all.
	{"oim.item", `
INSERT INTO oim.item
SELECT id, name,
       name || CASE WHEN item_no <= 1960 THEN ' - ' || ['each', 'pack of 10', 'box of 50', 'pair', 'set'][1 + dd_pick(item_no, 'uom', 5)] ELSE '' END,
       CASE WHEN pg IS NOT NULL THEN printf('PG-%03d', pg) END
FROM dd_item ORDER BY item_no`},

	// Products for the lines not tied to an item. 'Deposit' is deliberately not
	// mapped: an invoice with a deposit line is invalid.
	{"oim.line_type_product_mapping", `
INSERT INTO oim.line_type_product_mapping VALUES
    ('Discount', 'PRD-059'), ('Freight', 'PRD-055'), ('Labor', 'PRD-056'),
    ('Miscellaneous', 'PRD-057'), ('Tax', 'PRD-058')`},

	// The fallback GLA of each financial record category. 'WIP' is deliberately
	// not mapped.
	{"oim.gl_account_mapping", `
INSERT INTO oim.gl_account_mapping VALUES
    ('Inventory', 'GLA-1200'), ('Cost of Goods Sold', 'GLA-5000'), ('AP Liability', 'GLA-2010'),
    ('Expenses', 'GLA-6600'), ('Miscellaneous', 'GLA-5500'), ('Scrap', 'GLA-5400'),
    ('Cycle Count', 'GLA-5410'), ('PPV', 'GLA-5200')`},

	// Reason codes for adjustments; some name a GLA, the others fall back to the mapping.
	{"oim.reason_code", `
INSERT INTO oim.reason_code VALUES
    ('RC-01', 'Damaged in warehouse', 'GLA-5400'), ('RC-02', 'Expired stock', 'GLA-5400'),
    ('RC-03', 'Count correction', 'GLA-5410'), ('RC-04', 'Found stock', NULL),
    ('RC-05', 'Samples to customer', 'GLA-6900'), ('RC-06', 'Internal consumption', 'GLA-6500'),
    ('RC-07', 'Quality rejection', NULL), ('RC-08', 'Theft or loss', 'GLA-5500'),
    ('RC-09', 'Obsolete write-off', 'GLA-5400'), ('RC-10', 'Rework', NULL),
    ('RC-11', 'Promotional giveaway', 'GLA-6900'), ('RC-12', 'Other', NULL)`},

	// One warehouse (inventory control point) per company, in its home currency.
	{"oim.inventory_control_point", `
INSERT INTO oim.inventory_control_point VALUES
    ('ICP-001', 'Manchester Distribution Centre', 'CMP-001', 'GBP'),
    ('ICP-002', 'Dallas Warehouse', 'CMP-002', 'USD'),
    ('ICP-003', 'Hamburg Lager', 'CMP-003', 'EUR')`},

	// ---------------------------------------------------------------- suppliers and accounts

	// 200 supplier sites in the UK, US and Germany. Sites 1-6 are linked to vendor
	// accounts already; sites 7-10 have no account but their names match vendor
	// accounts 7-10 except for case and surrounding spaces; the rest have no
	// account yet. Some payment terms exceed the 24 characters an account holds;
	// a few sites are inactive, some name their own AP/AR control GLA.
	{"oim.supplier_site", `
INSERT INTO oim.supplier_site
WITH s AS (
    SELECT s, dd_country(dd_bp(s, 'site country')) AS country FROM range(1, {supplier_sites} + 1) r(s)
)
SELECT printf('SS-%04d', s),
       CASE WHEN s <= 6 THEN dd_vendor_name(s)
            WHEN s <= 10 THEN ['  global freight partners', 'HARBOR ELECTRICAL WHOLESALE',
                               'Ironbridge Fasteners ', 'jupiter office supplies'][s - 6]
            ELSE ['Acorn', 'Beacon', 'Cobalt', 'Dynamo', 'Eastgate', 'Forge', 'Gateway', 'Helix', 'Ironclad',
                  'Keystone', 'Lighthouse', 'Monarch', 'Nova', 'Orion', 'Precision', 'Quantum', 'Sterling',
                  'Titan', 'Vanguard'][1 + (s - 11) % 19]
                 || ' ' ||
                 ['Metals', 'Plastics', 'Electronics', 'Components', 'Supplies', 'Tooling', 'Packaging',
                  'Chemicals', 'Logistics', 'Industrial', 'Fasteners', 'Services'][1 + ((s - 11) // 19) % 12]
                 || ' ' || dd_legal_suffix(country) END,
       CASE WHEN s <= 6 THEN printf('ACC-V-%03d', s) END,
       s <= 10 OR dd_bp(s, 'site active') >= 300,
       CASE WHEN dd_bp(s, 'site fax') < 3000 THEN dd_phone(country, s + 5000) END,
       dd_phone(country, s + 1000),
       dd_currency(country),
       dd_street(country, s),
       CASE WHEN dd_bp(s, 'site street2') < 2000 THEN 'Unit ' || (1 + dd_pick(s, 'site unit', 40)) END,
       dd_city(country, s), dd_state(country, s), dd_postal_code(country, s), country,
       ['Net 30', 'Net 30', 'Net 60', 'Net 45', 'Net 15', 'Due on receipt', '2% 10 Net 30',
        '2% 10 days, net 30 days end of month', '30 days after invoice date, end of month'][1 + dd_pick(s, 'site terms', 9)],
       ['Email', 'Email', 'Print', 'Fax', 'Portal'][1 + dd_pick(s, 'site communication', 5)],
       CASE WHEN dd_bp(s, 'site ap gla') < 1000 THEN 'GLA-2000' END,
       CASE WHEN dd_bp(s, 'site ar gla') < 500 THEN 'GLA-1100' END,
       TIMESTAMP '2024-01-01' + to_minutes(dd_pick(s, 'site updated', 1400000))
FROM s`},

	// Accounts: 300 customers (UK, US, German), six vendors that supplier sites 1-6
	// created earlier (sites 1, 3 and 5 changed their payment terms and address
	// since: the account is older and differs), and four vendors
	// entered by hand in Accounting that sites 7-10 duplicate in all but case and
	// spacing (the vendor-accounts duplicate check links them).
	{"acct.account", `
INSERT INTO acct.account
WITH cust AS (
    SELECT k, dd_country(dd_bp(k, 'cust country')) AS country FROM range(1, 301) r(k)
)
SELECT printf('ACC-C-%04d', k),
       ['Northwind', 'Blue Ridge', 'Silverline', 'Redwood', 'Oakmont', 'Brightstar', 'Summit',
        'Harbourside', 'Kingfisher', 'Lakeshore', 'Meridian', 'Pinnacle', 'Riverside',
        'Stonebridge', 'Westfield', 'Evergreen', 'Highland', 'Crescent', 'Falcon', 'Granite'][1 + (k - 1) % 20]
       || ' ' ||
       ['Engineering', 'Retail', 'Construction', 'Foods', 'Logistics', 'Motors', 'Energy',
        'Healthcare', 'Marine', 'Facilities', 'Manufacturing', 'Hospitality', 'Farms', 'Utilities',
        'Electronics'][1 + ((k - 1) // 20) % 15]
       || ' ' || dd_legal_suffix(country),
       'Customer', dd_bp(k, 'cust active') >= 200, NULL, dd_phone(country, k), dd_currency(country),
       dd_street(country, k), NULL, dd_city(country, k), dd_state(country, k), dd_postal_code(country, k),
       country, ['Net 30', 'Net 30', 'Net 60', '2% 10 Net 30', 'Due on receipt'][1 + dd_pick(k, 'cust terms', 5)],
       ['Email', 'Email', 'Print'][1 + dd_pick(k, 'cust comm', 3)],
       NULL, 'GLA-1100', NULL, TIMESTAMP '2023-06-01' + to_minutes(dd_pick(k, 'cust updated', 300000))
FROM cust
UNION ALL
SELECT replace(s.id, 'SS-0', 'ACC-V-'), s.name, 'Vendor', s.active, s.fax, s.office_phone, s.currency,
       s.mailing_street, CASE WHEN NOT changed THEN s.mailing_street_additional END, s.mailing_city,
       s.mailing_state, s.mailing_postal_code, s.mailing_country,
       CASE WHEN changed THEN 'Net 30' ELSE left(s.payment_terms_name, 24) END,
       s.preferred_communication, coalesce(s.ap_control_gla_id, 'GLA-2000'), s.ar_control_gla_id, s.id,
       CASE WHEN changed THEN s.updated_at - INTERVAL 10 DAY ELSE s.updated_at END
FROM (SELECT *, id IN ('SS-0001', 'SS-0003', 'SS-0005') AS changed FROM oim.supplier_site) s
WHERE s.account_id IS NOT NULL
UNION ALL
SELECT printf('ACC-V-%03d', k), dd_vendor_name(k), 'Vendor', TRUE, NULL, dd_phone(country, k), dd_currency(country),
       dd_street(country, k), NULL, dd_city(country, k), dd_state(country, k), dd_postal_code(country, k),
       country, 'Net 30', 'Email', 'GLA-2000', NULL, NULL, TIMESTAMP '2023-09-01' + to_days(CAST(k AS INTEGER))
FROM (SELECT k, dd_country(dd_bp(k, 'site country')) AS country FROM range(7, 11) r(k))
ORDER BY 1`},

	// ---------------------------------------------------------------- order to cash

	// Plan of the sales orders. kase: normal, or a defect of the whole order:
	// bad_company (a name that is no company), bad_currency (a currency the
	// company lacks), bad_customer (an account that does not exist),
	// empty_company (the default company applies; NULL or '') or open_shipment
	// (its shipment is not completed, 3%). Orders 12-16 show each one; otherwise
	// 0.6% of the orders are invalid (0.2% of each kind), 1% name no company.
	{"dd_so", `
CREATE TEMP TABLE dd_so AS
WITH k AS (
    SELECT so,
           CASE WHEN so BETWEEN 12 AND 16
                THEN ['bad_company', 'bad_currency', 'bad_customer', 'empty_company', 'open_shipment'][so - 11]
                ELSE CASE WHEN r < 20 THEN 'bad_company' WHEN r < 40 THEN 'bad_currency'
                          WHEN r < 60 THEN 'bad_customer' WHEN r < 160 THEN 'empty_company'
                          WHEN r < 460 THEN 'open_shipment' ELSE 'normal' END
           END AS kase
    FROM (SELECT so, dd_bp(so, 'so case') AS r FROM range(1, {sales_orders} + 1) t(so))
), c AS (
    SELECT so, kase,
           CASE kase WHEN 'bad_company' THEN 'Acme France SAS'
                     WHEN 'empty_company' THEN CASE WHEN so % 2 = 0 THEN '' END
                     WHEN 'bad_currency' THEN 'Acme US Inc'
                     ELSE dd_company_name(dd_bp(so, 'so company')) END AS company_name
    FROM k
)
SELECT so, kase, company_name,
       CASE kase WHEN 'bad_company' THEN 'EUR' WHEN 'bad_currency' THEN 'CAD' WHEN 'empty_company' THEN 'GBP'
                 ELSE dd_company_currency(company_name, dd_bp(so, 'so currency')) END AS currency,
       CASE WHEN kase = 'bad_customer' THEN 'ACC-C-9999' ELSE dd_customer(so, 'so customer') END AS customer,
       kase = 'open_shipment' AS open_shipment,
       kase = 'normal' AND dd_bp(so, 'so prefill') < 1000 AS prefill
FROM c`},

	// Sales orders: mostly the company and currency by name and ISO code only (the
	// connector derives the Accounting ids), 10% prefilled consistently, 20% with
	// an engagement.
	{"oim.sales_order", `
INSERT INTO oim.sales_order
SELECT printf('SO-%07d', so), printf('SO-%07d', so), customer, company_name,
       CASE WHEN prefill THEN dd_company_id(company_name) END,
       currency,
       CASE WHEN prefill THEN 'ACUR-' || right(dd_company_id(company_name), 3) || '-' || currency END,
       CASE WHEN dd_bp(so, 'engagement') < 2000 THEN printf('ENG-%05d', 1 + dd_pick(so, 'engagement id', 5000)) END
FROM dd_so ORDER BY so`},

	// Service contracts (2% of the invoices bill one), in the company's home currency.
	{"oim.service_contract", `
INSERT INTO oim.service_contract
SELECT printf('SC-%05d', sc), printf('SC-%05d', sc), dd_customer(sc, 'sc customer'), company_name,
       NULL, dd_company_currency(company_name, 0), NULL
FROM (SELECT sc, dd_company_name(dd_bp(sc, 'sc company')) AS company_name
      FROM range(1, {service_contracts} + 1) t(sc))`},

	// One shipment per sales order, Completed unless the order's case says Open.
	{"oim.shipment", `
INSERT INTO oim.shipment
SELECT printf('SHP-%07d', so), printf('SO-%07d', so), CASE WHEN open_shipment THEN 'Open' ELSE 'Completed' END
FROM dd_so ORDER BY so`},

	// Plan of the invoices. kase is normal or: drop_ship (5%), open (4%), proforma
	// (1%), voided (1.5%), billing_doc (1%), service (2%, billed from a service
	// contract), and the invalid no_product_group (0.4%), no_product (0.2%),
	// deposit (0.2%) and closed_period (besides the dates that fall into a
	// closed period anyway, about 1.3%). Invoices 1-16 show each case in turn
	// (12-16 bill sales orders 12-16 and so show the order defects). n is the line
	// count, 1 + floor(max_lines * u^3.2): a mean of about max_lines/4; item1 the
	// item of line 1 (an item line unless the invoice is for a service, or is a
	// single deposit line), where the defect cases put their bad item. Normal
	// invoices of an order whose shipment is open are mostly still Open.
	{"dd_inv", `
CREATE TEMP TABLE dd_inv AS
WITH k AS (
    SELECT i,
           CASE WHEN i <= 16
                THEN ['normal', 'drop_ship', 'open', 'proforma', 'voided', 'billing_doc', 'closed_period',
                      'no_product_group', 'no_product', 'deposit', 'service',
                      'normal', 'normal', 'normal', 'normal', 'normal'][i]
                ELSE CASE WHEN r < 500 THEN 'drop_ship' WHEN r < 900 THEN 'open'
                          WHEN r < 1000 THEN 'proforma' WHEN r < 1150 THEN 'voided'
                          WHEN r < 1250 THEN 'billing_doc' WHEN r < 1450 THEN 'service'
                          WHEN r < 1490 THEN 'no_product_group' WHEN r < 1510 THEN 'no_product'
                          WHEN r < 1530 THEN 'deposit' ELSE 'normal' END
           END AS kase,
           CASE WHEN i = 1 THEN least({max_lines}, 5)
                ELSE 1 + CAST(floor({max_lines} * pow(dd_u(i, 'lines'), 3.2)) AS INTEGER) END AS n
    FROM (SELECT i, dd_bp(i, 'invoice case') AS r FROM range(1, {invoices} + 1) t(i))
), k1 AS (
    SELECT k.*,
           CASE kase WHEN 'no_product_group' THEN 1991 + dd_pick(i, 'bad item', 10)
                     WHEN 'no_product' THEN 1981 + dd_pick(i, 'bad item', 10)
                     ELSE 1 + CAST(floor(1960 * pow(dd_u(i, 'first item'), 2)) AS BIGINT) END AS item1,
           NOT (kase = 'service' OR (kase = 'deposit' AND n = 1)) AS line1_is_item
    FROM k
), o AS (
    SELECT k1.*,
           -- invoices 1-16 bill orders 1-16, the others any later order
           CASE WHEN kase <> 'service' THEN CASE WHEN i <= 16 THEN i WHEN {sales_orders} > 16 THEN 17 + dd_pick(i, 'so', {sales_orders} - 16)
                                                 ELSE 1 + dd_pick(i, 'so', {sales_orders}) END END AS so,
           CASE WHEN kase = 'service' THEN CASE WHEN i <= 16 THEN 1 ELSE 1 + dd_pick(i, 'sc', {service_contracts}) END END AS sc
    FROM k1
)
SELECT o.i, printf('INV-%07d', o.i) AS id, o.kase, o.n, o.item1, o.line1_is_item, o.so, o.sc,
       CAST(sum(o.n) OVER (ORDER BY o.i) - o.n AS BIGINT) AS off,
       CASE o.kase WHEN 'open' THEN 'Open' WHEN 'proforma' THEN 'Proforma' WHEN 'voided' THEN 'Voided'
                   ELSE CASE WHEN o.kase = 'normal' AND s.open_shipment AND o.i > 16 AND dd_bp(o.i, 'open status') < 8000
                             THEN 'Open' ELSE 'Closed' END END AS status,
       CASE WHEN o.kase = 'closed_period' THEN DATE '2024-01-02' + CAST(dd_pick(o.i, 'closed date', 28) AS INTEGER)
            ELSE dd_date(o.i, 'invoice date') END AS invoice_date,
       o.i = 1 OR dd_bp(o.i, 'tax') < 4000 AS has_tax,
       o.i = 1 OR dd_bp(o.i, 'discount') < 1500 AS has_discount
FROM o LEFT JOIN dd_so s ON s.so = o.so`},

	// Invoice lines. Line 1 is always an item (the defect cases put their bad
	// item there); later lines are mostly items, with freight, labor,
	// miscellaneous charges, virtual kits and the odd tax line (only on invoices
	// without a total_tax). Drop ship invoices bill only 'Drop Ship Item' items
	// (and freight); service invoices bill labor and charges; the deposit case
	// ends with a 'Deposit' line. Items are popular or rare (u^2); a price is the
	// item's list price less an occasional 5-15%; quantities are small whole
	// numbers, except that items under 20.00 also sell by the hundred or in
	// fractions (4 decimals); labor is in quarter hours.
	// amount = round(quantity * derived_unit_price, 2). product_id is left for
	// the connector to derive except on 2% of the stocked item lines.
	{"oim.invoice_line", `
INSERT INTO oim.invoice_line
WITH l AS (
    SELECT d.i, d.id AS invoice_id, d.kase, d.n, d.has_tax, d.off + j AS g, j, dd_bp2(d.i, j, 'line type') AS r,
           CASE WHEN j = 1 THEN d.item1 ELSE 1 + CAST(floor(1960 * pow(dd_u2(d.i, j, 'item'), 2)) AS BIGINT) END AS item_no
    FROM dd_inv d, range(1, d.n + 1) t(j)
), t AS (
    SELECT l.*, it.id AS item_id, it.name AS item_name, it.cents AS list_cents, it.pg,
           CASE WHEN kase = 'service' THEN CASE WHEN r < 5000 THEN 'Labor' WHEN r < 8000 THEN 'Miscellaneous' ELSE 'Freight' END
                WHEN kase = 'deposit' AND j = n THEN 'Deposit'
                WHEN kase = 'drop_ship' THEN CASE WHEN j = 1 OR r < 8500 THEN 'Drop Ship Item' ELSE 'Freight' END
                WHEN j = 1 THEN CASE WHEN r < 500 AND kase NOT IN ('no_product_group', 'no_product') THEN 'Virtual Kit Item' ELSE 'Item' END
                WHEN r < 7800 THEN 'Item' WHEN r < 8200 THEN 'Virtual Kit Item' WHEN r < 9000 THEN 'Freight'
                WHEN r < 9500 THEN 'Labor' WHEN r < 9900 OR has_tax THEN 'Miscellaneous' ELSE 'Tax' END AS line_type,
           dd_bp2(i, j, 'quantity') AS rq
    FROM l JOIN dd_item it ON it.item_no = l.item_no
), q AS (
    SELECT *, line_type IN ('Item', 'Drop Ship Item', 'Virtual Kit Item') AS is_item,
           CAST(CASE WHEN line_type IN ('Item', 'Drop Ship Item', 'Virtual Kit Item') THEN
                          CASE WHEN rq < 6000 OR list_cents >= 2000 THEN 1 + floor(24 * pow(dd_u2(i, j, 'small quantity'), 2))
                               WHEN rq < 8500 THEN 25 + dd_pick2(i, j, 'large quantity', 476)
                               ELSE CAST(1 + dd_pick2(i, j, 'fractional quantity', 250000) AS DECIMAL(18,0)) * 0.0001 END
                     WHEN line_type = 'Labor' THEN CAST(1 + dd_pick2(i, j, 'hours', 64) AS DECIMAL(18,0)) * 0.25
                     ELSE 1 END AS DECIMAL(18,4)) AS quantity,
           CASE line_type
                WHEN 'Freight' THEN dd_money(500 + dd_pick2(i, j, 'price', 24500))
                WHEN 'Labor' THEN dd_money(4500 + 500 * dd_pick2(i, j, 'price', 22))
                WHEN 'Miscellaneous' THEN dd_money(100 + dd_pick2(i, j, 'price', 19900))
                WHEN 'Tax' THEN dd_money(100 + dd_pick2(i, j, 'price', 49900))
                WHEN 'Deposit' THEN dd_money(5000 + dd_pick2(i, j, 'price', 195000))
                ELSE dd_money(list_cents *
                              (100 - CASE WHEN dd_bp2(i, j, 'line discount') < 2000
                                          THEN 5 * (1 + dd_pick2(i, j, 'line discount pct', 3)) ELSE 0 END) // 100)
           END AS price
    FROM t
)
SELECT printf('IL-%08d', g), invoice_id, j, line_type,
       CASE WHEN is_item THEN item_id END,
       CASE WHEN is_item AND item_no <= 1960 AND dd_bp2(i, j, 'given product') < 200
            THEN printf('PRD-%03d', pg) END,
       CASE WHEN is_item THEN item_name
            ELSE CASE line_type WHEN 'Freight' THEN 'Freight and handling'
                                WHEN 'Labor' THEN 'Labor - installation and service'
                                WHEN 'Miscellaneous' THEN 'Miscellaneous charge' WHEN 'Tax' THEN 'Sales tax'
                                WHEN 'Deposit' THEN 'Deposit received' END END,
       quantity, price, CAST(round(quantity * price, 2) AS DECIMAL(18,2)), NULL
FROM q`},

	// Invoices: mostly Closed, billing a completed shipment; drop ship and service
	// invoices have none. 8% bill another account than the customer, 1% are linked
	// to a billing document, 15% carry a discount of 2-10% of the net and 40% a
	// total tax at the company's rate. The Accounting company and currency are
	// prefilled on 5%, consistently with the order; the rest is derived.
	{"oim.invoice", `
INSERT INTO oim.invoice
WITH net AS (
    SELECT invoice_id, sum(amount) AS net FROM oim.invoice_line GROUP BY invoice_id
), h AS (
    SELECT d.*, printf('INV-%07d', d.i) AS id,
           coalesce(s.company_name, c.company_name) AS company_name,
           coalesce(s.currency, c.currency) AS currency,
           coalesce(s.customer, c.customer_account_id) AS customer,
           coalesce(s.kase = 'normal', d.sc IS NOT NULL) AS good_order,
           coalesce(net.net, 0) AS net
    FROM dd_inv d
    LEFT JOIN dd_so s ON s.so = d.so
    LEFT JOIN oim.service_contract c ON c.id = printf('SC-%05d', d.sc)
    LEFT JOIN net ON net.invoice_id = printf('INV-%07d', d.i)
), m AS (
    SELECT *,
           CASE WHEN has_discount THEN round(net * (2 + dd_pick(i, 'discount pct', 9)) * 0.01, 2) ELSE 0 END AS discount,
           good_order AND dd_bp(i, 'invoice prefill') < 500 AS prefill
    FROM h
)
SELECT id, id, status,
       CASE WHEN so IS NOT NULL THEN printf('SO-%07d', so) END,
       CASE WHEN sc IS NOT NULL THEN printf('SC-%05d', sc) END,
       CASE WHEN kase NOT IN ('drop_ship', 'service') THEN printf('SHP-%07d', so) END,
       customer,
       CASE WHEN i = 2 OR dd_bp(i, 'billing account') < 800 THEN dd_customer(i, 'billing account id') END,
       invoice_date,
       invoice_date + [14, 30, 30, 45, 60][1 + dd_pick(i, 'invoice terms', 5)],
       CASE WHEN prefill THEN dd_company_id(company_name) END,
       CASE WHEN prefill THEN 'ACUR-' || right(dd_company_id(company_name), 3) || '-' || currency END,
       CASE WHEN kase = 'billing_doc' THEN printf('BD-%07d', i) END,
       CAST(discount AS DECIMAL(18,2)),
       CAST(CASE WHEN has_tax
                 THEN round((net - discount) * CASE coalesce(nullif(company_name, ''), 'Acme UK Ltd')
                                               WHEN 'Acme UK Ltd' THEN 0.20 WHEN 'Acme GmbH' THEN 0.19 ELSE 0.0725 END, 2)
                 ELSE 0 END AS DECIMAL(18,2)),
       'New', NULL, NULL, NULL
FROM m ORDER BY i`},

	// Plan of the credit invoices: about 10% of the Closed and Voided invoices,
	// plus invoices 1 (partial credit) and 5 (voided: a Void credit). Full credits
	// only of invoices of up to 3 lines; each credits 1-3 distinct lines of its
	// own invoice (Full and Void: up to the first 3 from a random start).
	{"dd_ci", `
CREATE TEMP TABLE dd_ci AS
WITH c AS (
    SELECT row_number() OVER (ORDER BY i) AS ci, i, n, off, status, invoice_date
    FROM dd_inv
    WHERE i IN (1, 5) OR (i > 16 AND status IN ('Closed', 'Voided') AND dd_bp(i, 'credited') < 1000)
), t AS (
    SELECT *,
           CASE WHEN status = 'Voided' THEN 'Void'
                WHEN i <> 1 AND n <= 3 AND dd_bp(ci, 'full credit') < 5000 THEN 'Full' ELSE 'Partial' END AS credit_type
    FROM c
), k AS (
    SELECT *,
           CASE WHEN credit_type = 'Partial' THEN least(n, 1 + dd_pick(ci, 'credit lines', 3)) ELSE least(n, 3) END AS k,
           dd_pick(ci, 'first credited line', n) AS start
    FROM t
)
SELECT *, CAST(sum(k) OVER (ORDER BY ci) - k AS BIGINT) AS coff FROM k`},

	// Credit invoices, dated 3-90 days after their invoice; 1% linked to a
	// billing document.
	{"oim.credit_invoice", `
INSERT INTO oim.credit_invoice
SELECT printf('CI-%07d', ci), printf('CI-%07d', ci), printf('INV-%07d', i), credit_type,
       invoice_date + CAST(3 + dd_pick(ci, 'credit date', 88) AS INTEGER),
       invoice_date + CAST(33 + dd_pick(ci, 'credit date', 88) AS INTEGER),
       CASE WHEN dd_bp(ci, 'credit billing document') < 100 THEN printf('BD-C%06d', ci) END,
       'New', NULL, NULL
FROM dd_ci ORDER BY ci`},

	// Credit invoice lines: distinct lines of the credited invoice; Full and Void
	// credit the line's whole amount, Partial 10-90% of it.
	{"oim.credit_invoice_line", `
INSERT INTO oim.credit_invoice_line
WITH l AS (
    SELECT c.ci, c.credit_type, t, c.coff + t AS g,
           printf('IL-%08d', c.off + 1 + (c.start + t - 1) % c.n) AS invoice_line_id
    FROM dd_ci c, range(1, c.k + 1) r(t)
)
SELECT printf('CIL-%07d', g), printf('CI-%07d', ci), l.invoice_line_id,
       CAST(CASE WHEN credit_type = 'Partial'
                 THEN round(il.amount * (10 + dd_pick2(ci, t, 'credit pct', 81)) * 0.01, 2)
                 ELSE il.amount END AS DECIMAL(18,2)),
       NULL
FROM l JOIN oim.invoice_line il ON il.id = l.invoice_line_id
ORDER BY g`},

	// ---------------------------------------------------------------- procure to pay

	// Plan of the purchase orders (30% of the invoice count): a supplier site
	// (some suppliers get most orders), a company by name (1% empty: the default
	// company), the site's currency when the company has it, else the company's
	// home currency, and 1-8 lines (mean about 3.3). Orders 4 (UK) and 5 (US)
	// disagree on the company for voucher 4; order 9 leaves the Accounting ids
	// to be derived; 10% of the others do too.
	{"dd_po", `
CREATE TEMP TABLE dd_po AS
WITH p AS (
    SELECT p, 1 + CAST(floor({supplier_sites} * pow(dd_u(p, 'po site'), 1.5)) AS BIGINT) AS site,
           CASE WHEN p = 4 THEN 'Acme UK Ltd' WHEN p = 5 THEN 'Acme US Inc'
                WHEN p > 10 AND dd_bp(p, 'po empty company') < 100 THEN NULL
                ELSE dd_company_name(dd_bp(p, 'po company')) END AS company_name,
           1 + CAST(floor(8 * pow(dd_u(p, 'po lines'), 2)) AS INTEGER) AS n
    FROM range(1, {purchase_orders} + 1) t(p)
)
SELECT p.p, p.site, p.company_name,
       CASE WHEN p.company_name IS NULL THEN 'GBP'
            WHEN p.company_name = 'Acme UK Ltd' THEN s.currency
            ELSE dd_company_currency(p.company_name, 0) END AS currency,
       p.company_name IS NOT NULL AND p.p <> 9 AND dd_bp(p.p, 'po prefill') < 9000 AS prefill,
       p.n, CAST(sum(p.n) OVER (ORDER BY p.p) - p.n AS BIGINT) AS off
FROM p JOIN oim.supplier_site s ON s.id = printf('SS-%04d', p.site)`},

	// Purchase orders.
	{"oim.purchase_order", `
INSERT INTO oim.purchase_order
SELECT printf('PO-%07d', p), printf('PO-%07d', p), printf('SS-%04d', site), company_name,
       CASE WHEN prefill THEN dd_company_id(company_name) END, currency,
       CASE WHEN prefill THEN 'ACUR-' || right(dd_company_id(company_name), 3) || '-' || currency END
FROM dd_po ORDER BY p`},

	// Purchase order lines: 80% Item (a stocked item), 12% Category (a purchasing
	// category), 8% Description (a GLA). Deliberately invalid: an item of the
	// legacy group without a product (0.2% of item lines; line 1 of order 8), the
	// category without a purchase analysis GLA (2% of category lines; order 7), a
	// description without a GLA (1% of description lines; order 6): about 1.5% of
	// the vouchers. Line 1 of orders 1-5 is a good item.
	{"oim.purchase_order_line", `
INSERT INTO oim.purchase_order_line
WITH l AS (
    SELECT p.p, j, p.off + j AS g, dd_bp2(p.p, j, 'pol type') AS r
    FROM dd_po p, range(1, p.n + 1) t(j)
), t AS (
    SELECT *,
           CASE WHEN j = 1 AND p <= 5 THEN 'Item' WHEN j = 1 AND p = 6 THEN 'Description'
                WHEN j = 1 AND p = 7 THEN 'Category' WHEN j = 1 AND p = 8 THEN 'Item'
                WHEN r < 8000 THEN 'Item' WHEN r < 9200 THEN 'Category' ELSE 'Description' END AS line_type
    FROM l
), d AS (
    SELECT *,
           (j = 1 AND p BETWEEN 6 AND 8)
           OR (p > 10 AND dd_bp2(p, j, 'pol defect') < CASE line_type WHEN 'Item' THEN 20 WHEN 'Category' THEN 200 ELSE 100 END) AS defect,
           33 + dd_pick2(p, j, 'pol category', 6) AS category,
           dd_pick2(p, j, 'pol description', 8) AS dk
    FROM t
), i AS (
    SELECT d.*,
           CASE WHEN line_type <> 'Item' THEN NULL
                WHEN defect THEN 1981 + dd_pick2(p, j, 'pol bad item', 10)
                ELSE 1 + CAST(floor(1960 * pow(dd_u2(p, j, 'pol item'), 2)) AS BIGINT) END AS item_no
    FROM d
)
SELECT printf('POL-%07d', g), printf('PO-%07d', p), j, line_type, it.id,
       CASE WHEN line_type = 'Category' THEN CASE WHEN defect THEN 'PG-040' ELSE printf('PG-%03d', category) END END,
       CASE line_type
            WHEN 'Item' THEN it.name
            WHEN 'Category' THEN CASE WHEN defect THEN 'Sundry purchases'
                                      ELSE ['Office consumables', 'Laptops and accessories', 'Facility repair work',
                                            'Travel booking', 'Trade show services', 'Carrier charges'][category - 32] END
            ELSE ['Annual maintenance contract', 'Consulting services', 'Equipment rental', 'Calibration services',
                  'Cleaning services', 'Software subscription', 'Temporary staff', 'Waste disposal'][1 + dk] END,
       CASE WHEN line_type = 'Description' AND NOT defect
            THEN ['GLA-6400', 'GLA-5120', 'GLA-6100', 'GLA-5110', 'GLA-6200', 'GLA-6800', 'GLA-5120', 'GLA-6600'][1 + dk] END
FROM i LEFT JOIN dd_item it ON it.item_no = i.item_no
ORDER BY g`},

	// Plan of the AP vouchers, one per purchase order (voucher v bills order v):
	// Matched 85%, Open 10%, Voided 5%. 5% have no PO line (voucher 3): they bill
	// accounting items in the supplier's currency. 1% add a line of the next
	// order (voucher 4: orders 4 and 5 disagree on the company). Lines: one per
	// PO line, then an Accounting line (10%), then a Tax line (30%). 20% of the
	// vouchers with a PO carry the Accounting ids already, 10% their period.
	{"dd_apv", `
CREATE TEMP TABLE dd_apv AS
WITH v AS (
    SELECT v, v = 3 OR (v > 10 AND dd_bp(v, 'no po') < 500) AS no_po,
           v = 4 OR (v > 10 AND dd_bp(v, 'mixed po') < 100) AS mixed,
           CASE WHEN v = 2 THEN 'Open' WHEN v = 10 THEN 'Voided' WHEN v <= 10 THEN 'Matched'
                WHEN dd_bp(v, 'apv status') < 8500 THEN 'Matched'
                WHEN dd_bp(v, 'apv status') < 9500 THEN 'Open' ELSE 'Voided' END AS status
    FROM range(1, {purchase_orders} + 1) t(v)
), j AS (
    SELECT v.v, v.status, v.no_po,
           CASE WHEN v.no_po THEN 0 ELSE p.n END AS npo,
           p.off AS po_off,
           v.mixed AND NOT v.no_po AND p2.p IS NOT NULL AS mixed,
           p2.off + 1 AS mixed_pol,
           v.no_po OR dd_bp(v.v, 'accounting line') < 1000 AS has_acct,
           dd_bp(v.v, 'tax line') < 3000 AS has_tax,
           CASE WHEN v.no_po THEN 1 + CAST(floor({supplier_sites} * pow(dd_u(v.v, 'apv site'), 1.5)) AS BIGINT) ELSE p.site END AS site,
           CASE WHEN NOT v.no_po THEN p.company_name END AS company_name,
           CASE WHEN NOT v.no_po THEN p.currency END AS po_currency,
           NOT v.no_po AND v.v > 10 AND p.company_name IS NOT NULL AND dd_bp(v.v, 'apv prefill') < 2000 AS prefill,
           NOT v.no_po AND v.v > 10 AND p.company_name IS NOT NULL AND dd_bp(v.v, 'apv period') < 1000 AS prefill_period,
           dd_date(v.v, 'apv date') AS invoice_date
    FROM v JOIN dd_po p ON p.p = v.v LEFT JOIN dd_po p2 ON p2.p = v.v + 1
)
SELECT j.*, coalesce(j.po_currency, s.currency) AS currency,
       npo + CAST(mixed AS INTEGER) + CAST(has_acct AS INTEGER) + CAST(has_tax AS INTEGER) AS nl,
       CAST(sum(npo + CAST(mixed AS INTEGER) + CAST(has_acct AS INTEGER) + CAST(has_tax AS INTEGER)) OVER (ORDER BY v)
            - (npo + CAST(mixed AS INTEGER) + CAST(has_acct AS INTEGER) + CAST(has_tax AS INTEGER)) AS BIGINT) AS off
FROM j JOIN oim.supplier_site s ON s.id = printf('SS-%04d', j.site)`},

	// AP vouchers: the supplier's invoice number (95%), dates, due in 30-60 days.
	{"oim.ap_voucher", `
INSERT INTO oim.ap_voucher
SELECT printf('APV-%07d', v), printf('APV-%07d', v), status, printf('SS-%04d', site),
       CASE WHEN dd_bp(v, 'supplier invoice') < 9500 THEN printf('SINV-%06d', 1 + dd_pick(v, 'supplier invoice number', 999999)) END,
       currency,
       CASE WHEN prefill THEN dd_company_id(company_name) END,
       CASE WHEN prefill THEN 'ACUR-' || right(dd_company_id(company_name), 3) || '-' || currency END,
       invoice_date,
       invoice_date + [30, 30, 45, 60][1 + dd_pick(v, 'apv terms', 4)],
       invoice_date + CAST(dd_pick(v, 'registered', 6) AS INTEGER),
       CASE WHEN prefill_period THEN dd_period_id(dd_company_id(company_name), invoice_date) END,
       'New', NULL, NULL
FROM dd_apv ORDER BY v`},

	// AP voucher lines: an Item line per PO line (the item of an Item PO line,
	// 1-20 of an expensive item or tens of a cheap one, at 55-65% of its list
	// price, so with a price variance; quantity 1 for category and description
	// lines), then Accounting (an accounting item) and Tax lines. Product,
	// dimensions and GLA are left for the connector to derive, except the
	// product on 10% of the accounting lines.
	{"oim.ap_voucher_line", `
INSERT INTO oim.ap_voucher_line
WITH l AS (
    SELECT a.v, j, a.off + j AS g,
           CASE WHEN j <= a.npo THEN 'po' WHEN a.mixed AND j = a.npo + 1 THEN 'mixed'
                WHEN a.has_acct AND j = a.npo + CAST(a.mixed AS INTEGER) + 1 THEN 'acct' ELSE 'tax' END AS kind,
           CASE WHEN j <= a.npo THEN printf('POL-%07d', a.po_off + j)
                WHEN a.mixed AND j = a.npo + 1 THEN printf('POL-%07d', a.mixed_pol) END AS pol_id
    FROM dd_apv a, range(1, a.nl + 1) t(j)
), x AS (
    SELECT l.*, pol.line_type AS pol_type,
           CASE WHEN kind = 'acct' THEN 1961 + dd_pick2(v, j, 'accounting item', 20)
                WHEN pol.item_id IS NOT NULL THEN CAST(substr(pol.item_id, 5) AS BIGINT) END AS item_no
    FROM l LEFT JOIN oim.purchase_order_line pol ON pol.id = l.pol_id
), q AS (
    SELECT x.*, it.id AS item_id, it.cents AS list_cents, it.pg,
           CASE kind WHEN 'tax' THEN 'Tax' WHEN 'acct' THEN 'Accounting' ELSE 'Item' END AS line_type,
           CAST(CASE WHEN pol_type = 'Item' THEN
                          CASE WHEN it.cents >= 2000 THEN 1 + dd_pick2(v, j, 'apvl quantity', 20)
                               WHEN dd_bp2(v, j, 'apvl fractional') < 9000 THEN 10 * (1 + dd_pick2(v, j, 'apvl quantity', 50))
                               ELSE CAST(1 + dd_pick2(v, j, 'apvl quantity', 5000000) AS DECIMAL(18,0)) * 0.0001 END
                     WHEN kind = 'acct' THEN 1 + dd_pick2(v, j, 'apvl quantity', 10)
                     ELSE 1 END AS DECIMAL(18,4)) AS quantity,
           CASE WHEN kind = 'tax' THEN dd_money(100 + dd_pick2(v, j, 'apvl price', 49900))
                WHEN kind = 'acct' THEN dd_money(2500 + dd_pick2(v, j, 'apvl price', 47500))
                WHEN x.item_no IS NOT NULL THEN dd_money(greatest(1, it.cents * (55 + dd_pick2(v, j, 'apvl cost', 11)) // 100))
                ELSE dd_money(5000 + dd_pick2(v, j, 'apvl price', 495000)) END AS price
    FROM x LEFT JOIN dd_item it ON it.item_no = x.item_no
)
SELECT printf('APVL-%07d', g), printf('APV-%07d', v), j, line_type, pol_id, item_id,
       CASE WHEN kind = 'acct' AND dd_bp2(v, j, 'apvl given product') < 1000 THEN printf('PRD-%03d', pg) END,
       NULL, NULL, NULL, NULL, NULL,
       quantity, price, CAST(round(quantity * price, 2) AS DECIMAL(18,2)), NULL, NULL
FROM q ORDER BY g`},

	// Plan of the AP voucher credits: about 10% of the Matched vouchers (and
	// vouchers 1 and 9), Credit 80% (1-2 lines) or Void 20% (every line).
	{"dd_apvc", `
CREATE TEMP TABLE dd_apvc AS
WITH c AS (
    SELECT row_number() OVER (ORDER BY v) AS vc, v, nl, off, invoice_date
    FROM dd_apv
    WHERE status = 'Matched' AND (v IN (1, 9) OR (v > 10 AND dd_bp(v, 'apv credited') < 1000))
), t AS (
    SELECT *,
           CASE WHEN v > 10 AND dd_bp(vc, 'apvc type') < 2000 THEN 'Void' ELSE 'Credit' END AS credit_type
    FROM c
), k AS (
    SELECT *, CASE WHEN credit_type = 'Void' THEN nl ELSE least(nl, 1 + dd_pick(vc, 'apvc lines', 2)) END AS k
    FROM t
)
SELECT *, CAST(sum(k) OVER (ORDER BY vc) - k AS BIGINT) AS coff FROM k`},

	// AP voucher credits, 10-60 days after the voucher; 70% quote the supplier's
	// credit number (else the connector uses the name).
	{"oim.ap_voucher_credit", `
INSERT INTO oim.ap_voucher_credit
SELECT printf('APVC-%07d', vc), printf('APVC-%07d', vc), printf('APV-%07d', v), credit_type,
       invoice_date + CAST(10 + dd_pick(vc, 'apvc date', 51) AS INTEGER),
       CASE WHEN dd_bp(vc, 'apvc number') < 7000 THEN printf('SCN-%06d', 1 + dd_pick(vc, 'apvc number value', 999999)) END,
       NULL, 'New', NULL, NULL
FROM dd_apvc ORDER BY vc`},

	// AP voucher line credits. Void: the line's quantity and amount. Credit: part
	// of the quantity, at the line's unit price (80%, so amount / quantity is
	// exact) or a share of the amount (20%, so it is not). 2% have no quantity
	// (invalid), as has line 1 of voucher 9's credit.
	{"oim.ap_voucher_line_credit", `
INSERT INTO oim.ap_voucher_line_credit
WITH l AS (
    SELECT c.vc, c.v, c.credit_type, t, c.coff + t AS g, printf('APVL-%07d', c.off + t) AS apvl_id,
           10 + dd_pick2(c.vc, t, 'apvc pct', 81) AS pct
    FROM dd_apvc c, range(1, c.k + 1) r(t)
), q AS (
    SELECT l.*, al.quantity_vouchered AS q, al.unit_price, al.amount,
           CASE WHEN al.quantity_vouchered >= 2 THEN greatest(1, floor(al.quantity_vouchered * pct * 0.01))
                ELSE al.quantity_vouchered END AS qc
    FROM l JOIN oim.ap_voucher_line al ON al.id = l.apvl_id
)
SELECT printf('APVLC-%07d', g), printf('APVC-%07d', vc), apvl_id,
       CAST(CASE WHEN (v = 9 AND t = 1) OR dd_bp2(vc, t, 'apvc no quantity') < 200 THEN NULL
                 WHEN credit_type = 'Void' THEN q ELSE qc END AS DECIMAL(18,4)),
       CAST(CASE WHEN credit_type = 'Void' THEN amount
                 WHEN dd_bp2(vc, t, 'apvc exact') < 8000 THEN round(qc * unit_price, 2)
                 ELSE round(amount * pct * 0.01, 2) END AS DECIMAL(18,2)),
       NULL, NULL
FROM q ORDER BY g`},

	// ---------------------------------------------------------------- inventory

	// Plan of the inventory transactions (50% of the invoice count). Types follow
	// the journals list, weighted like a warehouse (receipts and picks dominate),
	// plus 3% of types the journals flow does not select (Transfer Order ...).
	// Receipts, returns to vendor and variances point at line 1 of a purchase
	// order (PPV, Void PPV, AP Voucher Credit and 30% of the receipts also at its
	// voucher); picks, drop ship billing and customer returns at line 1 of an
	// invoice; adjustments carry a reason code (90%). The warehouse is the
	// company's (1% none); 0.5% are dated December 2023, before any period.
	// kind says how the financial records look: two (+v/-v), four (two pairs),
	// residue (sub-cent values whose rounding leaves 0.01, still balanced),
	// unbalanced, tiny (all round to 0) and unmapped (a 'WIP' record with no GLA).
	// The values the records need are computed here, once per transaction: unit
	// costs c1, c2 (following the item's price), values v1 = round(quantity * c1,
	// 9), v2, the residue parts a, e, the imbalance delta and the tiny value; dr,
	// cr, dr2 are the GL account categories debited and credited. Transactions
	// 1-8 show the kinds and special types.
	{"dd_itx", `
CREATE TEMP TABLE dd_itx AS
WITH t AS (
    SELECT t,
           CASE WHEN t <= 8 THEN ['Receive Purchased Material', 'Issue Customer Items Pick-list', 'Scrap Inventory',
                                  'Miscellaneous Issue', 'Manufacture Item', 'Transfer Order Ship', 'Cycle Count', 'PPV'][t]
                WHEN r < 2200 THEN 'Receive Purchased Material' WHEN r < 4400 THEN 'Issue Customer Items Pick-list'
                WHEN r < 4700 THEN 'Reverse Receive Purchased Material' WHEN r < 5100 THEN 'PPV'
                WHEN r < 5200 THEN 'Void PPV' WHEN r < 5400 THEN 'AP Voucher Credit'
                WHEN r < 5800 THEN 'Bill Drop Ship Item' WHEN r < 5900 THEN 'Credit Drop Ship Item'
                WHEN r < 6300 THEN 'Receive Customer Returned Material'
                WHEN r < 6400 THEN 'Reverse Receive Customer Returned Material'
                WHEN r < 6900 THEN 'Cycle Count' WHEN r < 7200 THEN 'Miscellaneous Issue'
                WHEN r < 7400 THEN 'Miscellaneous Receipt' WHEN r < 7600 THEN 'Scrap Inventory'
                WHEN r < 7700 THEN 'Inspection Reject Scrap Parts'
                WHEN r < 7800 THEN 'Inspection Reject Return Parts to Vendor'
                WHEN r < 8000 THEN 'Use Tax' WHEN r < 8100 THEN 'Credit Use Tax'
                WHEN r < 9700 THEN ['Accrual Reversal', 'Add Logistics Cost', 'Add Service Cost', 'Adjust Current Value',
                                    'Allocate Production Order Items', 'Confirm Production Order Pick-list',
                                    'Issue Production Order Pick', 'Issue Supplier Items Pick-list',
                                    'Item Changed Ownership', 'Item Transfer Inbound', 'Item Transfer Outbound',
                                    'Manufacture Item', 'Receive Exchanged Items (Cores)',
                                    'Removed from Inventory - Consumed in Service Purchase Order',
                                    'Reverse Production Order Allocation'][1 + dd_pick(t, 'itx other type', 15)]
                ELSE ['Transfer Order Ship', 'Transfer Order Receive', 'Reserve Inventory'][1 + dd_pick(t, 'itx other type', 3)]
           END AS transaction_type,
           CASE WHEN t = 2 THEN 'residue' WHEN t = 3 THEN 'unbalanced' WHEN t = 4 THEN 'tiny'
                WHEN t = 5 THEN 'unmapped' WHEN t <= 8 THEN 'two'
                WHEN r2 < 50 THEN 'residue' WHEN r2 < 60 THEN 'unbalanced' WHEN r2 < 80 THEN 'tiny'
                WHEN r2 < 100 THEN 'unmapped' WHEN r2 < 1600 THEN 'four' ELSE 'two' END AS kind
    FROM (SELECT t, dd_bp(t, 'itx type') AS r, dd_bp(t, 'itx kind') AS r2
          FROM range(1, {inventory_transactions} + 1) x(t))
), l AS (
    SELECT t.*,
           CASE WHEN transaction_type IN ('Receive Purchased Material', 'Reverse Receive Purchased Material', 'PPV',
                                          'Void PPV', 'AP Voucher Credit', 'Inspection Reject Return Parts to Vendor') THEN 'po'
                WHEN transaction_type IN ('Issue Customer Items Pick-list', 'Bill Drop Ship Item', 'Credit Drop Ship Item',
                                          'Receive Customer Returned Material',
                                          'Reverse Receive Customer Returned Material') THEN 'inv'
                WHEN transaction_type IN ('Cycle Count', 'Miscellaneous Issue', 'Miscellaneous Receipt',
                                          'Scrap Inventory', 'Inspection Reject Scrap Parts') THEN 'reason'
                ELSE 'none' END AS link
    FROM t
), k AS (
    SELECT l.*,
           -- transactions 1-8 use order 1 and invoice 1; the others any but the showcase ones
           CASE WHEN link = 'po' THEN CASE WHEN t <= 8 OR {purchase_orders} <= 10 THEN 1 ELSE 11 + dd_pick(t, 'itx po', {purchase_orders} - 10) END END AS p,
           CASE WHEN link = 'inv' THEN CASE WHEN t <= 8 OR {invoices} <= 16 THEN 1 ELSE 17 + dd_pick(t, 'itx invoice', {invoices} - 16) END END AS i
    FROM l
), j AS (
    SELECT k.*,
           CASE WHEN k.p IS NOT NULL THEN printf('POL-%07d', po.off + 1) END AS pol_id,
           CASE WHEN k.p IS NOT NULL AND NOT a.no_po
                     AND (transaction_type IN ('PPV', 'Void PPV', 'AP Voucher Credit')
                          OR (transaction_type = 'Receive Purchased Material' AND dd_bp(t, 'itx voucher') < 3000))
                THEN printf('APV-%07d', k.p) END AS apv_id,
           CASE WHEN k.i IS NOT NULL THEN printf('IL-%08d', d.off + 1) END AS il_id,
           CASE WHEN d.line1_is_item THEN d.item1 END AS il_item,
           coalesce(po.company_name, so.company_name) AS linked_company,
           d.invoice_date
    FROM k
    LEFT JOIN dd_po po ON po.p = k.p
    LEFT JOIN dd_apv a ON a.v = k.p
    LEFT JOIN dd_inv d ON d.i = k.i
    LEFT JOIN dd_so so ON so.so = d.so
), c AS (
    SELECT j.*,
           CASE WHEN transaction_type IN ('Use Tax', 'Credit Use Tax') THEN NULL
                WHEN link = 'po' THEN pol.item_id WHEN link = 'inv' THEN printf('ITM-%05d', il_item)
                WHEN dd_bp(t, 'itx no item') < 100 THEN NULL
                ELSE printf('ITM-%05d', 1 + CAST(floor(1960 * pow(dd_u(t, 'itx item'), 2)) AS BIGINT)) END AS item_id,
           CASE WHEN t = 8 OR (t > 8 AND dd_bp(t, 'itx no icp') < 100) THEN NULL
                ELSE coalesce(dd_icp(linked_company), dd_icp(dd_company_name(dd_bp(t, 'itx company')))) END AS icp,
           CASE WHEN link = 'reason' AND dd_bp(t, 'itx reason') < 9000
                THEN printf('RC-%02d', 1 + dd_pick(t, 'itx reason code', 12)) END AS reason_code_id,
           CASE WHEN invoice_date IS NOT NULL THEN invoice_date
                WHEN t > 8 AND dd_bp(t, 'itx 2023') < 50 THEN DATE '2023-12-01' + CAST(dd_pick(t, 'itx 2023 day', 31) AS INTEGER)
                ELSE dd_date(t, 'itx date') END AS transaction_date,
           CASE WHEN transaction_type IN ('Receive Purchased Material', 'Add Logistics Cost', 'Add Service Cost', 'Accrual Reversal')
                     THEN ['Inventory', 'AP Liability']
                WHEN transaction_type IN ('Reverse Receive Purchased Material', 'Inspection Reject Return Parts to Vendor', 'AP Voucher Credit')
                     THEN ['AP Liability', 'Inventory']
                WHEN transaction_type = 'PPV' THEN ['PPV', 'AP Liability']
                WHEN transaction_type = 'Void PPV' THEN ['AP Liability', 'PPV']
                WHEN transaction_type IN ('Issue Customer Items Pick-list', 'Bill Drop Ship Item', 'Issue Supplier Items Pick-list',
                                          'Reverse Receive Customer Returned Material')
                     THEN ['Cost of Goods Sold', 'Inventory']
                WHEN transaction_type IN ('Credit Drop Ship Item', 'Receive Customer Returned Material', 'Receive Exchanged Items (Cores)')
                     THEN ['Inventory', 'Cost of Goods Sold']
                WHEN transaction_type IN ('Scrap Inventory', 'Inspection Reject Scrap Parts') THEN ['Scrap', 'Inventory']
                WHEN transaction_type = 'Cycle Count'
                     THEN CASE WHEN dd_bp(t, 'itx count sign') < 5000 THEN ['Cycle Count', 'Inventory'] ELSE ['Inventory', 'Cycle Count'] END
                WHEN transaction_type = 'Miscellaneous Issue' THEN ['Miscellaneous', 'Inventory']
                WHEN transaction_type = 'Miscellaneous Receipt' THEN ['Inventory', 'Miscellaneous']
                WHEN transaction_type = 'Use Tax' THEN ['Expenses', 'AP Liability']
                WHEN transaction_type = 'Credit Use Tax' THEN ['AP Liability', 'Expenses']
                WHEN transaction_type = 'Removed from Inventory - Consumed in Service Purchase Order' THEN ['Expenses', 'Inventory']
                ELSE ['Inventory', 'Inventory'] END AS cats
    FROM j
    LEFT JOIN oim.purchase_order_line pol ON pol.id = j.pol_id
), q AS (
    SELECT c.*, it.cents AS list_cents,
           CAST(CASE WHEN it.cents >= 2000 THEN 1 + dd_pick(t, 'itx quantity', 20)
                     WHEN dd_bp(t, 'itx fractional') < 9000 THEN 1 + dd_pick(t, 'itx quantity', 500)
                     ELSE CAST(1 + dd_pick(t, 'itx quantity', 1000000) AS DECIMAL(18,0)) * 0.0001 END AS DECIMAL(18,4)) AS quantity
    FROM c LEFT JOIN dd_item it ON it.id = c.item_id
), u AS (
    SELECT q.*,
           -- unit cost: 60% of the item's list price plus a sub-cent, 9-decimal average-cost residue
           CAST(CASE WHEN list_cents IS NOT NULL THEN CAST(list_cents * 60 // 100 AS DECIMAL(18,0)) * 0.01
                     ELSE CAST(100 + dd_pick(t, 'unit cost', 100000) AS DECIMAL(18,0)) * 0.01 END
                + CAST(dd_pick(t, 'unit cost residue', 10000000) AS DECIMAL(18,0)) * 0.000000001 AS DECIMAL(18,9)) AS c1,
           -- the second pair: a variance or extra cost of 0.000000001-50.00 per unit
           CAST(CAST(1 + dd_pick(t, 'unit cost 2', 50000000000) AS DECIMAL(18,0)) * 0.000000001 AS DECIMAL(18,9)) AS c2,
           100 + dd_pick(t, 'residue a', 100000) AS a_cents
    FROM q
), v AS (
    SELECT u.*,
           CAST(round(CAST(quantity AS DECIMAL(38,4)) * CAST(c1 AS DECIMAL(38,9)), 9) AS DECIMAL(18,9)) AS v1,
           CAST(round(CAST(quantity AS DECIMAL(38,4)) * CAST(c2 AS DECIMAL(38,9)), 9) AS DECIMAL(18,9)) AS v2,
           CAST(CAST(a_cents AS DECIMAL(18,0)) * 0.01 + 0.005 AS DECIMAL(18,9)) AS a,                      -- x.xx5
           CAST(CAST(dd_pick(t, 'residue e', a_cents) AS DECIMAL(18,0)) * 0.01 + 0.004 AS DECIMAL(18,9)) AS e, -- y.yy4 < a
           CAST(CAST(100 + dd_pick(t, 'unbalanced by', 10000) AS DECIMAL(18,0)) * 0.01 AS DECIMAL(18,9)) AS delta,
           CAST(CAST(1 + dd_pick(t, 'tiny', 4999999) AS DECIMAL(18,0)) * 0.000000001 AS DECIMAL(18,9)) AS tiny,
           CASE WHEN kind = 'unmapped' THEN 'WIP' ELSE cats[1] END AS dr, cats[2] AS cr,
           CASE WHEN cats[2] = 'AP Liability' AND cats[1] = 'Inventory' THEN 'PPV' ELSE cats[1] END AS dr2
    FROM u
)
SELECT t, transaction_type, kind, item_id, icp, dd_icp_currency(icp) AS currency, reason_code_id,
       pol_id, apv_id, il_id, transaction_date, quantity, c1, c2, v1, v2, a, e, delta, tiny, dr, cats[2] AS cr, dr2,
       CASE WHEN kind IN ('four', 'residue') THEN 4 ELSE 2 END AS nrec,
       CAST(sum(CASE WHEN kind IN ('four', 'residue') THEN 4 ELSE 2 END) OVER (ORDER BY t)
            - CASE WHEN kind IN ('four', 'residue') THEN 4 ELSE 2 END AS BIGINT) AS off
FROM v`},

	// Inventory transactions; the Accounting company, currency and journal date
	// are left for the connector to derive.
	{"oim.inventory_transaction", `
INSERT INTO oim.inventory_transaction
SELECT printf('ITX-%07d', t), printf('ITX-%07d', t), transaction_type, item_id, quantity, transaction_date, icp,
       pol_id, apv_id, il_id, reason_code_id, NULL, NULL, NULL, 'New', NULL, NULL
FROM dd_itx ORDER BY t`},

	// Financial records, as planned in dd_itx: a debit and a credit per movement
	// in the warehouse currency, with 9-decimal unit costs and values (value =
	// round(quantity * unit cost, 9), signed). four: a second pair (receipts: PPV
	// against AP Liability). residue: +a, +a, -(2a - e), -e with a = x.xx5 and
	// e = y.yy4: the values sum to 0 but their 2-decimal roundings to 0.01
	// (whichever way half-up treats negatives). unbalanced: the credit exceeds
	// the debit by 1.00-100.99. tiny: +/- under half a cent. 3% of the records
	// name their own GLA.
	{"oim.inventory_transaction_financial_record", `
INSERT INTO oim.inventory_transaction_financial_record
WITH r AS (
    SELECT x.*, n,
           CAST(CASE kind
                WHEN 'residue' THEN CASE n WHEN 1 THEN a WHEN 2 THEN a WHEN 3 THEN -(2 * a - e) ELSE -e END
                WHEN 'unbalanced' THEN CASE n WHEN 1 THEN v1 ELSE -(v1 + delta) END
                WHEN 'tiny' THEN CASE n WHEN 1 THEN tiny ELSE -tiny END
                WHEN 'four' THEN CASE n WHEN 1 THEN v1 WHEN 2 THEN -v1 WHEN 3 THEN v2 ELSE -v2 END
                ELSE CASE n WHEN 1 THEN v1 ELSE -v1 END END AS DECIMAL(18,9)) AS value,
           CASE WHEN kind = 'residue' THEN CASE WHEN n <= 2 THEN dr ELSE cr END
                WHEN n = 3 THEN dr2 WHEN n = 4 THEN cr
                WHEN n = 1 THEN dr ELSE cr END AS gl_account
    FROM dd_itx x, range(1, x.nrec + 1) s(n)
)
SELECT printf('ITFR-%08d', off + n), printf('ITX-%07d', t), gl_account,
       CASE WHEN kind <> 'unmapped' AND dd_bp2(t, n, 'own gla') < 300
            THEN CASE gl_account WHEN 'Inventory' THEN 'GLA-1230' WHEN 'AP Liability' THEN 'GLA-2000' ELSE 'GLA-5500' END END,
       -- a movement: +/- the quantity at the unit cost; a constructed value: +/- 1 at its absolute value
       CAST(CASE WHEN kind IN ('two', 'four', 'unmapped') THEN CASE WHEN n % 2 = 1 THEN quantity ELSE -quantity END
                 ELSE sign(value) END AS DECIMAL(18,4)),
       CAST(CASE WHEN kind IN ('two', 'four', 'unmapped') THEN CASE WHEN n <= 2 THEN c1 ELSE c2 END
                 ELSE abs(value) END AS DECIMAL(18,9)),
       value, currency, NULL
FROM r`},
}
