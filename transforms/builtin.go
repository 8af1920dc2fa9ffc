package transforms

import "github.com/oimconnect/oimconnect/pipeline/catalog"

// whitespace is what counts as blank, as Go's unicode.IsSpace has it for Latin-1.
const whitespace = "' \t\n\v\f\r' || chr(133) || chr(160)"

// TrimSQL strips leading and trailing whitespace (tabs and line breaks too).
func TrimSQL(s string) string { return "trim(" + s + ", " + whitespace + ")" }

// blankSQL is true when s is nil or only whitespace.
func blankSQL(s string) string {
	return "(" + TrimSQL("CAST("+s+" AS VARCHAR)") + " = '' IS NOT FALSE)"
}

func init() {
	Register(Function{
		Name: "present",
		Doc:  "present(s) is s, or nil when s is nil, empty or only blanks: `present(company_name) ?? settings.default_company`.",
		Args: []string{"s"},
		Result: func(a []catalog.Type) (catalog.Type, error) {
			if err := want("present", a, catalog.String); err != nil {
				return catalog.Type{}, err
			}
			return a[0], nil
		},
		SQL: func(a []string) string {
			return "(CASE WHEN " + blankSQL(a[0]) + " THEN NULL ELSE " + a[0] + " END)"
		},
	})
	Register(Function{
		Name: "empty",
		Doc:  "empty(x) is true when x is nil, or text that is empty or only blanks: `empty(billing_document_id)`.",
		Args: []string{"x"},
		Result: func(a []catalog.Type) (catalog.Type, error) {
			return catalog.Type{Kind: catalog.Bool, SQL: "BOOLEAN"}, want("empty", a, catalog.Any)
		},
		SQL: func(a []string) string { return blankSQL(a[0]) },
	})
	Register(Function{
		Name: "left",
		Doc:  "left(s, n) is the first n characters of s: `left(payment_terms_name, 24)`.",
		Args: []string{"s", "n"},
		Result: func(a []catalog.Type) (catalog.Type, error) {
			return catalog.Type{Kind: catalog.String, SQL: "VARCHAR"}, want("left", a, catalog.String, catalog.Number)
		},
		SQL: func(a []string) string { return "left(" + a[0] + ", greatest(CAST(" + a[1] + " AS BIGINT), 0))" },
	})
	Register(Function{
		Name: "round_half_up",
		Doc:  "round_half_up(x, n) rounds x to n decimals, halves away from zero, staying decimal: `round_half_up(icp_value_amount, 2)`.",
		Args: []string{"x", "n"},
		Result: func(a []catalog.Type) (catalog.Type, error) {
			return catalog.Type{Kind: catalog.Number, SQL: "DECIMAL(38,9)"}, want("round_half_up", a, catalog.Number, catalog.Number)
		},
		SQL: func(a []string) string {
			return "round(CAST(" + a[0] + " AS DECIMAL(38,9)), CAST(" + a[1] + " AS INTEGER))"
		},
	})
	Register(Function{
		Name: "string",
		Doc:  "string(x) is x as text, for messages and descriptions: `\"line \" + string(line_number)`.",
		Args: []string{"x"},
		Result: func(a []catalog.Type) (catalog.Type, error) {
			return catalog.Type{Kind: catalog.String, SQL: "VARCHAR"}, want("string", a, catalog.Any)
		},
		SQL: func(a []string) string { return "CAST(" + a[0] + " AS VARCHAR)" },
	})
}

func init() {
	decimalType := catalog.Type{Kind: catalog.Number, SQL: "DECIMAL(18,2)"}
	Register(Function{
		Name: "exact_unit_price",
		Doc: "exact_unit_price(amount, quantity) is amount / quantity when that is exact to 2 decimals " +
			"(unit price x quantity gives back the amount to the cent), else nil; computed in integers, never in floating point. " +
			"The payable credit notes' unit price rule: `exact_unit_price(amount, quantity_vouchered) ?? amount`.",
		Args: []string{"amount", "quantity"},
		Result: func(a []catalog.Type) (catalog.Type, error) {
			return decimalType, want("exact_unit_price", a, catalog.Number, catalog.Number)
		},
		// amount in cents times 10^4 over quantity in 10^-4 units: exact when it divides.
		// Widened before scaling, so no amount overflows; a price beyond DECIMAL(18,2)
		// is nil, like an inexact one.
		SQL: func(a []string) string {
			cents := "CAST(round(CAST(" + a[0] + " AS DECIMAL(38,6)) * 100) AS HUGEINT) * 10000"
			q := "CAST(round(CAST(" + a[1] + " AS DECIMAL(38,6)) * 10000) AS HUGEINT)"
			return "(CASE WHEN " + q + " <> 0 AND " + cents + " % " + q + " = 0 AND abs(" + cents + " // " + q + ") < CAST(1e18 AS HUGEINT) THEN CAST(CAST(" +
				cents + " // " + q + " AS DECIMAL(38,0)) / 100 AS DECIMAL(18,2)) END)"
		},
	})
	Register(Function{
		Name: "balanced",
		Doc: "balanced(value) is the line's value with the rounding residue of its record added to the line of largest " +
			"absolute value (lowest key on ties), so the lines sum to zero: `balanced(round_half_up(icp_value_amount, 2))`. " +
			"Check the residue is small enough in a rule: `abs(sum(lines, .rounded)) <= 0.01 * count(lines, .rounded != 0)`.",
		Args: []string{"value"},
		Result: func(a []catalog.Type) (catalog.Type, error) {
			return catalog.Type{Kind: catalog.Number, SQL: "DECIMAL(38,9)"}, want("balanced", a, catalog.Number)
		},
		Window: func(a []string, partition, order string) string {
			v := "coalesce(" + a[0] + ", 0)"
			return "(" + v + " - CASE WHEN row_number() OVER (PARTITION BY " + partition + " ORDER BY abs(" + v + ") DESC, " + order +
				") = 1 THEN sum(" + v + ") OVER (PARTITION BY " + partition + ") ELSE 0 END)"
		},
	})
}
