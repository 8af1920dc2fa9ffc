package console

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/plan"
)

// Every page and fragment, as a viewer: what each shows of the sales fixture, after one
// run of two records (one exported, one failed) and one of all.
func TestPages(t *testing.T) {
	h := newHarness(t, nil)
	h.run(pipeline.Request{Flows: []string{"sales-invoices"}, IDs: []string{"INV-DISC", "INV-NOCO"}, By: "cli-user"})
	runID := h.query("SELECT run_id FROM connector.run ORDER BY started_at DESC LIMIT 1")
	c := h.login("vic")

	r := c.get("/")
	wantIn(t, "overview", r, "<h1>Overview</h1>", "sales-invoices", "OIM invoices to Accounting sales invoices",
		`<b>15</b>New`, `<b>2</b>Export Error`, `<b>1</b>Exported`, // INV-OK's old error, INV-NOCO's
		`data-src="/fragments/census/sales-invoices"`, "manual: 1 exported, 1 errors", "vendor-accounts",
		"every day at 02:00", "No plugins are configured")
	if strings.Contains(r.body, "Export all eligible") {
		t.Errorf("a viewer sees the operators' buttons")
	}

	r = c.fragment("/fragments/census/sales-invoices")
	wantIn(t, "census", r, "<b>6</b> eligible now", "<b>6</b> would fail", `<b>2</b> waiting for: shipment &gt; status is &#34;Completed&#34; or (some line has`,
		`<b>2</b> left untouched, as they need: status is none of &#34;Open&#34;, &#34;Proforma&#34;`)

	r = c.get("/flows/sales-invoices/records?status=Export+Error")
	wantIn(t, "records, failed", r, "1–2 of 2", "INV-NOCO", `not exported: no company: no Accounting company is named &#34;Nobody Ltd&#34;`,
		"INV-OK", "an old reason")
	r = c.get("/flows/sales-invoices/records?q=drop")
	wantIn(t, "records, searched", r, "INV-DROP", "INV-MIXED", "1–3 of 3")
	r = c.get("/flows/sales-invoices/records?status=Exported")
	wantIn(t, "records, exported", r, "INV-DISC", "exported: its last document is SIN-INV-DISC/1", `href="/flows/sales-invoices/records/INV-DISC#documents"`)

	r = c.get("/flows/sales-invoices/records/INV-DISC")
	wantIn(t, "record, exported", r, `<h1>INV-DISC <span class="badge st-exported" id="status">Exported</span>`,
		"oim.invoice, as it is now", "discount and tax", "acct.sales_invoice SIN-INV-DISC/1", "3 lines", "Gadget", "IL-DISC-1",
		`data-src="/fragments/explain/sales-invoices/INV-DISC"`)
	r = c.get("/flows/sales-invoices/records/INV-NOCO")
	wantIn(t, "record, failed", r, `<p class="problem" id="reason"><b>Why it was not exported:</b> no company: no Accounting company is named &#34;Nobody Ltd&#34;</p>`,
		"None created yet")
	r = c.fragment("/fragments/explain/sales-invoices/INV-NOCO")
	wantIn(t, "explanation, failed", r, `Outcome:</b> Export Error: no company: no Accounting company is named &#34;Nobody Ltd&#34;`,
		"billing document id is empty", "holds", "company name", "fails")
	r = c.fragment("/fragments/explain/sales-invoices/INV-BADLINES")
	wantIn(t, "explanation, lines", r, "<h3>Derived line fields</h3>", "product_id: <span class=\"words\">if line type is one of item types", "<tr><td>IL-BAD-1</td><td>PR-WIDGET</td><td>derived</td></tr>",
		"<tr><td>IL-BAD-5</td><td>PR-NOPE</td><td>given on the line</td></tr>")
	r = c.fragment("/fragments/explain/sales-invoices/INV-OK")
	wantIn(t, "explanation, eligible", r, "Outcome:</b> exported: 3 row(s) written", "What it would create", "acct.sales_invoice", "SIN-INV-OK/1", "acct.sales_invoice_line_item")
	r = c.fragment("/fragments/explain/sales-invoices/INV-SHIPOPEN")
	wantIn(t, "explanation, waiting", r, "waits: a ready condition does not hold yet", "waits")
	if r := c.get("/flows/sales-invoices/records/INV-NONE"); r.status != http.StatusNotFound || !strings.Contains(r.body, `oim.invoice has no record &#34;INV-NONE&#34;`) {
		t.Errorf("no such record: %d\n%s", r.status, clip(r.body))
	}
	if r := c.get("/flows/ledger/records"); r.status != http.StatusNotFound {
		t.Errorf("no such flow: %d", r.status)
	}

	r = c.get("/runs")
	wantIn(t, "runs", r, "sales-invoices", "manual", "cli-user", `href="/runs/`+runID+`"`)
	r = c.get("/runs/" + runID)
	wantIn(t, "run report", r, "Records not exported (1)", "INV-NOCO", "Nobody Ltd", "Documents created (from 1 record)", "SIN-INV-DISC/1", "started by cli-user")
	// A record OIM changed while the run exported it (a PostgreSQL source) is reported
	// apart, with why.
	h.query("INSERT INTO connector.run_record VALUES (?, 'sales-invoices', 'INV-OK', 'waiting', NULL, ?) RETURNING record", runID, plan.ChangedReason)
	r = c.get("/runs/" + runID)
	wantIn(t, "run report, a record left for the next run", r, "Left for the next run (1)", `href="/flows/sales-invoices/records/INV-OK"`,
		"OIM changed it while this run exported it")

	r = c.get("/mappings")
	wantIn(t, "mappings", r, "journals", "oim.inventory_transaction", "billing document id is empty")
	r = c.get("/mappings/sales-invoices")
	wantIn(t, "mapping", r, "Mappings between Invoice Fields and Sales Invoice Fields", "<th>Invoice Field</th><th>Static Value</th><th>Sales Invoice Field</th>",
		"<td>Sales Order &gt; Engagement</td><td class=\"static\"></td><td>Engagement</td>", "Deselected (false)</td><td>Derive Currency", "Selected (true)</td><td>Derive Period",
		"Billing Account, else Customer", "Eligible invoices. A record that fails one of these is left untouched.",
		"Invoice Line Field", "Item &gt; Product Group &gt; Dimension 1", "Discount lines (one extra line per record)", "when <span>discount amount is more than 0</span>",
		"sales order {sales_order_id} does not exist in OIM", "settings.sales_invoice_line_limit")
	r = c.get("/reconciliation")
	wantIn(t, "reconciliation", r, `name="from"`, `name="to"`, `<option value="sales-invoices"`)
	r = c.get("/settings")
	wantIn(t, "settings", r, "Default company", `value="Acme UK Ltd"`, "The Accounting company (by name) of the records that name none", "Only an admin changes settings", "disabled")
	r = c.get("/schedules")
	wantIn(t, "schedules", r, "journals", "every day at 02:00", `id="next-journals">`+h.clock.Now().Add(24 * time.Hour).Format("2006-01-02")[:4])
	if strings.Contains(r.body, `action="/schedules/`) {
		t.Errorf("a viewer gets the schedule forms")
	}
	r = c.fragment("/fragments/jobs")
	wantIn(t, "jobs", r, "No export from the console yet")
	for _, admin := range []string{"/users", "/audit"} {
		if r := c.get(admin); r.status != http.StatusForbidden || !strings.Contains(r.body, "Your role (viewer) does not allow this: it needs admin.") {
			t.Errorf("%s as a viewer: %d", admin, r.status)
		}
	}

	a := h.login("ann")
	r = a.get("/users")
	wantIn(t, "users", r, "ann", "(you)", "olga", "vic", `action="/users/vic/role"`)
	r = a.get("/audit")
	wantIn(t, "audit", r, "<td>vic</td><td>login</td>", "<td>ann</td><td>login</td>")
	r = a.get("/settings")
	wantIn(t, "settings as admin", r, `id="save"`)
	r = a.get("/schedules")
	wantIn(t, "schedules as admin", r, `action="/schedules/journals"`, `action="/schedules/sales-invoices"`)
}

// A records page past the last is the last page, not an empty range numbered beyond
// the records with a link to the page before it.
func TestRecordsPastTheLastPage(t *testing.T) {
	h := newHarness(t, nil)
	h.run(pipeline.Request{Flows: []string{"sales-invoices"}, IDs: []string{"INV-NOCO"}})
	v := h.login("vic")
	for _, c := range []struct {
		path string
		want []string
		not  []string
	}{
		{"/flows/sales-invoices/records?page=1099511627776", []string{"1–18 of 18"}, []string{"previous", "next →"}},
		{"/flows/sales-invoices/records?status=Export+Error&page=3", []string{"1–2 of 2"}, []string{"previous"}},
		{"/flows/sales-invoices/records?q=no-such-thing&page=9", []string{"No records match."}, []string{"previous"}},
	} {
		r := v.get(c.path)
		wantIn(t, c.path, r, c.want...)
		for _, s := range c.not {
			if strings.Contains(r.body, s) {
				t.Errorf("%s: %q in the page", c.path, s)
			}
		}
	}
}

// The runs page's "more" stops at the most runs it lists (maxRuns), and a limit above
// it lists that many, instead of falling back to the first 100.
func TestRunsMoreStopsAtTheMost(t *testing.T) {
	h := newHarness(t, nil)
	h.run(pipeline.Request{Flows: []string{"sales-invoices"}, IDs: []string{"INV-NOCO"}})
	v := h.login("vic")
	h.query(`INSERT INTO connector.run SELECT r.* REPLACE ('fake-' || i AS run_id) FROM connector.run r, range(5100) t(i) RETURNING 1`)
	rows := func(r response) int { return strings.Count(r.body, `<td><a href="/runs/`) }
	for _, c := range []struct {
		limit, rows int
		more        string
	}{
		{3200, 3200, `href="?limit=5000"`},
		{5000, 5000, ""},
		{6400, 5000, ""},
		{0, 100, `href="?limit=200"`},
	} {
		r := v.get(fmt.Sprintf("/runs?limit=%d", c.limit))
		if got := rows(r); got != c.rows {
			t.Errorf("limit %d: %d runs, want %d", c.limit, got, c.rows)
		}
		if c.more == "" && strings.Contains(r.body, ">more</a>") || c.more != "" && !strings.Contains(r.body, c.more) {
			t.Errorf("limit %d: want the more link %q", c.limit, c.more)
		}
	}
}
