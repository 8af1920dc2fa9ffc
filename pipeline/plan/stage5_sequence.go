package plan

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/compile"
	"github.com/oimconnect/oimconnect/pipeline/spec"
)

// kind is a line kind with its resolved target.
type kind struct {
	spec.LineKind
	index   int
	target  *catalog.Table
	tindex  int // index of the target among the line targets
	fromHdr bool
}

func (b *builder) kinds() []kind {
	var out []kind
	targets := map[string]int{}
	for i, lk := range b.f.Document.Lines {
		at := []string{"document", "lines", fmt.Sprint(i)}
		k := kind{LineKind: lk, index: i}
		switch lk.From {
		case "lines":
			if b.lines == nil {
				b.errorf(append(at, "from"), "from: lines needs source.lines")
			}
		case "header":
			k.fromHdr = true
		default:
			b.errorf(append(at, "from"), "from must be lines or header, not %q", lk.From)
		}
		if lk.Name == "" {
			k.Name = fmt.Sprintf("line kind %d", i+1)
		}
		if lk.Skip {
			if k.fromHdr {
				b.errorf(append(at, "skip"), "skip applies to source lines (from: lines)")
			}
			out = append(out, k)
			continue
		}
		k.target = b.table(append(at, "into"), lk.Into)
		if k.target != nil {
			if lk.Parent == "" {
				b.errorf(at, "missing key \"parent\": the target column holding the document id")
			} else {
				b.column(append(at, "parent"), k.target, lk.Parent)
			}
			ti, ok := targets[k.target.FullName()]
			if !ok {
				ti = len(targets) + 1
				targets[k.target.FullName()] = ti
			}
			k.tindex = ti
		}
		if lk.WriteBack.Link != "" {
			if k.fromHdr {
				b.errorf(append(at, "write_back", "link"), "an extra line has no source line to write back to")
			} else if b.lines != nil {
				b.column(append(at, "write_back", "link"), b.lines, lk.WriteBack.Link)
			}
		}
		out = append(out, k)
	}
	return out
}

// lineLimit compiles the line_limit expression to a constant.
func (b *builder) lineLimit() string {
	src := b.f.Document.LineLimit
	if src == "" {
		return ""
	}
	q := compile.NewQuery(compile.Scope{Root: compile.Rel{SQL: "(SELECT 1)", Table: b.header}, Env: &compile.Env{Constants: b.rawEnv.Constants}}, &b.counter)
	e, err := q.Expr(src)
	if err != nil {
		b.exprError([]string{"document", "line_limit"}, err)
		return ""
	}
	if n, err := strconv.Atoi(e.SQL); err != nil {
		b.errorf([]string{"document", "line_limit"}, "line_limit must be a whole number known before the run (a number, a constant or a setting such as settings.sales_invoice_line_limit), got %s", src)
	} else if n < 1 {
		b.errorf([]string{"document", "line_limit"}, "line_limit must be at least 1, got %d", n)
	}
	return e.SQL
}

// stageSequence builds seq (every document line in output order, with its split,
// document id and line number) and docs (one row per document).
func (b *builder) stageSequence() {
	kinds := b.kinds()
	limit := b.lineLimit()
	b.kindList = kinds
	var order []string
	if b.lines != nil {
		for i := range b.f.Source.Lines.Order {
			order = append(order, fmt.Sprintf("_o%d", i+1))
		}
	}
	orderSQL := strings.Join(append(append([]string{"_grp"}, order...), "_lkey"), ", ")
	var branches []string
	// Source lines take the first kind whose condition holds.
	var cases []string
	lq := compile.NewQuery(compile.Scope{Root: b.linesRel(), Aliases: b.aliases(), Env: b.env}, &b.counter)
	for _, k := range kinds {
		if k.fromHdr || b.lines == nil {
			continue // without source lines, kinds() has reported the mistake
		}
		when := "TRUE"
		if k.When != "" {
			e, err := lq.Bool(k.When)
			if err != nil {
				b.exprError([]string{"document", "lines", fmt.Sprint(k.index), "when"}, err)
				continue
			}
			when = e.SQL
		}
		cases = append(cases, fmt.Sprintf("WHEN %s THEN %d", when, k.index))
	}
	targetOf := func(kindCol string) string {
		s := "CASE " + kindCol
		for _, k := range kinds {
			if !k.Skip {
				s += fmt.Sprintf(" WHEN %d THEN %d", k.index, k.tindex)
			}
		}
		return s + " END"
	}
	var skips []string
	conditional := false
	for _, k := range kinds {
		if k.Skip {
			skips = append(skips, fmt.Sprint(k.index))
		}
		conditional = conditional || (!k.fromHdr && k.When != "")
	}
	if len(cases) > 0 {
		t := lq.Alias()
		cols := []string{t + "." + catalog.Ident(b.parent) + " AS _hkey", t + "." + key(b.lines) + " AS _lkey", "CASE " + strings.Join(cases, " ") + " END AS _kind", "0 AS _grp"}
		for i, o := range b.f.Source.Lines.Order {
			cols = append(cols, t+"."+catalog.Ident(o)+fmt.Sprintf(" AS _o%d", i+1))
		}
		assign := fmt.Sprintf("SELECT %s\n%s", strings.Join(cols, ", "), lq.From())
		if conditional {
			// Keep every line's kind (NULL: none applies) to report unmatched lines.
			b.temp("k", assign)
			assign = "SELECT * FROM " + b.tmp("k")
			b.kinded = true
		}
		keep := "_kind IS NOT NULL"
		if len(skips) > 0 {
			keep += " AND _kind NOT IN (" + strings.Join(skips, ", ") + ")"
		}
		branches = append(branches, fmt.Sprintf("SELECT * FROM (%s) WHERE %s", assign, keep))
	}
	grp := 0
	for _, k := range kinds {
		if !k.fromHdr {
			continue
		}
		grp++
		q := compile.NewQuery(compile.Scope{Root: b.headerRel(), Lines: b.stagedLines(), Env: b.env}, &b.counter)
		when := "TRUE"
		if k.When != "" {
			e, err := q.Bool(k.When)
			if err != nil {
				b.exprError([]string{"document", "lines", fmt.Sprint(k.index), "when"}, err)
				continue
			}
			when = e.SQL
		}
		cols := []string{q.Alias() + "." + key(b.header) + " AS _hkey", "NULL AS _lkey", fmt.Sprintf("%d AS _kind", k.index), fmt.Sprintf("%d AS _grp", grp)}
		for i := range order {
			cols = append(cols, fmt.Sprintf("NULL AS _o%d", i+1))
		}
		branches = append(branches, fmt.Sprintf("SELECT %s\n%s\nWHERE %s._ready AND %s", strings.Join(cols, ", "), q.From(), q.Alias(), when))
	}
	prefix := catalog.Literal(b.f.Document.IDPrefix)
	if len(branches) > 0 {
		split := "0"
		if limit != "" {
			split = fmt.Sprintf("(row_number() OVER (PARTITION BY _hkey ORDER BY %s) - 1) // %s", orderSQL, limit)
		}
		b.temp("seq", fmt.Sprintf(`WITH u AS (
%s
),
n AS (SELECT u.*, %s AS _target, %s AS _split FROM u)
SELECT n.*,
  row_number() OVER (PARTITION BY _hkey, _split, _target ORDER BY %s) AS _line_number,
  %s || _hkey || '/' || (_split + 1) AS _doc_id
FROM n`, strings.Join(branches, "\nUNION ALL\n"), targetOf("u._kind"), split, orderSQL, prefix))
	}
	if b.f.Document.ID != "" && len(branches) > 0 {
		b.errorf([]string{"document", "id"}, "an id expression is for documents without lines; with lines use id_prefix")
		return
	}
	docs := ""
	if len(branches) > 0 {
		docs = fmt.Sprintf("SELECT _hkey, _split, _doc_id, count(*) AS _lines FROM %s GROUP BY ALL", b.tmp("seq"))
	}
	if len(branches) == 0 || b.f.Document.WhenEmpty == "document" {
		// Records without lines: one document each.
		q := compile.NewQuery(compile.Scope{Root: b.headerRel(), Lines: b.stagedLines(), Env: b.env}, &b.counter)
		t := q.Alias()
		id := fmt.Sprintf("%s || %s.%s || '/1'", prefix, t, key(b.header))
		if b.f.Document.ID != "" {
			e, err := q.Expr(b.f.Document.ID)
			if err != nil {
				b.exprError([]string{"document", "id"}, err)
				return
			}
			id = "CAST(" + e.SQL + " AS VARCHAR)"
		}
		empty := fmt.Sprintf("SELECT %s.%s AS _hkey, 0 AS _split, %s AS _doc_id, 0 AS _lines\n%s\nWHERE %s._ready",
			t, key(b.header), id, q.From(), t)
		if len(branches) > 0 {
			empty += fmt.Sprintf(" AND %s.%s NOT IN (SELECT _hkey FROM %s)", t, key(b.header), b.tmp("seq"))
			docs += "\nUNION ALL\n" + empty
		} else {
			docs = empty
		}
	}
	switch b.f.Document.WhenEmpty {
	case "", "error", "skip", "document":
	default:
		b.errorf([]string{"document", "when_empty"}, "when_empty must be error, skip or document, not %q", b.f.Document.WhenEmpty)
	}
	b.temp("docs", docs)
	b.kindList = kinds
	b.hasSeq = len(branches) > 0
}
