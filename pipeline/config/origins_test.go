package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/spec"
)

// flows are the default specs' flows, in run order.
var flows = []string{"vendor-accounts", "payable-invoices", "payable-credit-notes", "sales-invoices", "sales-credit-notes", "journals"}

// writeConfig writes a configuration file into a new directory and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// wantInput asserts err is a mistake in what was asked (exit status 2) reading exactly
// want, one problem a line.
func wantInput(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error:\n%s", strings.Join(want, "\n"))
	}
	if fault.ExitStatus(err) != fault.ExitInput {
		t.Errorf("exit status %d, want %d: %v", fault.ExitStatus(err), fault.ExitInput, err)
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
}

// A value out of range in the file is refused at its line and column, every one of them.
func TestFileValuesRefusedAtTheirPosition(t *testing.T) {
	path := writeConfig(t, `log: {level: verbose}
settings:
  sales_invoice_line_limit: -3
  schedules:
    journals: {frequency: Weekly}
    sales_invoices: {frequency: Daily, at: "25:00"}
batch_size: -1
plugins:
  - name: p
    path: bin/p
    sha256: abc
    flows: [sales-invoices]
`)
	_, err := config.Load(path, nil)
	wantInput(t, err,
		path+":7:13: batch_size must be 0 (no batches) or more, got -1",
		path+`:11:13: plugins[0] (p): sha256 must be the executable's SHA-256 checksum, 64 hex digits (sha256sum bin/p), got "abc"`,
		path+":3:29: settings.sales_invoice_line_limit must be at least 1, got -3",
		path+":5:15: settings.schedules.journals: a Weekly schedule needs days, e.g. [Mon, Thu]",
		path+`:6:44: settings.schedules.sales_invoices: at must be HH:MM, not "25:00"`,
		path+`:1:14: log.level must be one of debug, info, warn, error; got "verbose"`)
}

// An OIMCONNECT_ variable that is no setting names itself and the variables there are;
// a value of the wrong type, or out of range, names its variable too.
func TestEnvironmentRefusalsNameTheVariable(t *testing.T) {
	t.Setenv("OIMCONNECT_FOO", "1")
	_, err := config.Load("", nil)
	wantInput(t, err, `environment variable OIMCONNECT_FOO: no setting "foo" (settings are read from OIMCONNECT_DB, OIMCONNECT_SOURCE, OIMCONNECT_TARGET, OIMCONNECT_SPECS, OIMCONNECT_SETTINGS__*, OIMCONNECT_LOG__*, OIMCONNECT_DUCKDB__*, OIMCONNECT_BATCH_SIZE, OIMCONNECT_CONSOLE__*)`)
	os.Unsetenv("OIMCONNECT_FOO")

	t.Setenv("OIMCONNECT_SETTINGS__TAX_SUMARY_LINE", "true")
	_, err = config.Load("", nil)
	if err == nil || !strings.HasPrefix(err.Error(), `environment variable OIMCONNECT_SETTINGS__TAX_SUMARY_LINE: no setting "settings.tax_sumary_line": did you mean OIMCONNECT_SETTINGS__TAX_SUMMARY_LINE? (settings are read from OIMCONNECT_SETTINGS__DEFAULT_COMPANY, `) {
		t.Errorf("a typo: %v", err)
	}
	os.Unsetenv("OIMCONNECT_SETTINGS__TAX_SUMARY_LINE")

	for _, c := range []struct{ name, value, want string }{
		{"OIMCONNECT_BATCH_SIZE", "many", `environment variable OIMCONNECT_BATCH_SIZE: batch_size must be a whole number, not "many"`},
		{"OIMCONNECT_SETTINGS__TAX_SUMMARY_LINE", "maybe", `environment variable OIMCONNECT_SETTINGS__TAX_SUMMARY_LINE: settings.tax_summary_line must be true or false, not "maybe"`},
		{"OIMCONNECT_SETTINGS__SALES_INVOICE_LINE_LIMIT", "-3", `environment variable OIMCONNECT_SETTINGS__SALES_INVOICE_LINE_LIMIT: settings.sales_invoice_line_limit must be at least 1, got -3`},
		{"OIMCONNECT_LOG__LEVEL", "verbose", `environment variable OIMCONNECT_LOG__LEVEL: log.level must be one of debug, info, warn, error; got "verbose"`},
		{"OIMCONNECT_PLUGINS", "x", `environment variable OIMCONNECT_PLUGINS: plugins is a list of sections: declare it in the configuration file (--config), not in the environment`},
		{"OIMCONNECT_DB__X", "1", `environment variable OIMCONNECT_DB__X: no setting "db.x": db is a single value (OIMCONNECT_DB)`},
		// A URL that lost its // is no file name, and its password is not echoed.
		{"OIMCONNECT_DB", "postgres:/ann:s3cret@db.example/ledger", `environment variable OIMCONNECT_DB: db "postgres:ann:xxxxx@db.example/ledger" is no PostgreSQL URL: write postgres://USER:PASSWORD@HOST/DATABASE`},
		{"OIMCONNECT_TARGET", "PostgreSQL:ann@db.example/ledger", `environment variable OIMCONNECT_TARGET: target "PostgreSQL:ann@db.example/ledger" is no PostgreSQL URL: write postgres://USER:PASSWORD@HOST/DATABASE`},
		{"OIMCONNECT_SOURCE", "postgres:/ann@db.example/ledger?password=s3cret", `environment variable OIMCONNECT_SOURCE: source "postgres:ann@db.example/ledger?..." is no PostgreSQL URL: write postgres://USER:PASSWORD@HOST/DATABASE`},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(c.name, c.value)
			_, err := config.Load("", nil)
			wantInput(t, err, c.want)
		})
	}
	// Right ones still apply, typed.
	t.Setenv("OIMCONNECT_SETTINGS__SALES_INVOICE_LINE_LIMIT", "25")
	t.Setenv("OIMCONNECT_SETTINGS__JOURNAL_CUSTOM_TRANSACTION_TYPES", "A, B")
	t.Setenv("OIMCONNECT_SETTINGS__CUSTOM__REGION", "north")
	c, err := config.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Settings; s.SalesInvoiceLineLimit != 25 || strings.Join(s.JournalCustomTransactionTypes, "|") != "A|B" || s.Custom["region"] != "north" {
		t.Errorf("settings from the environment: %+v", s)
	}
}

// A flag's value that is refused names the flag.
func TestFlagRefusalsNameTheFlag(t *testing.T) {
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.String("log-level", "", "")
	fs.String("db", "", "")
	if err := fs.Parse([]string{"--log-level", "verbose", "--db", "x.duckdb"}); err != nil {
		t.Fatal(err)
	}
	path := writeConfig(t, "log: {level: debug}\n")
	_, err := config.Load(path, fs)
	wantInput(t, err, `flag --log-level: log.level must be one of debug, info, warn, error; got "verbose"`)

	_ = fs.Set("log-level", "warn")
	c, err := config.Load(path, fs)
	if err != nil || c.Log.Level != "warn" || c.DB != "x.duckdb" {
		t.Errorf("flags win over the file: %+v, %v", c, err)
	}
}

// Keys of the flow-keyed settings and the plugins' flows must name flows, each refused
// at its key: a typo under automation.flows was ignored, one under schedules refused
// by serve only.
func TestCheckFlows(t *testing.T) {
	path := writeConfig(t, `settings:
  automation:
    flows:
      sales_invoice: {disabled: true}
      journals: {disabled: true}
      sales-credit-notes: {criteria: ready}
  schedules:
    payable_invoices: {frequency: Daily}
    vendor_account: {frequency: Hourly}
plugins:
  - name: p
    path: bin/p
    sha256: `+checksum+`
    flows: [sales-invoices, sales_invoices, ledger]
`)
	c, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	const keys = " (the keys are flow names with _ for -: vendor_accounts, payable_invoices, payable_credit_notes, sales_invoices, sales_credit_notes, journals)"
	const names = " (flows: vendor-accounts, payable-invoices, payable-credit-notes, sales-invoices, sales-credit-notes, journals)"
	wantInput(t, c.CheckFlows(flows),
		path+`:6:7: settings.automation.flows: no flow "sales-credit-notes": did you mean sales_credit_notes?`+keys,
		path+`:4:7: settings.automation.flows: no flow "sales_invoice": did you mean sales_invoices?`+keys,
		path+`:9:5: settings.schedules: no flow "vendor_account": did you mean vendor_accounts?`+keys,
		path+`:14:29: plugin p: unknown flow "sales_invoices": did you mean sales-invoices?`+names,
		path+`:14:45: plugin p: unknown flow "ledger"`+names)

	t.Setenv("OIMCONNECT_SETTINGS__SCHEDULES__JOURNAL__FREQUENCY", "Daily")
	c, err = config.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	wantInput(t, c.CheckFlows(flows), `environment variable OIMCONNECT_SETTINGS__SCHEDULES__JOURNAL__FREQUENCY: settings.schedules: no flow "journal": did you mean journals?`+keys)

	os.Unsetenv("OIMCONNECT_SETTINGS__SCHEDULES__JOURNAL__FREQUENCY")
	c, err = config.Load(writeConfig(t, "settings:\n  schedules:\n    journals: {frequency: Daily}\n"), nil)
	if err != nil || c.CheckFlows(flows) != nil {
		t.Errorf("right keys pass: %v, %v", err, c.CheckFlows(flows))
	}
}

// A plugin's relative path is relative to the configuration file, not to the working
// directory; an absolute one stays.
func TestPluginPathRelativeToTheFile(t *testing.T) {
	path := writeConfig(t, "plugins:\n  - name: a\n    path: bin/a\n    sha256: "+checksum+"\n    flows: [journals]\n"+
		"  - name: b\n    path: /opt/b\n    sha256: "+checksum+"\n    flows: [journals]\n")
	c, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Plugins[0].Path, filepath.Join(filepath.Dir(path), "bin", "a"); got != want {
		t.Errorf("relative path: got %s, want %s", got, want)
	}
	if got := c.Plugins[1].Path; got != "/opt/b" {
		t.Errorf("absolute path: got %s", got)
	}

	// A file named relative to the working directory, a bare name beside it: the
	// path is absolute (a bare "plug" would be looked for in $PATH when started).
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cfg.yaml"), []byte("plugins:\n  - name: a\n    path: plug\n    sha256: "+checksum+"\n    flows: [journals]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	if c, err = config.Load("cfg.yaml", nil); err != nil {
		t.Fatal(err)
	}
	if got, want := c.Plugins[0].Path, filepath.Join(dir, "plug"); got != want {
		t.Errorf("a bare name beside a file given relative to the working directory: got %s, want %s", got, want)
	}
}

// ErrorAt places an error found later (a plugin that does not start) at its key.
func TestErrorAt(t *testing.T) {
	path := writeConfig(t, "plugins:\n  - name: a\n    path: bin/a\n    sha256: "+checksum+"\n    flows: [journals]\n")
	c, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = c.ErrorAt(errors.New("plugin a: checksum mismatch"), "plugins", "0", "sha256")
	wantInput(t, err, path+":4:13: plugin a: checksum mismatch")
	var p spec.Problem
	if !errors.As(err, &p) || p.Line != 4 {
		t.Errorf("a spec.Problem inside: %#v", err)
	}
}

// A schedule field its frequency does not use, and a poll interval so short that watch
// would only spin, are refused at their position: they were taken and ignored.
func TestUnusedScheduleFieldsAndAShortPollRefused(t *testing.T) {
	path := writeConfig(t, `settings:
  automation: {poll_interval: 1ns}
  schedules:
    journals: {frequency: Daily, at: "06:30", days: [Mon]}
    sales_invoices: {frequency: Hourly, at: "02:15"}
    payable_invoices: {frequency: Weekly, days: [Tue], day: 3}
`)
	_, err := config.Load(path, nil)
	wantInput(t, err,
		path+":4:53: settings.schedules.journals: days are for a Weekly schedule; a Daily one does not use them",
		path+":6:61: settings.schedules.payable_invoices: day is for a Monthly schedule; a Weekly one does not use it",
		path+`:5:45: settings.schedules.sales_invoices: an Hourly schedule runs at a minute of every hour: write at: "00:15" (the hour is not used), not "02:15"`,
		path+`:2:31: settings.automation.poll_interval must be at least 10ms (watch looks for changes this often: shorter only spins), got "1ns"`)
}

// A key written twice is refused at its second place, saying where the first is (the
// loader refused it without a column).
func TestKeyWrittenTwiceRefusedAtItsPosition(t *testing.T) {
	path := writeConfig(t, "settings:\n  default_company: A\nsettings:\n  default_company: B\n")
	_, err := config.Load(path, nil)
	wantInput(t, err, path+`:3:1: key "settings" written twice in the top level (first at line 1)`)
}
