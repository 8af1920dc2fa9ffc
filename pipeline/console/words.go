package console

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// words says a spec's expression in words for the mappings page, read from its syntax
// tree: `empty(billing_document_id)` is "billing document id is empty",
// `status not in ["Open", "Proforma"]` is `status is none of "Open", "Proforma"`. The
// page shows the expression itself beside it; one that does not parse is shown as it
// is.
func words(expr string) string {
	tree, err := parser.Parse(expr)
	if err != nil {
		return expr
	}
	return say(tree.Node, 0)
}

// Precedences: a phrase of a lower one inside a higher one is parenthesized.
const (
	precOr = iota + 1
	precAnd
	precNot
	precCompare
	precAtom
)

func say(n ast.Node, outer int) string {
	s, prec := phrase(n)
	if prec < outer {
		return "(" + s + ")"
	}
	return s
}

// phrase is n in words, and how tightly they bind.
func phrase(n ast.Node) (string, int) {
	switch x := n.(type) {
	case *ast.BinaryNode:
		return binary(x)
	case *ast.UnaryNode:
		if b, ok := x.Node.(*ast.BinaryNode); ok && b.Operator == "in" && (x.Operator == "not" || x.Operator == "!") {
			return say(b.Left, precCompare) + " is none of " + say(b.Right, precCompare), precCompare // a not in b
		}
		if x.Operator == "!" || x.Operator == "not" {
			return "not " + say(x.Node, precCompare), precNot
		}
		return x.Operator + say(x.Node, precAtom), precAtom
	case *ast.BuiltinNode:
		return builtin(x)
	case *ast.CallNode:
		return call(x)
	case *ast.ConditionalNode:
		return fmt.Sprintf("if %s then %s, else %s", say(x.Cond, precOr), say(x.Exp1, precOr), say(x.Exp2, precOr)), precOr
	case *ast.ArrayNode:
		items := make([]string, len(x.Nodes))
		for i, e := range x.Nodes {
			items[i] = say(e, precAtom)
		}
		return strings.Join(items, ", "), precAtom
	case *ast.ChainNode:
		return phrase(x.Node)
	case *ast.PredicateNode:
		return phrase(x.Node)
	}
	return atom(n), precAtom
}

// grouped is an operand of "or": an "and" inside is parenthesized, so words never
// leave the grouping to be guessed.
func grouped(n ast.Node) string {
	s, prec := phrase(n)
	if prec == precAnd {
		return "(" + s + ")"
	}
	return say(n, precOr)
}

// binary is an operator between two operands in words.
func binary(x *ast.BinaryNode) (string, int) {
	_, rightNil := x.Right.(*ast.NilNode)
	switch x.Operator {
	case "and", "&&":
		return say(x.Left, precAnd) + " and " + say(x.Right, precAnd), precAnd
	case "or", "||":
		return grouped(x.Left) + " or " + grouped(x.Right), precOr
	case "??":
		return say(x.Left, precCompare) + ", else " + say(x.Right, precOr), precOr
	case "==":
		if rightNil {
			return say(x.Left, precCompare) + " is missing", precCompare
		}
		return say(x.Left, precCompare) + " is " + say(x.Right, precCompare), precCompare
	case "!=":
		if rightNil {
			return say(x.Left, precCompare) + " exists", precCompare
		}
		return say(x.Left, precCompare) + " is not " + say(x.Right, precCompare), precCompare
	case "in":
		return say(x.Left, precCompare) + " is one of " + say(x.Right, precCompare), precCompare
	case "not in":
		return say(x.Left, precCompare) + " is none of " + say(x.Right, precCompare), precCompare
	}
	op := map[string]string{"<": "is less than", "<=": "is at most", ">": "is more than", ">=": "is at least",
		"+": "+", "-": "-", "*": "×", "/": "÷", "%": "modulo"}[x.Operator]
	if op == "" {
		op = x.Operator
	}
	return say(x.Left, precCompare) + " " + op + " " + say(x.Right, precCompare), precCompare
}

// builtin is one of expr's functions over the lines in words.
func builtin(x *ast.BuiltinNode) (string, int) {
	arg := func(i int) string {
		if i < len(x.Arguments) {
			return say(x.Arguments[i], precOr)
		}
		return ""
	}
	what := func() string { return strings.TrimSuffix(arg(0), "s") }
	switch x.Name {
	case "any":
		return "some " + what() + " has " + arg(1), precCompare
	case "all":
		return "every " + what() + " has " + arg(1), precCompare
	case "none":
		return "no " + what() + " has " + arg(1), precCompare
	case "count":
		return "the number of " + arg(0) + " with " + arg(1), precAtom
	case "map":
		return "the " + arg(1) + " of the " + arg(0), precAtom
	case "len":
		return "the length of " + arg(0), precAtom
	}
	args := make([]string, len(x.Arguments))
	for i := range x.Arguments {
		args[i] = arg(i)
	}
	return x.Name + "(" + strings.Join(args, ", ") + ")", precAtom
}

// call is a function call in words; the spec's own functions keep their names.
func call(x *ast.CallNode) (string, int) {
	name := atom(x.Callee)
	args := make([]string, len(x.Arguments))
	for i, a := range x.Arguments {
		args[i] = say(a, precOr)
	}
	switch {
	case name == "empty" && len(args) == 1:
		return say(x.Arguments[0], precCompare) + " is empty", precCompare
	case name == "present" && len(args) == 1:
		return args[0] + " (when not blank)", precAtom
	}
	return name + "(" + strings.Join(args, ", ") + ")", precAtom
}

// atom is a name, a path or a literal.
func atom(n ast.Node) string {
	switch x := n.(type) {
	case *ast.IdentifierNode:
		return human(x.Value)
	case *ast.MemberNode:
		prop := atom(x.Property)
		if s, ok := x.Property.(*ast.StringNode); ok {
			prop = human(s.Value)
		}
		if p, ok := x.Node.(*ast.PointerNode); ok && p.Name == "" {
			return prop // .field inside any(lines, ...): the line's
		}
		if id, ok := x.Node.(*ast.IdentifierNode); ok && id.Value == "settings" {
			return "setting " + prop
		}
		return atom(x.Node) + " > " + prop
	case *ast.StringNode:
		return strconv.Quote(x.Value)
	case *ast.IntegerNode:
		return strconv.Itoa(x.Value)
	case *ast.FloatNode:
		return strconv.FormatFloat(x.Value, 'f', -1, 64)
	case *ast.BoolNode:
		return strconv.FormatBool(x.Value)
	case *ast.NilNode:
		return "nothing"
	case *ast.PointerNode:
		return "it"
	}
	s, _ := phrase(n)
	return s
}

// human writes a column name as words: billing_document_id -> billing document id.
func human(name string) string { return strings.ReplaceAll(name, "_", " ") }
