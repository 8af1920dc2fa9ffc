// Package catalog describes the tables the connector reads and writes: their columns and
// SQL types, primary keys, NOT NULL constraints, and the object model layered on top
// (references between tables and the labels the product documents use for columns).
// It also embeds the contract's DDL.
package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"unicode"
)

// Kind is the value class of a column or expression, as far as specs care.
type Kind int

const (
	Any Kind = iota
	Bool
	String
	Number
	Date
	Timestamp
	Nil
	List
)

func (k Kind) String() string {
	return [...]string{"any", "boolean", "string", "number", "date", "timestamp", "nil", "list"}[k]
}

// Type is the type of a column or expression. Ref is set when the value is a key of
// another table, so paths can step through it.
type Type struct {
	Kind Kind
	SQL  string // the SQL type where known, e.g. DECIMAL(18,2)
	Ref  *Table
}

// KindOf maps a DuckDB type name to a Kind.
func KindOf(sqlType string) Kind {
	t := strings.ToUpper(sqlType)
	switch {
	case t == "BOOLEAN":
		return Bool
	case t == "VARCHAR" || strings.HasPrefix(t, "VARCHAR") || t == "TEXT":
		return String
	case strings.HasPrefix(t, "DECIMAL") || strings.HasPrefix(t, "NUMERIC") || t == "INTEGER" || t == "BIGINT" ||
		t == "SMALLINT" || t == "TINYINT" || t == "HUGEINT" || t == "DOUBLE" || t == "FLOAT" || t == "REAL" || strings.HasPrefix(t, "UINTEGER") || strings.HasPrefix(t, "UBIGINT"):
		return Number
	case t == "DATE":
		return Date
	case strings.HasPrefix(t, "TIMESTAMP"):
		return Timestamp
	case strings.HasSuffix(t, "[]"):
		return List
	}
	return Any
}

// Column is one column of a table.
type Column struct {
	Name       string
	Type       Type
	NotNull    bool
	HasDefault bool
}

// Table is a table with its columns, key, references and labels.
type Table struct {
	// Database is the attached DuckDB database holding the table ("": the default one).
	Database     string
	Schema, Name string
	Columns      []*Column
	Key          string // primary key column ("id" when none is declared)
	// Indexed says the key is a declared primary key, which DuckDB finds by index: an
	// equality on it reads one row, not the table.
	Indexed bool
	byName  map[string]*Column
	refs    map[string]*Table // column -> referenced table
	labels  map[string]string // normalized label -> column
}

// FullName is schema.name.
func (t *Table) FullName() string { return t.Schema + "." + t.Name }

// SQLName is the quoted, qualified name to use in SQL.
func (t *Table) SQLName() string {
	if t.Database != "" {
		return Ident(t.Database) + "." + Ident(t.Schema) + "." + Ident(t.Name)
	}
	return Ident(t.Schema) + "." + Ident(t.Name)
}

// Column returns the column of that exact name.
func (t *Table) Column(name string) (*Column, bool) {
	c, ok := t.byName[name]
	return c, ok
}

// ColumnNames lists the columns in table order.
func (t *Table) ColumnNames() []string {
	out := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		out[i] = c.Name
	}
	return out
}

// Ref returns the table a column references, if the model declares one.
func (t *Table) Ref(column string) *Table { return t.refs[column] }

// Step is what a path step (a label, a reference name or a column name) means on a table.
type Step struct {
	Column *Column
	// Row is true when the step names the referenced row rather than the raw key:
	// "Sales Order" on oim.invoice steps into oim.sales_order, while
	// "sales_order_id" is the raw column.
	Row bool
}

// Resolve finds what a path step names on this table: the exact column name first,
// then a label from the model, then a reference name (the column without "_id"), then
// a column by normalized name ("Invoice Date" -> invoice_date, "OIM Invoice" ->
// oim_invoice_id).
func (t *Table) Resolve(step string) (Step, bool) {
	if c, ok := t.byName[step]; ok {
		return Step{Column: c}, true
	}
	n := Normalize(step)
	if col, ok := t.labels[n]; ok {
		c := t.byName[col]
		return Step{Column: c, Row: t.refs[col] != nil}, true
	}
	for _, c := range t.Columns {
		if t.refs[c.Name] != nil && RefName(c.Name) == n {
			return Step{Column: c, Row: true}, true
		}
	}
	for _, c := range t.Columns {
		if Normalize(c.Name) == n {
			return Step{Column: c}, true
		}
	}
	for _, c := range t.Columns {
		if Normalize(c.Name) == n+"id" {
			return Step{Column: c}, true
		}
	}
	return Step{}, false
}

// Spellings are the ways Resolve finds the table's columns, normalized (Normalize):
// each column's name, without "_id" too, and its labels. For a "did you mean" when a
// step names none.
func (t *Table) Spellings() map[string]string {
	out := map[string]string{}
	for _, c := range t.Columns {
		out[RefName(c.Name)] = c.Name
		out[Normalize(c.Name)] = c.Name
	}
	for l, c := range t.labels {
		out[l] = c
	}
	return out
}

// Normalize folds a label or identifier for comparison: lower case, letters and digits only.
func Normalize(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// RefName is the normalized name by which a reference column is stepped through:
// "sales_order_id" -> "salesorder".
func RefName(column string) string {
	return Normalize(strings.TrimSuffix(column, "_id"))
}

// Catalog holds every known table by "schema.name".
type Catalog struct {
	tables map[string]*Table
}

// Table looks a table up by "schema.name".
func (c *Catalog) Table(name string) (*Table, bool) {
	t, ok := c.tables[strings.ToLower(name)]
	return t, ok
}

// Tables lists the table names, sorted.
func (c *Catalog) Tables() []string {
	out := make([]string, 0, len(c.tables))
	for n := range c.tables {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// AddReference declares that table.column holds keys of target.
func (c *Catalog) AddReference(table, column, target string) error {
	t, ok := c.Table(table)
	if !ok {
		return fmt.Errorf("unknown table %s", table)
	}
	if _, ok := t.byName[column]; !ok {
		return fmt.Errorf("table %s has no column %s (columns: %s)", table, column, strings.Join(t.ColumnNames(), ", "))
	}
	tt, ok := c.Table(target)
	if !ok {
		return fmt.Errorf("unknown table %s", target)
	}
	t.refs[column] = tt
	t.byName[column].Type.Ref = tt
	return nil
}

// AddLabel declares a label (as the product documents name it) for table.column.
func (c *Catalog) AddLabel(table, label, column string) error {
	t, ok := c.Table(table)
	if !ok {
		return fmt.Errorf("unknown table %s", table)
	}
	if _, ok := t.byName[column]; !ok {
		return fmt.Errorf("table %s has no column %s (columns: %s)", table, column, strings.Join(t.ColumnNames(), ", "))
	}
	t.labels[Normalize(label)] = column
	return nil
}

// Read loads the tables of the given schemas from a DuckDB database. A schema is
// "name" (in the default database) or "database.name" (in an attached database, whose
// tables then carry the database in their SQL names).
func Read(ctx context.Context, q Querier, schemas ...string) (*Catalog, error) {
	cat := &Catalog{tables: map[string]*Table{}}
	var where []string
	var args []any
	for _, s := range schemas {
		db, schema, ok := strings.Cut(s, ".")
		if ok {
			where = append(where, "(table_catalog = ? AND table_schema = ?)")
			args = append(args, db, schema)
		} else {
			where = append(where, "(table_catalog = current_database() AND table_schema = ?)")
			args = append(args, s)
		}
	}
	rows, err := q.QueryContext(ctx, `SELECT table_catalog = current_database(), table_catalog, table_schema, table_name, column_name, data_type, is_nullable, column_default IS NOT NULL
		FROM information_schema.columns WHERE `+strings.Join(where, " OR ")+`
		ORDER BY table_schema, table_name, ordinal_position`, args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: read columns: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var dflt bool
		var db, schema, table, col, typ, nullable string
		var hasDefault bool
		if err := rows.Scan(&dflt, &db, &schema, &table, &col, &typ, &nullable, &hasDefault); err != nil {
			return nil, fmt.Errorf("catalog: read columns: %w", err)
		}
		full := strings.ToLower(schema + "." + table)
		t := cat.tables[full]
		if t == nil {
			t = &Table{Schema: schema, Name: table, Key: "id", byName: map[string]*Column{}, refs: map[string]*Table{}, labels: map[string]string{}}
			if !dflt {
				t.Database = db
			}
			cat.tables[full] = t
		}
		c := &Column{Name: col, Type: Type{Kind: KindOf(typ), SQL: typ}, NotNull: nullable == "NO", HasDefault: hasDefault}
		t.Columns = append(t.Columns, c)
		t.byName[col] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: read columns: %w", err)
	}
	rows.Close()
	keys, err := q.QueryContext(ctx, `SELECT CASE WHEN database_name = current_database() THEN '' ELSE database_name END, schema_name, table_name, constraint_column_names
		FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'`)
	if err != nil {
		return nil, fmt.Errorf("catalog: read keys: %w", err)
	}
	defer keys.Close()
	for keys.Next() {
		var db, schema, table string
		var cols any
		if err := keys.Scan(&db, &schema, &table, &cols); err != nil {
			return nil, fmt.Errorf("catalog: read keys: %w", err)
		}
		if t := cat.tables[strings.ToLower(schema+"."+table)]; t != nil && t.Database == db {
			if l, ok := cols.([]any); ok && len(l) == 1 {
				t.Key = fmt.Sprint(l[0])
				t.Indexed = true
				t.byName[t.Key].NotNull = true
			}
		}
	}
	for _, t := range cat.tables {
		t.labels[Normalize("Record ID")] = t.Key
	}
	return cat, keys.Err()
}

// Querier is what Read needs of a database handle.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Ident quotes an SQL identifier.
func Ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// Literal quotes an SQL string literal.
func Literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
