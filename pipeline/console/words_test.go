package console

import "testing"

// The specs' conditions in words.
func TestWords(t *testing.T) {
	for expr, want := range map[string]string{
		`empty(billing_document_id)`:                  "billing document id is empty",
		`status not in ["Open", "Proforma"]`:          `status is none of "Open", "Proforma"`,
		`sales_order_id == nil or sales_order != nil`: "sales order id is missing or sales order exists",
		`shipment.status == "Completed" or (any(lines, .line_type == "Drop Ship Item") and none(lines, .line_type in ["Item", "Virtual Kit Item"]))`: `shipment > status is "Completed" or (some line has line type is "Drop Ship Item" and no line has line type is one of "Item", "Virtual Kit Item")`,
		`!settings.tax_summary_line or total_tax == 0`: "not setting tax summary line or total tax is 0",
		`period == nil or !period.closed`:              "period is missing or not period > closed",
		`discount_amount <= 0`:                         "discount amount is at most 0",
		`present(a) ?? b`:                              "a (when not blank), else b",
		`a ? "x" : "y"`:                                `if a then "x", else "y"`,
		`not valid((`:                                  `not valid((`,
	} {
		if got := words(expr); got != want {
			t.Errorf("%s:\n got %s\nwant %s", expr, got, want)
		}
	}
}
