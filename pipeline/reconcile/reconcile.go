// Package reconcile checks, per flow and period, that what was exported adds up: each
// exported record's total in the source against its documents' lines, and journals'
// balance; every record that does not is listed. What a flow's records and documents
// total is declared in its spec (the reconcile section); the records and documents are
// read where they live, as a run reads them.
package reconcile

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/plan"
	"github.com/oimconnect/oimconnect/pipeline/spec"
)

// Request says what to reconcile.
type Request struct {
	From, To string   // document dates, YYYY-MM-DD, both included; empty: all history
	Flows    []string // empty: every flow with a reconcile section
}

// Report is a reconciliation's result.
type Report struct {
	From, To string
	Flows    []FlowReport
}

// FlowReport is one flow's periods and the records that do not add up.
type FlowReport struct {
	Flow       string
	Periods    []Period
	Mismatches []Mismatch
}

// Period is a month of document dates: its exported records, their source and document
// totals and the difference (decimals as text), and the journals that do not balance.
type Period struct {
	Period                        string // YYYY-MM
	Records                       int64
	Source, Documents, Difference string
	Unbalanced                    int64
}

// Mismatch is a record whose documents do not add up (or a journal that does not
// balance: Documents is its total, Source empty).
type Mismatch struct {
	Record, Period, Source, Documents, Difference, Reason string
}

// OK says every record of every flow adds up.
func (r *Report) OK() bool {
	for _, f := range r.Flows {
		if len(f.Mismatches) > 0 {
			return false
		}
	}
	return true
}

// Check plans every flow's reconciliation without running it, for validate: a mistake
// in a reconcile section is found with the flows' own, not when reconcile runs.
func Check(ctx context.Context, eng *pipeline.Engine) error {
	m, err := eng.Model(ctx)
	if _, ok := spec.ProblemsOf(err); ok {
		return nil // the model's mistakes are the flows' plans' too: said there
	}
	if err != nil {
		return err
	}
	var probs spec.Problems
	for _, f := range eng.Specs().Ordered() {
		if _, err := plan.Reconcile(f, m, eng.Config().Settings.Map(), "", ""); probs.Add(err) != nil {
			return err
		}
	}
	if len(probs) > 0 {
		return fault.Input(probs)
	}
	return nil
}

// Run reconciles the requested flows over the requested dates.
func Run(ctx context.Context, eng *pipeline.Engine, req Request) (*Report, error) {
	from, to, err := dates(req)
	if err != nil {
		return nil, err
	}
	m, err := eng.Model(ctx)
	if err != nil {
		return nil, err
	}
	flows, err := eng.Plan(ctx, pipeline.Request{Flows: req.Flows}) // checks the names
	if err != nil {
		return nil, err
	}
	rep := &Report{From: req.From, To: req.To}
	for _, p := range flows {
		f := eng.Specs().Flows[p.Flow]
		rc, err := plan.Reconcile(f, m, eng.Config().Settings.Map(), from, to)
		if err != nil {
			return nil, fault.Input(err)
		}
		if rc == nil {
			if len(req.Flows) > 0 {
				return nil, fault.Inputf("flow %s has no reconcile section in its spec: nothing to compare", p.Flow)
			}
			continue
		}
		fr := FlowReport{Flow: p.Flow}
		err = eng.Stage(ctx, rc.Stage, rc.Temps, rc.Views, func(ctx context.Context, q *sql.Conn) error {
			if rc.Records != "" {
				return fr.records(ctx, q, rc.Records)
			}
			return fr.balance(ctx, q, rc.Periods, rc.Unbalanced)
		})
		if err != nil {
			return nil, fmt.Errorf("reconcile %s: %w", p.Flow, err)
		}
		rep.Flows = append(rep.Flows, fr)
	}
	return rep, nil
}

// dates turns the request's inclusive range into [from, to).
func dates(req Request) (from, to string, err error) {
	if req.From == "" && req.To == "" {
		return "", "", nil
	}
	f, err1 := time.Parse(time.DateOnly, req.From)
	t, err2 := time.Parse(time.DateOnly, req.To)
	if err1 != nil || err2 != nil {
		return "", "", fault.Inputf("reconcile needs --from and --to as YYYY-MM-DD, both or neither (got %q and %q)", req.From, req.To)
	}
	if t.Before(f) {
		return "", "", fault.Inputf("reconcile: --to %s is before --from %s", req.To, req.From)
	}
	return req.From, t.AddDate(0, 0, 1).Format(time.DateOnly), nil
}

// records reads each record's totals, sums them per period, and lists the mismatches.
func (fr *FlowReport) records(ctx context.Context, q *sql.Conn, query string) error {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	periods := map[string]*sums{}
	var order []string
	for rows.Next() {
		var rec, period, src, doc string
		var ok bool
		if err := rows.Scan(&rec, &period, &src, &doc, &ok); err != nil {
			return err
		}
		s, d := decimal.RequireFromString(src), decimal.RequireFromString(doc)
		p := periods[period]
		if p == nil {
			p = &sums{}
			periods[period] = p
			order = append(order, period)
		}
		p.records++
		p.src, p.doc = p.src.Add(s), p.doc.Add(d)
		if !ok {
			fr.Mismatches = append(fr.Mismatches, Mismatch{Record: rec, Period: period, Source: money(s), Documents: money(d),
				Difference: money(d.Sub(s)), Reason: "its documents total " + money(d) + ", the record " + money(s)})
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, k := range order {
		p := periods[k]
		fr.Periods = append(fr.Periods, Period{Period: k, Records: p.records, Source: money(p.src), Documents: money(p.doc), Difference: money(p.doc.Sub(p.src))})
	}
	return nil
}

// money shows an amount with two decimals, or all of them when it has more.
func money(d decimal.Decimal) string {
	if d.Equal(d.Round(2)) {
		return d.StringFixed(2)
	}
	return d.String()
}

type sums struct {
	records  int64
	src, doc decimal.Decimal
}

// balance counts the records per period and lists the documents that do not balance.
func (fr *FlowReport) balance(ctx context.Context, q *sql.Conn, periods, unbalanced string) error {
	rows, err := q.QueryContext(ctx, periods)
	if err != nil {
		return err
	}
	at := map[string]int{}
	for rows.Next() {
		var p Period
		if err := rows.Scan(&p.Period, &p.Records); err != nil {
			rows.Close()
			return err
		}
		at[p.Period] = len(fr.Periods)
		fr.Periods = append(fr.Periods, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if rows, err = q.QueryContext(ctx, unbalanced); err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var rec, period, doc, total string
		if err := rows.Scan(&rec, &period, &doc, &total); err != nil {
			return err
		}
		fr.Periods[at[period]].Unbalanced++
		t := money(decimal.RequireFromString(total))
		fr.Mismatches = append(fr.Mismatches, Mismatch{Record: rec, Period: period, Documents: t, Difference: t,
			Reason: "journal " + doc + " does not balance: its lines sum to " + t})
	}
	return rows.Err()
}
