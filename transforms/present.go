package transforms

import (
	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/compile"
)

func init() {
	compile.Register(compile.Function{
		Name: "present",
		Doc:  "present(s) is s, or nil when s is nil, empty or only blanks: `present(company_name) ?? settings.default_company`.",
		Args: []string{"s"},
		Result: func(a []catalog.Type) (catalog.Type, error) {
			if err := compile.Want("present", a, catalog.String); err != nil {
				return catalog.Type{}, err
			}
			return a[0], nil
		},
		SQL: func(a []string) string {
			return "(CASE WHEN " + compile.BlankSQL(a[0]) + " THEN NULL ELSE " + a[0] + " END)"
		},
	})
}
