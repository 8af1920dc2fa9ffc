-- The sales-invoices export written by hand in DuckDB SQL: the same selection,
-- derivations, checks, splits, mappings and writes as specs/sales-invoices.yaml with the
-- default settings (tax_summary_line off, auto_post off), in one transaction.
-- The benchmark runs it on a copy of the same data as the connector and compares both
-- the time and the resulting tables. ${LIMIT} and ${DEFAULT_COMPANY} are substituted.

BEGIN;

CREATE OR REPLACE TEMP TABLE hw_h AS
WITH cand AS (
  SELECT i.*,
    coalesce(nullif(trim(so.company_name), ''), nullif(trim(sc.company_name), ''), '${DEFAULT_COMPANY}') AS company_name,
    coalesce(so.currency, sc.currency) AS currency_iso,
    coalesce(nullif(trim(i.billing_account_id), ''), i.customer_account_id) AS account_id,
    so.engagement_id,
    so.accounting_company_id AS so_company, sc.accounting_company_id AS sc_company,
    so.accounting_currency_id AS so_currency, sc.accounting_currency_id AS sc_currency,
    sh.status AS shipment_status
  FROM oim.invoice i
  LEFT JOIN oim.sales_order so ON so.id = i.sales_order_id
  LEFT JOIN oim.service_contract sc ON sc.id = i.service_contract_id
  LEFT JOIN oim.shipment sh ON sh.id = i.shipment_id
  WHERE i.export_status IN ('New', 'Export Error')
    AND nullif(trim(i.billing_document_id), '') IS NULL
    AND i.status NOT IN ('Open', 'Proforma')
),
lt AS (
  SELECT invoice_id, bool_or(line_type = 'Drop Ship Item') AS has_drop,
         bool_or(line_type IN ('Item', 'Virtual Kit Item')) AS has_item
  FROM oim.invoice_line WHERE invoice_id IN (SELECT id FROM cand) GROUP BY 1
),
co AS (
  SELECT c.* REPLACE (
      CASE WHEN nullif(trim(c.accounting_company_id), '') IS NOT NULL THEN c.accounting_company_id
           ELSE coalesce(c.so_company, c.sc_company, cn.id) END AS accounting_company_id),
    coalesce(lt.has_drop, false) AND NOT coalesce(lt.has_item, false) AS drop_ship
  FROM cand c
  LEFT JOIN acct.company cn ON cn.name = c.company_name
  LEFT JOIN lt ON lt.invoice_id = c.id
)
SELECT co.* REPLACE (
    CASE WHEN nullif(trim(co.accounting_currency_id), '') IS NOT NULL THEN co.accounting_currency_id
         ELSE coalesce(co.so_currency, co.sc_currency, cur.id) END AS accounting_currency_id),
  p.id AS period_id, p.closed AS period_closed,
  (co.shipment_status = 'Completed' OR co.drop_ship) IS TRUE AS ready
FROM co
LEFT JOIN acct.accounting_currency cur ON cur.company_id = co.accounting_company_id AND cur.iso_code = co.currency_iso
LEFT JOIN acct.period p ON p.company_id = co.accounting_company_id
  AND co.invoice_date BETWEEN p.start_date AND p.end_date;

CREATE OR REPLACE TEMP TABLE hw_l AS
SELECT l.*,
  CASE WHEN nullif(trim(l.product_id), '') IS NOT NULL THEN l.product_id
       WHEN l.line_type IN ('Item', 'Drop Ship Item', 'Virtual Kit Item') THEN pg.product_id
       ELSE m.product_id END AS product,
  it.id AS item_ok, pg.dimension1_id, pg.dimension2_id, pg.dimension3_id, pg.dimension4_id
FROM oim.invoice_line l
LEFT JOIN oim.item it ON it.id = l.item_id
LEFT JOIN oim.product_group pg ON pg.id = it.product_group_id
LEFT JOIN oim.line_type_product_mapping m ON m.line_type = l.line_type
WHERE l.invoice_id IN (SELECT id FROM hw_h WHERE ready);

CREATE OR REPLACE TEMP TABLE hw_bad AS
SELECT h.id FROM hw_h h
WHERE h.ready AND (
  h.accounting_company_id NOT IN (SELECT id FROM acct.company) OR h.accounting_company_id IS NULL
  OR h.accounting_currency_id IS NULL OR h.accounting_currency_id NOT IN (SELECT id FROM acct.accounting_currency)
  OR h.account_id IS NULL OR h.account_id NOT IN (SELECT id FROM acct.account)
  OR coalesce(h.period_closed, false)
  OR (h.discount_amount > 0 AND NOT EXISTS (SELECT 1 FROM oim.line_type_product_mapping m JOIN acct.product p ON p.id = m.product_id WHERE m.line_type = 'Discount'))
  OR h.invoice_date IS NULL
  OR h.id NOT IN (SELECT invoice_id FROM hw_l)
  OR h.id IN (SELECT invoice_id FROM hw_l WHERE product IS NULL OR product NOT IN (SELECT id FROM acct.product))
);

CREATE OR REPLACE TEMP TABLE hw_seq AS
WITH u AS (
  SELECT invoice_id AS hkey, id AS lkey, 0 AS grp, line_number FROM hw_l
  WHERE invoice_id NOT IN (SELECT id FROM hw_bad)
  UNION ALL
  SELECT id, NULL, 1, NULL FROM hw_h WHERE ready AND discount_amount > 0 AND id NOT IN (SELECT id FROM hw_bad)
),
n AS (SELECT u.*, (row_number() OVER (PARTITION BY hkey ORDER BY grp, line_number, lkey) - 1) // ${LIMIT} AS split FROM u)
SELECT n.*, row_number() OVER (PARTITION BY hkey, split ORDER BY grp, line_number, lkey) AS line_no,
  'SIN-' || hkey || '/' || (split + 1) AS doc_id
FROM n;

INSERT INTO acct.sales_invoice (id, company_id, invoice_currency_id, account_id, invoice_date, due_date, period_id,
  engagement_id, oim_invoice_id, derive_currency, derive_due_date, derive_period, status)
SELECT d.doc_id, h.accounting_company_id, h.accounting_currency_id, h.account_id, h.invoice_date, h.invoice_due_date,
  h.period_id, h.engagement_id, h.id, false, false, true, 'In Progress'
FROM (SELECT DISTINCT hkey, doc_id FROM hw_seq) d JOIN hw_h h ON h.id = d.hkey;

INSERT INTO acct.sales_invoice_line_item (id, sales_invoice_id, line_number, line_description, item_id, product_id,
  dimension1_id, dimension2_id, dimension3_id, dimension4_id, quantity, unit_price, oim_invoice_line_id,
  calculate_income_schedule, derive_line_number)
SELECT s.doc_id || '/' || s.line_no, s.doc_id, s.line_no, l.amount_description, l.item_ok, l.product,
  l.dimension1_id, l.dimension2_id, l.dimension3_id, l.dimension4_id, l.quantity, l.derived_unit_price, l.id, false, true
FROM hw_seq s JOIN hw_l l ON l.id = s.lkey
UNION ALL
SELECT s.doc_id || '/' || s.line_no, s.doc_id, s.line_no, 'Discount', NULL,
  (SELECT product_id FROM oim.line_type_product_mapping WHERE line_type = 'Discount'),
  NULL, NULL, NULL, NULL, 1, -h.discount_amount, NULL, false, true
FROM hw_seq s JOIN hw_h h ON h.id = s.hkey WHERE s.grp = 1;

UPDATE oim.invoice SET export_status = 'Exported', export_error = NULL, sales_invoice_id = w.last
FROM (SELECT hkey, max_by(doc_id, split) AS last FROM hw_seq GROUP BY 1) w
WHERE invoice.id = w.hkey;

UPDATE oim.invoice_line SET sales_invoice_line_item_id = s.doc_id || '/' || s.line_no
FROM hw_seq s WHERE s.lkey = invoice_line.id;

UPDATE oim.invoice SET export_status = 'Export Error', export_error = 'invalid'
FROM hw_bad b WHERE invoice.id = b.id;

COMMIT;
