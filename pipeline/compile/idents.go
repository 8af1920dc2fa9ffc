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

// Operands lists the values an expression reads, as written: each member chain
// ("shipment.status") and bare field ("status"), without function names, constants'
// members or fields read inside aggregates over lines. explain shows their values.
func Operands(src string) []string {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	var walk func(n ast.Node)
	walk = func(n ast.Node) {
		switch x := n.(type) {
		case *ast.MemberNode:
			if chain, ok := memberChain(x); ok {
				if !seen[chain] {
					seen[chain] = true
					out = append(out, chain)
				}
				return
			}
			walk(x.Node)
		case *ast.IdentifierNode:
			if !seen[x.Value] {
				seen[x.Value] = true
				out = append(out, x.Value)
			}
		case *ast.UnaryNode:
			walk(x.Node)
		case *ast.BinaryNode:
			walk(x.Left)
			walk(x.Right)
		case *ast.ConditionalNode:
			walk(x.Cond)
			walk(x.Exp1)
			walk(x.Exp2)
		case *ast.ChainNode:
			walk(x.Node)
		case *ast.CallNode:
			for _, a := range x.Arguments {
				walk(a)
			}
		case *ast.BuiltinNode:
			switch x.Name {
			case "any", "all", "none", "count", "sum", "min", "max", "first", "last", "map", "len":
				return // aggregates over lines: their fields are per line
			}
			for _, a := range x.Arguments {
				walk(a)
			}
		}
	}
	walk(tree.Node)
	return out
}

func memberChain(m *ast.MemberNode) (string, bool) {
	prop, ok := m.Property.(*ast.StringNode)
	if !ok {
		return "", false
	}
	switch base := m.Node.(type) {
	case *ast.IdentifierNode:
		return base.Value + "." + prop.Value, true
	case *ast.MemberNode:
		if s, ok := memberChain(base); ok {
			return s + "." + prop.Value, true
		}
	}
	return "", false
}
