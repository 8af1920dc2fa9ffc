package main

import (
	"crypto/sha256"
	"database/sql"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/oimconnect/oimconnect/pipeline/fixture"
)

// wantFlags is every command's own flags: nothing else may be accepted. watch and
// serve have no --dry-run (they used to accept it and export for real); backfill's is
// a real one.
var wantFlags = map[string][]string{
	"run":             {"db", "source", "target", "config", "specs", "log-level", "flow", "id", "dry-run", "report", "tenant", "queue"},
	"backfill":        {"db", "source", "target", "config", "specs", "log-level", "flow", "from", "to", "partition", "dry-run", "report", "tenant", "queue"},
	"backfill status": {"tenant", "queue", "log-level"},
	"watch":           {"db", "source", "target", "config", "specs", "log-level"},
	"serve":           {"db", "source", "target", "config", "specs", "log-level", "listen"},
	"console":         {"db", "source", "target", "config", "specs", "log-level", "listen"},
	"user":            {"config", "name", "role"},
	"worker":          {"queue", "tenants", "concurrency", "lease", "shutdown-timeout", "time-scale", "log-level"},
	"queue":           {"queue", "tenant", "state", "limit", "log-level"},
	"queue retry":     {"queue", "log-level"},
	"queue cancel":    {"queue", "log-level"},
	"runs":            {"db", "source", "target", "config", "log-level", "limit"},
	"explain":         {"db", "source", "target", "config", "specs", "log-level", "flow", "id"},
	"reconcile":       {"db", "source", "target", "config", "specs", "log-level", "flow", "from", "to", "report"},
	"plan":            {"db", "source", "target", "config", "specs", "log-level", "flow", "id"},
	"validate":        {"specs", "config", "db", "log-level"},
	"test":            {"specs", "config"},
	"flows":           {"specs", "config"},
	"init":            {"db", "source", "target", "config", "specs", "queue"},
	"generate":        {"db", "source", "invoices", "seed", "force", "config"},
	"demo":            {"db", "force", "invoices", "seed", "flow", "report", "config", "specs", "log-level"},
}

// pluginCommands say what they do with the plugins declared in the configuration.
var pluginCommands = []string{"run", "backfill", "watch", "serve", "console", "explain", "worker"}

// words is the command line naming c: one word, or two for a subcommand (queue retry).
func words(c *command) []string { return strings.Fields(c.name) }

func flagNames(c *command) []string {
	var out []string
	for _, f := range c.flags {
		out = append(out, f.name)
	}
	return out
}

// allFlags is every flag of every command.
func allFlags() []string {
	var out []string
	for _, c := range commands {
		for _, f := range flagNames(c) {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	slices.Sort(out)
	return out
}

// flagArgs is a command line giving the flag, with a plausible value.
func flagArgs(t *testing.T, name, db, dir string) []string {
	values := map[string]string{
		"config": writeFile(t, dir, "config.yaml", salesConfig), "db": db, "source": db, "target": db,
		"specs": filepath.Join(fixture.Root(), "specs"), "log-level": "debug", "flow": "sales-invoices", "id": "INV-OK",
		"report": filepath.Join(dir, "report.json"), "from": "2024-01-01", "to": "2024-12-31", "partition": "month",
		"limit": "5", "invoices": "10", "seed": "2", "queue": "postgres://postgres@127.0.0.1:1/queue", "tenant": "acme",
		"tenants": dir, "state": "running", "concurrency": "2", "lease": "1h", "shutdown-timeout": "30s", "time-scale": "60",
		"listen": "127.0.0.1:0", "name": "ann", "role": "viewer",
	}
	if v, ok := values[name]; ok {
		return []string{"--" + name, v}
	}
	return []string{"--" + name} // a switch: --dry-run, --force
}

func TestCommandsTakeOnlyTheirOwnFlags(t *testing.T) {
	t.Parallel()
	if len(commands) != len(wantFlags) {
		t.Errorf("%d commands, want %d", len(commands), len(wantFlags))
	}
	for _, c := range commands {
		if got, want := flagNames(c), wantFlags[c.name]; !slices.Equal(got, want) {
			t.Errorf("%s: flags %v, want %v", c.name, got, want)
		}
	}
}

// Every command's --help (and `oimconnect help COMMAND`, and -h) prints its own page:
// what it does, each of its flags with its meaning, the plugins where they apply, and
// examples of itself.
func TestEveryCommandHasItsOwnHelp(t *testing.T) {
	t.Parallel()
	space := regexp.MustCompile(`\s+`)
	flat := func(s string) string { return space.ReplaceAllString(s, " ") }
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := cli(t, nil, append(words(c), "--help")...)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("--help: exit %d\n%s", r.code, r.stderr)
			}
			for _, other := range [][]string{append([]string{"help"}, words(c)...), append(words(c), "-h")} {
				if o := cli(t, nil, other...); o.code != 0 || o.stdout != r.stdout {
					t.Errorf("%v: exit %d, a different page:\n%s", other, o.code, o.stdout)
				}
			}
			page := r.stdout
			if !strings.HasPrefix(flat(page), flat("oimconnect "+c.name+": "+c.summary)) || !strings.Contains(flat(page), flat(c.about)) {
				t.Errorf("the page starts with what the command does:\n%s", page)
			}
			if !strings.Contains(page, "Usage:\n  oimconnect "+c.name) {
				t.Errorf("no usage line:\n%s", page)
			}
			for _, f := range c.flags {
				info := flagInfos[f.name]
				meaning := info.meaning
				if f.meaning != "" {
					meaning = f.meaning
				}
				line := "\n  --" + f.name
				if info.arg != "" {
					line += " " + info.arg
				}
				if !strings.Contains(page, line+" ") || !strings.Contains(flat(page), flat(meaning)) {
					t.Errorf("--%s is not documented (%q, %q):\n%s", f.name, line, meaning, page)
				}
			}
			plugins := strings.Contains(page, "Plugins declared in the configuration")
			if want := slices.Contains(pluginCommands, c.name); plugins != want {
				t.Errorf("plugins line: %v, want %v", plugins, want)
			}
			_, examples, _ := strings.Cut(page, "\nExamples:\n")
			examples, _, _ = strings.Cut(examples, "\n\n")
			n := 0
			for _, e := range strings.Split(examples, "\n") {
				if !strings.HasPrefix(e, "  ") || !strings.Contains(e, "oimconnect "+c.name) {
					t.Errorf("example %q does not run %s", e, c.name)
				}
				n++
			}
			if n < 2 || n > 4 {
				t.Errorf("%d examples, want 2 to 4:\n%s", n, examples)
			}
		})
	}
}

// `oimconnect help` lists the commands, one line each, and the exit statuses; without a
// command it is a usage error.
func TestOverview(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		r := cli(t, nil, args...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d", args, r.code)
		}
		for _, c := range commands {
			if !regexp.MustCompile(`(?m)^  ` + c.name + `\s+` + regexp.QuoteMeta(c.summary) + `$`).MatchString(r.stdout) {
				t.Errorf("%v: no line for %s:\n%s", args, c.name, r.stdout)
			}
		}
		for _, s := range exitStatuses {
			if !strings.Contains(strings.Join(strings.Fields(r.stdout), " "), s[0]+" "+s[1]) {
				t.Errorf("%v: no exit status %s", args, s[0])
			}
		}
	}
	if r := cli(t, nil); r.code != 2 || !strings.Contains(r.stderr, "Commands:") {
		t.Errorf("no command: want exit 2 and the overview, got %d\n%s", r.code, r.stderr)
	}
	for _, args := range [][]string{{"nope"}, {"help", "nope"}, {"help", "run", "demo"}} {
		if r := cli(t, nil, args...); r.code != 2 || !strings.Contains(r.stderr, "Commands:") {
			t.Errorf("%v: want exit 2 and the overview, got %d\n%s", args, r.code, r.stderr)
		}
	}
}

// The README's exit status table and the help's say the same.
func TestExitStatusTableMatchesTheREADME(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(fixture.Root(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile("(?m)^\\| ([0-4]) \\| (.+) \\|$").FindAllStringSubmatch(string(data), -1)
	if len(rows) != len(exitStatuses) {
		t.Fatalf("README: %d exit statuses, help: %d", len(rows), len(exitStatuses))
	}
	for i, row := range rows {
		if got := strings.ReplaceAll(row[2], "`", ""); row[1] != exitStatuses[i][0] || got != exitStatuses[i][1] {
			t.Errorf("README: %s %q\nhelp:   %s %q", row[1], got, exitStatuses[i][0], exitStatuses[i][1])
		}
	}
}

// Every flag of another command is refused: exit 2, the flag named, the command's own
// usage, and nothing written (backfill --dry-run and watch --dry-run used to export for
// real; run --from and runs --dry-run were ignored).
func TestEveryOtherFlagIsRefused(t *testing.T) {
	t.Parallel()
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			db := fixture.DB(t, "sales-invoices.sql")
			before := fixture.DumpSchemas(t, db, "oim", "acct")
			own := flagNames(c)
			for _, f := range allFlags() {
				if slices.Contains(own, f) {
					continue
				}
				args := words(c)
				if c.arg == "ID" {
					args = append(args, "1")
				}
				if slices.Contains(own, "db") {
					args = append(args, "--db", db)
				}
				args = append(args, flagArgs(t, f, db, dir)...)
				r := cli(t, nil, args...)
				if r.code != 2 || r.stdout != "" {
					t.Errorf("%v: want exit 2 and no output, got %d\n%s", args, r.code, r.stdout)
				}
				if !strings.HasPrefix(r.stderr, fmt.Sprintf("oimconnect %s: unknown flag: --%s (a flag of ", c.name, f)) {
					t.Errorf("%v: the flag is not named:\n%s", args, r.stderr)
				}
				if !strings.Contains(r.stderr, "Usage:\n  oimconnect "+c.synopsis+"\n") {
					t.Errorf("%v: not the command's usage:\n%s", args, r.stderr)
				}
				for _, o := range own {
					if !strings.Contains(r.stderr, "\n  --"+o) {
						t.Errorf("%v: the usage lacks --%s", args, o)
					}
				}
			}
			if after := fixture.DumpSchemas(t, db, "oim", "acct"); after != before {
				t.Errorf("a refused command line wrote into the database")
			}
			if _, err := os.Stat(filepath.Join(dir, "report.json")); err == nil {
				t.Errorf("a refused command line wrote its report")
			}
		})
	}
	// Arguments only where a command takes one (validate's and test's SPEC_DIR).
	for _, args := range [][]string{{"run", "extra"}, {"validate", "a", "b"}, {"test", "a", "--specs", "b"}, {"flows", "x"}} {
		if r := cli(t, nil, args...); r.code != 2 || !strings.Contains(r.stderr, "Usage:\n  oimconnect "+args[0]) {
			t.Errorf("%v: want exit 2 with the usage, got %d\n%s", args, r.code, r.stderr)
		}
	}
}

// What says it writes nothing writes nothing: every oim, acct and connector table is the
// same after run --dry-run, backfill --dry-run, plan, explain and validate, and after
// the dry runs that watch and serve do not have (backfill --dry-run and watch --dry-run
// used to export for real). Byte for byte: the file and the log another writer left
// in it stay as they were, and no state file appears beside them (they used to be
// checkpointed at open, and the state noted at close).
func TestDryRunsWriteNothing(t *testing.T) {
	t.Parallel()
	db := fixture.DB(t, "sales-invoices.sql")
	cfg := writeFile(t, t.TempDir(), "config.yaml", salesConfig)
	before := fixture.DumpSchemas(t, db, "oim", "acct")
	for _, c := range []struct {
		code int
		args []string
		out  string
	}{
		{1, []string{"run", "--dry-run"}, "sales-invoices: selected 13, exported 7, documents 8, lines 16, waiting 2, errors 6"},
		{0, []string{"plan"}, "-- flow sales-invoices"},
		{0, []string{"explain", "--flow", "sales-invoices", "--id", "INV-OK"}, "INV-OK"},
		{0, []string{"validate"}, "ok  sales-invoices"},
		{0, []string{"reconcile"}, "everything adds up"},
		{0, []string{"runs"}, "run "},
		{1, []string{"backfill", "--from", "2024-01-01", "--to", "2026-12-31", "--dry-run"}, "sales-invoices: selected 13, exported 7, documents 8, lines 16, waiting 2, errors 6"},
		{2, []string{"watch", "--dry-run"}, ""},
		{2, []string{"serve", "--dry-run"}, ""},
	} {
		args := append(append([]string{}, c.args...), "--db", db, "--config", cfg)
		foreignLog(t, db)
		bytesBefore := filesIn(t, filepath.Dir(db))
		if len(bytesBefore) != 2 {
			t.Fatalf("want the file and its log, got %v", bytesBefore)
		}
		r := cli(t, nil, args...)
		if after := filesIn(t, filepath.Dir(db)); !maps.Equal(after, bytesBefore) {
			t.Errorf("%v changed the files: %v, before %v", args, after, bytesBefore)
		}
		if r.code != c.code || !strings.Contains(r.stdout, c.out) {
			t.Errorf("%v: want exit %d and %q, got %d\n%s%s", args, c.code, c.out, r.code, r.stdout, r.stderr)
		}
		if c.code == 1 && !strings.Contains(r.stdout, "[dry run: nothing written]") {
			t.Errorf("%s --dry-run does not say so:\n%s", c.args[0], r.stdout)
		}
		if after := fixture.DumpSchemas(t, db, "oim", "acct"); after != before {
			t.Fatalf("%v changed the database", args)
		}
	}
	// The same run for real does write: the dump sees it.
	if r := cli(t, nil, "run", "--db", db, "--config", cfg); r.code != 1 {
		t.Fatalf("run: %d %s", r.code, r.stderr)
	}
	if fixture.DumpSchemas(t, db, "oim", "acct") == before {
		t.Errorf("the dump does not see a real run")
	}
}

// A dry run large enough to append more than a DuckDB row group (122,880 rows) to one
// table leaves the file as it was too: DuckDB 1.1 writes such appends into new blocks
// of the file at once (and frees them at the rollback), so a dry run applies only the
// writes a later flow of it reads.
func TestLargeDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	db := fixture.Generated(t, t.TempDir(), 16000)
	if n := queryInt(t, db, "SELECT count(*) FROM oim.invoice_line"); n < 140000 {
		t.Fatalf("%d invoice lines: too few to fill a row group with the exported ones", n)
	}
	// counts are a run's summary lines without their durations.
	counts := func(out string) string {
		return regexp.MustCompile(` \([^)]*\)( \[dry run: nothing written\])?`).ReplaceAllString(out, "")
	}
	var dry string
	for _, args := range [][]string{{"run", "--dry-run", "--flow", "sales-invoices"}, {"run", "--dry-run"}} {
		before := filesIn(t, filepath.Dir(db))
		r := cli(t, nil, append(args, "--db", db)...)
		if r.code > 1 || !strings.Contains(r.stdout, "sales-invoices: selected") {
			t.Fatalf("%v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		if after := filesIn(t, filepath.Dir(db)); !maps.Equal(after, before) {
			t.Errorf("%v changed the files: %v, before %v\n%s", args, after, before, r.stdout)
		}
		dry = counts(r.stdout)
	}
	// The dry run of every flow counts what the run does: the credit notes see the
	// invoices' lines the dry run put aside.
	r := cli(t, nil, "run", "--db", db)
	if r.code > 1 {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	if got := counts(r.stdout); got != dry {
		t.Errorf("the dry run counted\n%s\nthe run\n%s", dry, got)
	}
}

// foreignLog leaves a write in a DuckDB file's log, as another writer (OIM) would: a
// log no run of the connector left.
func foreignLog(t *testing.T, path string) {
	t.Helper()
	db := fixture.Open(t, path)
	for _, q := range []string{"PRAGMA disable_checkpoint_on_shutdown", "CREATE SCHEMA IF NOT EXISTS elsewhere", "CREATE OR REPLACE TABLE elsewhere.t AS SELECT 1 AS x"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// filesIn is the sha256 of every file in a directory, by name.
func filesIn(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = fmt.Sprintf("%x", sha256.Sum256(data))
	}
	return out
}

// invoiceCount is how many invoices a DuckDB file holds.
func invoiceCount(t *testing.T, path string) int {
	t.Helper()
	return queryInt(t, path, "SELECT count(*) FROM oim.invoice")
}

// Commands that would replace data refuse without --force, naming the file; init never
// creates a file it then cannot use.
func TestDestructiveCommandsRefuseWithoutForce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "data.duckdb")
	if r := cli(t, nil, "generate", "--db", file, "--invoices", "120"); r.code != 0 {
		t.Fatalf("generate into a new file: %d %s", r.code, r.stderr)
	}

	r := cli(t, nil, "demo", "--db", file, "--invoices", "40")
	if r.code != 2 || !strings.Contains(r.stderr, file+" already exists: use --force to replace it") || invoiceCount(t, file) != 120 {
		t.Errorf("demo on an existing file: want exit 2 naming it, got %d\n%s", r.code, r.stderr)
	}
	r = cli(t, nil, "generate", "--db", file, "--invoices", "40")
	if r.code != 2 || !strings.Contains(r.stderr, file+" already holds data (oim.ap_voucher has ") ||
		!strings.Contains(r.stderr, "use --force to replace it") || invoiceCount(t, file) != 120 {
		t.Errorf("generate into a file holding data: want exit 2 naming it and the table, got %d\n%s", r.code, r.stderr)
	}
	if r := cli(t, nil, "generate", "--db", file, "--invoices", "40", "--force"); r.code != 0 || invoiceCount(t, file) != 40 {
		t.Errorf("generate --force starts the file anew: %d\n%s", r.code, r.stderr)
	}
	if r := cli(t, nil, "demo", "--db", file, "--invoices", "30", "--force"); r.code != 0 || invoiceCount(t, file) != 30 ||
		queryInt(t, file, "SELECT count(*) FROM acct.sales_invoice") == 0 {
		t.Errorf("demo --force replaces the file and exports: %d\n%s", r.code, r.stderr)
	}

	// init refuses a clashing name before creating anything; on schemas already there it
	// changes nothing.
	for _, name := range []string{"oim.duckdb", "acct.db", "connector.duckdb"} {
		path := filepath.Join(dir, name)
		r := cli(t, nil, "init", "--db", path)
		if r.code != 2 || !strings.Contains(r.stderr, "database file "+path+": DuckDB names the database after the file") {
			t.Errorf("init --db %s: want exit 2 naming the clash, got %d\n%s", name, r.code, r.stderr)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("init --db %s left a file", name)
		}
	}
	if r := cli(t, nil, "init", "--db", filepath.Join(dir, "ok.duckdb"), "--target", filepath.Join(dir, "acct.duckdb")); r.code != 2 ||
		fileExists(filepath.Join(dir, "ok.duckdb")) {
		t.Errorf("init checks every name first: %d, ok.duckdb created: %v", r.code, fileExists(filepath.Join(dir, "ok.duckdb")))
	}
	before := fixture.DumpSchemas(t, file, "oim", "acct")
	for i := 0; i < 2; i++ {
		if r := cli(t, nil, "init", "--db", file); r.code != 0 || r.stdout != "schemas oim and acct ready in "+file+"\n" {
			t.Errorf("init on existing schemas: %d %q %s", r.code, r.stdout, r.stderr)
		}
	}
	if fixture.DumpSchemas(t, file, "oim", "acct") != before {
		t.Errorf("init changed existing tables")
	}
	// --source and --target make what their help says in a DuckDB file: oim, acct (both
	// were made).
	for flag, schema := range map[string]string{"source": "oim", "target": "acct"} {
		f := filepath.Join(dir, flag+".duckdb")
		if r := cli(t, nil, "init", "--"+flag, f); r.code != 0 || r.stdout != "schema "+schema+" ready in "+f+"\n" {
			t.Errorf("init --%s: %d %q %s", flag, r.code, r.stdout, r.stderr)
		}
		if got := queryInt(t, f, "SELECT count(DISTINCT table_schema) FROM information_schema.tables WHERE table_schema IN ('oim', 'acct')"); got != 1 ||
			queryInt(t, f, "SELECT count(*) FROM information_schema.tables WHERE table_schema = '"+schema+"'") == 0 {
			t.Errorf("init --%s made %d schemas, want %s alone", flag, got, schema)
		}
	}
	empty := filepath.Join(dir, "empty.duckdb")
	if r := cli(t, nil, "init", "--db", empty); r.code != 0 {
		t.Fatalf("init: %s", r.stderr)
	}
	if r := cli(t, nil, "generate", "--db", empty, "--invoices", "20"); r.code != 0 || invoiceCount(t, empty) != 20 {
		t.Errorf("generate into empty schemas needs no --force: %d %s", r.code, r.stderr)
	}
	notDuck := writeFile(t, dir, "notes.duckdb", "not a database")
	if r := cli(t, nil, "generate", "--db", notDuck, "--force"); r.code != 2 || !strings.Contains(r.stderr, notDuck+" is not a DuckDB database file") {
		t.Errorf("--force never removes a file that is not a DuckDB database: %d %s", r.code, r.stderr)
	}
	if data, _ := os.ReadFile(notDuck); string(data) != "not a database" {
		t.Errorf("the file was changed")
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Into PostgreSQL, generate refuses a database holding rows, and --force deletes no
// server's data.
func TestGenerateIntoPostgresRefusesData(t *testing.T) {
	t.Parallel()
	pg := fixture.Postgres(t)
	if r := cli(t, nil, "generate", "--db", pg, "--invoices", "20"); r.code != 0 {
		t.Fatalf("generate into an empty database: %d %s", r.code, r.stderr)
	}
	r := cli(t, nil, "generate", "--db", pg, "--invoices", "20")
	if r.code != 2 || !regexp.MustCompile(`already holds data \((acct|oim)\.\w+ has rows\): generate into an empty database`).MatchString(r.stderr) {
		t.Errorf("generate into a database holding rows: want exit 2 naming the table, got %d\n%s", r.code, r.stderr)
	}
	r = cli(t, nil, "generate", "--db", pg, "--invoices", "20", "--force")
	if r.code != 2 || !strings.Contains(r.stderr, "--force replaces a DuckDB file only: it never deletes the data of a PostgreSQL database") {
		t.Errorf("generate --force into PostgreSQL: want exit 2, got %d\n%s", r.code, r.stderr)
	}
}

// The exit statuses of representative failures match the README's table.
func TestExitStatusOfFailures(t *testing.T) {
	t.Parallel()
	db := fixture.DB(t, "sales-invoices.sql")
	dir := t.TempDir()

	t.Run("configuration 2", func(t *testing.T) {
		t.Parallel()
		cfg := writeFile(t, dir, "bad.yaml", "settings:\n  tax_summary: true\n")
		for _, c := range []struct {
			env  []string
			args []string
			want string
		}{
			{nil, []string{"--config", cfg}, cfg + `:2:3: unknown key "tax_summary" in settings`},
			{nil, []string{"--log-level", "verbose"}, `flag --log-level: log.level must be one of debug, info, warn, error; got "verbose"`},
			{[]string{"OIMCONNECT_LOG__LEVEL=verbose"}, nil, `environment variable OIMCONNECT_LOG__LEVEL: log.level must be one of debug, info, warn, error; got "verbose"`},
			{[]string{"OIMCONNECT_BATCH_SIZE=many"}, nil, `environment variable OIMCONNECT_BATCH_SIZE: batch_size must be a whole number, not "many"`},
		} {
			r := cli(t, c.env, append([]string{"run", "--db", db}, c.args...)...)
			if r.code != 2 || !strings.Contains(r.stderr, c.want) {
				t.Errorf("%v %v: want exit 2 and %q, got %d\n%s", c.env, c.args, c.want, r.code, r.stderr)
			}
		}
	})

	// A value out of a flag's range is refused before anything is opened (runs --limit
	// -1 reached the database as a LIMIT, and came back as a failure midway, 3).
	t.Run("flag out of range 2", func(t *testing.T) {
		t.Parallel()
		for _, args := range [][]string{
			{"runs", "--db", db, "--limit", "0"}, {"runs", "--db", db, "--limit", "-1"},
			{"queue", "--queue", "postgres://nobody@127.0.0.1:1/none", "--limit", "-5"},
		} {
			r := cli(t, nil, args...)
			if want := "--limit must be at least 1, got " + args[len(args)-1]; r.code != 2 || !strings.Contains(r.stderr, want) {
				t.Errorf("%v: want exit 2 and %q, got %d\n%s", args, want, r.code, r.stderr)
			}
		}
		// A state that is none is refused before the counts are printed, the states
		// listed as words.
		r := cli(t, nil, "queue", "--queue", "postgres://nobody@127.0.0.1:1/none", "--state", "bogus")
		if want := `no job state "bogus" (states: pending, scheduled, available, running, retryable, completed, cancelled, discarded)`; r.code != 2 || !strings.Contains(r.stderr, want) || r.stdout != "" {
			t.Errorf("queue --state bogus: want exit 2, nothing on stdout and %q, got %d\n%s%s", want, r.code, r.stdout, r.stderr)
		}
		// An empty value is refused, not taken as a flag not given (run --report ""
		// wrote no report).
		for _, flag := range []string{"--report", "--specs", "--config", "--db"} {
			r := cli(t, nil, "run", "--db", db, flag, "")
			if want := flag + " needs a value, got an empty one"; r.code != 2 || !strings.Contains(r.stderr, want) {
				t.Errorf("run %s \"\": want exit 2 and %q, got %d\n%s", flag, want, r.code, r.stderr)
			}
		}
		// River's bound on workers, refused before connecting (it came back as River's
		// error, 3).
		for _, n := range []string{"0", "100000"} {
			args := []string{"worker", "--queue", "postgres://nobody@127.0.0.1:1/none", "--tenants", t.TempDir(), "--concurrency", n}
			r := cli(t, nil, args...)
			if want := "--concurrency must be 1 to 10000 (jobs this worker runs at once), got " + n; r.code != 2 || !strings.Contains(r.stderr, want) {
				t.Errorf("%v: want exit 2 and %q, got %d\n%s", args, want, r.code, r.stderr)
			}
		}
	})

	// An unrelated OIMCONNECT_ variable is refused by every command, by name.
	t.Run("unknown variable 2", func(t *testing.T) {
		t.Parallel()
		const want = `oimconnect: environment variable OIMCONNECT_FOO: no setting "foo" (settings are read from OIMCONNECT_DB, OIMCONNECT_SOURCE, `
		for _, c := range commands {
			args := words(c)
			if slices.Contains(flagNames(c), "db") {
				args = append(args, "--db", db)
			}
			r := cli(t, []string{"OIMCONNECT_FOO=1"}, args...)
			if r.code != 2 || !strings.HasPrefix(r.stderr, want) {
				t.Errorf("%s: want exit 2 and %q, got %d\n%s", c.name, want, r.code, r.stderr)
			}
		}
	})

	// A DuckDB file held by another process (here, this one) is 4 for every command
	// that opens it, and nothing is removed.
	t.Run("busy 4", func(t *testing.T) {
		t.Parallel()
		busy := fixture.DB(t, "sales-invoices.sql")
		held, err := sql.Open("duckdb", busy)
		if err != nil {
			t.Fatal(err)
		}
		defer held.Close()
		if err := held.Ping(); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{
			{"run"}, {"backfill", "--from", "2024-01-01", "--to", "2024-01-31"}, {"plan"}, {"runs"},
			{"explain", "--flow", "sales-invoices", "--id", "INV-OK"}, {"validate"}, {"init"},
			{"generate"}, {"generate", "--force"}, {"demo", "--force"},
		} {
			r := cli(t, nil, append(args, "--db", busy)...)
			if r.code != 4 || !strings.Contains(r.stderr, "is in use by another process") {
				t.Errorf("%v on a busy file: want exit 4, got %d\n%s", args, r.code, r.stderr)
			}
		}
		var n int
		if err := held.QueryRow("SELECT count(*) FROM oim.invoice").Scan(&n); err != nil || n == 0 {
			t.Errorf("the busy file lost its rows: %d, %v", n, err)
		}
	})

	// A PostgreSQL server that cannot be reached is 4 (after the connector's retries).
	t.Run("unreachable 4", func(t *testing.T) {
		t.Parallel()
		const url = "postgres://postgres:pw@127.0.0.1:1/x"
		for _, args := range [][]string{{"run"}, {"init"}, {"generate"}, {"runs"}} {
			t.Run(args[0], func(t *testing.T) {
				t.Parallel()
				r := cli(t, nil, append(args, "--db", url)...)
				if r.code != 4 || !strings.Contains(r.stderr, "connect to postgres://postgres:xxxxx@127.0.0.1:1/x") || strings.Contains(r.stderr, ":pw@") {
					t.Errorf("%v: want exit 4 naming the server without its password, got %d\n%s", args, r.code, r.stderr)
				}
			})
		}
	})

	// A database error once the run is under way is 3: the batch is rolled back.
	t.Run("midway 3", func(t *testing.T) {
		t.Parallel()
		specs := editedSpecs(t, strings.NewReplacer("- check: sales_order_id == nil or sales_order != nil", "- check: date(id) != nil"),
			"model.yaml", "sales-invoices.yaml")
		failing := fixture.DB(t, "sales-invoices.sql")
		before := fixture.DumpSchemas(t, failing, "oim", "acct")
		r := cli(t, []string{"OIMCONNECT_SETTINGS__DEFAULT_COMPANY=Acme UK Ltd"}, "run", "--db", failing, "--specs", specs)
		if r.code != 3 || !strings.Contains(r.stderr, "Conversion Error") {
			t.Errorf("want exit 3 with the database's error, got %d\n%s", r.code, r.stderr)
		}
		if fixture.DumpSchemas(t, failing, "oim", "acct") != before {
			t.Errorf("the failed flow was not rolled back")
		}
	})
}

// A configuration mistake is reported where it is, by every command that loads the
// specs: a key under settings.automation.flows or settings.schedules that names no
// flow (one under automation.flows was ignored, one under schedules refused by serve
// only), a value out of range (refused without its position).
func TestConfigMistakesArePositioned(t *testing.T) {
	t.Parallel()
	db := fixture.DB(t, "sales-invoices.sql")
	dir := t.TempDir()
	flowTypo := writeFile(t, dir, "flows.yaml", "settings:\n  automation:\n    flows:\n      sales_invoice: {disabled: true}\n")
	scheduleTypo := writeFile(t, dir, "schedules.yaml", "settings:\n  schedules:\n    journal: {frequency: Daily, at: \"02:00\"}\n")
	outOfRange := writeFile(t, dir, "range.yaml", "settings:\n  default_company: Acme UK Ltd\n  sales_invoice_line_limit: -3\n")
	wants := map[string]string{
		flowTypo:     flowTypo + `:4:7: settings.automation.flows: no flow "sales_invoice": did you mean sales_invoices? (the keys are flow names with _ for -: vendor_accounts, payable_invoices, payable_credit_notes, sales_invoices, sales_credit_notes, journals)`,
		scheduleTypo: scheduleTypo + `:3:5: settings.schedules: no flow "journal": did you mean journals?`,
		outOfRange:   outOfRange + ":3:29: settings.sales_invoice_line_limit must be at least 1, got -3",
	}
	before := fixture.DumpSchemas(t, db, "oim", "acct")
	for _, args := range [][]string{
		{"run"}, {"backfill", "--from", "2024-01-01", "--to", "2024-12-31"}, {"watch"}, {"serve"}, {"validate"},
		{"explain", "--flow", "sales-invoices", "--id", "INV-OK"}, {"plan"},
	} {
		for cfg, want := range wants {
			r := cli(t, nil, append(args, "--db", db, "--config", cfg)...)
			if r.code != 2 || !strings.Contains(r.stderr, want) {
				t.Errorf("%s --config %s: want exit 2 and\n%s\ngot %d\n%s", args[0], filepath.Base(cfg), want, r.code, r.stderr)
			}
		}
	}
	if fixture.DumpSchemas(t, db, "oim", "acct") != before {
		t.Errorf("a refused configuration wrote into the database")
	}
	// The same mistake from the environment names the variable.
	r := cli(t, []string{"OIMCONNECT_SETTINGS__AUTOMATION__FLOWS__SALES_INVOICE__DISABLED=true"}, "run", "--db", db)
	if want := `oimconnect: environment variable OIMCONNECT_SETTINGS__AUTOMATION__FLOWS__SALES_INVOICE__DISABLED: settings.automation.flows: no flow "sales_invoice"`; r.code != 2 || !strings.HasPrefix(r.stderr, want) {
		t.Errorf("want exit 2 and %q, got %d\n%s", want, r.code, r.stderr)
	}
}

// Automation criteria that name no boolean column of the flow's source are refused by
// validate with the database (which knows its tables) and by watch, at the criteria's
// key in the configuration: validate passed them, and watch placed them in the
// embedded spec.
func TestAutomationCriteriaCheckedAtTheirKey(t *testing.T) {
	t.Parallel()
	db := fixture.DB(t, "sales-invoices.sql")
	dir := t.TempDir()
	missing := writeFile(t, dir, "missing.yaml", "settings:\n  automation:\n    flows:\n      sales_invoices: {criteria: no_such_column}\n")
	notBool := writeFile(t, dir, "notbool.yaml", "settings:\n  automation:\n    flows:\n      sales_invoices: {criteria: id}\n")
	wants := map[string]string{
		missing: missing + ":4:34: settings.automation.flows.sales_invoices.criteria: oim.invoice has no column no_such_column",
		notBool: notBool + ":4:34: settings.automation.flows.sales_invoices.criteria: oim.invoice.id must be a boolean column, it is VARCHAR",
	}
	for _, args := range [][]string{{"validate"}, {"watch"}} {
		for cfg, want := range wants {
			r := cli(t, nil, append(args, "--db", db, "--config", cfg)...)
			if r.code != 2 || !strings.Contains(r.stderr, want) {
				t.Errorf("%s --config %s: want exit 2 and\n%s\ngot %d\n%s", args[0], filepath.Base(cfg), want, r.code, r.stderr)
			}
		}
	}
}

// A PostgreSQL database that does not exist is a configuration error (2) for every
// command, whether it is the queue or the data: the queue commands said 4, "try
// again later", for the same server error the --db commands called a mistake.
func TestMissingPostgresDatabaseIsAConfigurationError(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(fixture.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/oimtest_no_such_database"
	nodb := u.String()
	tenants := t.TempDir()
	writeFile(t, tenants, "acme.yaml", "db: "+filepath.Join(tenants, "acme.duckdb")+"\n")
	for _, args := range [][]string{
		{"queue", "--queue", nodb}, {"backfill", "status", "--tenant", "acme", "--queue", nodb},
		{"run", "--tenant", "acme", "--queue", nodb}, {"init", "--queue", nodb},
		{"run", "--db", nodb}, {"runs", "--db", nodb}, {"validate", "--db", nodb},
	} {
		r := cli(t, nil, args...)
		if r.code != 2 || !strings.Contains(r.stderr, `database "oimtest_no_such_database" does not exist`) {
			t.Errorf("%v: want exit 2 naming the database, got %d\n%s", args, r.code, r.stderr)
		}
	}
}

// An empty PostgreSQL database is refused with the init that creates what it lacks:
// init --db for one holding both schemas, --source for a source without oim (the
// advice said --target, which creates acct only).
func TestEmptyPostgresDatabaseAdvice(t *testing.T) {
	t.Parallel()
	pg := fixture.Postgres(t)
	target := fixture.DB(t, "sales-invoices.sql")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--db", pg}, "has no oim tables: create them with `oimconnect init --db "},
		{[]string{"--source", pg, "--target", target}, "has no oim tables: create them with `oimconnect init --source "},
	} {
		r := cli(t, nil, append([]string{"run", "--dry-run"}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: want exit 2 and %q, got %d\n%s", c.args, c.want, r.code, r.stderr)
		}
	}
}

// Mistakes in spec tests are input errors (2) at their file:line:column, as spec
// files report them, never a failed case or a pass: an empty file said "EOF", broken
// YAML had the wrong line and no column, an unknown key named a Go type, an unknown
// table under given: was a FAIL (1), and a directory without tests passed (0).
func TestSpecTestFileMistakes(t *testing.T) {
	t.Parallel()
	good := readFile(t, filepath.Join(fixture.Root(), "specs", "journals_test.yaml"))
	for _, c := range []struct{ name, text, want string }{
		{"empty", "", "journals_test.yaml: the file is empty"},
		{"malformed", "tests: [\n", "journals_test.yaml:2:1: malformed YAML: did not find expected node content"},
		{"unknown key", "flow: journals\nbogus_top: 1\n", `journals_test.yaml:2:1: unknown key "bogus_top" in the top level (allowed: flow, given, settings, tests)`},
		{"unknown flow", "flow: journal\n", `journals_test.yaml:1:7: unknown flow "journal"`},
		{"unknown table", strings.Replace(good, "  acct.period:\n", "  acct.periodz:\n", 1), "journals_test.yaml:18:3: given: unknown table acct.periodz: did you mean acct.period?"},
		{"unknown column", strings.Replace(good, "{id: P-C1-MAY, company_id: C1,", "{id: P-C1-MAY, compny_id: C1,", 1), "journals_test.yaml:19:22: given acct.period row 1: no column compny_id: did you mean company_id?"},
		{"no tests", "", "no spec tests found: a flow's tests are <flow>_test.yaml beside its spec"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := editedSpecs(t, strings.NewReplacer(), "model.yaml", "journals.yaml")
			if c.name != "no tests" {
				writeFile(t, dir, "journals_test.yaml", c.text)
			}
			r := cli(t, nil, "test", "--specs", dir)
			if r.code != 2 || !strings.Contains(r.stderr, c.want) || strings.Contains(r.stdout, "passed") {
				t.Errorf("want exit 2 and %q, got %d\n%s%s", c.want, r.code, r.stdout, r.stderr)
			}
		})
	}
}
