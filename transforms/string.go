package transforms

import (
	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/compile"
)

func init() {
	compile.Register(compile.Function{
		Name: "string",
		Doc:  "string(x) is x as text, for messages and descriptions: `\"line \" + string(line_number)`.",
		Args: []string{"x"},
		Result: func(a []catalog.Type) (catalog.Type, error) {
			return catalog.Type{Kind: catalog.String, SQL: "VARCHAR"}, compile.Want("string", a, catalog.Any)
		},
		SQL: func(a []string) string { return "CAST(" + a[0] + " AS VARCHAR)" },
	})
}
