package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/oimconnect/oimconnect/pipeline/catalog"
)

// write plans the inserts and the write-back; they run in the same transaction as the
// stage, so a source record is exported completely or not at all.
func (b *builder) write() {
	if len(b.probs) > 0 || b.target == nil {
		return
	}
	// Records OIM changed after the batch read them (chg) are written nothing: the
	// store finds them when it writes (see Guard) and the next run exports them.
	b.temp("chg", fmt.Sprintf("SELECT %s AS _hkey FROM %s LIMIT 0", key(b.header), b.tmp("h")))
	unchanged := func(col string) string { return col + " NOT IN (SELECT _hkey FROM " + b.tmp("chg") + ")" }
	good := func(col string) string {
		return col + " NOT IN (SELECT _hkey FROM " + b.tmp("bad") + ") AND " + unchanged(col)
	}
	w := func(name string, wr *Write) { b.plan.Write = append(b.plan.Write, wr.statement(name)) }
	upsert := b.f.Document.Upsert != nil
	fresh := "" // records whose documents are not written already
	if b.recovers() {
		fresh = " AND _hkey NOT IN (SELECT _hkey FROM " + b.tmp("rec") + ")"
	}
	for _, o := range b.plan.Outputs {
		cols := make([]string, len(o.Columns))
		for i, c := range o.Columns {
			cols[i] = catalog.Ident(c)
		}
		only := fresh
		if o.Header && upsert {
			only = " AND _existing IS NULL"
		}
		src := o.Temp
		// Records may share a created or an existing document: it is written once, from
		// the record that is latest (upsert.latest), else of the lowest key, so that the
		// next run finds it as the latest left it and writes nothing; every record links
		// to it.
		const first = "QUALIFY row_number() OVER (PARTITION BY %s ORDER BY _latest DESC NULLS LAST, _hkey) = 1"
		if o.Header && upsert {
			src = fmt.Sprintf("(SELECT * FROM %s WHERE %s%s "+first+")", o.Temp, good("_hkey"), only, key(o.Target))
		}
		w("insert "+o.Target.FullName(), &Write{Table: o.Target, Columns: o.Columns,
			Rows: fmt.Sprintf("SELECT %s FROM %s WHERE %s%s", strings.Join(cols, ", "), src, good("_hkey"), only)})
		if o.Header && upsert && len(o.Columns) > 1 {
			w("update "+o.Target.FullName(), &Write{Table: o.Target, Update: true, Columns: o.Columns[1:],
				Rows: fmt.Sprintf("SELECT _existing AS _key, %s FROM %s WHERE _update AND %s "+first,
					strings.Join(cols[1:], ", "), o.Temp, good("_hkey"), "_existing")})
		}
		if o.Header && upsert && len(b.linked) > 0 {
			// Rows only linked get what records the link, unless another record updates
			// them in this run.
			linked := make([]string, len(b.linked))
			for i, c := range b.linked {
				linked[i] = catalog.Ident(c)
			}
			w("link "+o.Target.FullName(), &Write{Table: o.Target, Update: true, Columns: b.linked,
				Rows: fmt.Sprintf("SELECT _existing AS _key, %s FROM %s WHERE _existing IS NOT NULL AND NOT _update AND %s AND _existing NOT IN (SELECT _existing FROM %s WHERE _update AND %s) "+first,
					strings.Join(linked, ", "), o.Temp, good("_hkey"), o.Temp, good("_hkey"), "_existing")})
		}
	}
	h := b.header
	var cols, vals []string
	if b.tracked() {
		cols = append(cols, b.status, b.errCol)
		vals = append(vals, "'Exported'", "CAST(NULL AS VARCHAR)")
	}
	links := fmt.Sprintf("(SELECT _hkey, max_by(_doc_id, _split) AS _link FROM %s GROUP BY 1)", b.tmp("docs"))
	if upsert {
		links = fmt.Sprintf("(SELECT _hkey, coalesce(_existing, %s) AS _link FROM %s)", key(b.target), b.tmp("o0"))
	}
	if link := b.f.Document.WriteBack.Link; link != "" {
		cols = append(cols, link)
		vals = append(vals, "_link")
	}
	if len(cols) > 0 {
		w("write back "+h.FullName(), &Write{Table: h, Update: true, Source: true, Columns: cols,
			Rows: fmt.Sprintf("SELECT _hkey AS _key, %s FROM %s WHERE %s", named(vals, cols), links, good("_hkey"))})
	}
	if b.f.Document.WhenEmpty == "skip" && b.hasSeq && b.tracked() {
		w("export empty "+h.FullName(), &Write{Table: h, Update: true, Source: true, Columns: cols[:2],
			Rows: fmt.Sprintf(`SELECT %[1]s AS _key, %[2]s FROM %[3]s
WHERE _ready AND %[1]s NOT IN (SELECT _hkey FROM %[4]s) AND %[5]s`, key(h), named(vals[:2], cols[:2]), b.tmp("h"), b.tmp("docs"), good(key(h)))})
	}
	for _, k := range b.kindList {
		if k.fromHdr || k.Skip || k.WriteBack.Link == "" || b.lines == nil {
			continue
		}
		// A line's id is its document's and its number (stageOutputs), so the links
		// come from the sequence, not from the mapped lines.
		w("write back "+b.lines.FullName(), &Write{Table: b.lines, Update: true, Source: true, Columns: []string{k.WriteBack.Link},
			Rows: fmt.Sprintf("SELECT _lkey AS _key, _doc_id || '/' || _line_number AS %s FROM %s WHERE _kind = %d AND %s",
				catalog.Ident(k.WriteBack.Link), b.tmp("seq"), k.index, good("_hkey"))})
	}
	if b.tracked() {
		w("mark errors "+h.FullName(), &Write{Table: h, Update: true, Source: true, Columns: cols[:2],
			Rows: fmt.Sprintf("SELECT _hkey AS _key, 'Export Error' AS %s, _msg AS %s FROM %s WHERE %s",
				catalog.Ident(cols[0]), catalog.Ident(cols[1]), b.tmp("bad"), unchanged("_hkey"))})
	}
	if slices.ContainsFunc(b.plan.Write, func(st Statement) bool { return st.Write.Source }) {
		b.plan.Guard = &Guard{Header: h, Lines: b.lines, Parent: b.parent, Changed: b.tmp("chg"),
			Keys: fmt.Sprintf("SELECT DISTINCT CAST(%s AS VARCHAR) FROM %s", key(h), b.tmp("h"))}
	}

	// The run's report: each record's outcome and documents, or its failure.
	b.plan.Failures = fmt.Sprintf("SELECT CAST(_hkey AS VARCHAR) AS record, _msg AS reason FROM %s WHERE %s ORDER BY 1", b.tmp("bad"), unchanged("_hkey"))
	docs := "CAST(" + key(b.target) + " AS VARCHAR)"
	if upsert {
		docs = "CAST(coalesce(_existing, " + key(b.target) + ") AS VARCHAR)"
	}
	outcome := "'exported'"
	if b.recovers() {
		outcome = "CASE WHEN _hkey IN (SELECT _hkey FROM " + b.tmp("rec") + ") THEN 'recovered' ELSE 'exported' END"
	}
	b.plan.Outcomes = fmt.Sprintf(`SELECT CAST(_hkey AS VARCHAR) AS record, 'failed' AS outcome, CAST(NULL AS VARCHAR) AS documents, _msg AS reason FROM %[1]s WHERE %[6]s
UNION ALL
SELECT CAST(_hkey AS VARCHAR), any_value(%[3]s), string_agg(DISTINCT %[4]s, ', ' ORDER BY %[4]s), CAST(NULL AS VARCHAR)
FROM %[2]s WHERE %[5]s GROUP BY _hkey
UNION ALL
SELECT CAST(_hkey AS VARCHAR), 'waiting', CAST(NULL AS VARCHAR), %[7]s FROM %[8]s`,
		b.tmp("bad"), b.tmp("o0"), outcome, docs, good("_hkey"), unchanged("_hkey"), catalog.Literal(ChangedReason), b.tmp("chg"))

	docsWritten := fresh
	if upsert {
		docsWritten = " AND (_existing IS NULL OR _update)"
	}
	lines := "0"
	if b.hasSeq && len(b.plan.Outputs) > 1 { // the sequence holds every written line
		lines = fmt.Sprintf("(SELECT count(*) FROM %s WHERE %s%s)", b.tmp("seq"), good("_hkey"), fresh)
	}
	recovered := "0"
	if b.recovers() {
		recovered = "(SELECT count(*) FROM " + b.tmp("rec") + " WHERE " + unchanged("_hkey") + ")"
	}
	// A record changed meanwhile waits for the next run.
	b.plan.Counts = fmt.Sprintf(`SELECT
  (SELECT count(*) FROM %[1]s WHERE _ready AND %[9]s) AS selected,
  (SELECT count(*) FROM %[1]s WHERE NOT _ready) + (SELECT count(*) FROM %[10]s) AS waiting,
  (SELECT count(*) FROM %[2]s WHERE %[11]s) AS errors,
  (SELECT count(DISTINCT %[7]s) FROM %[3]s WHERE %[4]s%[6]s) AS documents,
  %[5]s AS lines,
  %[8]s AS recovered`, b.tmp("h"), b.tmp("bad"), b.tmp("o0"), good("_hkey"), lines, docsWritten, key(b.target), recovered,
		unchanged(key(b.header)), b.tmp("chg"), unchanged("_hkey"))
}

// ChangedReason is why a record OIM changed while a run exported it was not exported.
const ChangedReason = "OIM changed it while this run exported it: nothing of it was written, and the next run exports it as it is now"

// Guard is what a store writing back to a database that OIM writes meanwhile (a
// PostgreSQL source) checks before it marks a batch's records: that each record, its
// header row and its lines, is still as the batch read it. Records OIM changed since
// go into Changed (_hkey), and the writes leave them out: the statements are replayed
// after the check.
type Guard struct {
	Header, Lines *catalog.Table // Lines is nil for a flow without lines
	Parent        string         // the lines' column holding their header's key
	Keys          string         // a query over the stage: the batch's record keys, as text
	Changed       string
}

// named is "v1 AS c1, v2 AS c2".
func named(vals, cols []string) string {
	out := make([]string, len(vals))
	for i := range vals {
		out[i] = vals[i] + " AS " + catalog.Ident(cols[i])
	}
	return strings.Join(out, ", ")
}
