package plan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/oimconnect/oimconnect/pipeline/catalog"

	"github.com/oimconnect/oimconnect/pipeline/spec"
)

// Index is an index a PostgreSQL source needs for the fetches of the flows' plans to
// read a few rows, not the table: the records still to export (a partial index on the
// export status, small however long history is), and the lines by their header.
// DuckDB needs none: it skips row groups by their minimum and maximum (new records are
// appended together) and finds keys by the primary key's index.
type Index struct {
	Name, Schema, Table string
	Columns             []string
	Where               string // a partial index's condition
}

// SourceIndexes are the indexes the flows' candidates and lines are fetched by.
func SourceIndexes(flows []*spec.Flow) []Index {
	seen := map[string]bool{}
	var out []Index
	add := func(ix Index) {
		if !seen[ix.Name] {
			seen[ix.Name] = true
			out = append(out, ix)
		}
	}
	for _, f := range flows {
		schema, table := splitName(f.Source.Table)
		if f.Source.Status != "none" {
			status := f.Source.Status
			if status == "" {
				status = "export_status"
			}
			add(Index{Name: "oimconnect_" + table + "_pending", Schema: schema, Table: table, Columns: []string{status},
				Where: `"` + status + `" IN ('New', 'Export Error')`})
		}
		if l := f.Source.Lines; l != nil {
			ls, lt := splitName(l.Table)
			add(Index{Name: "oimconnect_" + lt + "_" + l.Parent, Schema: ls, Table: lt, Columns: []string{l.Parent}})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func splitName(full string) (schema, table string) {
	for i := 0; i < len(full); i++ {
		if full[i] == '.' {
			return full[:i], full[i+1:]
		}
	}
	return "", full
}

// DDL creates the index where it is missing (PostgreSQL).
func (ix Index) DDL() string {
	cols := make([]string, len(ix.Columns))
	for i, c := range ix.Columns {
		cols[i] = catalog.Ident(c)
	}
	ddl := fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s.%s (%s)", catalog.Ident(ix.Name), catalog.Ident(ix.Schema), catalog.Ident(ix.Table), strings.Join(cols, ", "))
	if ix.Where != "" {
		ddl += " WHERE " + ix.Where
	}
	return ddl
}
