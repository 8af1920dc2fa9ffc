package compile

import (
	"errors"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
)

// Identifiers lists the top-level names an expression reads (the first step of each
// member chain, not function names), so derived fields can be ordered by dependency.
func Identifiers(src string) ([]string, error) {
	tree, err := parser.Parse(src)
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			return nil, &Error{Source: src, From: fe.From, To: fe.To, Msg: fe.Message}
		}
		return nil, &Error{Source: src, Msg: err.Error()}
	}
	var out []string
	v := &idVisitor{out: &out}
	ast.Walk(&tree.Node, v)
	return out, nil
}

type idVisitor struct{ out *[]string }

func (v *idVisitor) Visit(n *ast.Node) {
	if id, ok := (*n).(*ast.IdentifierNode); ok {
		*v.out = append(*v.out, id.Value)
	}
}
