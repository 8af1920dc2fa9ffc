package transforms_test

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"

	_ "github.com/marcboeker/go-duckdb"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/compile"
	_ "github.com/oimconnect/oimconnect/transforms"
)

var (
	text    = catalog.Type{Kind: catalog.String, SQL: "VARCHAR"}
	number  = catalog.Type{Kind: catalog.Number, SQL: "DECIMAL(18,2)"}
	boolean = catalog.Type{Kind: catalog.Bool, SQL: "BOOLEAN"}
)

// Each built-in function's SQL, run in DuckDB on literal arguments, gives its
// documented result; money stays decimal.
func TestFunctions(t *testing.T) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cases := []struct {
		fn   string
		args []string
		want string // "NULL" for nil
	}{
		{"present", []string{"'ACME'"}, "ACME"},
		{"present", []string{"' \t\n'"}, "NULL"},
		{"present", []string{"''"}, "NULL"},
		{"present", []string{"NULL"}, "NULL"},
		{"present", []string{"chr(160) || 'x'"}, "\u00a0x"},
		{"empty", []string{"chr(160) || chr(133)"}, "true"},
		{"empty", []string{"NULL"}, "true"},
		{"empty", []string{"0"}, "false"},
		{"empty", []string{"' a '"}, "false"},
		{"left", []string{"'Net 30 days end of month'", "6"}, "Net 30"},
		{"left", []string{"'abc'", "-1"}, ""},
		{"left", []string{"'abc'", "10"}, "abc"},
		{"round_half_up", []string{"2.345", "2"}, "2.35"},
		{"round_half_up", []string{"-2.345", "2"}, "-2.35"},
		{"round_half_up", []string{"0.125", "2"}, "0.13"},
		{"string", []string{"12"}, "12"},
		{"exact_unit_price", []string{"10.00", "4"}, "2.50"},
		{"exact_unit_price", []string{"10.00", "3"}, "NULL"},
		{"exact_unit_price", []string{"10.00", "0"}, "NULL"},
		{"exact_unit_price", []string{"-7.50", "2.5"}, "-3.00"},
		{"exact_unit_price", []string{"99999999999999999.99", "0.0001"}, "NULL"},
	}
	for _, c := range cases {
		f, ok := compile.FunctionNamed(c.fn)
		if !ok {
			t.Fatalf("%s is not registered", c.fn)
		}
		q := "SELECT CAST(" + f.SQL(c.args) + " AS VARCHAR)"
		var got sql.NullString
		if err := db.QueryRow(q).Scan(&got); err != nil {
			t.Errorf("%s(%s): %v\n%s", c.fn, strings.Join(c.args, ", "), err, q)
			continue
		}
		s := "NULL"
		if got.Valid {
			s = got.String
		}
		if s != c.want {
			t.Errorf("%s(%s) = %q, want %q", c.fn, strings.Join(c.args, ", "), s, c.want)
		}
	}
}

// balanced adds a record's rounding residue to its line of largest absolute value, so
// each record's lines sum to zero.
func TestBalanced(t *testing.T) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f, _ := compile.FunctionNamed("balanced")
	q := fmt.Sprintf(`SELECT rec, line, CAST(%s AS VARCHAR) FROM (VALUES
		('A', 1, 10.00::DECIMAL(18,2)), ('A', 2, -3.33::DECIMAL(18,2)), ('A', 3, -6.66::DECIMAL(18,2)),
		('B', 1, 5.00::DECIMAL(18,2)), ('B', 2, -5.00::DECIMAL(18,2))) AS t(rec, line, v) ORDER BY rec, line`,
		f.Window([]string{"v"}, "rec", "line"))
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var rec, v string
		var line int
		if err := rows.Scan(&rec, &line, &v); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s/%d %s", rec, line, v))
	}
	want := "A/1 9.99 A/2 -3.33 A/3 -6.66 B/1 5.00 B/2 -5.00"
	if g := strings.Join(got, " "); g != want {
		t.Errorf("balanced: got %s, want %s", g, want)
	}
}

// A call with the wrong kinds of arguments is refused with the function's name and the
// argument's position; nil fits every kind.
func TestArgumentKinds(t *testing.T) {
	cases := []struct {
		fn   string
		args []catalog.Type
		want string
	}{
		{"present", []catalog.Type{number}, "present: argument 1 must be a"},
		{"left", []catalog.Type{text}, "left takes 2 argument(s), got 1"},
		{"exact_unit_price", []catalog.Type{number, text}, "exact_unit_price: argument 2 must be a"},
		{"balanced", []catalog.Type{boolean}, "balanced: argument 1 must be a"},
		{"present", []catalog.Type{{Kind: catalog.Nil}}, ""},
		{"empty", []catalog.Type{number}, ""},
	}
	for _, c := range cases {
		f, _ := compile.FunctionNamed(c.fn)
		_, err := f.Result(c.args)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.fn, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: got %v, want %q", c.fn, err, c.want)
		}
	}
}
