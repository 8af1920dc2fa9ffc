-- Reconciliation: each row counts exported sources whose documents do not add up to the
-- source totals (lines - discount for sales invoices, credit amounts for credit notes,
-- voucher line amounts for payable invoices), unbalanced journals and zero journal lines.
-- Every count must be 0.
SELECT 'sales-invoices' AS flow, count(*) AS mismatches FROM (
  SELECT i.id, (SELECT sum(amount) FROM oim.invoice_line l WHERE l.invoice_id = i.id) - i.discount_amount AS src,
    (SELECT sum(round(li.quantity * li.unit_price, 2)) FROM acct.sales_invoice si JOIN acct.sales_invoice_line_item li ON li.sales_invoice_id = si.id WHERE si.oim_invoice_id = i.id) AS tgt
  FROM oim.invoice i WHERE i.export_status = 'Exported') WHERE src IS DISTINCT FROM tgt
UNION ALL
SELECT 'sales-credit-notes', count(*) FROM (
  SELECT c.id, (SELECT sum(amount) FROM oim.credit_invoice_line l WHERE l.credit_invoice_id = c.id) AS src,
    (SELECT sum(li.quantity * li.unit_price) FROM acct.sales_credit_note n JOIN acct.sales_credit_note_line_item li ON li.sales_credit_note_id = n.id WHERE n.oim_credit_invoice_id = c.id) AS tgt
  FROM oim.credit_invoice c WHERE c.export_status = 'Exported') WHERE src IS DISTINCT FROM tgt
UNION ALL
SELECT 'payable-invoices', count(*) FROM (
  SELECT v.id, (SELECT sum(amount) FROM oim.ap_voucher_line l WHERE l.ap_voucher_id = v.id) AS src,
    coalesce((SELECT sum(round(li.quantity * li.unit_price, 2)) FROM acct.payable_invoice p JOIN acct.payable_invoice_line_item li ON li.payable_invoice_id = p.id WHERE p.ap_voucher_id = v.id), 0)
    + coalesce((SELECT sum(e.net_value) FROM acct.payable_invoice p JOIN acct.payable_invoice_expense_line_item e ON e.payable_invoice_id = p.id WHERE p.ap_voucher_id = v.id), 0) AS tgt
  FROM oim.ap_voucher v WHERE v.export_status = 'Exported') WHERE src IS DISTINCT FROM tgt
UNION ALL
SELECT 'payable-credit-notes', count(*) FROM (
  SELECT c.id, (SELECT sum(amount) FROM oim.ap_voucher_line_credit l WHERE l.ap_voucher_credit_id = c.id) AS src,
    coalesce((SELECT sum(li.quantity * li.unit_price) FROM acct.payable_credit_note p JOIN acct.payable_credit_note_line_item li ON li.payable_credit_note_id = p.id WHERE p.ap_voucher_credit_id = c.id), 0)
    + coalesce((SELECT sum(e.net_value) FROM acct.payable_credit_note p JOIN acct.payable_credit_note_expense_line_item e ON e.payable_credit_note_id = p.id WHERE p.ap_voucher_credit_id = c.id), 0) AS tgt
  FROM oim.ap_voucher_credit c WHERE c.export_status = 'Exported') WHERE src IS DISTINCT FROM tgt
UNION ALL
SELECT 'journals unbalanced', count(*) FROM (SELECT journal_id, sum(value) s FROM acct.journal_line_item GROUP BY 1 HAVING s <> 0)
UNION ALL
SELECT 'journal lines zero', count(*) FROM acct.journal_line_item WHERE value = 0;
