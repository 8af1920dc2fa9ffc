package plan

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/compile"
	"github.com/oimconnect/oimconnect/pipeline/spec"
)

// notNullGroup orders the connector's own "field is empty" messages last; they are
// dropped for records that broke a spec rule already, whose message says more.
const notNullGroup = 9

// rules compiles validity rules into one message expression per rule.
func (b *builder) rules(q *compile.Query, at []string, rules []spec.Rule, prefix string) []string {
	var msgs []string
	for i, r := range rules {
		rat := append(append([]string{}, at...), fmt.Sprint(i))
		if r.Check == "" {
			b.errorf(rat, "a rule needs check: the condition that must hold")
			continue
		}
		check, err := q.Bool(r.Check)
		if err != nil {
			b.exprError(append(rat, "check"), err)
			continue
		}
		cond := "NOT " + check.SQL
		if r.When != "" {
			when, err := q.Bool(r.When)
			if err != nil {
				b.exprError(append(rat, "when"), err)
				continue
			}
			cond = when.SQL + " AND " + cond
		}
		if r.Message == "" {
			b.errorf(rat, "a rule needs message: the export_error text when it fails")
			continue
		}
		msg, err := q.Template(r.Message)
		if err != nil {
			b.exprError(append(rat, "message"), err)
			continue
		}
		m := msg.SQL
		if prefix != "" {
			m = "concat(" + prefix + ", " + m + ")"
		}
		msgs = append(msgs, fmt.Sprintf("CASE WHEN %s THEN %s END", cond, m))
	}
	return msgs
}

// onlyFailing narrows a rule scope's root to the rows that break at least one rule, so
// the joins only messages need run for those rows alone. Compile errors are left for
// rules to report.
func (b *builder) onlyFailing(scope compile.Scope, key string, rules []spec.Rule) compile.Scope {
	q := compile.NewQuery(scope, &b.counter)
	var fails []string
	for _, r := range rules {
		check, err := q.Bool(r.Check)
		if err != nil {
			return scope
		}
		cond := "NOT " + check.SQL
		if r.When != "" {
			when, err := q.Bool(r.When)
			if err != nil {
				return scope
			}
			cond = when.SQL + " AND " + cond
		}
		fails = append(fails, "("+cond+")")
	}
	if len(fails) == 0 {
		return scope
	}
	root := scope.Root
	root.SQL = fmt.Sprintf("(SELECT * FROM %s WHERE %s IN (SELECT %s.%s\n%s\nWHERE %s))", root.SQL, key, q.Alias(), key, q.From(), strings.Join(fails, " OR "))
	scope.Root = root
	return scope
}

func joinMessages(msgs []string) string {
	return "array_to_string(list_filter([" + strings.Join(msgs, ",\n    ") + "], x -> x IS NOT NULL), '; ')"
}

// stageErrors builds err (every reason, one row each) and bad (one message per record).
func (b *builder) stageErrors() {
	var parts []string
	hk := key(b.header)
	// Header rules.
	if len(b.f.Rules.Header) > 0 {
		scope := b.onlyFailing(compile.Scope{Root: b.headerRel(), Lines: b.stagedLines(), Env: b.env}, hk, b.f.Rules.Header)
		q := compile.NewQuery(scope, &b.counter)
		msgs := b.rules(q, []string{"rules", "header"}, b.f.Rules.Header, "")
		if len(msgs) > 0 {
			parts = append(parts, fmt.Sprintf("SELECT * FROM (SELECT %s.%s AS _hkey, 0 AS _grp, 0 AS _o, %s AS _msg\n%s\nWHERE %s._ready) WHERE _msg <> ''",
				q.Alias(), hk, joinMessages(msgs), q.From(), q.Alias()))
		}
	}
	// Line rules, each message naming its line.
	if b.lines != nil {
		lk := key(b.lines)
		order := ""
		for _, o := range b.f.Source.Lines.Order {
			order += catalog.Ident(o) + ", "
		}
		if len(b.f.Rules.Lines) > 0 {
			scope := b.onlyFailing(compile.Scope{Root: b.linesRel(), Aliases: b.aliases(), Env: b.env}, lk, b.f.Rules.Lines)
			q := compile.NewQuery(scope, &b.counter)
			a := q.Alias()
			msgs := b.rules(q, []string{"rules", "lines"}, b.f.Rules.Lines, "'line ' || "+a+"."+lk+" || ': '")
			if len(msgs) > 0 {
				parts = append(parts, fmt.Sprintf("SELECT * FROM (SELECT %s.%s AS _hkey, 1 AS _grp, row_number() OVER (PARTITION BY %s.%s ORDER BY %s%s.%s) AS _o, %s AS _msg\n%s) WHERE _msg <> ''",
					a, catalog.Ident(b.parent), a, catalog.Ident(b.parent), prefixed(a, order), a, lk, joinMessages(msgs), q.From()))
			}
		}
		if b.kinded {
			parts = append(parts, fmt.Sprintf("SELECT _hkey, 1 AS _grp, 0 AS _o, 'line ' || _lkey || ': no kind of document line applies to it' AS _msg FROM %s WHERE _kind IS NULL",
				b.tmp("k")))
		}
	}
	if b.hasSeq && (b.f.Document.WhenEmpty == "" || b.f.Document.WhenEmpty == "error") {
		parts = append(parts, fmt.Sprintf("SELECT %s AS _hkey, 2 AS _grp, 0 AS _o, 'nothing to export: the record has no lines' AS _msg FROM %s WHERE _ready AND %s NOT IN (SELECT _hkey FROM %s)",
			hk, b.tmp("h"), hk, b.tmp("seq")))
	}
	if b.target == nil {
		return
	}
	// A document id already taken: exported before, then reset by hand. When
	// recovering, a record whose documents all exist was exported by an earlier run
	// whose write-back did not happen (rec); only a partial match is an error.
	// The target's documents with the staged ids (x) are fetched by key: the few
	// candidates' ids looked up, never the target's ids gathered.
	tk := key(b.target)
	b.fetch("x", &Fetch{Table: b.target, Into: b.tmp("x"), Column: b.target.Key, Keys: "SELECT " + tk + " FROM " + b.tmp("o0")})
	creates := ""
	if b.f.Document.Upsert != nil {
		creates = " AND _existing IS NULL"
	}
	if b.recovers() {
		b.temp("rec", fmt.Sprintf(`SELECT _hkey FROM %s GROUP BY _hkey
HAVING bool_and(%s IN (SELECT %s FROM %s))`, b.tmp("o0"), tk, tk, b.tmp("x")))
		creates = " AND _hkey NOT IN (SELECT _hkey FROM " + b.tmp("rec") + ")"
	}
	parts = append(parts, fmt.Sprintf("SELECT _hkey, 3 AS _grp, 0 AS _o, 'document ' || %s || ' already exists in %s' AS _msg FROM %s WHERE %s IN (SELECT %s FROM %s)%s",
		tk, b.target.FullName(), b.tmp("o0"), tk, tk, b.tmp("x"), creates))
	// Required target fields left empty by the mapping.
	for _, o := range b.plan.Outputs {
		var checks []string
		var any []string
		from, cols := o.Temp, o.Columns
		if o.Check != "" {
			from, cols = "("+o.Check+")", o.CheckColumns
		}
		for _, c := range cols {
			col, _ := o.Target.Column(c)
			if col == nil || !col.NotNull || c == o.Target.Key {
				continue
			}
			what := emptyReason(o, c)
			checks = append(checks, fmt.Sprintf("CASE WHEN %s IS NULL THEN %s END", catalog.Ident(c), what))
			any = append(any, catalog.Ident(c)+" IS NULL")
		}
		if len(checks) == 0 {
			continue
		}
		who := "'document ' || " + tk + " || ': '"
		if !o.Header {
			who = "'line ' || coalesce(_lkey, " + b.kindNames() + ") || ': '"
		}
		parts = append(parts, fmt.Sprintf("SELECT _hkey, %d AS _grp, 0 AS _o, %s || concat_ws('; ', %s) AS _msg FROM %s WHERE %s",
			notNullGroup, who, strings.Join(checks, ", "), from, strings.Join(any, " OR ")))
	}
	if len(b.probs) > 0 {
		return
	}
	b.temp("err", strings.Join(parts, "\nUNION ALL\n"))
	exported := "" // recovered records are exported, whatever their data says now
	if b.recovers() {
		exported = " AND _hkey NOT IN (SELECT _hkey FROM " + b.tmp("rec") + ")"
	}
	b.temp("bad", fmt.Sprintf(`SELECT _hkey, string_agg(_msg, '; ' ORDER BY _grp, _o, _msg) AS _msg
FROM (SELECT *, bool_or(_grp < %d) OVER (PARTITION BY _hkey) AS _other FROM %s)
WHERE (_grp < %d OR NOT _other)%s
GROUP BY 1`, notNullGroup, b.tmp("err"), notNullGroup, exported))
	b.plan.Bad = b.tmp("bad")
}

// emptyReason is the SQL of the reason a record cannot be exported when an output's
// required column is empty: the spec's words for the line's kind (Output.Empty).
func emptyReason(o Output, col string) string {
	plain := catalog.Literal(o.Target.Name + "." + col + " is empty")
	reasons := o.Empty[col]
	if o.Header {
		if r, ok := reasons[0]; ok {
			return catalog.Literal(r)
		}
		return plain
	}
	if len(reasons) == 0 {
		return plain
	}
	var when []string
	for _, k := range slices.Sorted(maps.Keys(reasons)) {
		when = append(when, fmt.Sprintf("WHEN %d THEN %s", k, catalog.Literal(reasons[k])))
	}
	return fmt.Sprintf("CASE _kind %s ELSE %s END", strings.Join(when, " "), plain)
}

func prefixed(alias, order string) string {
	if order == "" {
		return ""
	}
	var out []string
	for _, o := range strings.Split(strings.TrimSuffix(order, ", "), ", ") {
		out = append(out, alias+"."+o)
	}
	return strings.Join(out, ", ") + ", "
}

func (b *builder) kindNames() string {
	s := "CASE _kind"
	for _, k := range b.kindList {
		s += fmt.Sprintf(" WHEN %d THEN %s", k.index, catalog.Literal(k.Name+" line"))
	}
	return s + " END"
}

// recovers reports whether the plan treats records whose documents exist as exported.
func (b *builder) recovers() bool {
	return b.plan.opt.Recover && b.f.Document.Upsert == nil && b.target != nil
}
