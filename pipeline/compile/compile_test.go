package compile_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/expr-lang/expr"
	duckdb "github.com/marcboeker/go-duckdb" // also registers the driver

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/compile"
	_ "github.com/oimconnect/oimconnect/transforms" // registers present, empty, left, ...
)

// ---------------------------------------------------------------------------
// Fixture: one in-memory DuckDB shared by every test (all connections of a
// go-duckdb pool share the same in-memory database).
// ---------------------------------------------------------------------------

const schemaSQL = `
CREATE SCHEMA s;
CREATE TABLE s.grp(id VARCHAR PRIMARY KEY, label VARCHAR, flag BOOLEAN, parent_id VARCHAR);
CREATE TABLE s.item(id VARCHAR PRIMARY KEY, name VARCHAR, code VARCHAR, qty DECIMAL(18,4), price DECIMAL(18,2),
	n INTEGER, active BOOLEAN, d DATE, group_id VARCHAR);
CREATE TABLE s.line(id VARCHAR PRIMARY KEY, item_id VARCHAR, amount DECIMAL(18,2), kind VARCHAR);
CREATE TABLE s.rate(id VARCHAR PRIMARY KEY, code VARCHAR, pct DECIMAL(5,2));
CREATE TABLE s.period(id VARCHAR PRIMARY KEY, code VARCHAR, valid_from DATE, valid_to DATE, label VARCHAR);
CREATE TABLE s.era(id VARCHAR PRIMARY KEY, valid_from DATE, valid_to DATE, label VARCHAR);

INSERT INTO s.grp VALUES
	('g1', 'First', true, NULL),
	('g2', 'Second', NULL, 'g1'),
	('g3', NULL, false, 'gX');

-- 30 rows: NULLs in every column, empty strings, blanks (spaces, tab, newline, NBSP),
-- negative and zero decimals, non-ASCII text.
INSERT INTO s.item VALUES
	('i01', 'alpha',        'a',      1,             2.5,    3,    true,  DATE '2024-01-15', 'g1'),
	('i02', 'Beta',         'b',      0,             0,      0,    false, DATE '2024-03-01', 'g2'),
	('i03', '',             '',       -2.25,         -1.25,  -4,   true,  DATE '2023-12-31', 'g1'),
	('i04', '  ',           ' ',      1.5,           3,      1,    NULL,  DATE '2024-06-30', 'missing'),
	('i05', ' padded ',     'padded', 100.75,        99.99,  10,   false, NULL,              NULL),
	('i06', NULL,           'a',      0.5,           NULL,   NULL, true,  DATE '2024-02-29', 'g1'),
	('i07', chr(9) || 'Tab' || chr(9), NULL, NULL,   1,      2,    true,  DATE '2024-01-01', 'g2'),
	('i08', 'Éclair',       'É',      -0.5,          0.25,   -1,   false, DATE '2025-01-01', 'g1'),
	('i09', 'a',            'a',      3,             3,      3,    true,  DATE '2024-03-01', NULL),
	('i10', 'b',            'a',      4,             -4,     5,    NULL,  NULL,              'g2'),
	('i11', 'O''Brien',     'O''',    1000000.0625,  1,      7,    true,  DATE '2020-01-01', 'g1'),
	('i12', 'zeta',         'z',      NULL,          NULL,   NULL, NULL,  NULL,              NULL),
	('i13', NULL,           NULL,     NULL,          NULL,   NULL, NULL,  NULL,              NULL),
	('i14', 'ALPHA',        'alpha',  2,             2,      2,    false, DATE '2024-05-05', 'g1'),
	('i15', 'mixed Case',   'Case',   -1,            0.5,    -1,   true,  DATE '2024-01-15', 'g2'),
	('i16', 'e' || chr(769) || 'x', 'e', 7,          7.75,   8,    false, DATE '2024-07-01', 'missing'),
	('i17', 'a' || chr(160), 'a',     0,             -0,     0,    true,  DATE '2025-02-01', 'g3'),
	('i18', '100',          '1',      100,           100,    100,  false, DATE '2024-12-31', 'g3'),
	('i19', 'true',         't',      0.0001,        0.01,   1,    true,  DATE '2024-06-01', 'g1'),
	('i20', 'abc',          '',       1,             1,      1,    true,  DATE '2024-07-01', 'g2'),
	('i21', 'abcdef',       'abc',    2.5,           2.5,    2,    false, DATE '2024-08-15', 'g1'),
	('i22', 'x',            'x',      -3,            -3,     -3,   NULL,  DATE '2024-02-01', NULL),
	('i23', 'Beta ',        'Beta',   1,             1,      NULL, true,  DATE '2024-03-02', 'g2'),
	('i24', chr(10),        NULL,     0,             NULL,   0,    false, NULL,              'g1'),
	('i25', 'b',            'b',      NULL,          5,      5,    true,  DATE '2024-10-10', 'g2'),
	('i26', 'hello world',  'world',  12.5,          12.5,   12,   true,  DATE '2024-11-11', 'g1'),
	('i27', 'a',            NULL,     3,             NULL,   3,    false, DATE '2024-03-01', 'missing'),
	('i28', '',             NULL,     NULL,          0,      NULL, NULL,  DATE '2024-04-04', NULL),
	('i29', 'Zz',           'zz',     999.9999,      0.01,   -100, true,  DATE '2024-09-09', 'g1'),
	('i30', 'ß',            'SS',     5,             5,      5,    false, DATE '2024-01-31', 'g2');

INSERT INTO s.line VALUES
	('l1', 'i01', 10,   'Item'),
	('l2', 'i01', -2.5, 'Fee'),
	('l3', 'i01', NULL, 'Item'),
	('l4', 'i02', 5,    'Item'),
	('l5', 'i03', NULL, NULL),
	('l6', 'nope', 1,   'Item');

-- duplicates for key 'a' on purpose
INSERT INTO s.rate VALUES
	('r1', 'a', 10),
	('r2', 'a', 20),
	('r3', 'b', 5),
	('r4', NULL, 1);

-- duplicates for (a, 2024-01-01) on purpose
INSERT INTO s.period VALUES
	('p1', 'a', DATE '2024-01-01', DATE '2024-06-30', 'H1'),
	('p2', 'a', DATE '2024-07-01', DATE '2024-12-31', 'H2'),
	('p3', 'a', DATE '2024-01-01', DATE '2024-06-30', 'H1dup'),
	('p4', 'b', DATE '2024-01-01', DATE '2024-12-31', 'B');

-- overlapping ranges: June lies inside Year
INSERT INTO s.era VALUES
	('e1', DATE '2024-01-01', DATE '2024-12-31', 'Year'),
	('e2', DATE '2024-06-01', DATE '2024-06-30', 'June');
`

type fixture struct {
	db                                 *sql.DB
	cat                                *catalog.Catalog
	item, grp, line, rate, period, era *catalog.Table
	rows                               []map[string]any // item rows as an expr env (without functions)
	ids                                []string
}

var (
	fxOnce sync.Once
	fx     *fixture
	fxErr  error
)

func setup(t *testing.T) *fixture {
	t.Helper()
	fxOnce.Do(func() { fx, fxErr = newFixture() })
	if fxErr != nil {
		t.Fatal(fxErr)
	}
	return fx
}

func newFixture() (*fixture, error) {
	ctx := context.Background()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, schemaSQL); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	cat, err := catalog.Read(ctx, db, "s")
	if err != nil {
		return nil, err
	}
	for _, r := range [][3]string{
		{"s.item", "group_id", "s.grp"},
		{"s.grp", "parent_id", "s.grp"},
		{"s.line", "item_id", "s.item"},
	} {
		if err := cat.AddReference(r[0], r[1], r[2]); err != nil {
			return nil, err
		}
	}
	for _, l := range [][3]string{
		{"s.grp", "Group Caption", "label"},
		{"s.item", "Product Group", "group_id"},
		{"s.item", "Item Name", "name"},
	} {
		if err := cat.AddLabel(l[0], l[1], l[2]); err != nil {
			return nil, err
		}
	}
	f := &fixture{db: db, cat: cat}
	for name, dst := range map[string]**catalog.Table{
		"s.item": &f.item, "s.grp": &f.grp, "s.line": &f.line, "s.rate": &f.rate, "s.period": &f.period, "s.era": &f.era,
	} {
		t, ok := cat.Table(name)
		if !ok {
			return nil, fmt.Errorf("table %s not in catalog (%v)", name, cat.Tables())
		}
		*dst = t
	}

	// The same rows as expr sees them: NULL -> nil, DECIMAL -> float64, INTEGER -> int.
	rs, err := db.QueryContext(ctx, `SELECT id, name, code, CAST(qty AS DOUBLE), CAST(price AS DOUBLE), n, active, d, group_id
		FROM s.item ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	for rs.Next() {
		var id string
		var name, code, group sql.NullString
		var qty, price sql.NullFloat64
		var n sql.NullInt64
		var active sql.NullBool
		var d sql.NullTime
		if err := rs.Scan(&id, &name, &code, &qty, &price, &n, &active, &d, &group); err != nil {
			return nil, err
		}
		row := map[string]any{"id": id, "name": nil, "code": nil, "qty": nil, "price": nil, "n": nil, "active": nil, "d": nil, "group_id": nil}
		if name.Valid {
			row["name"] = name.String
		}
		if code.Valid {
			row["code"] = code.String
		}
		if qty.Valid {
			row["qty"] = qty.Float64
		}
		if price.Valid {
			row["price"] = price.Float64
		}
		if n.Valid {
			row["n"] = int(n.Int64)
		}
		if active.Valid {
			row["active"] = active.Bool
		}
		if d.Valid {
			row["d"] = d.Time
		}
		if group.Valid {
			row["group_id"] = group.String
		}
		f.rows = append(f.rows, row)
		f.ids = append(f.ids, id)
	}
	return f, rs.Err()
}

func settings() map[string]any {
	return map[string]any{
		"limit": 3,
		"on":    true,
		"names": []any{"a", "b"},
		"label": "x:",
		"rate":  1.5,
		"none":  nil,
	}
}

func (f *fixture) scope() compile.Scope {
	return compile.Scope{
		Root:  compile.Rel{SQL: "s.item", Table: f.item},
		Lines: &compile.Lines{Rel: compile.Rel{SQL: "s.line", Table: f.line}, Parent: "item_id"},
		Env: &compile.Env{
			Constants: map[string]any{"settings": settings()},
			Lookups: map[string]compile.Lookup{
				"rate_for":   {Name: "rate_for", Table: f.rate, Match: []string{"code"}},
				"period_for": {Name: "period_for", Table: f.period, Match: []string{"code"}, Within: []string{"valid_from", "valid_to"}},
				"era_for":    {Name: "era_for", Table: f.era, Within: []string{"valid_from", "valid_to"}},
			},
		},
	}
}

// eval runs compiled expressions over every item row: id -> values (normalized).
func (f *fixture) eval(t *testing.T, q *compile.Query, exprs ...compile.Expr) map[string][]any {
	t.Helper()
	out, n, err := f.evalErr(q, exprs...)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(f.ids) {
		t.Fatalf("the joins changed the row count: %d rows, want %d\n%s", n, len(f.ids), q.From())
	}
	return out
}

func (f *fixture) evalErr(q *compile.Query, exprs ...compile.Expr) (map[string][]any, int, error) {
	cols := []string{q.Alias() + ".id"}
	for _, e := range exprs {
		cols = append(cols, e.SQL)
	}
	stmt := "SELECT " + strings.Join(cols, ",\n  ") + "\n" + q.From() + "\nORDER BY 1"
	rs, err := f.db.Query(stmt)
	if err != nil {
		return nil, 0, fmt.Errorf("%v\nSQL:\n%s", err, stmt)
	}
	defer rs.Close()
	out := map[string][]any{}
	n := 0
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			return nil, 0, err
		}
		for i := range vals {
			vals[i] = norm(vals[i])
		}
		out[vals[0].(string)] = vals[1:]
		n++
	}
	return out, n, rs.Err()
}

// norm maps SQL and expr values onto nil, bool, string, float64 or time.Time.
func norm(v any) any {
	switch x := v.(type) {
	case duckdb.Decimal:
		return x.Float64()
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f
	case int:
		return float64(x)
	case int8:
		return float64(x)
	case int16:
		return float64(x)
	case int32:
		return float64(x)
	case int64:
		return float64(x)
	case uint8:
		return float64(x)
	case uint16:
		return float64(x)
	case uint32:
		return float64(x)
	case uint64:
		return float64(x)
	case float32:
		return float64(x)
	case []byte:
		return string(x)
	}
	return v
}

func same(a, b any) bool {
	a, b = norm(a), norm(b)
	if fa, ok := a.(float64); ok {
		fb, ok := b.(float64)
		if !ok {
			return false
		}
		if math.IsNaN(fa) || math.IsNaN(fb) {
			return math.IsNaN(fa) && math.IsNaN(fb)
		}
		return math.Abs(fa-fb) <= 1e-9*math.Max(1, math.Max(math.Abs(fa), math.Abs(fb)))
	}
	if ta, ok := a.(time.Time); ok {
		tb, ok := b.(time.Time)
		return ok && ta.Equal(tb)
	}
	return reflect.DeepEqual(a, b)
}

func show(v any) string {
	if v == nil {
		return "nil"
	}
	return fmt.Sprintf("%T(%q)", v, fmt.Sprint(v))
}

// ---------------------------------------------------------------------------
// 1. Differential test against expr's own VM.
// ---------------------------------------------------------------------------

// The transforms, as expr functions with the documented meaning.
func isBlank(s string) bool { return strings.TrimSpace(s) == "" }

func present(x any) any {
	if s, ok := x.(string); ok && isBlank(s) {
		return nil
	}
	return x
}

func exprEnv(row map[string]any) map[string]any {
	env := map[string]any{"settings": settings()}
	for k, v := range row {
		env[k] = v
	}
	env["present"] = present
	env["empty"] = func(x any) bool { return present(x) == nil }
	env["left"] = func(s any, n any) any {
		if s == nil || n == nil {
			return nil
		}
		r := []rune(s.(string))
		k := int(norm(n).(float64))
		if k < 0 {
			k = 0
		}
		if k > len(r) {
			k = len(r)
		}
		return string(r[:k])
	}
	return env
}

// rule gives the documented SQL result for a row where expr itself errors.
type rule func(r map[string]any) any

func always(v any) rule { return func(map[string]any) any { return v } }

// truthy is the documented "nil is false in a condition".
func truthy(v any) bool { b, _ := v.(bool); return b }

// str is the documented "nil concatenates as the empty string".
func str(v any) string { s, _ := v.(string); return s }

func num(v any) (float64, bool) {
	f, ok := norm(v).(float64)
	return f, ok
}

type diffCase struct {
	src  string
	rule rule // documented result where expr errors; nil: expr must not error
	// nilCond: expr's and/or return their last operand as is, so `true and nil` is nil
	// in expr (no error); the documented rule (nil is false in a condition) applies
	// where expr returns nil.
	nilCond bool
}

var corpus = []diffCase{
	// == and != (nil is a value)
	{src: `name == "a"`},
	{src: `name != "a"`},
	{src: `name == nil`},
	{src: `name != nil`},
	{src: `nil == name`},
	{src: `nil != code`},
	{src: `name == code`},
	{src: `name != code`},
	{src: `name == ""`},
	{src: `qty == price`},
	{src: `qty == 0`},
	{src: `qty != 1`},
	{src: `n == qty`},
	{src: `active == true`},
	{src: `active != false`},
	{src: `active == nil`},
	{src: `nil == nil`},
	{src: `d == date("2024-03-01")`},
	{src: `d != nil`},

	// <, <=, >, >= (false with nil)
	{src: `qty < 1`, rule: always(false)},
	{src: `qty <= 0`, rule: always(false)},
	{src: `qty > price`, rule: always(false)},
	{src: `price >= 2.5`, rule: always(false)},
	{src: `n > -1`, rule: always(false)},
	{src: `n <= qty`, rule: always(false)},
	{src: `name < "b"`, rule: always(false)},
	{src: `name >= code`, rule: always(false)},
	{src: `d < date("2024-03-01")`, rule: always(false)},
	{src: `d >= date("2024-01-15")`, rule: always(false)},
	{src: `-qty > 0`, rule: always(false)},

	// and / or / not / ! (nil is false)
	{src: `active and qty > 0`, rule: always(false)},
	{src: `active or n > 2`, rule: func(r map[string]any) any {
		n, ok := num(r["n"])
		return truthy(r["active"]) || (ok && n > 2)
	}},
	{src: `not active`, rule: always(true)},
	{src: `!active`, rule: always(true)},
	{src: `!(qty > 1)`, rule: always(true)},
	{src: `active && !(name == "a")`, rule: func(r map[string]any) any { return truthy(r["active"]) && r["name"] != "a" }},
	{src: `name == "a" || code == "a"`},
	{src: `not (active or false)`, rule: func(r map[string]any) any { return !truthy(r["active"]) }},
	{src: `(active ?? false) and n >= 0`, rule: always(false)},
	{src: `active and active`, rule: always(false)},
	{src: `qty > 0 or active`, rule: func(r map[string]any) any {
		q, ok := num(r["qty"])
		return (ok && q > 0) || truthy(r["active"])
	}, nilCond: true},

	// ??
	{src: `name ?? "none"`},
	{src: `qty ?? 0`},
	{src: `active ?? true`},
	{src: `code ?? name ?? "-"`},
	{src: `nil ?? nil`},
	{src: `settings.none ?? name`},

	// ?: (nil condition takes the else branch)
	{src: `active ? "yes" : "no"`, rule: always("no")},
	{src: `qty > 1 ? qty : 0`, rule: always(0.0)},
	{src: `name == nil ? "?" : name`},
	{src: `active ? nil : code`, rule: func(r map[string]any) any { return r["code"] }},

	// in / not in
	{src: `name in ["a", "b"]`},
	{src: `name not in ["a", "b"]`},
	{src: `name in settings.names`},
	{src: `code not in settings.names`},
	{src: `qty in [0, 1.5, 3]`},
	{src: `n in [1, 2, 3]`},
	{src: `name in []`},
	{src: `active in [true]`},
	{src: `nil in ["a"]`},
	{src: `not (name in ["a"])`},

	// arithmetic (nil in, nil out: not documented, see the report)
	{src: `qty + 1`, rule: always(nil)},
	{src: `price - qty`, rule: always(nil)},
	{src: `qty * 2`, rule: always(nil)},
	{src: `n * n - 1`, rule: always(nil)},
	{src: `n + qty * price`, rule: always(nil)},
	{src: `7 / 2`},
	{src: `n / 4`, rule: always(nil)},
	{src: `-n`, rule: always(nil)},
	{src: `2 ** 3`},
	{src: `n % 3`, rule: always(nil)},
	{src: `(qty ?? 0) + (price ?? 0)`},

	// strings (nil concatenates as "")
	{src: `name + "!"`, rule: func(r map[string]any) any { return str(r["name"]) + "!" }},
	{src: `name + code`, rule: func(r map[string]any) any { return str(r["name"]) + str(r["code"]) }},
	{src: `"<" + name + ">"`, rule: func(r map[string]any) any { return "<" + str(r["name"]) + ">" }},
	{src: `settings.label + name`, rule: func(r map[string]any) any { return "x:" + str(r["name"]) }},
	{src: `name contains "a"`, rule: always(false)},
	{src: `name startsWith "a"`, rule: always(false)},
	{src: `name endsWith " "`, rule: always(false)},
	{src: `code contains ""`, rule: always(false)},
	{src: `name contains code`, rule: always(false)},

	// built-ins
	{src: `len(name)`, rule: always(nil)},
	{src: `len(code) > 1`, rule: always(false)},
	// upper(name) is left out: DuckDB upper-cases ß to ẞ, Go leaves it.
	{src: `lower(name)`, rule: always(nil)},
	{src: `trim(name)`, rule: always(nil)},
	{src: `abs(qty)`, rule: always(nil)},
	{src: `abs(n)`, rule: always(nil)},

	// transforms
	{src: `present(name)`},
	{src: `present(name) ?? "none"`},
	{src: `present(code) == nil`},
	{src: `empty(name)`},
	{src: `empty(code) or empty(name)`},
	{src: `left(name, 2)`},
	{src: `left(name, 0)`},
	{src: `left(code ?? "", 1) == "a"`},
	{src: `empty(qty)`},

	// settings
	{src: `qty > settings.limit`, rule: always(false)},
	{src: `settings.on and active`, rule: func(r map[string]any) any { return truthy(r["active"]) }, nilCond: true},
	{src: `n == settings.limit`},
	{src: `qty * settings.rate`, rule: always(nil)},
	{src: `settings.limit`},

	// literals
	{src: `nil`},
	{src: `true`},
	{src: `"x"`},
	{src: `1.25`},
}

func TestDifferentialAgainstExpr(t *testing.T) {
	t.Parallel()
	f := setup(t)
	if len(f.rows) != 30 {
		t.Fatalf("fixture has %d rows, want 30", len(f.rows))
	}
	for _, c := range corpus {
		t.Run(c.src, func(t *testing.T) {
			t.Parallel()
			differential(t, f, c, false)
		})
	}
}

// Expressions the compiler may reject; when it accepts one, its SQL must run in DuckDB
// and agree with expr like the corpus does (the type checks must match what the SQL
// engine accepts).
var acceptedMustRun = []diffCase{
	{src: `present(qty) + 1`, rule: always(nil)},
	{src: `present(price) > 1`, rule: always(false)},
	{src: `present(active) and true`, rule: always(false), nilCond: true},
	// a string never equals a number (== would not even compile), so these are false
	// where expr gives up on the mixed kinds
	{src: `name in [1, 2]`, rule: always(false)},
	{src: `qty in [0, "a"]`, rule: always(false)},
	{src: `n in ["3"]`, rule: always(false)},
}

func TestAcceptedExpressionsRun(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, c := range acceptedMustRun {
		t.Run(c.src, func(t *testing.T) {
			t.Parallel()
			differential(t, f, c, true)
		})
	}
}

func differential(t *testing.T, f *fixture, c diffCase, mayReject bool) {
	t.Helper()
	q := compile.NewQuery(f.scope(), nil)
	e, err := q.Expr(c.src)
	if err != nil {
		if mayReject {
			t.Logf("rejected at compile time: %v", err)
			return
		}
		t.Fatalf("compile: %v", err)
	}
	prog, err := expr.Compile(c.src, expr.Timezone("UTC"))
	if err != nil {
		t.Fatalf("expr compile: %v", err)
	}
	got, n, err := f.evalErr(q, e)
	if err != nil {
		t.Fatalf("%s compiles (type %s) but its SQL fails: %v", c.src, e.Type.Kind, err)
	}
	if n != len(f.rows) {
		t.Fatalf("%d rows, want %d", n, len(f.rows))
	}
	for _, row := range f.rows {
		id := row["id"].(string)
		sqlv := got[id][0]
		want, err := expr.Run(prog, exprEnv(row))
		source := "expr"
		if err == nil && want == nil && c.nilCond {
			want, source = c.rule(row), "documented rule (expr: nil from and/or)"
		} else if err != nil {
			if c.rule == nil {
				t.Errorf("%s, row %s %s: expr errors (%v) and no documented rule is given", c.src, id, rowString(row), firstLine(err))
				continue
			}
			want, source = c.rule(row), "documented rule (expr: "+firstLine(err)+")"
		}
		if !same(sqlv, want) {
			t.Errorf("DISAGREE %s\n  row %s %s\n  SQL:  %s\n  %s: %s\n  sql: %s", c.src, id, rowString(row), show(norm(sqlv)), source, show(norm(want)), e.SQL)
		}
	}
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

func rowString(r map[string]any) string {
	keys := make([]string, 0, len(r))
	for k := range r {
		if k != "id" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		v := r[k]
		switch x := v.(type) {
		case nil:
			parts[i] = k + "=nil"
		case string:
			parts[i] = fmt.Sprintf("%s=%q", k, x)
		case time.Time:
			parts[i] = k + "=" + x.Format("2006-01-02")
		default:
			parts[i] = fmt.Sprintf("%s=%v", k, x)
		}
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// `in` with a nil left side is documented as false, even when the list holds nil;
// expr says true there (nil == nil). Pinned separately so the corpus stays exact.
func TestInWithNilLeftSideIsFalse(t *testing.T) {
	t.Parallel()
	f := setup(t)
	q := compile.NewQuery(f.scope(), nil)
	e1, err := q.Expr(`name in ["a", nil]`)
	if err != nil {
		t.Fatal(err)
	}
	e2, err := q.Expr(`nil in [nil]`)
	if err != nil {
		t.Fatal(err)
	}
	got := f.eval(t, q, e1, e2)
	if v := got["i13"]; v[0] != false || v[1] != false {
		t.Errorf("nil in [.., nil] = %v, %v; documented false", v[0], v[1])
	}
	if v := got["i09"]; v[0] != true {
		t.Errorf(`"a" in ["a", nil] = %v, want true`, v[0])
	}
	if v := got["i01"]; v[0] != false {
		t.Errorf(`"alpha" in ["a", nil] = %v, want false`, v[0])
	}
}

func TestBoolTreatsNilAsFalse(t *testing.T) {
	t.Parallel()
	f := setup(t)
	q := compile.NewQuery(f.scope(), nil)
	var es []compile.Expr
	for _, src := range []string{`active`, `nil`, `present(name) != nil and active`} {
		e, err := q.Bool(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		es = append(es, e)
	}
	got := f.eval(t, q, es...)
	for _, id := range f.ids {
		for i, v := range got[id] {
			if _, ok := v.(bool); !ok {
				t.Errorf("Bool #%d on %s = %s, want true or false", i, id, show(v))
			}
		}
	}
	if got["i04"][0] != false || got["i01"][0] != true || got["i01"][1] != false {
		t.Errorf("Bool(active)/Bool(nil) = %v", got)
	}
	if _, err := q.Bool(`name`); err == nil || err.Error() != "a condition must be true or false, this is a string\n | name\n | ^^^^" {
		t.Errorf("Bool(name) error = %v", err)
	}
}

// ---------------------------------------------------------------------------
// 2. Paths and joins.
// ---------------------------------------------------------------------------

func TestPathsAndJoins(t *testing.T) {
	t.Parallel()
	f := setup(t)
	q := compile.NewQuery(f.scope(), nil)
	var es []compile.Expr
	var srcs []string
	add := func(src string, e compile.Expr, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		srcs = append(srcs, src)
		es = append(es, e)
	}
	path := func(src string) { e, err := q.Path(src); add("path "+src, e, err) }
	exp := func(src string) { e, err := q.Expr(src); add(src, e, err) }
	path("Group > Group Caption")          // 0: a label declared on s.grp
	exp("group.label")                     // 1
	exp("group == nil")                    // 2: the referenced row is missing
	exp("group.flag")                      // 3
	exp("group_id")                        // 4: the raw key
	path("Product Group > Label")          // 5: a label declared on s.item
	path("Group")                          // 6: a path's last step is the stored value
	exp("group.parent.label")              // 7
	path("Group > Parent > Group Caption") // 8
	exp("group.parent == nil")             // 9
	path("Group > Parent")                 // 10: the stored parent_id
	path("Item Name")                      // 11
	b, err := q.Bool("group.flag")
	add("Bool group.flag", b, err) // 12
	exp("group")                   // 13: the key of the referenced row, nil when missing

	// Two distinct prefixes: group (item.group_id) and group.parent (grp.parent_id).
	if n := strings.Count(q.From(), "LEFT JOIN"); n != 2 {
		t.Errorf("want 2 LEFT JOINs (one per distinct path prefix: group, group.parent), got %d:\n%s", n, q.From())
	}
	got := f.eval(t, q, es...)
	want := map[string][]any{
		//      0        1        2      3     4          5        6          7        8        9      10    11       12     13
		"i01": {"First", "First", false, true, "g1", "First", "g1", nil, nil, true, nil, "alpha", true, "g1"},
		"i02": {"Second", "Second", false, nil, "g2", "Second", "g2", "First", "First", false, "g1", "Beta", false, "g2"},
		"i04": {nil, nil, true, nil, "missing", nil, "missing", nil, nil, true, nil, "  ", false, nil}, // dangling reference
		"i05": {nil, nil, true, nil, nil, nil, nil, nil, nil, true, nil, " padded ", false, nil},
		"i17": {nil, nil, false, false, "g3", nil, "g3", nil, nil, true, "gX", "a\u00a0", false, "g3"}, // dangling parent
	}
	for id, w := range want {
		for i := range w {
			if !same(got[id][i], w[i]) {
				t.Errorf("%s: %s = %s, want %s (SQL %s)", id, srcs[i], show(got[id][i]), show(w[i]), es[i].SQL)
			}
		}
	}
	for _, i := range []int{4, 6, 13} {
		if es[i].Type.Ref == nil || es[i].Type.Ref.FullName() != "s.grp" {
			t.Errorf("%s should carry its reference to s.grp, type %+v", srcs[i], es[i].Type)
		}
	}
	if !q.Uses["group_id"] || !q.Uses["name"] || q.Uses["qty"] {
		t.Errorf("Uses = %v", q.Uses)
	}
}

// A second query sharing the counter gets fresh aliases, so the two can nest.
func TestSharedCounterGivesDistinctAliases(t *testing.T) {
	t.Parallel()
	f := setup(t)
	counter := 0
	a := compile.NewQuery(f.scope(), &counter)
	if _, err := a.Expr("group.label"); err != nil {
		t.Fatal(err)
	}
	b := compile.NewQuery(f.scope(), &counter)
	if a.Alias() == b.Alias() || strings.Contains(a.From(), " "+b.Alias()+" ") {
		t.Errorf("aliases collide: %s / %s\n%s", a.Alias(), b.Alias(), a.From())
	}
}

// ---------------------------------------------------------------------------
// 3. Aggregates over lines.
// ---------------------------------------------------------------------------

func TestAggregatesOverLines(t *testing.T) {
	t.Parallel()
	f := setup(t)
	cases := []struct {
		src  string
		want map[string]any // i01: 3 lines, i02: 1 line, i03: 1 line of NULLs, i04 and i30: no lines
	}{
		{`any(lines, .kind == "Item")`, map[string]any{"i01": true, "i02": true, "i03": false, "i04": false, "i30": false}},
		{`all(lines, .amount > 0)`, map[string]any{"i01": false, "i02": true, "i03": false, "i04": true, "i30": true}},
		{`none(lines, .kind == "Fee")`, map[string]any{"i01": false, "i02": true, "i03": true, "i04": true, "i30": true}},
		{`count(lines)`, map[string]any{"i01": 3, "i02": 1, "i03": 1, "i04": 0, "i30": 0}},
		{`len(lines)`, map[string]any{"i01": 3, "i02": 1, "i03": 1, "i04": 0, "i30": 0}},
		{`count(lines, .kind == "Item")`, map[string]any{"i01": 2, "i02": 1, "i03": 0, "i04": 0, "i30": 0}},
		{`count(lines, .kind in settings.names or .amount == nil)`, map[string]any{"i01": 1, "i02": 0, "i03": 1, "i04": 0}},
		{`any(lines, .item.name == "alpha")`, map[string]any{"i01": true, "i02": false, "i04": false}},
		{`sum(lines, .amount)`, map[string]any{"i01": 7.5, "i02": 5, "i03": 0, "i04": 0, "i30": 0}},
		// min and max are advertised over lines (Lines doc, the built-in error message),
		// but expr's parser only accepts `.field` in predicate built-ins (any, all, none,
		// one, count, sum, filter, map, ...), not in min/max.
		{`min(map(lines, .amount))`, map[string]any{"i01": -2.5, "i02": 5, "i03": nil, "i04": nil}},
		{`max(map(lines, .amount))`, map[string]any{"i01": 10, "i02": 5, "i03": nil, "i04": nil}},
		{`sum(lines, .amount * 2) > 10 and count(lines) >= 3`, map[string]any{"i01": true, "i02": false, "i04": false}},
	}
	// Several aggregates in one query: each one joins one grouped subquery.
	all := compile.NewQuery(f.scope(), nil)
	var allExprs []compile.Expr
	var allIdx []int
	for i, c := range cases {
		q := compile.NewQuery(f.scope(), nil)
		e, err := q.Expr(c.src)
		if err != nil {
			t.Errorf("%s: %v", c.src, err)
			continue
		}
		got := f.eval(t, q, e)
		for id, w := range c.want {
			if !same(got[id][0], w) {
				t.Errorf("%s on %s = %s, want %s", c.src, id, show(got[id][0]), show(w))
			}
		}
		if ae, err := all.Expr(c.src); err == nil {
			allExprs = append(allExprs, ae)
			allIdx = append(allIdx, i)
		}
	}
	got := f.eval(t, all, allExprs...)
	for k, i := range allIdx {
		for id, w := range cases[i].want {
			if !same(got[id][k], w) {
				t.Errorf("combined query: %s on %s = %s, want %s", cases[i].src, id, show(got[id][k]), show(w))
			}
		}
	}
}

func TestAggregateErrors(t *testing.T) {
	t.Parallel()
	f := setup(t)
	cases := []struct{ src, want string }{
		{`any(lines, .amount > price)`,
			"inside an aggregate over lines, read line fields with a leading dot (.price); header fields cannot be used here\n" +
				" | any(lines, .amount > price)\n" +
				" | .....................^^^^^"},
		{`count(lines, name == "a")`,
			"inside an aggregate over lines, read line fields with a leading dot (.name); header fields cannot be used here\n" +
				" | count(lines, name == \"a\")\n" +
				" | .............^^^^"},
		{`sum(lines, .kind)`,
			"expected a number here, this is a string\n" +
				" | sum(lines, .kind)\n" +
				" | ...........^"},
		{`any(lines, .amount)`,
			"expected a boolean here, this is a number\n" +
				" | any(lines, .amount)\n" +
				" | ...........^"},
		{`any(lines, .nope)`,
			"s.line has no field \"nope\" (fields: id, item_id, amount, kind)\n" +
				" | any(lines, .nope)\n" +
				" | ............^^^^"},
		{`sum(lines)`,
			"sum needs the field to aggregate: sum(lines, .amount) or sum(map(lines, .amount))\n" +
				" | sum(lines)\n" +
				" | ^^^"},
	}
	for _, c := range cases {
		q := compile.NewQuery(f.scope(), nil)
		_, err := q.Expr(c.src)
		checkErr(t, c.src, err, c.want)
	}
	// Without lines in the scope.
	s := f.scope()
	s.Lines = nil
	_, err := compile.NewQuery(s, nil).Expr(`count(lines)`)
	checkErr(t, "count(lines) without lines", err, "lines can only be aggregated in header expressions\n | count(lines)\n | ......^^^^^")
}

func checkErr(t *testing.T, what string, err error, want string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want\n%s", what, want)
		return
	}
	var ce *compile.Error
	if !errors.As(err, &ce) {
		t.Errorf("%s: error %T is not a *compile.Error: %v", what, err, err)
	}
	if err.Error() != want {
		t.Errorf("%s: error\n%s\nwant\n%s", what, err.Error(), want)
	}
}

// ---------------------------------------------------------------------------
// 4. Lookups.
// ---------------------------------------------------------------------------

func TestLookups(t *testing.T) {
	t.Parallel()
	f := setup(t)
	q := compile.NewQuery(f.scope(), nil)
	var es []compile.Expr
	for _, src := range []string{
		`rate_for(code).pct`,
		`rate_for(code) == nil`,
		`rate_for(code)`,
		`period_for(code, d).label`,
		`period_for(code, d)`,
		`rate_for("b").pct`,
	} {
		e, err := q.Expr(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		es = append(es, e)
	}
	got := f.eval(t, q, es...) // also asserts the duplicates did not multiply rows
	want := map[string][]any{
		// code 'a', d 2024-01-15: two equal period rows (p1/p3) both match; either is fine
		"i01": {10, false, "r1", "H1|H1dup", "p1|p3", 5},
		"i02": {5, false, "r3", "B", "p4", 5}, // code 'b'
		"i05": {nil, true, nil, nil, nil, 5},  // code 'padded'
		"i06": {10, false, "r1", "H1|H1dup", "p1|p3", 5},
		"i10": {10, false, "r1", nil, nil, 5}, // d NULL
		"i13": {nil, true, nil, nil, nil, 5},  // code NULL does not match rate r4 (code NULL)
		"i17": {10, false, "r1", nil, nil, 5}, // d 2025-02-01: after every period of 'a'
		"i25": {5, false, "r3", "B", "p4", 5},
	}
	for id, w := range want {
		for i := range w {
			g := got[id][i]
			if s, ok := w[i].(string); ok && strings.Contains(s, "|") {
				if gs, _ := g.(string); !strings.Contains("|"+s+"|", "|"+gs+"|") || gs == "" {
					t.Errorf("%s: %s = %s, want one of %s", id, es[i].SQL, show(g), s)
				}
				continue
			}
			if !same(g, w[i]) {
				t.Errorf("%s: expression #%d = %s, want %s\n%s", id, i, show(g), show(w[i]), q.From())
			}
		}
	}
	// The two duplicates of period (a, 2024-01-01) give one consistent row: label and key agree.
	for _, id := range []string{"i01", "i06"} {
		label, key := got[id][3], got[id][4]
		if (label == "H1") != (key == "p1") {
			t.Errorf("%s: period label %v and key %v come from different rows", id, label, key)
		}
	}
}

// A range lookup must find the row whose range holds the value. With overlapping
// ranges the ASOF join picks the latest start <= value and then drops it when the
// value is past its end, even though another row's range holds the value.
func TestRangeLookupWithOverlappingRanges(t *testing.T) {
	t.Parallel()
	f := setup(t)
	q := compile.NewQuery(f.scope(), nil)
	e, err := q.Expr(`era_for(d).label`)
	if err != nil {
		t.Fatal(err)
	}
	got := f.eval(t, q, e)
	want := map[string]any{
		"i19": "June", // 2024-06-01
		"i04": "June", // 2024-06-30
		"i01": "Year", // 2024-01-15
		"i16": "Year", // 2024-07-01: in Year (e1), after June (e2)
		"i21": "Year", // 2024-08-15
		"i08": nil,    // 2025-01-01
		"i05": nil,    // d NULL
	}
	for id, w := range want {
		if !same(got[id][0], w) {
			t.Errorf("era_for(d).label on %s = %s, want %s (ranges: Year 2024-01-01..2024-12-31, June 2024-06-01..2024-06-30)",
				id, show(got[id][0]), show(w))
		}
	}
}

// The value a range lookup tests need not be a column of the root row.
func TestRangeLookupWithComputedValue(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, c := range []struct {
		src  string
		want map[string]any
	}{
		{`era_for(date("2024-06-15")).label`, map[string]any{"i01": "June", "i13": "June"}},
		{`period_for(code, date("2024-02-01")).id`, map[string]any{"i01": "p1|p3", "i02": "p4", "i13": nil}},
	} {
		q := compile.NewQuery(f.scope(), nil)
		e, err := q.Expr(c.src)
		if err != nil {
			t.Errorf("%s: %v", c.src, err)
			continue
		}
		got, _, err := f.evalErr(q, e)
		if err != nil {
			t.Errorf("%s compiles but its SQL fails: %v", c.src, err)
			continue
		}
		for id, w := range c.want {
			g := got[id][0]
			if ws, ok := w.(string); ok && strings.Contains(ws, "|") {
				if gs, _ := g.(string); gs == "" || !strings.Contains("|"+ws+"|", "|"+gs+"|") {
					t.Errorf("%s on %s = %s, want one of %s", c.src, id, show(g), ws)
				}
				continue
			}
			if !same(g, w) {
				t.Errorf("%s on %s = %s, want %s", c.src, id, show(g), show(w))
			}
		}
	}
}

func TestLookupErrors(t *testing.T) {
	t.Parallel()
	f := setup(t)
	_, err := compile.NewQuery(f.scope(), nil).Expr(`rate_for(code, d)`)
	checkErr(t, "arity", err, "rate_for takes 1 argument(s), got 2\n | rate_for(code, d)\n | ^^^^^^^^")
	_, err = compile.NewQuery(f.scope(), nil).Expr(`rate_for(code).nope`)
	checkErr(t, "member", err, "s.rate has no field \"nope\" (fields: id, code, pct)\n | rate_for(code).nope\n | ...............^^^^")
}

// ---------------------------------------------------------------------------
// 5. Errors with carets.
// ---------------------------------------------------------------------------

func TestErrors(t *testing.T) {
	t.Parallel()
	f := setup(t)
	fields := "id, name, code, qty, price, n, active, d, group_id"
	funcs := "lookups: era_for, period_for, rate_for; functions: " + strings.Join(functionNames(), ", ")
	cases := []struct {
		kind, src, want string
	}{
		{"expr", `nme == "a"`,
			"s.item has no field \"nme\": did you mean name? (fields: " + fields + ")\n | nme == \"a\"\n | ^^^"},
		{"expr", `qty > 1 and group.nope`,
			"s.grp has no field \"nope\" (fields: id, label, flag, parent_id)\n | qty > 1 and group.nope\n | ..................^^^^"},
		{"expr", `"é" + nme`,
			"s.item has no field \"nme\": did you mean name? (fields: " + fields + ")\n | \"é\" + nme\n | ......^^^"},
		{"expr", `lines`,
			"lines is a collection: aggregate it, e.g. any(lines, .line_type == \"Item\") or count(lines)\n | lines\n | ^^^^^"},
		{"expr", `lines == nil`,
			"lines is a collection: aggregate it, e.g. any(lines, .line_type == \"Item\") or count(lines)\n | lines == nil\n | ^^^^^"},
		{"expr", `settings`,
			"this names a group of values, not a value: add a member, e.g. settings.default_company\n | settings\n | ^^^^^^^^"},
		{"expr", `settings.nope`,
			"no setting \"nope\" here (known: label, limit, names, none, on, rate)\n | settings.nope\n | .........^^^^"},
		{"expr", `settings.names`,
			"a list can only be used after `in`\n | settings.names\n | .........^^^^^"},
		{"expr", `name + 1`,
			"expected a string here, this is a number\n | name + 1\n | .......^"},
		{"expr", `rate_for(qty).pct`,
			"rate_for compares this with s.rate.code, a string: this is a number\n | rate_for(qty).pct\n | .........^^^"},
		{"expr", `period_for(code, name).label`,
			"period_for compares this with s.period.valid_from, a date: this is a string\n | period_for(code, name).label\n | .................^^^^"},
		{"expr", `d > date("2024-02-30")`,
			"not a date: write it as YYYY-MM-DD, e.g. 2024-01-31\n | d > date(\"2024-02-30\")\n | .........^^^^^^^^^^^^"},
		{"expr", `qty - "a"`,
			"expected a number here, this is a string\n | qty - \"a\"\n | ......^^^"},
		{"expr", `name == 1`,
			"cannot compare a string with a number\n | name == 1\n | .....^^"},
		{"expr", `active < true`,
			"cannot order a boolean against a boolean\n | active < true\n | .......^"},
		{"expr", `qty and active`,
			"expected a boolean here, this is a number\n | qty and active\n | ^^^"},
		{"expr", `not name`,
			"expected a boolean here, this is a string\n | not name\n | ....^^^^"},
		{"expr", `active ? 1 : "a"`,
			"both branches must be of one kind: a number and a string\n | active ? 1 : \"a\"\n | ...............^"},
		{"expr", `name ?? 1`,
			"both sides of ?? must be of one kind: a string and a number\n | name ?? 1\n | .....^^"},
		{"expr", `name in "a"`,
			"`in` needs a list, e.g. line_type in [\"Item\", \"Drop Ship Item\"]\n | name in \"a\"\n | ........^^^"},
		{"expr", `name.first`,
			"cannot read \"first\" here: the value before the dot is a plain field, not a reference to another record\n | name.first\n | .....^^^^^"},
		{"expr", `frobnicate(name)`,
			"unknown function \"frobnicate\" (" + funcs + ")\n | frobnicate(name)\n | ^^^^^^^^^^"},
		{"expr", `left(name)`,
			"left takes 2 argument(s), got 1\n | left(name)\n | ^^^^"},
		{"expr", `upper(qty)`,
			"expected a string here, this is a number\n | upper(qty)\n | ......^^^"},
		{"expr", `split(name, ",")`,
			"built-in split() is not supported here (supported: any, all, none, count, sum over lines, min, max, first, last of map(lines, .x); len, upper, lower, trim, abs, date)\n | split(name, \",\")\n | ^^^^^"},
		{"expr", `name == (`,
			"unexpected token EOF\n | name == (\n | ........^"},
		{"expr", `qty > > 1`,
			"unexpected token Operator(\">\")\n | qty > > 1\n | ......^"},
		{"expr", `.name == "a"`,
			"unexpected token Operator(\".\")\n | .name == \"a\"\n | ^"},
		{"path", `Group > Nope`,
			"s.grp has no field \"Nope\" (fields: id, label, flag, parent_id)\n | Group > Nope\n | ........^^^^"},
		{"path", `Item Name > Label`,
			"cannot step to \"Label\": the step before it is a plain field, not a reference to another record\n | Item Name > Label\n | ............^^^^^"},
		{"path", `Group >  > Label`,
			"empty step in path\n | Group >  > Label\n | .........^"},
		{"template", `item {name costs {price}`,
			"this { has no closing }\n | item {name costs {price}\n | .....^"},
		{"template", `item {name} costs {prise}!`,
			"s.item has no field \"prise\": did you mean price? (fields: " + fields + ")\n | item {name} costs {prise}!\n | ...................^^^^^"},
		{"template", `é {name} {name + 1}`,
			"expected a string here, this is a number\n | é {name} {name + 1}\n | .................^"},
		{"template", `x {name ==}`,
			"unexpected token EOF\n | x {name ==}\n | .........^"},
	}
	for _, c := range cases {
		q := compile.NewQuery(f.scope(), nil)
		var err error
		switch c.kind {
		case "expr":
			_, err = q.Expr(c.src)
		case "path":
			_, err = q.Path(c.src)
		case "template":
			_, err = q.Template(c.src)
		}
		checkErr(t, c.kind+" "+c.src, err, c.want)
		// A field not found is named apart, for a caller that stands in for a field
		// that failed to say nothing more of it.
		var ce *compile.Error
		if errors.As(err, &ce) && strings.Contains(c.want, "has no field") {
			if name := strings.SplitN(c.want, "\"", 3)[1]; ce.Missing != name {
				t.Errorf("%s: Missing = %q, want %q", c.src, ce.Missing, name)
			}
		}
	}
}

func TestCaret(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		src      string
		from, to int
		want     string
	}{
		{"abc", 1, 2, " | abc\n | .^"},
		{"abc", 1, 1, " | abc\n | .^"},    // empty range: one caret
		{"abc", 9, 12, " | abc\n | ...^"}, // past the end: clamped
		{"a\nb", 2, 3, " | a b\n | ..^"},  // newlines flattened
		{"éé x", 3, 4, " | éé x\n | ...^"},
		// A long expression is shown around the mistake: 53 before it, 160 in all.
		{strings.Repeat("a", 1000) + "bad" + strings.Repeat("z", 1000), 1000, 1003,
			" | …" + strings.Repeat("a", 53) + "bad" + strings.Repeat("z", 104) + "…\n | " + strings.Repeat(".", 54) + "^^^"},
		{"bad" + strings.Repeat("z", 1000), 0, 3, " | bad" + strings.Repeat("z", 157) + "…\n | ^^^"},
	} {
		if got := compile.Caret(c.src, c.from, c.to); got != c.want {
			t.Errorf("Caret(%q, %d, %d) =\n%s\nwant\n%s", c.src, c.from, c.to, got, c.want)
		}
	}
}

// ---------------------------------------------------------------------------
// 6. Templates.
// ---------------------------------------------------------------------------

func TestTemplates(t *testing.T) {
	t.Parallel()
	f := setup(t)
	q := compile.NewQuery(f.scope(), nil)
	var es []compile.Expr
	for _, src := range []string{
		"item {name} costs {price}",
		"{{literal}} {name ?? \"}\"}",
		"plain",
		"",
		"{group.label}/{active}",
		"{ \"{\" + (code ?? \"}\") }",
	} {
		e, err := q.Template(src)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		es = append(es, e)
	}
	got := f.eval(t, q, es...)
	want := map[string][]any{
		"i01": {"item alpha costs 2.50", "{literal} alpha", "plain", "", "First/true", "{a"},
		"i06": {"item (empty) costs (empty)", "{literal} }", "plain", "", "First/true", "{a"},
		"i13": {"item (empty) costs (empty)", "{literal} }", "plain", "", "(empty)/(empty)", "{}"},
	}
	for id, w := range want {
		for i := range w {
			if !same(got[id][i], w[i]) {
				t.Errorf("%s: template #%d = %s, want %s\nSQL: %s", id, i, show(got[id][i]), show(w[i]), es[i].SQL)
			}
		}
	}
}

// ---------------------------------------------------------------------------
// Misc.
// ---------------------------------------------------------------------------

func TestIdentifiers(t *testing.T) {
	t.Parallel()
	got, err := compile.Identifiers(`group.label == settings.label and qty > 1`)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	if want := []string{"group", "qty", "settings"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Identifiers = %v, want %v", got, want)
	}
	// "not function names"
	got, err = compile.Identifiers(`present(name) ?? rate_for(code).pct`)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	if want := []string{"code", "name"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Identifiers(present(name) ?? rate_for(code).pct) = %v, want %v (function names are documented as excluded)", got, want)
	}
	if _, err := compile.Identifiers(`a ==`); err == nil {
		t.Error("Identifiers of a broken expression: no error")
	}
}

// Env is optional in a Scope as far as the type goes (Env.rel handles a nil *Env);
// compiling a plain field must not panic without one.
func TestNilEnv(t *testing.T) {
	t.Parallel()
	f := setup(t)
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("compiling `name` with a nil Env panics: %v", r)
		}
	}()
	q := compile.NewQuery(compile.Scope{Root: compile.Rel{SQL: "s.item", Table: f.item}}, nil)
	if _, err := q.Expr(`name`); err != nil {
		t.Error(err)
	}
}

func functionNames() []string {
	var names []string
	for _, f := range compile.Functions() {
		names = append(names, f.Name)
	}
	return names
}
