package main

import "context"

// command is one of oimconnect's commands: its help page, its own flags (and no
// others), and what it does.
type command struct {
	name     string
	summary  string    // one line in `oimconnect help`
	synopsis string    // the usage line, after "oimconnect "
	about    string    // what it does
	flags    []flagUse // its flags, in help order
	arg      string    // the positional argument it takes (SPEC_DIR, ACTION, ID), if any
	// argMeaning says what arg is (default: the spec directory); actions, when set, are
	// the values it may take.
	argMeaning string
	actions    []string
	// editsConfig says the command reads and writes the --config file itself (it may
	// not exist yet): only the environment and the flags are loaded before it runs.
	editsConfig bool
	plugins     string // what it does with the plugins declared in the configuration
	examples    []string
	do          func(ctx context.Context, inv *invocation) int
}

// flagUse is one of a command's flags; meaning, when set, says it the command's way.
type flagUse struct {
	name, meaning string
}

// use lists flags with their common meaning.
func use(names ...string) []flagUse {
	out := make([]flagUse, len(names))
	for i, n := range names {
		out[i] = flagUse{name: n}
	}
	return out
}

// The plugins line of the commands that run flows.
const (
	pluginsRun     = "Plugins declared in the configuration (plugins: in --config) change their flows' documents before they are written. Each is checked before anything runs: a missing executable, a checksum that does not match or an unknown flow stops the command (exit status 2)."
	pluginsExplain = "Plugins declared in the configuration (plugins: in --config) are checked (executable, checksum, flows; exit status 2 on a mistake) but not run: the rows shown are the mapping's, before any plugin changes them."
)

// connection flags, common to the commands that read and write data.
var connection = use("db", "source", "target", "config", "specs", "log-level")

// commands are oimconnect's commands, in the order help lists them.
var commands = []*command{
	{
		name:     "run",
		summary:  "export the selected records (all flows, or some flows or records)",
		synopsis: "run --db FILE|URL [--config FILE] [--specs DIR] [--flow NAME]... [--id ID]... [--dry-run] [--report FILE] | run --tenant NAME --queue URL [--flow NAME]... [--id ID]...",
		about: "Exports the selected records of every flow, in the contract's order, and prints one summary line per flow: " +
			"selected, exported, documents, lines, waiting, errors. A record is exported completely or not at all, exactly once; " +
			"one that cannot be exported is marked Export Error with the reason, and retried by the next run. " +
			"--flow limits the flows and --id the records (the record page action); without them every selected record is exported (the list view action). " +
			"With --tenant and --queue it runs nothing itself: it enqueues the run for the workers (with --id, one --flow: an export of those records) and prints the job; " +
			"a run of the same flows already waiting or running stands for it.",
		flags: append(append([]flagUse{}, connection...), append(use("flow", "id", "dry-run", "report"),
			flagUse{"tenant", "enqueue the run of this tenant's flows for the workers instead of running it (with --queue)"},
			flagUse{"queue", "the queue to enqueue the run in (with --tenant)"})...),
		plugins: pluginsRun,
		examples: []string{
			"oimconnect run --db oimconnect.duckdb",
			"oimconnect run --db oimconnect.duckdb --flow sales-invoices --id INV-0000042",
			"oimconnect run --db oimconnect.duckdb --specs my-specs --dry-run --report dry.json",
			"oimconnect run --tenant acme --queue postgres://user:pw@host/queue --flow sales-invoices",
		},
		do: doRun,
	},
	{
		name:     "backfill",
		summary:  "export history partition by partition of document date",
		synopsis: "backfill --db FILE|URL --from DATE --to DATE [--partition day|month] [--flow NAME]... [--config FILE] [--dry-run] [--report FILE] | backfill --tenant NAME --queue URL --from DATE --to DATE [--partition day|month] [--flow NAME]...",
		about: "Exports history partition by partition of document date (source.date in each spec; both days included), " +
			"each partition's flows in their own transactions, with a progress bar on a terminal. " +
			"Interrupted (Ctrl-C, SIGTERM: the partition in progress is rolled back, exit status 3) or killed, the same command goes on where it stopped; " +
			"nothing is exported twice. Records without a document date are left to ordinary runs. " +
			"With --tenant and --queue it enqueues one job per partition and returns: workers on any number of machines export the partitions side by side into the tenant's target " +
			"(a run of the undated flows, vendor accounts first, goes before them); `oimconnect backfill status` shows the progress. The same backfill enqueued again adds nothing.",
		flags: append(append([]flagUse{}, connection...),
			flagUse{"flow", "only this flow (repeatable; default: every dated flow, in run order)"},
			flagUse{name: "from"}, flagUse{name: "to"}, flagUse{name: "partition"},
			flagUse{"dry-run", "compute the whole backfill (every partition's counts, failures and reasons) as one dry run, then roll it back: nothing is written and no partition is marked done"},
			flagUse{name: "report"},
			flagUse{"tenant", "enqueue the backfill of this tenant for the workers, one job per partition (with --queue)"},
			flagUse{"queue", "the queue to enqueue the partitions in (with --tenant)"}),
		plugins: pluginsRun,
		examples: []string{
			"oimconnect backfill --db oimconnect.duckdb --from 2024-01-01 --to 2024-12-31",
			"oimconnect backfill --tenant acme --queue postgres://user:pw@host/queue --from 2024-01-01 --to 2024-12-31 --partition month",
			"oimconnect backfill --db oimconnect.duckdb --from 2024-01-01 --to 2024-12-31 --dry-run --report dry.json",
			"oimconnect backfill --db oimconnect.duckdb --from 2024-03-01 --to 2024-03-31 --partition day --flow sales-invoices",
		},
		do: doBackfill,
	},
	{
		name:     "backfill status",
		summary:  "show a tenant's queued backfills, partition by partition",
		synopsis: "backfill status --tenant NAME --queue URL",
		about: "Lists each backfill of the tenant enqueued with `oimconnect backfill --tenant --queue`: how many partitions are waiting, running, done or failed, " +
			"then each partition with its job's state, attempts, the records and documents it exported, and the reason of a failure. " +
			"A partition is done when its job completed: its flows' records were committed with the partition's mark in the tenant's target, so it is never exported again.",
		flags: []flagUse{{"tenant", "the tenant whose backfills to show (required)"}, {"queue", "the queue database (required)"}, {name: "log-level"}},
		examples: []string{
			"oimconnect backfill status --tenant acme --queue postgres://user:pw@host/queue",
			"watch -n 5 oimconnect backfill status --tenant acme --queue postgres://user:pw@host/queue",
		},
		do: doBackfillStatus,
	},
	{
		name:     "watch",
		summary:  "export automatically whatever becomes selected",
		synopsis: "watch --db FILE|URL [--config FILE]",
		about: "Every settings.automation.poll_interval (default 200ms) looks whether OIM changed anything (the DuckDB file's size and time; a PostgreSQL source's change counter), " +
			"and only then opens the database, exports whatever became selected in the automated flows " +
			"(a completed shipment, a matched voucher, a new or changed supplier site...) and closes it again, so OIM, writing the same DuckDB file, gets in between. " +
			"With a PostgreSQL source it also listens for OIM's changes and exports at once. Its own writes never wake it. " +
			"A record that failed is tried again when it changes or after a back-off (a minute, doubling to an hour), not at every poll. " +
			"settings.automation.flows.<flow> (the flow name with _ for -) can disable a flow or name a boolean source column as custom criteria. " +
			"Runs until Ctrl-C or SIGTERM, after rolling back the flow in progress.",
		flags:   connection,
		plugins: pluginsRun,
		examples: []string{
			"oimconnect watch --db oimconnect.duckdb",
			"OIMCONNECT_SETTINGS__AUTOMATION__POLL_INTERVAL=5s oimconnect watch --db oimconnect.duckdb --config tenant.yaml",
			"oimconnect watch --source postgres://user:pw@host/erp --target ledger.duckdb",
		},
		do: doServe,
	},
	{
		name:     "serve",
		summary:  "watch, plus the scheduled jobs of settings.schedules",
		synopsis: "serve --db FILE|URL [--config FILE] [--listen ADDR]",
		about: "Does what watch does, and runs the scheduled jobs of settings.schedules: per flow (the flow name with _ for -), Hourly, Daily, " +
			"Weekly (days) or Monthly (day) at a start time, each exporting all eligible records. Runs of a flow never overlap. " +
			"When the configuration has console users (console.users), it also serves the web console (see `oimconnect help console`) " +
			"on the same engine: its exports take turns with watch's and the schedules', and the schedules it saves take effect at once. " +
			"Runs until Ctrl-C or SIGTERM.",
		flags:   append(append([]flagUse{}, connection...), use("listen")...),
		plugins: pluginsRun,
		examples: []string{
			"oimconnect serve --db oimconnect.duckdb --config schedules.yaml",
			"oimconnect serve --db oimconnect.duckdb --config tenant.yaml --listen 127.0.0.1:8080",
			"oimconnect serve --source postgres://user:pw@host/erp --target postgres://user:pw@host/ledger --config tenant.yaml",
		},
		do: doServe,
	},
	{
		name:     "worker",
		summary:  "work the queue's jobs for many tenants, on any machines",
		synopsis: "worker --queue URL --tenants DIR [--concurrency N] [--lease DURATION] [--shutdown-timeout TIME]",
		about: "Takes jobs from the queue (River, in PostgreSQL) and runs them for the tenants of --tenants, one <tenant>.yaml each: " +
			"runs of a tenant's flows (scheduled, on an event, or asked for), exports of given records, and backfill partitions. " +
			"Every tenant file is checked first, each mistake at its file:line:column (exit status 2). " +
			"One worker at a time leads: it turns every tenant's schedules (settings.schedules) into jobs, exactly once per due time whoever leads and across restarts, " +
			"and its sources' changes (a PostgreSQL source's NOTIFY, a DuckDB file's look every poll) into runs of the automated flows that read them, coalesced while one waits. " +
			"A job failing on a mistake (a spec error) is cancelled with the reason; on an unreachable database it is retried with back-off. " +
			"On SIGTERM or Ctrl-C the jobs in progress get --shutdown-timeout to finish, then are rolled back and handed back; " +
			"a worker killed mid-job loses nothing: another runs the job again once its --lease has passed, and the rerun completes it.",
		flags: []flagUse{{"queue", "the queue database to take jobs from (required)"}, {"tenants", "the directory of tenant files (required)"},
			{name: "concurrency"}, {name: "lease"}, {name: "shutdown-timeout"}, {name: "time-scale"}, {name: "log-level"}},
		plugins: "Plugins declared in the configuration of a tenant (plugins: in its file, paths relative to it) change that tenant's documents only; each is checked when the worker starts (exit status 2 on a mistake) and started by each job that needs it.",
		examples: []string{
			"oimconnect worker --queue postgres://user:pw@host/queue --tenants /etc/oimconnect/tenants",
			"oimconnect worker --queue postgres://user:pw@host/queue --tenants tenants --concurrency 4 --lease 2h",
		},
		do: doWorker,
	},
	{
		name:     "queue",
		summary:  "list the queue's jobs by state, failures with reasons",
		synopsis: "queue --queue URL [--tenant NAME] [--state STATE]... [--limit N]",
		about: "Counts the queue's jobs by state, then lists the latest jobs, newest first: id, state, tenant, what the job does, its attempts, " +
			"and the last error of a failed, cancelled or retried one. `oimconnect queue retry ID` and `oimconnect queue cancel ID` act on a job.",
		flags: []flagUse{{"queue", "the queue database (required)"}, {"tenant", "only this tenant's jobs"}, {name: "state"},
			{"limit", "how many jobs to list, newest first (default 20)"}, {name: "log-level"}},
		examples: []string{
			"oimconnect queue --queue postgres://user:pw@host/queue",
			"oimconnect queue --queue postgres://user:pw@host/queue --tenant acme --state cancelled --state discarded",
		},
		do: doQueue,
	},
	{
		name:     "queue retry",
		summary:  "run jobs of the queue again now",
		synopsis: "queue retry ID... --queue URL",
		about: "Makes each job available again at once: a cancelled or discarded job is retried (after the mistake that failed it was fixed), " +
			"a retryable or scheduled one runs now instead of after its back-off. A completed job is left as it is. Rerunning a job is safe: what it exported is not exported again.",
		flags:      []flagUse{{"queue", "the queue database (required)"}, {name: "log-level"}},
		arg:        "ID",
		argMeaning: "a job's id, as `oimconnect queue` lists it (one or more)",
		examples: []string{
			"oimconnect queue retry 4021 --queue postgres://user:pw@host/queue",
			"oimconnect queue retry 4021 4022 --queue postgres://user:pw@host/queue",
		},
		do: doQueueAct,
	},
	{
		name:     "queue cancel",
		summary:  "cancel jobs of the queue (a running one rolls back)",
		synopsis: "queue cancel ID... --queue URL",
		about: "Cancels each job: one waiting never runs; one running is told to stop, and its run rolls back the batch in progress " +
			"(batches and partitions already committed stay, as after Ctrl-C). No data is deleted, so no --force: `oimconnect queue retry ID` runs it again.",
		flags:      []flagUse{{"queue", "the queue database (required)"}, {name: "log-level"}},
		arg:        "ID",
		argMeaning: "a job's id, as `oimconnect queue` lists it (one or more)",
		examples: []string{
			"oimconnect queue cancel 4021 --queue postgres://user:pw@host/queue",
			"oimconnect queue cancel 4021 4022 --queue postgres://user:pw@host/queue",
		},
		do: doQueueAct,
	},
	{
		name:     "console",
		summary:  "serve the web console only (no watch, no schedules)",
		synopsis: "console --db FILE|URL --config FILE [--listen ADDR]",
		about: "Serves the web console for the accounting staff: per flow, the records by state (eligible now, waiting and for what, Export Error, Exported), " +
			"each record's reason and what it would become, exports of one record or of every eligible one and dry runs (with their progress), " +
			"the run history and reports, the mappings drawn from the specs, reconciliation, and, for admins, the settings, schedules and users. " +
			"Every page needs a login: users and roles are in the configuration's console.users (add one with `oimconnect user add`). " +
			"It listens on console.listen (default 127.0.0.1:8080: this machine only), over HTTPS with console.tls_cert and console.tls_key. " +
			"Settings and schedules saved there are written into the --config file. Runs until Ctrl-C or SIGTERM; an export in progress is rolled back.",
		flags:   append(append([]flagUse{}, connection...), use("listen")...),
		plugins: pluginsRun,
		examples: []string{
			"oimconnect console --db oimconnect.duckdb --config tenant.yaml",
			"oimconnect console --db oimconnect.duckdb --config tenant.yaml --listen 0.0.0.0:8443",
		},
		do: doConsole,
	},
	{
		name:     "user",
		summary:  "add a console user, set a password, or remove a user",
		synopsis: "user add|passwd|remove --config FILE --name NAME [--role viewer|operator|admin]",
		about: "Changes the console's users in the configuration file (console.users): add makes a user (with --role, default viewer), passwd sets a " +
			"user's password (and role, with --role), remove removes one. The password is read from standard input: typed twice, not shown, on a terminal; " +
			"the first line when piped. At least 10 characters and at most 72 bytes (all bcrypt reads). Only its bcrypt hash is written, into the file (created, readable by its owner only, when missing), " +
			"which is saved all at once and keeps its other content and comments. A running console takes the change at its next request.",
		flags: []flagUse{
			{"config", "the configuration file holding the users (required; created when missing)"},
			{name: "name"}, {name: "role"},
		},
		arg:         "ACTION",
		argMeaning:  "add, passwd or remove",
		actions:     []string{"add", "passwd", "remove"},
		editsConfig: true,
		examples: []string{
			"oimconnect user add --config tenant.yaml --name ann --role admin",
			"echo \"$NEW_PASSWORD\" | oimconnect user passwd --config tenant.yaml --name ann",
			"oimconnect user remove --config tenant.yaml --name bob",
		},
		do: doUser,
	},
	{
		name:     "runs",
		summary:  "list the latest flow runs recorded in the database",
		synopsis: "runs --db FILE|URL [--limit N]",
		about: "Lists the latest flow runs recorded in the database's connector schema: mode (manual, automatic, scheduled, backfill), " +
			"when, the counts, and the error of a failed run.",
		flags: append(use("db", "source", "target", "config", "log-level"), use("limit")...),
		examples: []string{
			"oimconnect runs --db oimconnect.duckdb",
			"oimconnect runs --db postgres://user:pw@host/erp --limit 100",
		},
		do: doRuns,
	},
	{
		name:     "reconcile",
		summary:  "check that what was exported adds up, per flow and month",
		synopsis: "reconcile --db FILE|URL [--from DATE --to DATE] [--flow NAME]... [--config FILE] [--report FILE]",
		about: "For every flow whose spec has a reconcile section: each exported record's total in the source (the invoice's lines less its discount, " +
			"the voucher's lines...) against the sum of its documents' lines, per month of document date; and every journal's balance. " +
			"Every record that does not add up is listed with its period and the difference. Nothing is written. " +
			"Exit status 0 when everything adds up, 1 when something does not.",
		flags: append(append([]flagUse{}, connection...),
			flagUse{"flow", "only this flow (repeatable; default: every flow with a reconcile section)"},
			flagUse{"from", "the first document date, YYYY-MM-DD (with --to; default: all history)"},
			flagUse{"to", "the last document date, YYYY-MM-DD, included (with --from)"},
			flagUse{"report", "also write the reconciliation as JSON to FILE"}),
		examples: []string{
			"oimconnect reconcile --db oimconnect.duckdb",
			"oimconnect reconcile --db oimconnect.duckdb --from 2025-01-01 --to 2025-03-31 --flow sales-invoices",
			"oimconnect reconcile --source oim-data.duckdb --target postgres://user:pw@host/ledger --report reconcile.json",
		},
		do: doReconcile,
	},
	{
		name:     "explain",
		summary:  "show how one record would be exported; nothing is written",
		synopsis: "explain --db FILE|URL --flow NAME --id ID [--config FILE] [--specs DIR]",
		about: "For one record of one flow: each select and ready condition with the values it read, the derived fields and where each came from, " +
			"every rule's outcome, and the rows it would write. Nothing is written.",
		flags: append(append([]flagUse{}, connection...),
			flagUse{"flow", "the record's flow (required, once)"}, flagUse{"id", "the record's id (required, once)"}),
		plugins: pluginsExplain,
		examples: []string{
			"oimconnect explain --db oimconnect.duckdb --flow sales-invoices --id INV-0000042",
			"oimconnect explain --db oimconnect.duckdb --specs my-specs --flow journals --id ITX-0000007",
		},
		do: doExplain,
	},
	{
		name:     "plan",
		summary:  "print the SQL each flow runs, without running it",
		synopsis: "plan --db FILE|URL [--flow NAME]... [--id ID]... [--config FILE] [--specs DIR]",
		about:    "Prints the SQL statements each flow runs (the stage, then the writes), planned against the database's tables, without running them.",
		flags: append(append([]flagUse{}, connection...),
			flagUse{"flow", "only this flow's SQL (repeatable; default: every flow)"}, flagUse{"id", "plan as a run of only this record (repeatable)"}),
		examples: []string{
			"oimconnect plan --db oimconnect.duckdb --flow sales-invoices",
			"oimconnect plan --db oimconnect.duckdb --specs my-specs > plan.sql",
		},
		do: doPlan,
	},
	{
		name:     "validate",
		summary:  "check the specs and the configuration, plugins included",
		synopsis: "validate [SPEC_DIR] [--config FILE] [--db FILE|URL]",
		about: "Checks the specs without touching data: keys and types, tables, columns and paths, target fields, required fields left unmapped, every expression; " +
			"against the database's tables with --db, else against the contract's schemas. With --config it checks the configuration too: " +
			"settings keyed by flow name, and each plugin as run would before starting it (the executable exists, its checksum matches, its flows exist). " +
			"Every problem is reported with file:line:column; exit status 2 when there is one.",
		flags: []flagUse{
			{name: "specs", meaning: "the spec directory to check (or give it as SPEC_DIR; default: the embedded specs)"},
			{name: "config"},
			{name: "db", meaning: "check against this database's tables rather than the contract's schemas (DuckDB file or postgres:// URL)"},
			{name: "log-level"},
		},
		arg: "SPEC_DIR",
		examples: []string{
			"oimconnect validate my-specs",
			"oimconnect validate --config tenant.yaml",
			"oimconnect validate my-specs --db oimconnect.duckdb",
		},
		do: doValidate,
	},
	{
		name:     "test",
		summary:  "run the specs' unit tests (<flow>_test.yaml)",
		synopsis: "test [SPEC_DIR]",
		about: "Runs the specs' unit tests: each <flow>_test.yaml beside the specs gives source rows and the rows expected afterwards, " +
			"and every case runs through the real engine in a fresh in-memory database. A failing case shows the difference; exit status 1 when one fails.",
		flags: []flagUse{
			{name: "specs", meaning: "the spec directory whose tests to run (or give it as SPEC_DIR; default: the embedded specs)"},
			{name: "config", meaning: "a configuration file whose specs: names the spec directory"},
		},
		arg: "SPEC_DIR",
		examples: []string{
			"oimconnect test",
			"oimconnect test my-specs",
		},
		do: doTest,
	},
	{
		name:     "flows",
		summary:  "list the flows in run order",
		synopsis: "flows [--specs DIR]",
		about:    "Lists the flows, in the order a run takes them, with their descriptions.",
		flags: []flagUse{
			{name: "specs"},
			{name: "config", meaning: "a configuration file whose specs: names the spec directory"},
		},
		examples: []string{
			"oimconnect flows",
			"oimconnect flows --specs my-specs",
		},
		do: doFlows,
	},
	{
		name:     "init",
		summary:  "create the oim and acct schemas in a DuckDB file or PostgreSQL",
		synopsis: "init --db FILE|URL | --source URL | --target FILE|URL | --queue URL",
		about: "Creates the contract's schemas where they do not exist yet: oim and acct with --db, oim with --source, acct with --target " +
			"(a DuckDB file is created when missing). Schemas that exist are left as they are, so init can run again. " +
			"In PostgreSQL it also installs the triggers watch listens to, and the indexes each flow's records still to export and their lines are read by " +
			"(a partial index on the export status, an index on the lines' header column), so a run reads what changed, not the tables: " +
			"run init again on an existing database to add them. A DuckDB file may not be named oim.*, acct.* or connector.*: " +
			"DuckDB names the database after the file, which would clash with the schema of that name. " +
			"With --queue it installs the queue's schema in PostgreSQL (River's tables, through River's own migrations, and the connector's: schedules, sources seen, tenants) for `oimconnect worker`.",
		flags: []flagUse{
			{"db", "the DuckDB file or postgres:// URL to hold both schemas"},
			{"source", "the postgres:// URL or DuckDB file to hold the oim schema"},
			{"target", "the postgres:// URL or DuckDB file to hold the acct schema"},
			{name: "config"},
			{"specs", "a directory of flow specs replacing the embedded defaults: init indexes their sources"},
			{"queue", "the postgres:// URL to hold the queue's tables (River's and the connector's)"},
		},
		examples: []string{
			"oimconnect init --db oimconnect.duckdb",
			"oimconnect init --db postgres://user:pw@host/erp",
			"oimconnect init --target postgres://user:pw@host/ledger",
			"oimconnect init --queue postgres://user:pw@host/queue",
		},
		do: doInit,
	},
	{
		name:     "generate",
		summary:  "generate the demo data set, without exporting it",
		synopsis: "generate --db FILE|URL [--invoices N] [--seed N] [--force]",
		about: "Creates the schemas and writes a realistic, deterministic OIM data set with the Accounting reference data it needs, without exporting it. " +
			"A database that already holds rows is refused (exit status 2, naming the table); --force starts a DuckDB file anew. " +
			"A PostgreSQL database is never emptied: generate into an empty one.",
		flags: []flagUse{
			{"db", "the DuckDB file (created when missing) or postgres:// URL to generate into"},
			{"source", "the same, when the data set is to be a separate source"},
			{name: "invoices"}, {name: "seed"}, {name: "force"},
			{"config", "a configuration file (db, source, duckdb.temp_directory)"},
		},
		examples: []string{
			"oimconnect generate --db trial.duckdb --invoices 20000",
			"oimconnect generate --db trial.duckdb --invoices 20000 --seed 7 --force",
			"oimconnect generate --db postgres://user:pw@host/erp --invoices 2000",
		},
		do: doGenerate,
	},
	{
		name:     "demo",
		summary:  "generate the demo data set into a new DuckDB file and export it",
		synopsis: "demo [--db FILE] [--invoices N] [--seed N] [--force]",
		about: "Generates the demo data set into a new DuckDB file and exports every flow, then shows a few of the reasons records could not be exported " +
			"(the data holds some invalid records on purpose). Without --config it sets default_company (Acme UK Ltd) and turns auto_post on. " +
			"An existing file is refused (exit status 2) unless --force. Its exit status is 0 when the demo ran, its planted failures " +
			"notwithstanding (run exits 1 for them), so that `make demo` succeeds; any other failure maps as for run.",
		flags: []flagUse{
			{"db", "the DuckDB file to create (default demo.duckdb)"},
			{name: "force"}, {name: "invoices"}, {name: "seed"},
			{name: "flow"}, {name: "report"}, {name: "config"}, {name: "specs"}, {name: "log-level"},
		},
		examples: []string{
			"oimconnect demo",
			"oimconnect demo --db demo/oimconnect.duckdb --force",
			"oimconnect demo --db big.duckdb --invoices 100000 --report demo.json",
		},
		do: doDemo,
	},
}

// lookup finds a command by name.
func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}
