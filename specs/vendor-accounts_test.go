package specs_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
)

// Helpers rowsOf, valueOf and wantRows are in payableinvoices_test.go.

var vendorAccountFlow = []string{"vendor-accounts"}

var vendorAccountDump = []string{
	fixture.Table("acct.account"),
	"SELECT id, account_id FROM oim.supplier_site ORDER BY id",
}

func vendorAccounts(t *testing.T, edit func(*config.Config)) *pipeline.Engine {
	t.Helper()
	return engine(t, fixture.DB(t, "vendor-accounts.sql"), func(c *config.Config) {
		c.Settings.DefaultAPControlGLA = "GLA-AP-DEF"
		c.Settings.DefaultARControlGLA = "GLA-AR-DEF"
		if edit != nil {
			edit(c)
		}
	})
}

// badGLA is the one failure of the fixture: supplier_site has no export_error column,
// so the reason is only in the summary.
var badGLA = []pipeline.Failure{{ID: "SS-BAD-GLA", Reason: "AP control GLA GLA-NOPE does not exist in Accounting"}}

func sameFailures(a, b []pipeline.Failure) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// The whole fixture after one run, checked line by line against the contract when the
// golden file was written.
func TestVendorAccountsGolden(t *testing.T) {
	t.Parallel()
	e := vendorAccounts(t, nil)
	s := run(t, e, pipeline.Request{Flows: vendorAccountFlow})[0]
	if s.Selected != 6 || s.Exported != 5 || s.Errors != 1 || !sameFailures(s.Failures, badGLA) {
		t.Errorf("summary %v, failures %v", s, s.Failures)
	}
	fixture.Golden(t, "vendor-accounts.txt", fixture.Dump(t, e.DB(), vendorAccountDump...))
}

// Three runs. Run 1 selects the 4 unlinked sites and the 1 linked site newer than its
// account, plus SS-BAD-GLA: it creates 3 accounts (SS-NEW, SS-DEFAULT-GLAS,
// SS-CUSTOMER-NAME), links SS-SAME-NAME to A-ACME, updates VND-SS-NEWER and fails
// SS-BAD-GLA. Runs 2 and 3 select only SS-BAD-GLA (still unlinked, still failing) and
// create and update nothing: the steady state.
func TestVendorAccountsRunsToASteadyState(t *testing.T) {
	t.Parallel()
	e := vendorAccounts(t, nil)
	const created = "SELECT id FROM acct.account WHERE id NOT IN ('A-ACME', 'A-BOLT-CUST', 'VND-SS-NEWER', 'VND-SS-SAME-TIME', 'VND-SS-OLDER') ORDER BY id"
	var afterFirst string
	for i, want := range []struct{ selected, exported, errors int64 }{{6, 5, 1}, {1, 0, 1}, {1, 0, 1}} {
		s := run(t, e, pipeline.Request{Flows: vendorAccountFlow})[0]
		t.Logf("run %d: %v", i+1, s)
		if s.Selected != want.selected || s.Exported != want.exported || s.Errors != want.errors || s.Waiting != 0 || s.Lines != 0 ||
			!sameFailures(s.Failures, badGLA) {
			t.Errorf("run %d: summary %v, failures %v", i+1, s, s.Failures)
		}
		dump := fixture.Dump(t, e.DB(), vendorAccountDump...)
		if i == 0 {
			afterFirst = dump
			wantRows(t, e.DB(), created, "VND-SS-CUSTOMER-NAME", "VND-SS-DEFAULT-GLAS", "VND-SS-NEW")
			wantRows(t, e.DB(), "SELECT id FROM acct.account WHERE updated_at = '2024-02-05 09:00:00'", "VND-SS-NEWER")
			continue
		}
		if s.Documents != 0 {
			t.Errorf("run %d created or updated %d accounts", i+1, s.Documents)
		}
		if dump != afterFirst {
			t.Errorf("run %d changed accounts or links:\n%s", i+1, dump)
		}
	}
}

// mirrorMismatch lists the sites whose account does not hold the contract's mapping of
// the site (GLAs: the site's, else the settings' defaults).
const mirrorMismatch = "SELECT s.id FROM oim.supplier_site s JOIN acct.account a ON a.id = s.account_id WHERE " +
	"a.name IS DISTINCT FROM s.name OR a.active IS DISTINCT FROM s.active OR a.fax IS DISTINCT FROM s.fax OR " +
	"a.phone IS DISTINCT FROM s.office_phone OR a.trading_currency IS DISTINCT FROM s.currency OR " +
	"a.corporate_address_line1 IS DISTINCT FROM s.mailing_street OR a.corporate_address_line2 IS DISTINCT FROM s.mailing_street_additional OR " +
	"a.corporate_city IS DISTINCT FROM s.mailing_city OR a.corporate_state IS DISTINCT FROM s.mailing_state OR " +
	"a.corporate_postal_code IS DISTINCT FROM s.mailing_postal_code OR a.corporate_country IS DISTINCT FROM s.mailing_country OR " +
	"a.payment_terms IS DISTINCT FROM left(s.payment_terms_name, 24) OR a.preferred_communication IS DISTINCT FROM s.preferred_communication OR " +
	"a.ap_control_gla_id IS DISTINCT FROM coalesce(s.ap_control_gla_id, 'GLA-AP-DEF') OR a.ar_control_gla_id IS DISTINCT FROM coalesce(s.ar_control_gla_id, 'GLA-AR-DEF') OR " +
	"a.type IS DISTINCT FROM 'Vendor' OR a.oim_supplier_site_id IS DISTINCT FROM s.id OR a.updated_at IS DISTINCT FROM s.updated_at"

// Every mapped field, on a created account and on an updated one; what must stay as it is.
func TestVendorAccountsMapping(t *testing.T) {
	t.Parallel()
	e := vendorAccounts(t, nil)
	run(t, e, pipeline.Request{Flows: vendorAccountFlow})
	const cols = "SELECT id, name, type, active, fax, phone, trading_currency, corporate_address_line1, corporate_address_line2, corporate_city, corporate_state, corporate_postal_code, corporate_country, payment_terms, preferred_communication, ap_control_gla_id, ar_control_gla_id, oim_supplier_site_id, updated_at FROM acct.account WHERE id = "
	cases := []struct{ name, account, want string }{
		{"created: every field, payment terms cut to 24 characters, the site's GLAs", "VND-SS-NEW",
			"VND-SS-NEW\tFresh Parts Co\tVendor\ttrue\t+44 161 000 0001\t+44 161 000 0002\tGBP\t2 New Road\tUnit 5\tManchester\tGreater Manchester\tM1 1AA\tUnited Kingdom\tNet 30 days end of month\tEmail\tGLA-AP-SITE\tGLA-AR-SITE\tSS-NEW\t2024-02-01 09:00:00"},
		{"created: no GLAs on the site, the settings' defaults", "VND-SS-DEFAULT-GLAS",
			"VND-SS-DEFAULT-GLAS\tno control GLAs of its own: the settings' defaults\tVendor\tfalse\tNULL\tNULL\tEUR\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNet 15\tNULL\tGLA-AP-DEF\tGLA-AR-DEF\tSS-DEFAULT-GLAS\t2024-02-02 09:00:00"},
		{"created: a customer of the same name is not linked", "VND-SS-CUSTOMER-NAME",
			"VND-SS-CUSTOMER-NAME\tBolt Traders\tVendor\ttrue\tNULL\tNULL\tGBP\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tGLA-AP-DEF\tGLA-AR-DEF\tSS-CUSTOMER-NAME\t2024-02-04 09:00:00"},
		{"updated: a linked site newer than its account rewrites every field", "VND-SS-NEWER",
			"VND-SS-NEWER\tNew Name Ltd\tVendor\ttrue\t+1 555 0200\t+1 555 0201\tCAD\tNew street 2\tNew floor\tNew City\tNC\t11111\tNewland\tPay within twenty-four d\tFax\tGLA-AP-SITE\tGLA-AR-SITE\tSS-NEWER\t2024-02-05 09:00:00"},
		{"linked by name (trimmed, any case): unchanged but for the link it records, the site and its change time", "A-ACME",
			"A-ACME\tAcme Supplies\tVendor\ttrue\tNULL\t+44 20 0000 0000\tGBP\t1 Old Street\tNULL\tLondon\tNULL\tEC1 1AA\tUnited Kingdom\tNet 60\tPhone\tGLA-AP-SITE\tNULL\tSS-SAME-NAME\t2024-02-03 09:00:00"},
		{"customer account of the same name: unchanged", "A-BOLT-CUST",
			"A-BOLT-CUST\tBolt Traders\tCustomer\ttrue\tNULL\tNULL\tGBP\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL"},
		{"site changed at its account's updated_at: not selected, unchanged", "VND-SS-SAME-TIME",
			"VND-SS-SAME-TIME\tSame Time Ltd (as exported)\tVendor\ttrue\tNULL\tNULL\tGBP\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tGLA-AP-DEF\tGLA-AR-DEF\tSS-SAME-TIME\t2024-02-01 12:00:00"},
		{"site older than its account: not selected, unchanged", "VND-SS-OLDER",
			"VND-SS-OLDER\tOlder Ltd (edited in Accounting)\tVendor\ttrue\tNULL\tNULL\tGBP\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tGLA-AP-DEF\tGLA-AR-DEF\tSS-OLDER\t2024-03-01 00:00:00"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantRows(t, e.DB(), cols+"'"+c.account+"'", c.want)
		})
	}
	t.Run("write-back", func(t *testing.T) {
		wantRows(t, e.DB(), "SELECT id, account_id FROM oim.supplier_site ORDER BY id",
			"SS-BAD-GLA\tNULL",
			"SS-CUSTOMER-NAME\tVND-SS-CUSTOMER-NAME",
			"SS-DEFAULT-GLAS\tVND-SS-DEFAULT-GLAS",
			"SS-NEW\tVND-SS-NEW",
			"SS-NEWER\tVND-SS-NEWER",
			"SS-OLDER\tVND-SS-OLDER",
			"SS-SAME-NAME\tA-ACME",
			"SS-SAME-TIME\tVND-SS-SAME-TIME")
	})
	t.Run("every created or updated account mirrors its site", func(t *testing.T) {
		wantRows(t, e.DB(), strings.Replace(mirrorMismatch, "WHERE ", "WHERE s.id IN ('SS-NEW', 'SS-DEFAULT-GLAS', 'SS-CUSTOMER-NAME', 'SS-NEWER') AND (", 1)+") ORDER BY 1")
	})
}

// vendor_duplicate_check: with name (the default) a site named like an existing vendor
// account, trimmed and in any case, is linked to it; with none it gets its own account.
func TestVendorAccountsDuplicateCheck(t *testing.T) {
	t.Parallel()
	cases := []struct {
		check     string
		documents int64
		links     []string
		accounts  string // count of vendor accounts named like "acme supplies"
	}{
		{"name", 1, []string{"SS-CUSTOMER-NAME\tVND-SS-CUSTOMER-NAME", "SS-SAME-NAME\tA-ACME"}, "1"},
		{"none", 2, []string{"SS-CUSTOMER-NAME\tVND-SS-CUSTOMER-NAME", "SS-SAME-NAME\tVND-SS-SAME-NAME"}, "2"},
	}
	for _, c := range cases {
		t.Run(c.check, func(t *testing.T) {
			t.Parallel()
			e := vendorAccounts(t, func(cfg *config.Config) { cfg.Settings.VendorDuplicateCheck = c.check })
			// A-ACME's own fields: the link it records is checked below.
			const acme = "SELECT COLUMNS(* EXCLUDE (oim_supplier_site_id, updated_at))::VARCHAR FROM acct.account WHERE id = 'A-ACME'"
			before := valueOf(t, e.DB(), acme)
			s := run(t, e, pipeline.Request{Flows: vendorAccountFlow, IDs: []string{"SS-SAME-NAME", "SS-CUSTOMER-NAME"}})[0]
			if s.Selected != 2 || s.Exported != 2 || s.Errors != 0 || s.Documents != c.documents {
				t.Errorf("summary %v", s)
			}
			wantRows(t, e.DB(), "SELECT id, account_id FROM oim.supplier_site WHERE id IN ('SS-SAME-NAME', 'SS-CUSTOMER-NAME') ORDER BY id", c.links...)
			wantRows(t, e.DB(), "SELECT count(*) FROM acct.account WHERE type = 'Vendor' AND lower(trim(name)) = 'acme supplies'", c.accounts)
			if after := valueOf(t, e.DB(), acme); after != before {
				t.Errorf("A-ACME changed:\n%s\n%s", before, after)
			}
			link := "SS-SAME-NAME\t2024-02-03 09:00:00"
			if c.check == "none" {
				link = "NULL\tNULL"
			}
			wantRows(t, e.DB(), "SELECT oim_supplier_site_id, updated_at FROM acct.account WHERE id = 'A-ACME'", link)
			if c.check == "none" {
				wantRows(t, e.DB(), "SELECT name, phone, oim_supplier_site_id FROM acct.account WHERE id = 'VND-SS-SAME-NAME'",
					"  acme SUPPLIES \t+44 20 1111 1111\tSS-SAME-NAME")
			}
		})
	}
}

// A control GLA that is not in Accounting, the site's own or a setting's default, fails
// the site: no account, no link, the reason in Summary.Failures.
func TestVendorAccountsUnknownControlGLA(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, site string
		edit       func(*config.Config)
		reason     string
	}{
		{"the site's AP control GLA", "SS-BAD-GLA", nil, "AP control GLA GLA-NOPE does not exist in Accounting"},
		{"the default AR control GLA", "SS-DEFAULT-GLAS", func(c *config.Config) { c.Settings.DefaultARControlGLA = "GLA-MISSING" },
			"AR control GLA GLA-MISSING does not exist in Accounting"},
		{"the default AP control GLA", "SS-DEFAULT-GLAS", func(c *config.Config) { c.Settings.DefaultAPControlGLA = "GLA-MISSING" },
			"AP control GLA GLA-MISSING does not exist in Accounting"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := vendorAccounts(t, c.edit)
			s := run(t, e, pipeline.Request{Flows: vendorAccountFlow, IDs: []string{c.site}})[0]
			want := []pipeline.Failure{{ID: c.site, Reason: c.reason}}
			if s.Selected != 1 || s.Errors != 1 || s.Documents != 0 || !sameFailures(s.Failures, want) {
				t.Errorf("summary %v, failures %v; want failures %v", s, s.Failures, want)
			}
			wantRows(t, e.DB(), "SELECT account_id FROM oim.supplier_site WHERE id = '"+c.site+"'", "NULL")
			wantRows(t, e.DB(), "SELECT count(*) FROM acct.account WHERE oim_supplier_site_id = '"+c.site+"'", "0")
		})
	}
}

// Two new supplier sites of one name (trimmed, any case) share one new vendor account
// with the name duplicate check, written from the one changed last, and get one each
// without it.
func TestVendorAccountsNewSitesOfOneName(t *testing.T) {
	t.Parallel()
	const twins = `INSERT INTO oim.supplier_site (id, name, updated_at) VALUES
		('SS-TWIN-1', 'Twin Metals', '2024-05-01'), ('SS-TWIN-2', ' twin metals ', '2024-05-02')`
	for _, c := range []struct {
		check    string
		accounts []string
		links    []string
		docs     int64
	}{
		{"name", []string{"VND-SS-TWIN-1\t twin metals "}, []string{"SS-TWIN-1\tVND-SS-TWIN-1", "SS-TWIN-2\tVND-SS-TWIN-1"}, 1},
		{"none", []string{"VND-SS-TWIN-1\tTwin Metals", "VND-SS-TWIN-2\t twin metals "}, []string{"SS-TWIN-1\tVND-SS-TWIN-1", "SS-TWIN-2\tVND-SS-TWIN-2"}, 2},
	} {
		e := engine(t, fixture.DB(t), func(cfg *config.Config) { cfg.Settings.VendorDuplicateCheck = c.check })
		execSQL(t, e.DB(), twins)
		s := run(t, e, pipeline.Request{Flows: []string{"vendor-accounts"}})[0]
		if s.Selected != 2 || s.Exported != 2 || s.Documents != c.docs {
			t.Errorf("%s: summary %v", c.check, s)
		}
		wantRows(t, e.DB(), "SELECT id, name FROM acct.account ORDER BY id", c.accounts...)
		wantRows(t, e.DB(), "SELECT id, account_id FROM oim.supplier_site ORDER BY id", c.links...)
		// The shared account was written from the twin changed last (upsert.latest): the
		// next run finds nothing newer (it used to update it once from that twin).
		if again := run(t, e, pipeline.Request{Flows: []string{"vendor-accounts"}})[0]; again.Selected != 0 || again.Documents != 0 {
			t.Errorf("%s: second run %v", c.check, again)
		}
	}
}
