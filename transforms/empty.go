package transforms

import (
	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/compile"
)

func init() {
	compile.Register(compile.Function{
		Name: "empty",
		Doc:  "empty(x) is true when x is nil, or text that is empty or only blanks: `empty(billing_document_id)`.",
		Args: []string{"x"},
		Result: func(a []catalog.Type) (catalog.Type, error) {
			return catalog.Type{Kind: catalog.Bool, SQL: "BOOLEAN"}, compile.Want("empty", a, catalog.Any)
		},
		SQL: func(a []string) string { return compile.BlankSQL(a[0]) },
	})
}
