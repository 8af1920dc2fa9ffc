package transforms

import (
	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/compile"
)

func init() {
	compile.Register(compile.Function{
		Name: "exact_unit_price",
		Doc: "exact_unit_price(amount, quantity) is amount / quantity when that is exact to 2 decimals " +
			"(unit price x quantity gives back the amount to the cent), else nil; computed in integers, never in floating point. " +
			"The payable credit notes' unit price rule: `exact_unit_price(amount, quantity_vouchered) ?? amount`.",
		Args: []string{"amount", "quantity"},
		Result: func(a []catalog.Type) (catalog.Type, error) {
			return catalog.Type{Kind: catalog.Number, SQL: "DECIMAL(18,2)"}, compile.Want("exact_unit_price", a, catalog.Number, catalog.Number)
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
}
