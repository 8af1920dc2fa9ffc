package transforms

import (
	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/compile"
)

func init() {
	compile.Register(compile.Function{
		Name: "balanced",
		Doc: "balanced(value) is the line's value with the rounding residue of its record added to the line of largest " +
			"absolute value (lowest key on ties), so the lines sum to zero: `balanced(round_half_up(icp_value_amount, 2))`. " +
			"Check the residue is small enough in a rule: `abs(sum(lines, .rounded)) <= 0.01 * count(lines, .rounded != 0)`.",
		Args: []string{"value"},
		Result: func(a []catalog.Type) (catalog.Type, error) {
			return catalog.Type{Kind: catalog.Number, SQL: "DECIMAL(38,9)"}, compile.Want("balanced", a, catalog.Number)
		},
		Window: func(a []string, partition, order string) string {
			v := "coalesce(" + a[0] + ", 0)"
			return "(" + v + " - CASE WHEN row_number() OVER (PARTITION BY " + partition + " ORDER BY abs(" + v + ") DESC, " + order +
				") = 1 THEN sum(" + v + ") OVER (PARTITION BY " + partition + ") ELSE 0 END)"
		},
	})
}
