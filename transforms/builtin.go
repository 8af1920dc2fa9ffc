package transforms

import "github.com/oimconnect/oimconnect/pipeline/catalog"

func init() {
	Register(Function{
		Name: "present",
		Doc:  "present(s) is s, or nil when s is nil, empty or only blanks: `present(company_name) ?? settings.default_company`.",
		Args: []string{"s"},
		Result: func(a []catalog.Type) (catalog.Type, error) {
			if err := want("present", a, catalog.Any); err != nil {
				return catalog.Type{}, err
			}
			return a[0], nil
		},
		SQL: func(a []string) string { return "nullif(trim(CAST(" + a[0] + " AS VARCHAR)), '')" },
	})
	Register(Function{
		Name: "empty",
		Doc:  "empty(x) is true when x is nil, or text that is empty or only blanks: `empty(billing_document_id)`.",
		Args: []string{"x"},
		Result: func(a []catalog.Type) (catalog.Type, error) {
			return catalog.Type{Kind: catalog.Bool, SQL: "BOOLEAN"}, want("empty", a, catalog.Any)
		},
		SQL: func(a []string) string { return "(nullif(trim(CAST(" + a[0] + " AS VARCHAR)), '') IS NULL)" },
	})
	Register(Function{
		Name: "left",
		Doc:  "left(s, n) is the first n characters of s: `left(payment_terms_name, 24)`.",
		Args: []string{"s", "n"},
		Result: func(a []catalog.Type) (catalog.Type, error) {
			return catalog.Type{Kind: catalog.String, SQL: "VARCHAR"}, want("left", a, catalog.String, catalog.Number)
		},
		SQL: func(a []string) string { return "left(" + a[0] + ", CAST(" + a[1] + " AS BIGINT))" },
	})
	Register(Function{
		Name: "round_half_up",
		Doc:  "round_half_up(x, n) rounds x to n decimals, halves away from zero, staying decimal: `round_half_up(icp_value_amount, 2)`.",
		Args: []string{"x", "n"},
		Result: func(a []catalog.Type) (catalog.Type, error) {
			return catalog.Type{Kind: catalog.Number, SQL: "DECIMAL(38,9)"}, want("round_half_up", a, catalog.Number, catalog.Number)
		},
		SQL: func(a []string) string { return "round(CAST(" + a[0] + " AS DECIMAL(38,9)), CAST(" + a[1] + " AS INTEGER))" },
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
