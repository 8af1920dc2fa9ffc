package pipeline_test

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
	"github.com/oimconnect/oimconnect/pipeline/plan"
	"github.com/oimconnect/oimconnect/pipeline/postgres"
	"github.com/oimconnect/oimconnect/pipeline/reconcile"
	"github.com/oimconnect/oimconnect/pipeline/store"
)

var fetched = regexp.MustCompile(`msg=fetched table=(\S+) from=\S+ rows=(\d+)`)

// fetches runs every flow against the PostgreSQL database with debug logs and returns
// the summaries and, per table, the rows read from PostgreSQL.
func fetches(t *testing.T, pg string) ([]pipeline.Summary, map[string]int) {
	t.Helper()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	e, err := pipeline.Open(ctx, demoConfig(t, pg, "", ""), log)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	sums, err := e.Run(ctx, pipeline.Request{})
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]int{}
	for _, m := range fetched.FindAllStringSubmatch(logs.String(), -1) {
		n, _ := strconv.Atoi(m[2])
		rows[m[1]] += n
	}
	return sums, rows
}

func pgInt(t *testing.T, c *pgx.Conn, q string) int {
	t.Helper()
	var n int
	if err := c.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// Against PostgreSQL a run reads what changed: the records still to export and what
// they reach, never whole tables of history. Its own write-back announces nothing, so a
// watcher does not wake itself; OIM's changes do.
func TestPostgresReadsWhatChanged(t *testing.T) {
	t.Parallel()
	pg := postgresURL(t)
	gen := fixture.Generated(t, t.TempDir(), 300)
	fixture.LoadPostgres(t, pg, gen, "oim", "acct")
	ctx := context.Background()
	c, err := postgres.Connect(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if err := postgres.Notify(ctx, c); err != nil {
		t.Fatal(err)
	}
	set, err := pipeline.LoadSpecs("")
	if err != nil {
		t.Fatal(err)
	}
	for _, ix := range plan.SourceIndexes(set.Ordered()) {
		if err := postgres.CreateIndex(ctx, c, ix.Schema+"."+ix.Table, ix.DDL()); err != nil {
			t.Fatal(err)
		}
	}
	if n := pgInt(t, c, "SELECT count(*) FROM pg_indexes WHERE indexname = 'oimconnect_invoice_pending'"); n != 1 {
		t.Fatalf("the partial index on the invoices still to export: %d", n)
	}
	listener, err := postgres.Connect(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close(ctx)
	if _, err := listener.Exec(ctx, "LISTEN "+postgres.Channel); err != nil {
		t.Fatal(err)
	}

	if _, rows := fetches(t, pg); rows["oim.invoice_line"] == 0 {
		t.Fatalf("the first run fetched no invoice line: %v", rows)
	}
	wait, cancel := context.WithTimeout(ctx, 700*time.Millisecond)
	n, err := listener.WaitForNotification(wait)
	cancel()
	if err == nil {
		t.Fatalf("the connector's write-back woke a watcher: %+v", n)
	}

	// Two new invoices, as OIM would insert them.
	if _, err := c.Exec(ctx, `
		INSERT INTO oim.invoice SELECT id || '-NEW', name, status, sales_order_id, service_contract_id, shipment_id, customer_account_id,
			billing_account_id, invoice_date, invoice_due_date, accounting_company_id, accounting_currency_id, billing_document_id,
			discount_amount, total_tax, 'New', NULL, NULL, sales_credit_note_id
		FROM oim.invoice WHERE export_status = 'Exported' ORDER BY id LIMIT 2;
		INSERT INTO oim.invoice_line SELECT l.id || '-NEW', l.invoice_id || '-NEW', l.line_number, l.line_type, l.item_id, l.product_id,
			l.amount_description, l.quantity, l.derived_unit_price, l.amount, NULL
		FROM oim.invoice_line l WHERE l.invoice_id IN (SELECT left(id, -4) FROM oim.invoice WHERE id LIKE '%-NEW')`); err != nil {
		t.Fatal(err)
	}
	wait, cancel = context.WithTimeout(ctx, 5*time.Second)
	_, err = listener.WaitForNotification(wait)
	cancel()
	if err != nil {
		t.Fatalf("OIM's insert announced nothing: %v", err)
	}
	newLines := pgInt(t, c, "SELECT count(*) FROM oim.invoice_line WHERE id LIKE '%-NEW'")
	pending := pgInt(t, c, "SELECT count(*) FROM oim.invoice WHERE export_status IN ('New', 'Export Error')")
	totalLines := pgInt(t, c, "SELECT count(*) FROM oim.invoice_line")
	sums, rows := fetches(t, pg)
	var si pipeline.Summary
	for _, s := range sums {
		if s.Flow == "sales-invoices" {
			si = s
		}
	}
	if si.Exported != 2 {
		t.Fatalf("sales-invoices: %s; want the two new invoices exported", si)
	}
	totalInvoices := pgInt(t, c, "SELECT count(*) FROM oim.invoice")
	if rows["oim.invoice"] < pending || rows["oim.invoice"] >= totalInvoices/4 {
		t.Errorf("read %d of %d invoices: the %d still to export, and those the credit invoices still to export reach", rows["oim.invoice"], totalInvoices, pending)
	}
	if rows["oim.invoice_line"] >= totalLines/4 || rows["oim.invoice_line"] < newLines {
		t.Errorf("read %d of %d invoice lines for %d new ones and the failed invoices' lines", rows["oim.invoice_line"], totalLines, newLines)
	}
	if rows["acct.sales_invoice_line_item"] > 0 {
		t.Errorf("read %d sales invoice lines: the ledger's lines are never read by this run", rows["acct.sales_invoice_line_item"])
	}

	// What the console reads, against PostgreSQL.
	e, err := pipeline.Open(ctx, demoConfig(t, pg, "", ""), fixture.Quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	page, err := e.Records(ctx, pipeline.RecordQuery{Flow: "sales-invoices", Search: "-NEW"})
	if err != nil || page.Total != 2 || page.Records[0].Status != "Exported" || page.Records[0].Link == "" {
		t.Fatalf("the new invoices, exported: %+v %v", page, err)
	}
	docs, err := e.Documents(ctx, "sales-invoices", page.Records[0].ID)
	if err != nil || len(docs) == 0 || len(docs[0].Lines) == 0 {
		t.Fatalf("their documents: %+v %v", docs, err)
	}
	runs, err := e.Runs(ctx, 20)
	if err != nil || len(runs) == 0 {
		t.Fatalf("runs: %v %v", runs, err)
	}
	var report []store.Outcome
	for _, r := range runs {
		if r.Flow == "sales-invoices" && r.Exported == 2 {
			report, err = e.Report(ctx, r.RunID, 100)
		}
	}
	if err != nil || len(report) < 2 {
		t.Fatalf("the run's report: %+v %v", report, err)
	}
	rep, err := reconcile.Run(ctx, e, reconcile.Request{})
	if err != nil || !rep.OK() || len(rep.Flows) != 5 {
		t.Fatalf("reconciliation against PostgreSQL: %+v %v", rep, err)
	}
	if err := e.Audit(ctx, store.AuditEntry{At: time.Now(), Actor: "bob", Action: "export"}); err != nil {
		t.Fatal(err)
	}
	if log, err := e.AuditLog(ctx, 5); err != nil || len(log) != 1 || log[0].Actor != "bob" {
		t.Fatalf("audit: %+v %v", log, err)
	}
}
