// Package config loads the connector's configuration with koanf, in layers: the
// contract's defaults, then the YAML file (--config), then OIMCONNECT_ environment
// variables, then command-line flags. The `settings:` keys and defaults are the
// contract's admin page and are fixed; tenants add their own under settings.custom.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	kyaml "github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env"
	"github.com/knadh/koanf/providers/posflag"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"

	"github.com/oimconnect/oimconnect/pipeline/fault"
	"github.com/oimconnect/oimconnect/pipeline/spec"
)

// Config is the whole configuration.
type Config struct {
	// DB is the DuckDB file holding both the oim and the acct schema (the embedded
	// default), or a PostgreSQL URL holding both.
	DB string `koanf:"db" doc:"the DuckDB file (or postgres:// URL) holding the oim and acct schemas"`
	// Source is where OIM records are read, when not db: a DuckDB file, a postgres://
	// URL, or a directory of CSV or Parquet files named after the oim tables.
	Source string `koanf:"source" doc:"where OIM records are read (default: db): DuckDB file, postgres:// URL or a directory of <table>.csv/.parquet files"`
	// Target is where documents are written, when not db: a DuckDB file or a
	// postgres:// URL.
	Target string `koanf:"target" doc:"where documents are written (default: db): DuckDB file or postgres:// URL"`
	// Specs names a directory of flow specs replacing the embedded defaults.
	Specs    string   `koanf:"specs" doc:"a directory of flow specs replacing the embedded defaults"`
	Settings Settings `koanf:"settings" doc:"the admin page settings (contract)"`
	Log      Log      `koanf:"log" doc:"logging"`
	DuckDB   DuckDB   `koanf:"duckdb" doc:"DuckDB's resources"`
	// BatchSize is how many records a flow exports per transaction (0: all at once).
	// Batches keep memory bounded on bulk runs; a record is never split across them.
	BatchSize int `koanf:"batch_size" doc:"records per transaction (0: all in one)"`
	// Plugins are the tenant's transform plugins (plugins.go).
	Plugins []Plugin `koanf:"plugins" doc:"transform plugins: executables that change documents before the write"`
	// Console is the web console's: where it listens, TLS, sessions and users
	// (console.go).
	Console Console `koanf:"console" doc:"the web console: listen address, TLS, sessions, users"`

	// origin says where each value above the defaults came from, for messages.
	origin *origins
	// file and flags are the layers this configuration was loaded from, for Reload.
	file  string
	flags *pflag.FlagSet
}

// DuckDB bounds the embedded database's resources; empty values keep DuckDB's defaults
// (80% of memory, every core, spilling next to the file).
type DuckDB struct {
	MemoryLimit   string `koanf:"memory_limit" doc:"e.g. 2GB: beyond it DuckDB spills to temp_directory"`
	Threads       int    `koanf:"threads" doc:"worker threads"`
	TempDirectory string `koanf:"temp_directory" doc:"where DuckDB spills"`
	// CheckpointThreshold is the write-ahead log size at which a commit folds the log
	// into the file. A checkpoint's cost grows with the tables and their key indexes, not
	// with what the commit wrote, so runs committing many small batches (a backfill's
	// partitions) paid for it again and again at DuckDB's 16MB: the default 256MB made a
	// backfill of 100,000 invoices 23% faster, with the same peak memory on 10M lines.
	CheckpointThreshold string `koanf:"checkpoint_threshold" doc:"write-ahead log size that triggers a checkpoint at commit"`
}

// Log configures the structured log on standard error.
type Log struct {
	Level  string `koanf:"level" doc:"debug, info, warn or error"`
	Format string `koanf:"format" doc:"text or json"`
}

// Settings are the contract's admin page settings.
type Settings struct {
	DefaultCompany                string         `koanf:"default_company"`
	SalesInvoiceLineLimit         int            `koanf:"sales_invoice_line_limit"`
	SalesCreditNoteLineLimit      int            `koanf:"sales_credit_note_line_limit"`
	PayableInvoiceLineLimit       int            `koanf:"payable_invoice_line_limit"`
	PayableCreditNoteLineLimit    int            `koanf:"payable_credit_note_line_limit"`
	AutoPost                      AutoPost       `koanf:"auto_post"`
	TaxSummaryLine                bool           `koanf:"tax_summary_line"`
	DefaultAPControlGLA           string         `koanf:"default_ap_control_gla"`
	DefaultARControlGLA           string         `koanf:"default_ar_control_gla"`
	VendorDuplicateCheck          string         `koanf:"vendor_duplicate_check"`
	JournalCustomTransactionTypes []string       `koanf:"journal_custom_transaction_types"`
	Custom                        map[string]any `koanf:"custom"`
	// Automation configures watch and serve (an extension of the contract's settings).
	Automation Automation `koanf:"automation"`
	// Schedules are serve's scheduled jobs, one per flow (key: the flow name with _ for -).
	Schedules map[string]Schedule `koanf:"schedules"`
}

// Schedule is a scheduled job: every hour at minute MM of At, or every day, on some
// days of the week, or on a day of the month, at At (HH:MM, local time).
type Schedule struct {
	Frequency string   `koanf:"frequency"` // Hourly, Daily, Weekly or Monthly
	At        string   `koanf:"at"`        // HH:MM; Hourly uses the minutes
	Days      []string `koanf:"days"`      // Weekly: Mon, Tue, Wed, Thu, Fri, Sat, Sun
	Day       int      `koanf:"day"`       // Monthly: 1-31 (the month's last day when shorter)
	// Disabled keeps the job in the configuration without running it.
	Disabled bool `koanf:"disabled"`
}

// Automation says which flows run automatically and how often sources are polled.
type Automation struct {
	// PollInterval is how often watch looks whether OIM changed anything (Go duration,
	// default 200ms): two stat calls of a DuckDB file, one read of a PostgreSQL source's
	// change counter; a run starts only when something changed.
	PollInterval string `koanf:"poll_interval"`
	// Flows switches automation per flow (key: the flow name with _ for -); a flow not
	// listed is automated without criteria.
	Flows map[string]FlowAutomation `koanf:"flows"`
}

// FlowAutomation is one flow's automation.
type FlowAutomation struct {
	// Disabled leaves the flow to manual and scheduled runs.
	Disabled bool `koanf:"disabled"`
	// Criteria names a boolean column of the flow's source that must be true for a
	// record to be exported automatically (it must still be selected and valid).
	Criteria string `koanf:"criteria"`
}

// Automated reports whether a flow runs automatically, and its criteria column.
func (a Automation) Automated(flow string) (bool, string) {
	f := a.Flows[strings.ReplaceAll(flow, "-", "_")]
	return !f.Disabled, f.Criteria
}

// Interval is the poll interval (1s when unset or invalid; check reports invalid ones).
func (a Automation) Interval() time.Duration {
	d, err := time.ParseDuration(a.PollInterval)
	if err != nil || d <= 0 {
		return time.Second
	}
	return d
}

// AutoPost switches, per flow, writing documents as Complete.
type AutoPost struct {
	SalesInvoices      bool `koanf:"sales_invoices"`
	SalesCreditNotes   bool `koanf:"sales_credit_notes"`
	PayableInvoices    bool `koanf:"payable_invoices"`
	PayableCreditNotes bool `koanf:"payable_credit_notes"`
	Journals           bool `koanf:"journals"`
}

// Defaults are the contract's defaults.
func Defaults() map[string]any {
	return map[string]any{
		"log.level":                                 "info",
		"batch_size":                                100000,
		"duckdb.checkpoint_threshold":               "256MB",
		"log.format":                                "text",
		"settings.default_company":                  "",
		"settings.sales_invoice_line_limit":         1000,
		"settings.sales_credit_note_line_limit":     1000,
		"settings.payable_invoice_line_limit":       1000,
		"settings.payable_credit_note_line_limit":   1000,
		"settings.auto_post.sales_invoices":         false,
		"settings.auto_post.sales_credit_notes":     false,
		"settings.auto_post.payable_invoices":       false,
		"settings.auto_post.payable_credit_notes":   false,
		"settings.auto_post.journals":               false,
		"settings.tax_summary_line":                 false,
		"settings.default_ap_control_gla":           "",
		"settings.default_ar_control_gla":           "",
		"settings.vendor_duplicate_check":           "name",
		"settings.journal_custom_transaction_types": []string{},
		"settings.automation.poll_interval":         "200ms",
		"console.listen":                            DefaultListen,
		"console.session_timeout":                   DefaultSessionTimeout,
		"console.session_max_age":                   DefaultSessionMaxAge,
	}
}

// EnvPrefix starts every environment variable the configuration reads;
// a double underscore steps into a section: OIMCONNECT_SETTINGS__TAX_SUMMARY_LINE=true.
const EnvPrefix = "OIMCONNECT_"

// Load builds the configuration from the layers. file may be empty; flags may be nil.
// Of the flags, --db, --source, --target, --specs, --log-level and --listen are
// configuration (db, source, target, specs, log.level, console.listen), when given; the
// others are the command's.
// A plugin's relative path is taken relative to the file's directory.
//
// Every mistake is a *fault.InputError whose spec.Problems say where the value came
// from: file:line:column for the file (at the key, for an unknown key), the variable
// for the environment, the flag for a flag.
func Load(file string, flags *pflag.FlagSet) (*Config, error) {
	return load(file, nil, flags, nil)
}

// LoadFile builds a configuration from the defaults and the file alone: a tenant's
// file (pipeline/tenant), which the process's OIMCONNECT_ variables must not change,
// since one process serves many tenants. Relative paths in it (specs, DuckDB files and
// directories of files as db, source or target, plugins) are taken relative to the
// file's directory. Mistakes are positioned as Load's.
func LoadFile(file string) (*Config, error) {
	c, err := loadLayers(file, nil, nil, nil, false)
	if err != nil {
		return nil, err
	}
	c.resolvePaths(filepath.Dir(file))
	return c, nil
}

// Reload is the configuration loaded again from the same layers (environment and flags
// included), with data in place of the file's contents: a file edited in the console,
// checked exactly as Load checks the file before it is saved. Mistakes are placed at
// their line and column in data, under the file's name.
func (c *Config) Reload(data []byte) (*Config, error) {
	if c.file == "" {
		return nil, fault.Inputf("config: no configuration file to change (give --config FILE)")
	}
	return LoadData(c.file, data, c.flags)
}

// LoadData is Load with data standing for the file's contents (file names it in
// messages, and relative paths are taken from its directory): an edit of the file,
// checked before it is saved.
func LoadData(file string, data []byte, flags *pflag.FlagSet) (*Config, error) {
	return load(file, data, flags, nil)
}

// File is the configuration file this configuration was loaded from ("" without one).
func (c *Config) File() string { return c.file }

// WithSettings is the default configuration with these settings over the defaults (as
// a nested map, the way they are written under settings: in YAML).
func WithSettings(settings map[string]any) (*Config, error) {
	return load("", nil, nil, map[string]any{"settings": settings})
}

// flagKeys maps the flags that are configuration to their keys.
var flagKeys = map[string]string{"db": "db", "source": "source", "target": "target", "specs": "specs", "log-level": "log.level",
	"listen": "console.listen"}

// load builds the configuration from the layers; data, when not nil, stands for the
// file's contents.
func load(file string, data []byte, flags *pflag.FlagSet, over map[string]any) (*Config, error) {
	return loadLayers(file, data, flags, over, true)
}

// resolvePaths makes a tenant file's relative locations relative to dir: the specs
// directory, and db, source and target where they are no postgres:// URL.
func (c *Config) resolvePaths(dir string) {
	for _, p := range []*string{&c.Specs, &c.DB, &c.Source, &c.Target} {
		loc := strings.TrimPrefix(*p, "files:")
		if loc == "" || strings.HasPrefix(loc, "postgres://") || strings.HasPrefix(loc, "postgresql://") || filepath.IsAbs(loc) {
			continue
		}
		*p = strings.TrimSuffix(*p, loc) + filepath.Join(dir, loc)
	}
}

// loadLayers loads the defaults, over, the file (data standing for its contents when
// not nil), the environment (when withEnv) and the flags.
func loadLayers(file string, data []byte, flags *pflag.FlagSet, over map[string]any, withEnv bool) (*Config, error) {
	k := koanf.New(".")
	if err := k.Load(confmap.Provider(Defaults(), "."), nil); err != nil {
		return nil, err
	}
	if over != nil {
		if err := k.Load(confmap.Provider(over, ""), nil); err != nil {
			return nil, err
		}
	}
	o := &origins{env: map[string]string{}, flags: map[string]string{}}
	if file != "" {
		pos, err := loadFile(k, file, data)
		if err != nil {
			return nil, err
		}
		o.pos = pos
	}
	if withEnv {
		if err := loadEnv(k, o); err != nil {
			return nil, err
		}
	}
	if flags != nil {
		if err := loadFlags(k, flags, o); err != nil {
			return nil, err
		}
	}
	var c Config
	err := k.UnmarshalWithConf("", &c, koanf.UnmarshalConf{Tag: "koanf", DecoderConfig: &mapstructure.DecoderConfig{
		DecodeHook:       mapstructure.ComposeDecodeHookFunc(mapstructure.StringToSliceHookFunc(",")),
		Result:           &c,
		WeaklyTypedInput: true,
		ErrorUnused:      true,
		TagName:          "koanf",
	}})
	if err != nil {
		return nil, fault.Inputf("config: %s", cleanDecodeError(err))
	}
	c.origin, c.file, c.flags = o, file, flags
	if err := c.check(); err != nil {
		return nil, err
	}
	if file != "" {
		c.resolvePluginPaths(filepath.Dir(file))
		c.resolveConsolePaths(filepath.Dir(file))
	}
	return &c, nil
}

// loadFile checks the YAML file's shape (unknown keys, wrong types, with positions)
// and loads it; data, when not nil, stands for its contents.
func loadFile(k *koanf.Koanf, file string, data []byte) (*spec.Positions, error) {
	if data == nil {
		var err error
		if data, err = os.ReadFile(file); err != nil {
			return nil, fault.Inputf("config: %w", err)
		}
	}
	pos, err := spec.Check(file, data, &Config{})
	if err != nil {
		return nil, fault.Input(err)
	}
	if err := k.Load(rawbytes.Provider(data), kyaml.Parser()); err != nil {
		return nil, fault.Inputf("config: %s: %w", file, err)
	}
	return pos, nil
}

// loadEnv loads the OIMCONNECT_ variables, typed as the settings they name; every
// variable naming no setting, or holding a value of the wrong type, is refused by name.
func loadEnv(k *koanf.Koanf, o *origins) error {
	var probs spec.Problems
	err := k.Load(env.ProviderWithValue(EnvPrefix, ".", func(name, v string) (string, any) {
		key := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(name, EnvPrefix)), "__", ".")
		val, p := envValue(name, key, v)
		if p != nil {
			probs = append(probs, *p)
			return "", nil
		}
		o.env[key] = name
		return key, val
	}), nil)
	if err != nil {
		return fault.Inputf("config: environment: %w", err)
	}
	if len(probs) > 0 {
		sort.Slice(probs, func(i, j int) bool { return probs[i].File < probs[j].File })
		return &fault.InputError{Err: probs}
	}
	return nil
}

// loadFlags loads the flags that are configuration, when given.
func loadFlags(k *koanf.Koanf, flags *pflag.FlagSet, o *origins) error {
	err := k.Load(posflag.ProviderWithFlag(flags, ".", k, func(f *pflag.Flag) (string, any) {
		key, ok := flagKeys[f.Name]
		if !ok || !f.Changed {
			return "", nil // not configuration (the command's own), or not given
		}
		o.flags[key] = "--" + f.Name
		return key, f.Value.String()
	}), nil)
	if err != nil {
		return fault.Inputf("config: flags: %w", err)
	}
	return nil
}

func cleanDecodeError(err error) string {
	msg := err.Error()
	var de *mapstructure.DecodeError
	if errors.As(err, &de) {
		msg = de.Error()
	}
	msg = strings.ReplaceAll(msg, "\n", " ")
	msg = strings.ReplaceAll(msg, "decoding failed due to the following error(s):", "")
	msg = strings.Join(strings.Fields(msg), " ")
	return "wrong setting: " + msg
}

// mistypedURL reports a location meant as a PostgreSQL URL that is none (its // lost,
// say), which would be taken for a file name and echoed, password and all, in the
// error that it does not exist; masked hides what may be the password. (postgres.IsURL
// is the same prefix test, but config sits beside that package, not above it.)
func mistypedURL(loc string) (masked string, ok bool) {
	lower := strings.ToLower(loc)
	if !strings.HasPrefix(lower, "postgres:") && !strings.HasPrefix(lower, "postgresql:") ||
		strings.HasPrefix(loc, "postgres://") || strings.HasPrefix(loc, "postgresql://") {
		return "", false
	}
	scheme, rest, _ := strings.Cut(loc, ":")
	if q := strings.Index(rest, "?"); q >= 0 {
		rest = rest[:q] + "?..." // its parameters may hold a password too
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		userinfo := strings.TrimLeft(rest[:at], "/")
		if user, _, hasPassword := strings.Cut(userinfo, ":"); hasPassword {
			userinfo = user + ":xxxxx"
		}
		rest = userinfo + rest[at:]
	}
	return scheme + ":" + rest, true
}

// check refuses values out of range, each at the place it came from.
func (c *Config) check() error {
	var probs spec.Problems
	bad := func(key string, format string, args ...any) {
		probs = append(probs, c.problem(strings.Split(key, "."), false, format, args...))
	}
	if c.BatchSize < 0 {
		bad("batch_size", "batch_size must be 0 (no batches) or more, got %d", c.BatchSize)
	}
	for key, loc := range map[string]string{"db": c.DB, "source": c.Source, "target": c.Target} {
		if masked, ok := mistypedURL(loc); ok {
			bad(key, "%s %q is no PostgreSQL URL: write postgres://USER:PASSWORD@HOST/DATABASE", key, masked)
		}
	}
	probs = append(probs, c.checkPlugins()...)
	probs = append(probs, c.checkDuckDB()...)
	s := c.Settings
	for _, l := range []struct {
		name string
		v    int
	}{
		{"sales_invoice_line_limit", s.SalesInvoiceLineLimit},
		{"sales_credit_note_line_limit", s.SalesCreditNoteLineLimit},
		{"payable_invoice_line_limit", s.PayableInvoiceLineLimit},
		{"payable_credit_note_line_limit", s.PayableCreditNoteLineLimit},
	} {
		if l.v < 1 {
			bad("settings."+l.name, "settings.%s must be at least 1, got %d", l.name, l.v)
		}
	}
	for _, flow := range sortedKeys(s.Schedules) {
		if field, err := s.Schedules[flow].check(); err != nil {
			bad("settings.schedules."+flow+"."+field, "settings.schedules.%s: %v", flow, err)
		}
	}
	if d, err := time.ParseDuration(s.Automation.PollInterval); err != nil || d <= 0 {
		bad("settings.automation.poll_interval", "settings.automation.poll_interval must be a positive duration such as 1s or 500ms, got %q", s.Automation.PollInterval)
	} else if d < MinPollInterval {
		bad("settings.automation.poll_interval", "settings.automation.poll_interval must be at least %s (watch looks for changes this often: shorter only spins), got %q", MinPollInterval, s.Automation.PollInterval)
	}
	if s.VendorDuplicateCheck != "name" && s.VendorDuplicateCheck != "none" {
		bad("settings.vendor_duplicate_check", "settings.vendor_duplicate_check must be name or none, got %q", s.VendorDuplicateCheck)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "log.level must be one of debug, info, warn, error; got %q", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format", "log.format must be text or json, got %q", c.Log.Format)
	}
	probs = append(probs, c.checkConsole()...)
	if len(probs) > 0 {
		return &fault.InputError{Err: probs}
	}
	return nil
}

// Map gives the settings as the nested map spec expressions read as settings.<key>.
func (s Settings) Map() map[string]any {
	return structMap(reflect.ValueOf(s))
}

func structMap(v reflect.Value) map[string]any {
	out := map[string]any{}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		tag := t.Field(i).Tag.Get("koanf")
		f := v.Field(i)
		switch {
		case f.Kind() == reflect.Struct:
			out[tag] = structMap(f)
		case f.Kind() == reflect.Map && f.IsNil():
			out[tag] = map[string]any{}
		case f.Kind() == reflect.Slice:
			items := make([]any, f.Len())
			for j := range items {
				items[j] = f.Index(j).Interface()
			}
			out[tag] = items
		default:
			out[tag] = f.Interface()
		}
	}
	return out
}

var weekdays = map[string]time.Weekday{"Sun": time.Sunday, "Mon": time.Monday, "Tue": time.Tuesday,
	"Wed": time.Wednesday, "Thu": time.Thursday, "Fri": time.Friday, "Sat": time.Saturday}

// Check reports a schedule that cannot fire.
func (s Schedule) Check() error {
	_, err := s.check()
	return err
}

// check reports a schedule that cannot fire, and the key at fault.
// MinPollInterval bounds settings.automation.poll_interval from below.
const MinPollInterval = 10 * time.Millisecond

func (s Schedule) check() (field string, err error) {
	hour, minute, err := s.clock()
	if err != nil {
		return "at", err
	}
	// A field the frequency does not use is a mistake about when it runs, not ignored.
	switch {
	case s.Frequency == "Hourly" && hour != 0:
		return "at", fmt.Errorf("an Hourly schedule runs at a minute of every hour: write at: \"00:%02d\" (the hour is not used), not %q", minute, s.At)
	case len(s.Days) > 0 && s.Frequency != "Weekly":
		return "days", fmt.Errorf("days are for a Weekly schedule; a %s one does not use them", s.Frequency)
	case s.Day != 0 && s.Frequency != "Monthly":
		return "day", fmt.Errorf("day is for a Monthly schedule; a %s one does not use it", s.Frequency)
	}
	switch s.Frequency {
	case "Hourly", "Daily":
	case "Weekly":
		if len(s.Days) == 0 {
			return "days", fmt.Errorf("a Weekly schedule needs days, e.g. [Mon, Thu]")
		}
		for i, d := range s.Days {
			if _, ok := weekdays[d]; !ok {
				return "days." + strconv.Itoa(i), fmt.Errorf("unknown day %q (Mon, Tue, Wed, Thu, Fri, Sat, Sun)", d)
			}
		}
	case "Monthly":
		if s.Day < 1 || s.Day > 31 {
			return "day", fmt.Errorf("a Monthly schedule needs day: 1 to 31, got %d", s.Day)
		}
	default:
		return "frequency", fmt.Errorf("frequency must be Hourly, Daily, Weekly or Monthly, not %q", s.Frequency)
	}
	return "", nil
}

func (s Schedule) clock() (hour, minute int, err error) {
	at := s.At
	if at == "" {
		at = "00:00"
	}
	t, err := time.Parse("15:04", at)
	if err != nil {
		return 0, 0, fmt.Errorf("at must be HH:MM, not %q", s.At)
	}
	return t.Hour(), t.Minute(), nil
}

// Next is the first time after `after` the schedule fires, in after's location.
func (s Schedule) Next(after time.Time) time.Time {
	hour, minute, _ := s.clock()
	loc := after.Location()
	if s.Frequency == "Hourly" {
		t := time.Date(after.Year(), after.Month(), after.Day(), after.Hour(), minute, 0, 0, loc)
		if !t.After(after) {
			t = t.Add(time.Hour)
		}
		return t
	}
	for d := 0; d <= 62; d++ {
		day := time.Date(after.Year(), after.Month(), after.Day()+d, hour, minute, 0, 0, loc)
		if !day.After(after) {
			continue
		}
		switch s.Frequency {
		case "Daily":
			return day
		case "Weekly":
			for _, w := range s.Days {
				if weekdays[w] == day.Weekday() {
					return day
				}
			}
		case "Monthly":
			last := time.Date(day.Year(), day.Month()+1, 0, 0, 0, 0, 0, loc).Day()
			if day.Day() == min(s.Day, last) {
				return day
			}
		}
	}
	return time.Time{}
}
