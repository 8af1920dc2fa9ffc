package transforms

import (
	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/compile"
)

func init() {
	compile.Register(compile.Function{
		Name: "left",
		Doc:  "left(s, n) is the first n characters of s: `left(payment_terms_name, 24)`.",
		Args: []string{"s", "n"},
		Result: func(a []catalog.Type) (catalog.Type, error) {
			return catalog.Type{Kind: catalog.String, SQL: "VARCHAR"}, compile.Want("left", a, catalog.String, catalog.Number)
		},
		SQL: func(a []string) string { return "left(" + a[0] + ", greatest(CAST(" + a[1] + " AS BIGINT), 0))" },
	})
}
