package transforms

import (
	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/compile"
)

func init() {
	compile.Register(compile.Function{
		Name: "round_half_up",
		Doc:  "round_half_up(x, n) rounds x to n decimals, halves away from zero, staying decimal: `round_half_up(icp_value_amount, 2)`.",
		Args: []string{"x", "n"},
		Result: func(a []catalog.Type) (catalog.Type, error) {
			return catalog.Type{Kind: catalog.Number, SQL: "DECIMAL(38,9)"}, compile.Want("round_half_up", a, catalog.Number, catalog.Number)
		},
		SQL: func(a []string) string {
			return "round(CAST(" + a[0] + " AS DECIMAL(38,9)), CAST(" + a[1] + " AS INTEGER))"
		},
	})
}
