// Package spectest runs the unit tests data teams write beside their specs: YAML files
// named <flow>_test.yaml, each case giving source rows (only the columns that matter)
// and the rows expected in the target and back on the source. Every case runs through
// the real engine, in a fresh in-memory DuckDB holding the contract's schemas.
package spectest

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"gopkg.in/yaml.v3"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/spec"
	"github.com/oimconnect/oimconnect/pipeline/store"
)

// File is one <flow>_test.yaml.
// The koanf tags are the keys spec.Check knows, so that a test file's mistakes are
// reported as a spec file's are.
type File struct {
	Flow string `yaml:"flow" koanf:"flow"`
	// Settings apply to every case (over the contract's defaults).
	Settings map[string]any `yaml:"settings" koanf:"settings"`
	// Given rows shared by every case (reference data), before each case's own.
	Given map[string][]map[string]any `yaml:"given" koanf:"given"`
	Tests []Case                      `yaml:"tests" koanf:"tests"`

	pos *spec.Positions // where each key is, for messages
}

// Case is one test.
type Case struct {
	Name     string                      `yaml:"name" koanf:"name"`
	Settings map[string]any              `yaml:"settings" koanf:"settings"`
	Given    map[string][]map[string]any `yaml:"given" koanf:"given"`
	// Expect lists, per table, every row the table must hold after the run, in key
	// order; only the columns written are compared.
	Expect map[string][]map[string]any `yaml:"expect" koanf:"expect"`
}

// Result is the outcome of one case.
type Result struct {
	File, Name string
	Failures   []string // empty: passed
}

// Passed says whether the case passed.
func (r Result) Passed() bool { return len(r.Failures) == 0 }

// RunDir runs every *_test.yaml of a spec directory against its specs.
func RunDir(ctx context.Context, fsys fs.FS, dir string) ([]Result, error) {
	set, err := spec.Load(fsys, dir)
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(fsys, "*_test.yaml")
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, spec.Problem{File: dir, Msg: "no spec tests found: a flow's tests are <flow>_test.yaml beside its spec"}
	}
	sort.Strings(names)
	cat, err := contract(ctx)
	if err != nil {
		return nil, err
	}
	files := make([]*File, len(names))
	var probs spec.Problems
	for i, name := range names {
		f, err := readFile(fsys, dir, name, set, cat)
		if perr := probs.Add(err); perr != nil {
			return nil, perr
		}
		files[i] = f
	}
	if len(probs) > 0 {
		return nil, probs
	}
	var out []Result
	for i, name := range names {
		f := *files[i]
		for ci, c := range f.Tests {
			r := Result{File: path.Join(dir, name), Name: c.Name}
			fails, err := run(ctx, set, cat, f, ci)
			if _, ok := spec.ProblemsOf(err); ok {
				// A mistake in the spec, not a failed expectation: said once, for
				// the spec (validate's exit status), not as a failure of every case.
				return nil, err
			}
			if err != nil {
				fails = append(fails, err.Error())
			}
			r.Failures = fails
			out = append(out, r)
		}
	}
	return out, nil
}

// readFile reads one test file, checked as spec files are: malformed YAML, an empty
// file and unknown keys at their line and column, a flow that does not exist at its
// key, and given rows naming a table or column the contract lacks at theirs, so that
// a mistake in the test is an input error, not a failed case.
func readFile(fsys fs.FS, dir, name string, set *spec.Set, cat *catalog.Catalog) (*File, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	file := path.Join(dir, name)
	pos, err := spec.Check(file, data, &File{})
	if err != nil {
		return nil, err
	}
	f := &File{pos: pos}
	if err := yaml.Unmarshal(data, f); err != nil {
		return nil, spec.Problem{File: file, Msg: "malformed test file: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	if set.Flows[f.Flow] == nil {
		var flows []string
		for _, fl := range set.Ordered() {
			flows = append(flows, fl.Name)
		}
		return nil, pos.Errorf([]string{"flow"}, "unknown flow %q (flows: %s)", f.Flow, strings.Join(flows, ", "))
	}
	var probs spec.Problems
	checkGiven(cat, pos, []string{"given"}, f.Given, &probs)
	for i, c := range f.Tests {
		checkGiven(cat, pos, []string{"tests", strconv.Itoa(i), "given"}, c.Given, &probs)
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return f, nil
}

// checkGiven reports given rows naming a table or a column the contract lacks, at
// their keys.
func checkGiven(cat *catalog.Catalog, pos *spec.Positions, at []string, given map[string][]map[string]any, probs *spec.Problems) {
	for _, table := range sortedKeys(given) {
		t, ok := cat.Table(table)
		if !ok {
			*probs = append(*probs, pos.KeyErrorf(append(at, table), "given: unknown table %s%s (tables: %s)", table,
				fault.Closest(table, cat.Tables()), strings.Join(cat.Tables(), ", ")))
			continue
		}
		for i, row := range given[table] {
			for _, k := range sortedKeys(row) {
				if _, ok := t.Column(k); !ok {
					*probs = append(*probs, pos.KeyErrorf(append(at, table, strconv.Itoa(i), k), "given %s row %d: no column %s%s (columns: %s)",
						table, i+1, k, fault.Closest(k, t.ColumnNames()), strings.Join(t.ColumnNames(), ", ")))
				}
			}
		}
	}
}

// contract is the contract's catalog, which every case's database holds.
func contract(ctx context.Context) (*catalog.Catalog, error) {
	db, err := contractDB(ctx)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return catalog.Read(ctx, db, "oim", "acct")
}

// contractDB is an in-memory database holding the contract's empty schemas, on one
// connection (one in-memory database, one connection).
func contractDB(ctx context.Context) (*sql.DB, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if err := catalog.Init(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func run(ctx context.Context, set *spec.Set, cat *catalog.Catalog, f File, ci int) ([]string, error) {
	c := f.Tests[ci]
	settings := map[string]any{}
	for k, v := range f.Settings {
		settings[k] = v
	}
	for k, v := range c.Settings {
		settings[k] = v
	}
	cfg, err := config.WithSettings(settings)
	if err != nil {
		return nil, err
	}
	db, err := contractDB(ctx)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	for _, given := range []map[string][]map[string]any{f.Given, c.Given} {
		if err := insert(ctx, db, cat, given); err != nil {
			return nil, err
		}
	}
	eng, err := pipeline.New(store.NewLocal(db, "the test's database", store.Hooks{}), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), pipeline.WithSpecs(set))
	if err != nil {
		return nil, err
	}
	if _, err := eng.Run(ctx, pipeline.Request{Flows: []string{f.Flow}}); err != nil {
		return nil, err
	}
	var fails []string
	for _, table := range sortedKeys(c.Expect) {
		fails = append(fails, compare(ctx, db, cat, table, c.Expect[table])...)
	}
	return fails, nil
}

// insert writes the given rows; NOT NULL columns left out get a plain default (the
// row's key for text, 0, false, 2024-01-01) so a test names only what matters.
func insert(ctx context.Context, db *sql.DB, cat *catalog.Catalog, given map[string][]map[string]any) error {
	for _, table := range sortedKeys(given) {
		t, ok := cat.Table(table)
		if !ok {
			return fmt.Errorf("given: unknown table %s", table)
		}
		for i, row := range given[table] {
			var cols, vals []string
			var args []any
			for _, c := range t.Columns {
				v, ok := row[c.Name]
				if !ok {
					if !c.NotNull || c.HasDefault {
						continue
					}
					v = placeholder(c, row[t.Key], i)
				}
				cols = append(cols, catalog.Ident(c.Name))
				vals = append(vals, "?")
				args = append(args, bindable(v))
			}
			for k := range row {
				if _, ok := t.Column(k); !ok {
					return fmt.Errorf("given %s row %d: no column %s (columns: %s)", table, i+1, k, strings.Join(t.ColumnNames(), ", "))
				}
			}
			q := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", t.SQLName(), strings.Join(cols, ", "), strings.Join(vals, ", "))
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("given %s row %d: %w", table, i+1, err)
			}
		}
	}
	return nil
}

func placeholder(c *catalog.Column, key any, i int) any {
	switch c.Type.Kind {
	case catalog.Number:
		return 0
	case catalog.Bool:
		return false
	case catalog.Date, catalog.Timestamp:
		return "2024-01-01"
	}
	if key != nil {
		return fmt.Sprint(key)
	}
	return fmt.Sprintf("%s-%d", c.Name, i+1)
}

// compare checks a table holds exactly the expected rows, in key order, on the
// columns the test names.
func compare(ctx context.Context, db *sql.DB, cat *catalog.Catalog, table string, want []map[string]any) []string {
	t, ok := cat.Table(table)
	if !ok {
		return []string{fmt.Sprintf("expect: unknown table %s", table)}
	}
	colSet := map[string]bool{}
	for _, row := range want {
		for k := range row {
			colSet[k] = true
		}
	}
	var cols []string
	for _, c := range t.ColumnNames() {
		if colSet[c] {
			cols = append(cols, c)
			delete(colSet, c)
		}
	}
	for c := range colSet {
		return []string{fmt.Sprintf("expect %s: no column %s (columns: %s)", table, c, strings.Join(t.ColumnNames(), ", "))}
	}
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = "CAST(" + catalog.Ident(c) + " AS VARCHAR)"
	}
	if len(sel) == 0 {
		sel = []string{"1"}
	}
	rows, err := db.QueryContext(ctx, fmt.Sprintf("SELECT %s FROM %s ORDER BY %s", strings.Join(sel, ", "), t.SQLName(), catalog.Ident(t.Key)))
	if err != nil {
		return []string{err.Error()}
	}
	defer rows.Close()
	var got [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(sel))
		ptrs := make([]any, len(sel))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return []string{err.Error()}
		}
		r := make([]string, len(cols))
		for i := range cols {
			r[i] = show(vals[i])
		}
		got = append(got, r)
	}
	var fails []string
	for i, w := range want {
		if i >= len(got) {
			fails = append(fails, fmt.Sprintf("%s: row %d missing: want %s", table, i+1, render(cols, w)))
			continue
		}
		for j, c := range cols {
			wv, named := w[c]
			if !named {
				continue
			}
			if ws := showAny(wv); !same(wv, got[i][j]) {
				fails = append(fails, fmt.Sprintf("%s row %d: %s: want %s, got %s", table, i+1, c, ws, got[i][j]))
			}
		}
	}
	for i := len(want); i < len(got); i++ {
		fails = append(fails, fmt.Sprintf("%s: unexpected row %d: %s", table, i+1, strings.Join(got[i], ", ")))
	}
	return fails
}

// bindable passes YAML numbers as exact text, so DuckDB casts them to DECIMAL without
// going through floating point.
func bindable(v any) any {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return v
}

// same compares an expected YAML value with a column's text: numbers as decimals
// (10 equals 10.00), dates by their day.
func same(want any, got string) bool {
	switch w := want.(type) {
	case int, float64:
		wd, err1 := decimal.NewFromString(showAny(w))
		gd, err2 := decimal.NewFromString(got)
		return err1 == nil && err2 == nil && wd.Equal(gd)
	}
	return showAny(want) == got
}

func show(v sql.NullString) string {
	if !v.Valid {
		return "null"
	}
	return v.String
}

func showAny(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		if x {
			return "true"
		}
		return "false"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 {
			return x.Format("2006-01-02")
		}
		return x.Format("2006-01-02 15:04:05")
	}
	return fmt.Sprint(v)
}

func render(cols []string, row map[string]any) string {
	var parts []string
	for _, c := range cols {
		if v, ok := row[c]; ok {
			parts = append(parts, c+"="+showAny(v))
		}
	}
	return strings.Join(parts, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
