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
	v := &idVisitor{callees: map[ast.Node]bool{}}
	ast.Walk(&tree.Node, v)
	var out []string
	for _, id := range v.ids {
		if !v.callees[id] {
			out = append(out, id.Value)
		}
	}
	return out, nil
}

type idVisitor struct {
	ids     []*ast.IdentifierNode
	callees map[ast.Node]bool
}

func (v *idVisitor) Visit(n *ast.Node) {
	switch x := (*n).(type) {
	case *ast.IdentifierNode:
		v.ids = append(v.ids, x)
	case *ast.CallNode:
		v.callees[x.Callee] = true
	}
}
