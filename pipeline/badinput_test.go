package pipeline_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
)

// Each case breaks one thing and expects an fault.InputError (exit 2) whose text holds every
// fragment, with nothing written.
func TestBadInputIsRefusedAndNothingIsWritten(t *testing.T) {
	edit := func(old, new string) func(name, text string) string {
		return func(name, text string) string {
			if name == "sales-invoices.yaml" {
				if !strings.Contains(text, old) {
					t.Fatalf("spec no longer holds %q", old)
				}
				return strings.Replace(text, old, new, 1)
			}
			return text
		}
	}
	cases := []struct {
		name  string
		flows []string
		specs func(name, text string) string
		sql   string // run against the database first
		want  []string
		not   []string // fragments the error must not hold: consequences of the one mistake
	}{
		{name: "unknown flow", flows: []string{"sales-invoicez"},
			want: []string{`unknown flow "sales-invoicez"`, "(flows: vendor-accounts, payable-invoices, payable-credit-notes, sales-invoices, sales-credit-notes, journals)"}},
		{name: "missing table", sql: "DROP TABLE oim.shipment",
			want: []string{fmt.Sprintf("model.yaml:%d:3: unknown table oim.shipment: the database lacks it", fixture.SpecLine(t, "model.yaml", "  oim.shipment:"))}},
		{name: "reference to an unknown table", specs: func(name, text string) string {
			if name == "model.yaml" {
				return strings.Replace(text, "      shipment_id: oim.shipment\n", "      shipment_id: oim.shipmentz\n", 1)
			}
			return text
		}, want: []string{fmt.Sprintf("model.yaml:%d:20: unknown table oim.shipmentz: the database lacks it", fixture.SpecLine(t, "model.yaml", "      shipment_id: oim.shipment"))}},
		{name: "missing column", sql: "ALTER TABLE oim.invoice DROP COLUMN total_tax",
			want: []string{"sales-invoices.yaml:", "oim.invoice has no field \"total_tax\""}},
		{name: "malformed YAML", specs: edit("  table: oim.invoice\n", "  table: [oim.invoice\n"),
			want: []string{"sales-invoices.yaml:", "malformed YAML"}},
		{name: "unknown key", specs: edit("  id_prefix: SIN-", "  id_prefx: SIN-"),
			want: []string{fmt.Sprintf("sales-invoices.yaml:%d:3: unknown key", fixture.SpecLine(t, "sales-invoices.yaml", "  id_prefix: SIN-")) + " \"id_prefx\" in document (allowed: fields, id, id_prefix, into, line_limit, lines, upsert, when_empty, write_back)"}},
		{name: "a key written twice", specs: edit("  id_prefix: SIN-\n", "  id_prefix: SIN-\n  id_prefix: INV-\n"),
			want: []string{fmt.Sprintf("sales-invoices.yaml:%d:3: key \"id_prefix\" written twice in document (first at line %d)",
				fixture.SpecLine(t, "sales-invoices.yaml", "  id_prefix: SIN-")+1, fixture.SpecLine(t, "sales-invoices.yaml", "  id_prefix: SIN-"))}},
		{name: "expression does not compile", specs: edit(`status not in ["Open", "Proforma"]`, `status not in ["Open", "Proforma"`),
			want: []string{fmt.Sprintf("sales-invoices.yaml:%d:", fixture.SpecLine(t, "sales-invoices.yaml", `status not in ["Open", "Proforma"]`)), "unexpected token EOF", ` | status not in ["Open", "Proforma"`, "^"}},
		{name: "unknown field in a path", specs: edit("Engagement: Sales Order > Engagement", "Engagement: Sales Order > Engagemint"),
			want: []string{"sales-invoices.yaml:", `oim.sales_order has no field "Engagemint": did you mean engagement_id?`, fmt.Sprintf("yaml:%d:31:", fixture.SpecLine(t, "sales-invoices.yaml", "Engagement: Sales Order > Engagement")), " | Sales Order > Engagemint\n | ..............^^^^^^^^^^"}},
		{name: "condition of the wrong type", specs: edit("  - empty(billing_document_id)", "  - billing_document_id"),
			want: []string{fmt.Sprintf("sales-invoices.yaml:%d:5:", fixture.SpecLine(t, "sales-invoices.yaml", "  - empty(billing_document_id)")), "a condition must be true or false, this is a string"}},
		{name: "unknown target field", specs: edit("Due Date: Invoice Due Date", "Due Dait: Invoice Due Date"),
			want: []string{`acct.sales_invoice has no field "Due Dait"`}},
		{name: "misspelt target field", specs: edit("    Invoice Date: Invoice Date\n", "    Invoice Dat: Invoice Date\n"),
			want: []string{fmt.Sprintf("sales-invoices.yaml:%d:5: acct.sales_invoice has no field \"Invoice Dat\": did you mean invoice_date? (fields: ", fixture.SpecLine(t, "sales-invoices.yaml", "    Invoice Date: Invoice Date"))},
			not:  []string{"not mapped"}},
		{name: "required target field whose expression breaks", specs: edit("Account: {expr: account_id}", "Account: {expr: acount_id}"),
			want: []string{`oim.invoice has no field "acount_id": did you mean account_id?`, " | acount_id\n | ^^^^^^^^^"},
			not:  []string{"not mapped"}},
		{name: "required target field unmapped", specs: edit("    Invoice Date: Invoice Date\n", ""),
			want: []string{"acct.sales_invoice.invoice_date is required (NOT NULL) but not mapped"}},
		{name: "line kind without source lines", specs: edit("  lines:\n    table: oim.invoice_line\n    parent: invoice_id\n    order: [line_number]\n", ""),
			want: []string{"line rules need source.lines", "derived line fields need source.lines"}},
		{name: "unknown setting", specs: edit("settings.sales_invoice_line_limit", "settings.sales_invoice_line_limt"),
			want: []string{`no setting "sales_invoice_line_limt"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := fixture.DB(t, "sales-invoices.sql")
			if c.sql != "" {
				db, err := sql.Open("duckdb", path)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := db.Exec(c.sql); err != nil {
					t.Fatal(err)
				}
				db.Close()
			}
			cfg, err := config.Load("", nil)
			if err != nil {
				t.Fatal(err)
			}
			cfg.DB = path
			if c.specs != nil {
				cfg.Specs = fixture.CopySpecs(t, c.specs)
			}
			e, err := pipeline.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err == nil {
				defer e.Close()
				flows := c.flows
				if flows == nil {
					flows = []string{"sales-invoices"}
				}
				_, err = e.Run(context.Background(), pipeline.Request{Flows: flows})
			}
			var in *fault.InputError
			if !errors.As(err, &in) {
				t.Fatalf("want an fault.InputError, got %v", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			for _, w := range c.not {
				if strings.Contains(err.Error(), w) {
					t.Errorf("error holds %q:\n%v", w, err)
				}
			}
			db, _ := sql.Open("duckdb", path)
			defer db.Close()
			var n int
			if err := db.QueryRow("SELECT (SELECT count(*) FROM acct.sales_invoice) + (SELECT count(*) FROM oim.invoice WHERE export_status = 'Exported' OR export_error IS DISTINCT FROM NULL AND id <> 'INV-OK')").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("%d rows written despite the error", n)
			}
		})
	}
}

func TestWrongSettingTypes(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"settings:\n  sales_invoice_line_limit: lots\n": "sales_invoice_line_limit",
		"settings:\n  tax_summary_line: maybe\n":        "tax_summary_line",
		"settings:\n  sales_invoice_lin_limit: 10\n":    "sales_invoice_lin_limit",
		"settings:\n  sales_invoice_line_limit: 0\n":    "must be at least 1",
		"settings: [1, 2]\n":                            "config.yaml:1:11: settings must be a map",
	}
	for text, want := range cases {
		path := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := config.Load(path, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: want an error naming %q, got %v", text, want, err)
		}
	}
	t.Setenv("OIMCONNECT_SETTINGS__SALES_INVOICE_LINE_LIMIT", "25")
	t.Setenv("OIMCONNECT_SETTINGS__TAX_SUMMARY_LINE", "true")
	cfg, err := config.Load("", nil)
	if err != nil || cfg.Settings.SalesInvoiceLineLimit != 25 || !cfg.Settings.TaxSummaryLine {
		t.Errorf("environment settings not applied: %+v, %v", cfg, err)
	}
}

// --specs naming a file, not a directory, says so (it said "not found").
func TestSpecDirectoryThatIsAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sales-invoices.yaml")
	if err := os.WriteFile(file, []byte("flow: sales-invoices\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := pipeline.LoadSpecs(file)
	var in *fault.InputError
	if !errors.As(err, &in) || !strings.Contains(err.Error(), "spec directory "+file+": it is a file;") {
		t.Errorf("got %v", err)
	}
}
