-- Reconciliation: one row per exported source whose documents do not add up to its
-- totals, and per journal that does not balance or holds a zero line. No row means
-- every export reconciles. Columns: check, id, source total, document total.
-- Only sources whose linked document exists are compared, so fixtures that simulate an
-- earlier export without its documents are left out. Quantities are widened before they
-- are multiplied: DuckDB keeps a product of DECIMAL(18,x) values within 18 digits.
SELECT 'sales-invoices' AS "check", id, src, tgt FROM (
  SELECT i.id, (SELECT sum(amount) FROM oim.invoice_line l WHERE l.invoice_id = i.id) - i.discount_amount AS src,
    (SELECT sum(round(CAST(li.quantity AS DECIMAL(38,4)) * li.unit_price, 2)) FROM acct.sales_invoice si
       JOIN acct.sales_invoice_line_item li ON li.sales_invoice_id = si.id WHERE si.oim_invoice_id = i.id) AS tgt
  FROM oim.invoice i WHERE i.export_status = 'Exported' AND i.sales_invoice_id IN (SELECT id FROM acct.sales_invoice)
) WHERE src IS DISTINCT FROM tgt
UNION ALL
SELECT 'sales-credit-notes', id, src, tgt FROM (
  SELECT c.id, (SELECT sum(amount) FROM oim.credit_invoice_line l WHERE l.credit_invoice_id = c.id) AS src,
    (SELECT sum(CAST(li.quantity AS DECIMAL(38,4)) * li.unit_price) FROM acct.sales_credit_note n
       JOIN acct.sales_credit_note_line_item li ON li.sales_credit_note_id = n.id WHERE n.oim_credit_invoice_id = c.id) AS tgt
  FROM oim.credit_invoice c WHERE c.export_status = 'Exported' AND c.sales_credit_note_id IN (SELECT id FROM acct.sales_credit_note)
) WHERE src IS DISTINCT FROM tgt
UNION ALL
SELECT 'payable-invoices', id, src, tgt FROM (
  SELECT v.id, (SELECT sum(amount) FROM oim.ap_voucher_line l WHERE l.ap_voucher_id = v.id) AS src,
    coalesce((SELECT sum(round(CAST(li.quantity AS DECIMAL(38,4)) * li.unit_price, 2)) FROM acct.payable_invoice p
       JOIN acct.payable_invoice_line_item li ON li.payable_invoice_id = p.id WHERE p.ap_voucher_id = v.id), 0)
    + coalesce((SELECT sum(x.net_value) FROM acct.payable_invoice p
       JOIN acct.payable_invoice_expense_line_item x ON x.payable_invoice_id = p.id WHERE p.ap_voucher_id = v.id), 0) AS tgt
  FROM oim.ap_voucher v WHERE v.export_status = 'Exported' AND v.payable_invoice_id IN (SELECT id FROM acct.payable_invoice)
) WHERE src IS DISTINCT FROM tgt
UNION ALL
SELECT 'payable-credit-notes', id, src, tgt FROM (
  SELECT c.id, (SELECT sum(amount) FROM oim.ap_voucher_line_credit l WHERE l.ap_voucher_credit_id = c.id) AS src,
    coalesce((SELECT sum(CAST(li.quantity AS DECIMAL(38,4)) * li.unit_price) FROM acct.payable_credit_note p
       JOIN acct.payable_credit_note_line_item li ON li.payable_credit_note_id = p.id WHERE p.ap_voucher_credit_id = c.id), 0)
    + coalesce((SELECT sum(x.net_value) FROM acct.payable_credit_note p
       JOIN acct.payable_credit_note_expense_line_item x ON x.payable_credit_note_id = p.id WHERE p.ap_voucher_credit_id = c.id), 0) AS tgt
  FROM oim.ap_voucher_credit c WHERE c.export_status = 'Exported' AND c.payable_credit_note_id IN (SELECT id FROM acct.payable_credit_note)
) WHERE src IS DISTINCT FROM tgt
UNION ALL
SELECT 'journals', journal_id, NULL, sum(value) FROM acct.journal_line_item GROUP BY journal_id HAVING sum(value) <> 0
UNION ALL
SELECT 'journals', id, NULL, value FROM acct.journal_line_item WHERE value = 0
