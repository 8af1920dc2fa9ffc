// Package explain tells why one record would or would not be exported, and what it
// would create: every select and ready condition with the values it read, the derived
// fields and where each came from, every rule's outcome, and the rows it would write.
// It stages the record through the engine's Inspect, so it reads exactly what a run
// reads, and writes nothing.
package explain

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/catalog"
	"github.com/oimconnect/oimconnect/pipeline/compile"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/plan"
	"github.com/oimconnect/oimconnect/pipeline/spec"
)

// Explanation tells why one record would or would not be exported, and what it would
// create: every condition and rule with the values it saw, without writing anything.
type Explanation struct {
	Flow, ID   string
	Status     string // the record's export status now
	Conditions []Condition
	Derived    []Derived   // the record's
	Lines      []LineField // the lines' derived fields
	Rules      []RuleOutcome
	Outcome    string
	Documents  []pipeline.Row
}

// Condition is a select or ready condition's outcome.
type Condition struct {
	Section, Expr string
	Pass          bool
	Values        [][2]string // operand, value
}

// Derived is a derived field of the record, or its value on one line (Line, the line's
// key): its value, the record's or line's own value, the expression.
type Derived struct {
	Name, Value, Expr string
	Given             *string // the record's or line's own value, when the field is a column
	Line              string
}

// FromRecord reports whether the value is the one the record (or line) gave, which wins
// over the derivation.
func (d Derived) FromRecord() bool {
	return d.Given != nil && *d.Given != "null" && strings.TrimSpace(*d.Given) != ""
}

// LineField is one derived line field and its value on each line, in the order of the
// lines' keys.
type LineField struct {
	Name, Expr string
	Lines      []Derived
}

// RuleOutcome is a validity rule's outcome on the record or one of its lines.
type RuleOutcome struct {
	Line, Check, Message string
	Applies, Pass        bool
}

// Record explains one record of one flow.
func Record(ctx context.Context, eng *pipeline.Engine, flow, id string) (*Explanation, error) {
	f := eng.Specs().Flows[flow]
	if f == nil {
		// The engine names the known flows.
		if _, err := eng.Plan(ctx, pipeline.Request{Flows: []string{flow}}); err != nil {
			return nil, err
		}
	}
	x := &Explanation{Flow: flow, ID: id}
	found := false
	var p *plan.Plan
	look := func(ctx context.Context, tx *sql.Tx, pl *plan.Plan, _ pipeline.Summary) error {
		p = pl
		// The record as the run staged it: its candidates (New or Export Error, or every
		// record of an untracked source) were fetched from wherever the source lives. The
		// source table itself need not be in the working database (a PostgreSQL source's
		// is an empty shell there): a record that is no candidate is read below, through
		// the store.
		status := "NULL"
		if p.Status != "" {
			status = "CAST(" + catalog.Ident(p.Status) + " AS VARCHAR)"
		}
		var st sql.NullString
		err := tx.QueryRowContext(ctx, fmt.Sprintf("SELECT %s FROM %s WHERE %s = ?", status, p.Candidates, catalog.Ident(p.Source.Key)), id).Scan(&st)
		if err == sql.ErrNoRows {
			return nil
		}
		if err != nil {
			return err
		}
		found, x.Status = true, st.String
		hs, err := rows(ctx, tx, "SELECT COLUMNS(*)::VARCHAR FROM "+p.Temp("h"))
		if err != nil || len(hs) == 0 {
			return err
		}
		h := hs[0]
		x.explainConditions(f, h)
		x.explainDerived(f, h)
		if h.get("_ready") != "true" {
			return nil
		}
		if err := x.explainLines(ctx, tx, f, p); err != nil {
			return err
		}
		if err := x.explainRules(ctx, tx, f, p); err != nil {
			return err
		}
		bad, err := rows(ctx, tx, "SELECT _msg FROM "+p.Bad)
		if err != nil {
			return err
		}
		if len(bad) > 0 {
			x.Outcome = "Export Error: " + bad[0].get("_msg")
			return nil
		}
		for _, o := range p.Outputs {
			out, err := rows(ctx, tx, "SELECT COLUMNS(*)::VARCHAR FROM "+o.Temp)
			if err != nil {
				return err
			}
			for _, r := range out {
				row := pipeline.Row{Table: o.Target.FullName()}
				for _, c := range o.Columns {
					row.Fields = append(row.Fields, [2]string{c, r.get(c)})
				}
				x.Documents = append(x.Documents, row)
			}
		}
		x.Outcome = fmt.Sprintf("exported: %d row(s) written", len(x.Documents))
		if len(x.Documents) == 0 {
			x.Outcome = "exported with no document"
		}
		return nil
	}
	if err := eng.Inspect(ctx, flow, id, look); err != nil {
		return nil, err
	}
	if !found {
		// No candidate: every record of an untracked source is one, so there is no such
		// record; a tracked record's status is read where the source lives (the store).
		var rec *pipeline.Document
		if p.Status != "" {
			var err error
			if rec, err = eng.Source(ctx, flow, id); err != nil {
				return nil, err
			}
		}
		if rec == nil {
			return nil, fault.Inputf("%s has no record %q", p.Source.FullName(), id)
		}
		x.Status = rec.Get(p.Status)
	}
	switch {
	case x.Outcome != "":
	case p.Status != "" && x.Status != "New" && x.Status != "Export Error":
		x.Outcome = fmt.Sprintf("not a candidate: its %s is %q (only New and Export Error are exported)", p.Status, x.Status)
	default:
		for _, c := range x.Conditions {
			if !c.Pass && c.Section == "select" {
				x.Outcome = "left untouched: a select condition does not hold"
				return x, nil
			}
		}
		x.Outcome = "waits: a ready condition does not hold yet"
	}
	return x, nil
}

func (x *Explanation) explainConditions(f *spec.Flow, h record) {
	for _, sec := range []struct {
		name, prefix string
		conds        []string
	}{{"select", "_sel", f.Select}, {"ready", "_rdy", f.Ready}} {
		for i, c := range sec.conds {
			cond := Condition{Section: sec.name, Expr: c, Pass: h.get(fmt.Sprintf("%s%d", sec.prefix, i)) == "true"}
			for j, op := range compile.Operands(c) {
				cond.Values = append(cond.Values, [2]string{op, h.get(fmt.Sprintf("_v_%s_%d_%d", sec.name, i, j))})
			}
			x.Conditions = append(x.Conditions, cond)
		}
	}
}

func (x *Explanation) explainDerived(f *spec.Flow, h record) {
	for _, name := range spec.SortedKeys(f.Derive.Header) {
		d := Derived{Name: name, Value: h.get(name), Expr: f.Derive.Header[name]}
		if g, ok := h["_given_"+name]; ok {
			d.Given = &g
		}
		x.Derived = append(x.Derived, d)
	}
}

// explainLines adds the lines' derived fields, each with its value on every line, in
// the order of the lines' keys (as their rules).
func (x *Explanation) explainLines(ctx context.Context, tx *sql.Tx, f *spec.Flow, p *plan.Plan) error {
	if len(f.Derive.Lines) == 0 || p.Lines == nil || p.Temp("l") == "" {
		return nil
	}
	ls, err := rows(ctx, tx, fmt.Sprintf("SELECT COLUMNS(*)::VARCHAR FROM %s ORDER BY %s", p.Temp("l"), catalog.Ident(p.Lines.Key)))
	if err != nil {
		return err
	}
	for _, name := range spec.SortedKeys(f.Derive.Lines) {
		lf := LineField{Name: name, Expr: f.Derive.Lines[name]}
		for _, l := range ls {
			d := Derived{Name: name, Value: l.get(name), Expr: lf.Expr, Line: l.get(p.Lines.Key)}
			if g, ok := l["_given_"+name]; ok {
				d.Given = &g
			}
			lf.Lines = append(lf.Lines, d)
		}
		x.Lines = append(x.Lines, lf)
	}
	return nil
}

func (x *Explanation) explainRules(ctx context.Context, tx *sql.Tx, f *spec.Flow, p *plan.Plan) error {
	for _, sc := range []struct {
		table string
		rules []spec.Rule
		line  bool
	}{{"xh", f.Rules.Header, false}, {"xl", f.Rules.Lines, true}} {
		if p.Temp(sc.table) == "" {
			continue
		}
		rs, err := rows(ctx, tx, "SELECT COLUMNS(*)::VARCHAR FROM "+p.Temp(sc.table)+" ORDER BY _key")
		if err != nil {
			return err
		}
		for _, r := range rs {
			for i, rule := range sc.rules {
				o := RuleOutcome{Check: rule.Check, Applies: r.get(fmt.Sprintf("_applies%d", i)) == "true",
					Pass: r.get(fmt.Sprintf("_pass%d", i)) == "true", Message: r.get(fmt.Sprintf("_msg%d", i))}
				if sc.line {
					o.Line = r.get("_key")
				}
				x.Rules = append(x.Rules, o)
			}
		}
	}
	return nil
}

type record map[string]string

func (r record) get(k string) string { return r[k] }

func rows(ctx context.Context, tx *sql.Tx, q string) ([]record, error) {
	rs, err := tx.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	cols, _ := rs.Columns()
	var out []record
	for rs.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			return nil, err
		}
		r := record{}
		for i, c := range cols {
			if vals[i].Valid {
				r[c] = vals[i].String
			} else {
				r[c] = "null"
			}
		}
		out = append(out, r)
	}
	return out, rs.Err()
}

// String renders the explanation for a terminal.
func (x *Explanation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: record %s", x.Flow, x.ID)
	if x.Status != "" {
		fmt.Fprintf(&b, " (export status %s)", x.Status)
	}
	b.WriteString("\n")
	mark := func(ok bool) string {
		if ok {
			return "pass"
		}
		return "FAIL"
	}
	for _, sec := range []string{"select", "ready"} {
		first := true
		for _, c := range x.Conditions {
			if c.Section != sec {
				continue
			}
			if first {
				fmt.Fprintf(&b, "\n%s conditions:\n", sec)
				first = false
			}
			fmt.Fprintf(&b, "  %s  %s\n", mark(c.Pass), c.Expr)
			for _, v := range c.Values {
				fmt.Fprintf(&b, "          %s = %s\n", v[0], v[1])
			}
		}
	}
	if len(x.Derived) > 0 {
		b.WriteString("\nderived fields:\n")
		for _, d := range x.Derived {
			from := "derived: " + d.Expr
			if d.FromRecord() {
				from = "given on the record"
			}
			fmt.Fprintf(&b, "  %s = %s  (%s)\n", d.Name, d.Value, from)
		}
	}
	if len(x.Lines) > 0 {
		b.WriteString("\nderived line fields:\n")
		for _, f := range x.Lines {
			fmt.Fprintf(&b, "  %s  (derived: %s)\n", f.Name, f.Expr)
			for _, d := range f.Lines {
				given := ""
				if d.FromRecord() {
					given = "  (given on the line)"
				}
				fmt.Fprintf(&b, "    line %s = %s%s\n", d.Line, d.Value, given)
			}
		}
	}
	if len(x.Rules) > 0 {
		b.WriteString("\nrules:\n")
		for _, r := range x.Rules {
			where := ""
			if r.Line != "" {
				where = "line " + r.Line + ": "
			}
			switch {
			case !r.Applies:
				fmt.Fprintf(&b, "  n/a   %s%s\n", where, r.Check)
			case r.Pass:
				fmt.Fprintf(&b, "  pass  %s%s\n", where, r.Check)
			default:
				fmt.Fprintf(&b, "  FAIL  %s%s\n          -> %s\n", where, r.Check, r.Message)
			}
		}
	}
	fmt.Fprintf(&b, "\noutcome: %s\n", x.Outcome)
	for _, d := range x.Documents {
		fmt.Fprintf(&b, "  %s\n", d.Table)
		for _, f := range d.Fields {
			fmt.Fprintf(&b, "      %-28s %s\n", f[0], f[1])
		}
	}
	return b.String()
}
