package compile

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
)

// Expr is a compiled expression: its SQL over the query's FROM clause, and its type.
type Expr struct {
	SQL  string
	Type catalog.Type
}

// Error is a compile error pointing into the expression.
type Error struct {
	Source   string // the expression or path as written
	From, To int    // rune offsets of the offending part
	Msg      string
	Missing  string // a field not found, for "has no field" errors
}

func (e *Error) Error() string {
	return e.Msg + "\n" + Caret(e.Source, e.From, e.To)
}

// Caret renders the source with a caret line under runes [from, to).
func Caret(src string, from, to int) string {
	line := strings.ReplaceAll(src, "\n", " ")
	if to <= from {
		to = from + 1
	}
	n := utf8.RuneCountInString(line)
	if from > n {
		from = n
	}
	if to > n+1 {
		to = n + 1
	}
	// A long expression is shown around the mistake, not whole: a line of a hundred
	// thousand characters would bury it.
	if n > caretWidth {
		runes := []rune(line)
		start := max(0, from-caretWidth/3)
		end := min(n, start+caretWidth)
		to = min(to, end+1)
		line = string(runes[start:end])
		from -= start
		to -= start
		if start > 0 {
			line = "…" + line
			from, to = from+1, to+1
		}
		if end < n {
			line += "…"
		}
	}
	return " | " + line + "\n | " + strings.Repeat(".", from) + strings.Repeat("^", to-from)
}

// caretWidth is how much of a long expression an error shows around its mistake.
const caretWidth = 160

// Query collects the joins its expressions need over one scope.
type Query struct {
	scope   Scope
	alias   string
	joins   []string
	seen    map[string]*row
	counter *int
	src     string // the expression being compiled, for errors
	// predicate is set inside any(lines, ...) and the like: `.field` reads the line,
	// and header fields are out of reach.
	predicate bool
	// Uses records the root columns the compiled expressions read.
	Uses map[string]bool
	agg  *lineAgg
}

// NewQuery starts a query over a scope. Queries that end up nested in one statement
// must share the alias counter.
func NewQuery(scope Scope, counter *int) *Query {
	if counter == nil {
		counter = new(int)
	}
	if scope.Env == nil {
		scope.Env = &Env{}
	}
	q := &Query{scope: scope, seen: map[string]*row{}, counter: counter, Uses: map[string]bool{}}
	q.alias = q.newAlias()
	return q
}

func (q *Query) newAlias() string {
	*q.counter++
	return fmt.Sprintf("t%d", *q.counter)
}

// Alias is the root relation's alias in the FROM clause.
func (q *Query) Alias() string { return q.alias }

// Root is the table of the query's root rows (nil when it has none).
func (q *Query) Root() *catalog.Table { return q.scope.Root.Table }

// From renders the FROM clause: the root and every join the expressions needed.
func (q *Query) From() string {
	var b strings.Builder
	b.WriteString("FROM " + q.scope.Root.SQL + " " + q.alias)
	for _, j := range q.joins {
		b.WriteString("\n  " + j)
	}
	return b.String()
}

type row struct {
	rel   Rel
	alias string
	key   string // SQL of the row's key when the row exists
}

// value is an intermediate translation result.
type value struct {
	sql   string
	typ   catalog.Type
	row   *row // the value names a row: sql is its key, or NULL when there is none
	ns    any  // a constant namespace (settings), not yet a value
	lines bool // the lines collection
	doc   bool // the doc namespace
	list  []string
	kinds []catalog.Kind // of the list's items
}

// Expr compiles an expression.
func (q *Query) Expr(src string) (Expr, error) {
	v, n, err := q.parse(src)
	if err != nil {
		return Expr{}, err
	}
	return q.finish(v, n)
}

// parse parses and translates src, not yet checked to be a value.
func (q *Query) parse(src string) (value, ast.Node, error) {
	q.src = src
	tree, err := parser.Parse(src)
	if err != nil {
		if fe, ok := err.(*file.Error); ok {
			return value{}, nil, &Error{Source: src, From: fe.From, To: fe.To, Msg: fe.Message}
		}
		return value{}, nil, &Error{Source: src, Msg: err.Error()}
	}
	v, err := q.node(tree.Node)
	return v, tree.Node, err
}

// Bool compiles an expression that must be a condition; nil counts as false.
func (q *Query) Bool(src string) (Expr, error) {
	e, err := q.Expr(src)
	if err != nil {
		return e, err
	}
	if e.Type.Kind != catalog.Bool && e.Type.Kind != catalog.Any && e.Type.Kind != catalog.Nil {
		return e, &Error{Source: src, From: 0, To: utf8.RuneCountInString(src), Msg: "a condition must be true or false, this is a " + e.Type.Kind.String()}
	}
	return Expr{SQL: "coalesce(" + e.SQL + ", false)", Type: catalog.Type{Kind: catalog.Bool, SQL: "BOOLEAN"}}, nil
}

func (q *Query) finish(v value, n ast.Node) (Expr, error) {
	switch {
	case v.ns != nil, v.doc:
		return Expr{}, q.errAt(n, "this names a group of values, not a value: add a member, e.g. settings.default_company")
	case v.lines:
		return Expr{}, q.errAt(n, "lines is a collection: aggregate it, e.g. any(lines, .line_type == \"Item\") or count(lines)")
	case v.list != nil:
		return Expr{}, q.errAt(n, "a list can only be used after `in`")
	}
	return Expr{SQL: v.sql, Type: v.typ}, nil
}

// List compiles an expression that names a list (a constant or a setting, used after
// `in`) to a DuckDB list, for showing its value.
func (q *Query) List(src string) (Expr, error) {
	v, n, err := q.parse(src)
	if err != nil {
		return Expr{}, err
	}
	if v.list == nil {
		return Expr{}, q.errAt(n, "not a list")
	}
	return Expr{SQL: "[" + strings.Join(v.list, ", ") + "]", Type: catalog.Type{Kind: catalog.List}}, nil
}

// Path compiles a relationship path such as "Invoicing > Sales Order > Engagement".
// Every step but the last follows a reference; the last gives the field's value as
// stored (a key is not checked against its table: rules check existence).
func (q *Query) Path(src string) (Expr, error) {
	q.src = src
	var cur value
	offset := 0
	parts := strings.Split(src, ">")
	for i, part := range parts {
		name := strings.TrimSpace(part)
		lead := utf8.RuneCountInString(part) - utf8.RuneCountInString(strings.TrimLeft(part, " "))
		from, to := offset+lead, offset+lead+utf8.RuneCountInString(name)
		offset += utf8.RuneCountInString(part) + 1
		if name == "" {
			return Expr{}, &Error{Source: src, From: from, To: from + 1, Msg: "empty step in path"}
		}
		var err error
		last := i == len(parts)-1
		switch {
		case i == 0 && last:
			cur, err = q.field(q.alias, q.scope.Root, name, from, to)
		case i == 0:
			cur, err = q.rootStep(name, from, to)
		case cur.row == nil:
			return Expr{}, &Error{Source: src, From: from, To: to, Msg: fmt.Sprintf("cannot step to %q: the step before it is a plain field, not a reference to another record", name)}
		case last:
			cur, err = q.field(cur.row.alias, cur.row.rel, name, from, to)
		default:
			cur, err = q.rowStep(cur.row, name, from, to)
		}
		if err != nil {
			return Expr{}, err
		}
	}
	return Expr{SQL: cur.sql, Type: cur.typ}, nil
}

func (q *Query) errAt(n ast.Node, format string, args ...any) error {
	loc := n.Location()
	return &Error{Source: q.src, From: loc.From, To: loc.To, Msg: fmt.Sprintf(format, args...)}
}

// rootStep resolves the first step of a path or an identifier on the root row.
func (q *Query) rootStep(name string, from, to int) (value, error) {
	if col, ok := q.scope.Aliases[name]; ok {
		c, _ := q.scope.Root.resolve(col)
		q.Uses[c.Column.Name] = true
		return q.stepRow(q.alias, q.scope.Root, catalog.Step{Column: c.Column, Row: true}), nil
	}
	s, ok := q.scope.Root.resolve(name)
	if !ok {
		return value{}, &Error{Source: q.src, From: from, To: to, Msg: q.scope.Root.noField(name), Missing: name}
	}
	q.Uses[s.Column.Name] = true
	return q.stepRow(q.alias, q.scope.Root, s), nil
}

// field resolves the last step of a path: the column's stored value, without a join.
func (q *Query) field(alias string, rel Rel, name string, from, to int) (value, error) {
	if col, ok := q.scope.Aliases[name]; ok && alias == q.alias {
		name = col
	}
	s, ok := rel.resolve(name)
	if !ok {
		return value{}, &Error{Source: q.src, From: from, To: to, Msg: rel.noField(name), Missing: name}
	}
	if alias == q.alias {
		q.Uses[s.Column.Name] = true
	}
	q.reads().column(rel.Table, s.Column.Name)
	return value{sql: alias + "." + catalog.Ident(s.Column.Name), typ: s.Column.Type}, nil
}

func (q *Query) rowStep(r *row, name string, from, to int) (value, error) {
	s, ok := r.rel.resolve(name)
	if !ok {
		return value{}, &Error{Source: q.src, From: from, To: to, Msg: r.rel.noField(name), Missing: name}
	}
	return q.stepRow(r.alias, r.rel, s), nil
}

// stepRow turns a resolved step on alias into a value, joining the referenced row
// when the step names one.
func (q *Query) stepRow(alias string, rel Rel, s catalog.Step) value {
	colSQL := alias + "." + catalog.Ident(s.Column.Name)
	q.reads().column(rel.Table, s.Column.Name)
	if !s.Row {
		return value{sql: colSQL, typ: s.Column.Type}
	}
	q.reads().ref(rel.Table, s.Column.Name, s.Column.Type.Ref)
	return q.joinRow(s.Column.Type.Ref, colSQL)
}

// reads is where the query records what it reads (nil: nowhere).
func (q *Query) reads() *Reads {
	if q.scope.Env == nil {
		return nil
	}
	return q.scope.Env.Reads
}

// joinRow joins table t on its key = keySQL (once per distinct key expression).
func (q *Query) joinRow(t *catalog.Table, keySQL string) value {
	target := q.scope.Env.rel(t)
	dedupe := target.SQL + "|" + keySQL
	r, ok := q.seen[dedupe]
	if !ok {
		a := q.newAlias()
		r = &row{rel: target, alias: a, key: a + "." + catalog.Ident(t.Key)}
		q.joins = append(q.joins, fmt.Sprintf("LEFT JOIN %s %s ON %s = %s", target.SQL, a, r.key, keySQL))
		q.seen[dedupe] = r
	}
	keyCol, _ := t.Column(t.Key)
	typ := catalog.Type{Kind: catalog.String, SQL: "VARCHAR", Ref: t}
	if keyCol != nil {
		typ = keyCol.Type
		typ.Ref = t
	}
	return value{sql: r.key, typ: typ, row: r}
}

func (q *Query) node(n ast.Node) (value, error) {
	switch x := n.(type) {
	case *ast.NilNode:
		return value{sql: "NULL", typ: catalog.Type{Kind: catalog.Nil}}, nil
	case *ast.BoolNode:
		if x.Value {
			return value{sql: "TRUE", typ: boolType}, nil
		}
		return value{sql: "FALSE", typ: boolType}, nil
	case *ast.IntegerNode:
		return value{sql: strconv.Itoa(x.Value), typ: catalog.Type{Kind: catalog.Number, SQL: "INTEGER"}}, nil
	case *ast.FloatNode:
		// Keep the literal exactly as written so it stays a DECIMAL in SQL.
		loc := x.Location()
		text := strings.TrimSpace(string([]rune(q.src)[loc.From:loc.To]))
		if _, err := strconv.ParseFloat(text, 64); err != nil {
			text = strconv.FormatFloat(x.Value, 'f', -1, 64)
		}
		return value{sql: text, typ: catalog.Type{Kind: catalog.Number, SQL: "DECIMAL"}}, nil
	case *ast.StringNode:
		return value{sql: catalog.Literal(x.Value), typ: stringType}, nil
	case *ast.IdentifierNode:
		return q.identifier(x)
	case *ast.MemberNode:
		return q.member(x)
	case *ast.ChainNode:
		return q.node(x.Node)
	case *ast.UnaryNode:
		return q.unary(x)
	case *ast.BinaryNode:
		return q.binary(x)
	case *ast.ConditionalNode:
		return q.conditional(x)
	case *ast.ArrayNode:
		items := make([]string, 0, len(x.Nodes))
		var kinds []catalog.Kind
		for _, it := range x.Nodes {
			v, err := q.scalar(it)
			if err != nil {
				return value{}, err
			}
			items = append(items, v.sql)
			kinds = append(kinds, v.typ.Kind)
		}
		return value{list: items, kinds: kinds, typ: catalog.Type{Kind: catalog.List}}, nil
	case *ast.BuiltinNode:
		return q.builtin(x)
	case *ast.CallNode:
		return q.call(x)
	case *ast.PointerNode:
		if q.predicate {
			return value{}, q.errAt(n, "read a field of the line with .name, e.g. .amount")
		}
		return value{}, q.errAt(n, "`.field` and `#` can only be used inside any(lines, ...), all(...), count(...) and the like")
	}
	return value{}, q.errAt(n, "this kind of expression (%T) cannot be evaluated by the connector", n)
}

// scalars translates arguments that must be plain values.
func (q *Query) scalars(nodes []ast.Node) ([]value, error) {
	out := make([]value, len(nodes))
	for i, n := range nodes {
		v, err := q.scalar(n)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// scalar translates a node that must be a plain value.
func (q *Query) scalar(n ast.Node) (value, error) {
	v, err := q.node(n)
	if err != nil {
		return v, err
	}
	if _, err := q.finish(v, n); err != nil {
		return v, err
	}
	return v, nil
}

var (
	boolType   = catalog.Type{Kind: catalog.Bool, SQL: "BOOLEAN"}
	stringType = catalog.Type{Kind: catalog.String, SQL: "VARCHAR"}
)

func (q *Query) identifier(x *ast.IdentifierNode) (value, error) {
	name := x.Value
	if name == "lines" && q.scope.Lines != nil {
		return value{lines: true}, nil
	}
	if name == "doc" && q.scope.Root.Doc != nil {
		return value{doc: true}, nil
	}
	if c, ok := q.scope.Env.Constants[name]; ok {
		return constant(c, name)
	}
	loc := x.Location()
	if q.predicate {
		return value{}, &Error{Source: q.src, From: loc.From, To: loc.To, Msg: fmt.Sprintf("inside an aggregate over lines, read line fields with a leading dot (.%s); header fields cannot be used here", name)}
	}
	v, err := q.rootStep(name, loc.From, loc.To)
	if err != nil {
		if name == "lines" {
			err.(*Error).Msg = "lines can only be aggregated in header expressions"
		}
		return v, err
	}
	return v, nil
}

// constant turns a settings or constants value into a literal (or a namespace).
func constant(c any, name string) (value, error) {
	switch v := c.(type) {
	case map[string]any:
		return value{ns: v}, nil
	case nil:
		return value{sql: "NULL", typ: catalog.Type{Kind: catalog.Nil}}, nil
	case bool:
		if v {
			return value{sql: "TRUE", typ: boolType}, nil
		}
		return value{sql: "FALSE", typ: boolType}, nil
	case string:
		return value{sql: catalog.Literal(v), typ: stringType}, nil
	case int:
		return value{sql: strconv.Itoa(v), typ: catalog.Type{Kind: catalog.Number, SQL: "BIGINT"}}, nil
	case int64:
		return value{sql: strconv.FormatInt(v, 10), typ: catalog.Type{Kind: catalog.Number, SQL: "BIGINT"}}, nil
	case float64:
		return value{sql: strconv.FormatFloat(v, 'f', -1, 64), typ: catalog.Type{Kind: catalog.Number, SQL: "DECIMAL"}}, nil
	case []any:
		items := make([]string, 0, len(v))
		var kinds []catalog.Kind
		for i, it := range v {
			iv, err := constant(it, fmt.Sprintf("%s[%d]", name, i))
			if err != nil {
				return value{}, err
			}
			items = append(items, iv.sql)
			kinds = append(kinds, iv.typ.Kind)
		}
		return value{list: items, kinds: kinds, typ: catalog.Type{Kind: catalog.List}}, nil
	case []string:
		items := make([]string, len(v))
		for i, it := range v {
			items[i] = catalog.Literal(it)
		}
		return value{list: items, typ: catalog.Type{Kind: catalog.List}}, nil
	}
	return value{}, fmt.Errorf("%s: unsupported constant of type %T", name, c)
}

func (q *Query) member(x *ast.MemberNode) (value, error) {
	prop, ok := x.Property.(*ast.StringNode)
	if !ok {
		return value{}, q.errAt(x.Property, "only .name member access is supported, not [index]")
	}
	loc := x.Property.Location()
	if _, ok := x.Node.(*ast.PointerNode); ok {
		if q.predicate {
			return q.rootStep(prop.Value, loc.From, loc.To)
		}
		return value{}, q.errAt(x, "`.%s` can only be used inside any(lines, ...), all(...), count(...) and the like", prop.Value)
	}
	base, err := q.node(x.Node)
	if err != nil {
		return base, err
	}
	switch {
	case base.ns != nil:
		m, _ := base.ns.(map[string]any)
		c, ok := m[prop.Value]
		if !ok {
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			return value{}, q.errAt(x.Property, "no setting %q here (known: %s)", prop.Value, strings.Join(keys, ", "))
		}
		return constant(c, prop.Value)
	case base.doc:
		col, ok := q.scope.Root.Doc[prop.Value]
		if !ok {
			names := make([]string, 0, len(q.scope.Root.Doc))
			for k := range q.scope.Root.Doc {
				names = append(names, k)
			}
			sort.Strings(names)
			return value{}, q.errAt(x.Property, "no document field %q (known: %s)", prop.Value, strings.Join(names, ", "))
		}
		typ := catalog.Type{Kind: catalog.Number, SQL: "BIGINT"} // doc.split, doc.line_number
		if prop.Value == "id" {
			typ = stringType // SIN-INV-1/1
		}
		return value{sql: q.alias + "." + catalog.Ident(col), typ: typ}, nil
	case base.row != nil:
		return q.rowStep(base.row, prop.Value, loc.From, loc.To)
	}
	return value{}, q.errAt(x.Property, "cannot read %q here: the value before the dot is a plain field, not a reference to another record", prop.Value)
}

func (q *Query) unary(x *ast.UnaryNode) (value, error) {
	v, err := q.scalar(x.Node)
	if err != nil {
		return v, err
	}
	switch x.Operator {
	case "!", "not":
		if err := q.want(x.Node, v, catalog.Bool); err != nil {
			return v, err
		}
		return value{sql: "(NOT coalesce(" + v.sql + ", false))", typ: boolType}, nil
	case "-":
		if err := q.want(x.Node, v, catalog.Number); err != nil {
			return v, err
		}
		return value{sql: "(-" + v.sql + ")", typ: v.typ}, nil
	case "+":
		return v, q.want(x.Node, v, catalog.Number)
	}
	return value{}, q.errAt(x, "operator %s is not supported", x.Operator)
}

func (q *Query) want(n ast.Node, v value, kinds ...catalog.Kind) error {
	if v.typ.Kind == catalog.Any || v.typ.Kind == catalog.Nil {
		return nil
	}
	names := make([]string, len(kinds))
	for i, k := range kinds {
		if v.typ.Kind == k || k == catalog.Any {
			return nil
		}
		names[i] = k.String()
	}
	return q.errAt(n, "expected a %s here, this is a %s", strings.Join(names, " or "), v.typ.Kind)
}

func comparable(a, b catalog.Kind) bool {
	if a == b || a == catalog.Any || b == catalog.Any || a == catalog.Nil || b == catalog.Nil {
		return true
	}
	dates := func(k catalog.Kind) bool { return k == catalog.Date || k == catalog.Timestamp }
	return dates(a) && dates(b)
}

func (q *Query) binary(x *ast.BinaryNode) (value, error) {
	if x.Operator == "in" {
		return q.in(x)
	}
	l, err := q.scalar(x.Left)
	if err != nil {
		return l, err
	}
	r, err := q.scalar(x.Right)
	if err != nil {
		return r, err
	}
	switch x.Operator {
	case "==", "!=":
		if !comparable(l.typ.Kind, r.typ.Kind) {
			return value{}, q.errAt(x, "cannot compare a %s with a %s", l.typ.Kind, r.typ.Kind)
		}
		neg := x.Operator == "!="
		switch {
		case r.typ.Kind == catalog.Nil && neg:
			return value{sql: "(" + l.sql + " IS NOT NULL)", typ: boolType}, nil
		case r.typ.Kind == catalog.Nil:
			return value{sql: "(" + l.sql + " IS NULL)", typ: boolType}, nil
		case l.typ.Kind == catalog.Nil && neg:
			return value{sql: "(" + r.sql + " IS NOT NULL)", typ: boolType}, nil
		case l.typ.Kind == catalog.Nil:
			return value{sql: "(" + r.sql + " IS NULL)", typ: boolType}, nil
		case neg:
			return value{sql: "(" + l.sql + " IS DISTINCT FROM " + r.sql + ")", typ: boolType}, nil
		}
		return value{sql: "(" + l.sql + " IS NOT DISTINCT FROM " + r.sql + ")", typ: boolType}, nil
	case "<", "<=", ">", ">=":
		if !comparable(l.typ.Kind, r.typ.Kind) || l.typ.Kind == catalog.Bool {
			return value{}, q.errAt(x, "cannot order a %s against a %s", l.typ.Kind, r.typ.Kind)
		}
		return value{sql: "coalesce(" + l.sql + " " + x.Operator + " " + r.sql + ", false)", typ: boolType}, nil
	case "and", "&&", "or", "||":
		if err := q.want(x.Left, l, catalog.Bool); err != nil {
			return value{}, err
		}
		if err := q.want(x.Right, r, catalog.Bool); err != nil {
			return value{}, err
		}
		op := " AND "
		if x.Operator == "or" || x.Operator == "||" {
			op = " OR "
		}
		return value{sql: "(coalesce(" + l.sql + ", false)" + op + "coalesce(" + r.sql + ", false))", typ: boolType}, nil
	case "??":
		typ := l.typ
		if typ.Kind == catalog.Nil || typ.Kind == catalog.Any {
			typ = r.typ
		} else if !comparable(l.typ.Kind, r.typ.Kind) {
			return value{}, q.errAt(x, "both sides of ?? must be of one kind: a %s and a %s", l.typ.Kind, r.typ.Kind)
		} else if r.typ.Ref != l.typ.Ref {
			typ.Ref = nil
			if r.typ.Kind == catalog.Nil {
				typ.Ref = l.typ.Ref
			}
		}
		return value{sql: "coalesce(" + l.sql + ", " + r.sql + ")", typ: typ}, nil
	case "+":
		if l.typ.Kind == catalog.String || r.typ.Kind == catalog.String {
			if err := q.want(x.Left, l, catalog.String); err != nil {
				return value{}, err
			}
			if err := q.want(x.Right, r, catalog.String); err != nil {
				return value{}, err
			}
			return value{sql: "concat(" + l.sql + ", " + r.sql + ")", typ: stringType}, nil
		}
		fallthrough
	case "-", "*", "/", "%", "**", "^":
		if err := q.want(x.Left, l, catalog.Number); err != nil {
			return value{}, err
		}
		if err := q.want(x.Right, r, catalog.Number); err != nil {
			return value{}, err
		}
		op := x.Operator
		if op == "**" || op == "^" {
			return value{sql: "pow(" + l.sql + ", " + r.sql + ")", typ: catalog.Type{Kind: catalog.Number, SQL: "DOUBLE"}}, nil
		}
		return value{sql: "(" + l.sql + " " + op + " " + r.sql + ")", typ: catalog.Type{Kind: catalog.Number}}, nil
	case "contains", "startsWith", "endsWith", "matches":
		if err := q.want(x.Left, l, catalog.String); err != nil {
			return value{}, err
		}
		if err := q.want(x.Right, r, catalog.String); err != nil {
			return value{}, err
		}
		fn := map[string]string{"contains": "contains", "startsWith": "starts_with", "endsWith": "ends_with", "matches": "regexp_matches"}[x.Operator]
		return value{sql: "coalesce(" + fn + "(" + l.sql + ", " + r.sql + "), false)", typ: boolType}, nil
	}
	return value{}, q.errAt(x, "operator %s is not supported", x.Operator)
}

func (q *Query) in(x *ast.BinaryNode) (value, error) {
	l, err := q.scalar(x.Left)
	if err != nil {
		return l, err
	}
	r, err := q.node(x.Right)
	if err != nil {
		return r, err
	}
	if r.list == nil {
		return value{}, q.errAt(x.Right, "`in` needs a list, e.g. line_type in [\"Item\", \"Drop Ship Item\"]")
	}
	for _, k := range r.kinds {
		if !comparable(l.typ.Kind, k) {
			return value{}, q.errAt(x, "cannot look for a %s in a list holding a %s", l.typ.Kind, k)
		}
	}
	if len(r.list) == 0 {
		return value{sql: "FALSE", typ: boolType}, nil
	}
	return value{sql: "coalesce(" + l.sql + " IN (" + strings.Join(r.list, ", ") + "), false)", typ: boolType}, nil
}

func (q *Query) conditional(x *ast.ConditionalNode) (value, error) {
	c, err := q.scalar(x.Cond)
	if err != nil {
		return c, err
	}
	if err := q.want(x.Cond, c, catalog.Bool); err != nil {
		return c, err
	}
	a, err := q.scalar(x.Exp1)
	if err != nil {
		return a, err
	}
	b, err := q.scalar(x.Exp2)
	if err != nil {
		return b, err
	}
	if !comparable(a.typ.Kind, b.typ.Kind) {
		return value{}, q.errAt(x, "both branches must be of one kind: a %s and a %s", a.typ.Kind, b.typ.Kind)
	}
	typ := a.typ
	if typ.Kind == catalog.Nil {
		typ = b.typ
	} else if b.typ.Ref != a.typ.Ref && b.typ.Kind != catalog.Nil {
		typ.Ref = nil
	}
	return value{sql: "(CASE WHEN coalesce(" + c.sql + ", false) THEN " + a.sql + " ELSE " + b.sql + " END)", typ: typ}, nil
}

func (q *Query) call(x *ast.CallNode) (value, error) {
	id, ok := x.Callee.(*ast.IdentifierNode)
	if !ok {
		return value{}, q.errAt(x, "only named functions can be called")
	}
	args, err := q.scalars(x.Arguments)
	if err != nil {
		return value{}, err
	}
	if l, ok := q.scope.Env.Lookups[id.Value]; ok {
		return q.lookup(x, l, args)
	}
	if f, ok := q.scope.Env.function(id.Value); ok {
		return q.apply(id, f, args)
	}
	return value{}, q.errAt(id, "unknown function %q (lookups: %s; functions: %s)", id.Value, strings.Join(q.lookupNames(), ", "), strings.Join(functionNames(), ", "))
}

// apply translates a call of a registered transform function.
func (q *Query) apply(at ast.Node, f Function, args []value) (value, error) {
	types := make([]catalog.Type, len(args))
	sqls := make([]string, len(args))
	for i, a := range args {
		types[i], sqls[i] = a.typ, a.sql
	}
	t, err := f.Result(types)
	if err != nil {
		return value{}, q.errAt(at, "%v", err)
	}
	if f.Window != nil {
		if q.scope.Partition == "" || q.predicate {
			return value{}, q.errAt(at, "%s works across the lines of a record: use it in derive.lines", f.Name)
		}
		partition := q.alias + "." + catalog.Ident(q.scope.Partition)
		order := q.alias + "." + catalog.Ident(q.scope.Root.Table.Key)
		return value{sql: f.Window(sqls, partition, order), typ: t}, nil
	}
	return value{sql: f.SQL(sqls), typ: t}, nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (q *Query) lookupNames() []string {
	out := make([]string, 0, len(q.scope.Env.Lookups))
	for n := range q.scope.Env.Lookups {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// lookup joins the row a lookup finds. Equality lookups join a pre-grouped copy of the
// table (one row per key, so a lookup never multiplies rows); range lookups a lateral
// subquery taking, of the rows whose range holds the value, the one starting last. The same lookup with the
// same arguments is joined once per query.
func (q *Query) lookup(x *ast.CallNode, l Lookup, args []value) (value, error) {
	if len(args) != l.arity() {
		return value{}, q.errAt(x.Callee, "%s takes %d argument(s), got %d", l.Name, l.arity(), len(args))
	}
	// Each argument of the type of the column it is compared with: a number for a text
	// column would pass here and fail the run in DuckDB's cast.
	cols := append(append([]string{}, l.Match...), l.Within...)
	for i, arg := range args {
		name := cols[min(i, len(cols)-1)]
		c, ok := l.Table.Column(name)
		if !ok || arg.typ.Kind == catalog.Any || arg.typ.Kind == catalog.Nil || c.Type.Kind == catalog.Any || arg.typ.Kind == c.Type.Kind ||
			temporal(arg.typ.Kind) && temporal(c.Type.Kind) {
			continue
		}
		at := ast.Node(x)
		if i < len(x.Arguments) {
			at = x.Arguments[i]
		}
		return value{}, q.errAt(at, "%s compares this with %s.%s, a %s: this is a %s", l.Name, l.Table.FullName(), name, c.Type.Kind, arg.typ.Kind)
	}
	q.reads().lookup(l.Table)
	a := q.newAlias()
	key := catalog.Ident(l.Table.Key)
	var cond []string
	for i, m := range l.Match {
		if l.Fold {
			cond = append(cond, a+"."+catalog.Ident(m)+" = lower(trim("+args[i].sql+"))")
		} else {
			cond = append(cond, a+"."+catalog.Ident(m)+" = "+args[i].sql)
		}
	}
	source := l.Table.SQLName()
	if l.Fold || len(l.Where) > 0 {
		cols := []string{"* REPLACE ("}
		var repl []string
		for _, m := range l.Match {
			if l.Fold {
				repl = append(repl, "lower(trim("+catalog.Ident(m)+")) AS "+catalog.Ident(m))
			}
		}
		sel := "*"
		if len(repl) > 0 {
			sel = cols[0] + strings.Join(repl, ", ") + ")"
		}
		var where []string
		for _, c := range sortedKeys(l.Where) {
			where = append(where, catalog.Ident(c)+" = "+catalog.Literal(l.Where[c]))
		}
		source = "(SELECT " + sel + " FROM " + l.Table.SQLName()
		if len(where) > 0 {
			source += " WHERE " + strings.Join(where, " AND ")
		}
		source += ")"
	}
	argSQL := make([]string, len(args))
	for i, a := range args {
		argSQL[i] = a.sql
	}
	dedupe := "lookup|" + l.Name + "|" + strings.Join(argSQL, "|")
	if r, ok := q.seen[dedupe]; ok {
		return q.joinRow(l.Table, r.key), nil
	}
	var keySQL string
	if len(l.Within) == 2 {
		// One row at most even when ranges overlap: of those holding the value, the one
		// starting last (the narrowest enclosing period, in practice), then the lowest key.
		last := args[len(args)-1].sql
		cond = append(cond, fmt.Sprintf("%s BETWEEN %s.%s AND %s.%s", last, a, catalog.Ident(l.Within[0]), a, catalog.Ident(l.Within[1])))
		q.joins = append(q.joins, fmt.Sprintf("LEFT JOIN LATERAL (SELECT first(%s.%s ORDER BY %s.%s DESC, %s.%s) AS %s FROM %s %s WHERE %s) %s_k ON TRUE",
			a, key, a, catalog.Ident(l.Within[0]), a, key, key, source, a, strings.Join(cond, " AND "), a))
		keySQL = a + "_k." + key
	} else {
		cols := make([]string, len(l.Match))
		for i, m := range l.Match {
			cols[i] = catalog.Ident(m)
		}
		q.joins = append(q.joins, fmt.Sprintf("LEFT JOIN (SELECT %s, min(%s) AS %s FROM %s GROUP BY ALL) %s ON %s",
			strings.Join(cols, ", "), key, key, source, a, strings.Join(cond, " AND ")))
		keySQL = a + "." + key
	}
	q.seen[dedupe] = &row{key: keySQL}
	return q.joinRow(l.Table, keySQL), nil
}

// temporal reports a date or a timestamp, which a lookup compares with each other.
func temporal(k catalog.Kind) bool { return k == catalog.Date || k == catalog.Timestamp }
