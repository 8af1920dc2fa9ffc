package compile_test

import (
	"testing"

	"github.com/oimconnect/oimconnect/pipeline/compile"
)

// Whatever text a data team writes, compiling it gives SQL or an error, never a panic,
// and errors point inside the text.
func FuzzCompile(f *testing.F) {
	for _, seed := range []string{
		`name`, `group.label`, `group == nil`, `qty > 1 and active`, `present(name) ?? "x"`,
		`any(lines, .amount > 0)`, `sum(lines, .amount)`, `min(map(lines, .kind))`, `first(map(lines, .kind))`,
		`settings.names`, `kind in settings.names`, `name + " " + code`, `-price * 2`, `left(name, 3)`,
		`era_for(d).label`, `rate_for(code).pct`, `count(lines)`, `a ?`, `"unterminated`, `{`, `lines`,
		`Group > Label`, `item id > > x`, `(((((`, `nil == nil`, `date("2024-01-01") < d`,
	} {
		f.Add(seed)
	}
	fx, err := newFixture()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src string) {
		for _, compileIt := range []func(q *compile.Query) error{
			func(q *compile.Query) error { _, err := q.Expr(src); return err },
			func(q *compile.Query) error { _, err := q.Bool(src); return err },
			func(q *compile.Query) error { _, err := q.Path(src); return err },
			func(q *compile.Query) error { _, err := q.Template(src); return err },
		} {
			q := compile.NewQuery(fx.scope(), nil)
			if err := compileIt(q); err != nil {
				if ce, ok := err.(*compile.Error); ok && (ce.From < 0 || ce.From > len([]rune(src))+1) {
					t.Errorf("%q: error position %d outside the text", src, ce.From)
				}
				_ = err.Error()
				continue
			}
			_ = q.From()
		}
		_, _ = compile.Identifiers(src)
		_ = compile.Operands(src)
	})
}
