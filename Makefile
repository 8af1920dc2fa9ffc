# oimconnect: the two set-up commands are `make demo` and `make test`.
GO      ?= go
BIN     := bin/oimconnect
# Example transform plugins (plugins/examples), built next to the binary.
PLUGINS := regiondims
DEMO_DB ?= demo/oimconnect.duckdb
PKGS    := ./...

.PHONY: all build test test-reliability test-workers demo bench bench-incremental bench-workers lint screenshots clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/oimconnect
	for p in $(PLUGINS); do $(GO) build -o bin/$$p ./plugins/examples/$$p || exit 1; done

# Every test: unit, golden and end-to-end against real DuckDB files and a throwaway
# PostgreSQL server (.ci/postgres starts it, installing it from Debian's packages when it
# can; `.ci/postgres stop` removes it), and the console in a headless Chromium
# (.ci/chromium installs Debian's package when it is missing). Without them those tests
# skip, saying so, except under CI=true, where they fail. Test artifacts go under
# $(TEST_OUTPUT); the console's screenshots, one per page, also into $(TEST_OUTPUT)/console.
TEST_OUTPUT ?= test-output
test:
	@if [ -z "$$TEST_POSTGRES_URL" ]; then pg=$$(.ci/postgres start) && eval "$$pg" || echo "no PostgreSQL server: its tests will skip (fail under CI=true)"; fi; \
	if [ -z "$$CHROMIUM" ]; then CHROMIUM=$$(.ci/chromium) && export CHROMIUM || echo "no Chromium: the console's browser test will skip (fail under CI=true)"; fi; \
	mkdir -p $(TEST_OUTPUT)/console && \
	CONSOLE_SCREENSHOTS=$(abspath $(TEST_OUTPUT))/console $(GO) test -count=1 -artifacts -outputdir $(abspath $(TEST_OUTPUT)) $(PKGS)

# The crash test (cmd/oimconnect/reliability_test.go): a backfill over RELIABILITY_INVOICES
# generated invoices is killed with SIGKILL at RELIABILITY_KILLS (20) random moments
# (RELIABILITY_SEED, printed, replays them) and rerun until done; the end state must keep
# every invariant and equal an uninterrupted run's, into DuckDB and into PostgreSQL
# (started here). 32,000 invoices make about 103,000 documents (the test's short line
# limits split them) and take under 5 minutes on 2 cores; RELIABILITY_INVOICES=100000
# (about 320,000 documents) about 16.
RELIABILITY_INVOICES ?= 32000
test-reliability:
	@if [ -z "$$TEST_POSTGRES_URL" ]; then pg=$$(.ci/postgres start) && eval "$$pg" || echo "no PostgreSQL server: its case will skip (fail under CI=true)"; fi; \
	RELIABILITY_INVOICES=$(RELIABILITY_INVOICES) $(GO) test -tags reliability -run Reliability -count=1 -timeout 60m -v ./cmd/oimconnect/

# The workers' end-to-end test (cmd/oimconnect/workers_test.go): three worker processes
# serve WORKERS_TENANTS (20) tenants, each with its own PostgreSQL source and target
# (started here), on a fast clock (an hour in 12 seconds): hourly schedules, events, one
# tenant's 12-partition backfill, while a random worker is killed with SIGKILL ten
# times (WORKERS_SEED, printed, replays them). About 3 minutes on 2 cores.
test-workers:
	@if [ -z "$$TEST_POSTGRES_URL" ]; then pg=$$(.ci/postgres start) && eval "$$pg" || echo "no PostgreSQL server: the test will skip (fail under CI=true)"; fi; \
	$(GO) test -tags workers -run TestWorkersManyTenants -count=1 -timeout 15m -v ./cmd/oimconnect/

# Generate a realistic OIM data set into $(DEMO_DB) and export every flow; the file is
# the demo's own, so a second `make demo` replaces it (--force).
demo: build
	@mkdir -p $(dir $(DEMO_DB))
	$(BIN) demo --db $(DEMO_DB) --force

# Benchmarks: the engine against hand-written DuckDB SQL doing the same work, same run,
# into DuckDB and (with a PostgreSQL server, started here) into PostgreSQL.
# BENCH_INVOICES sets the size: 1,000,000 invoices make about 10M lines.
BENCH_INVOICES ?= 1000000
bench:
	@if [ -z "$$TEST_POSTGRES_URL" ]; then pg=$$(.ci/postgres start) && eval "$$pg" || echo "no PostgreSQL server: its case will skip"; fi; \
	BENCH_INVOICES=$(BENCH_INVOICES) $(GO) test -run '^$$' -bench 'SalesInvoices' -benchtime 1x -timeout 0 $(PKGS)

# What a day's run costs as history grows: ten new records per flow on a small and a
# large exported database (10k and 1M invoices; 200k for PostgreSQL), all flows and one
# record; watch's latency and idle CPU; a month-by-month backfill against one run.
# BENCH_SMALL, BENCH_LARGE, BENCH_PG_LARGE, BENCH_BACKFILL and BENCH_ROUNDS set the sizes.
bench-incremental:
	@if [ -z "$$TEST_POSTGRES_URL" ]; then pg=$$(.ci/postgres start) && eval "$$pg" || echo "no PostgreSQL server: its case will skip"; fi; \
	$(GO) test -run '^$$' -bench '^BenchmarkIncremental$$' -benchtime 1x -timeout 0 ./pipeline/

# The workers' benchmark (cmd/oimconnect/benchworkers_test.go): a backfill of
# BENCH_WORKERS_INVOICES generated invoices by month, with 1, 2 and 3 worker processes,
# each into a fresh PostgreSQL source and target; then the target's COPY rate.
BENCH_WORKERS_INVOICES ?= 1000000
bench-workers:
	@if [ -z "$$TEST_POSTGRES_URL" ]; then pg=$$(.ci/postgres start) && eval "$$pg" || echo "no PostgreSQL server: the benchmark will skip"; fi; \
	BENCH_WORKERS_INVOICES=$(BENCH_WORKERS_INVOICES) $(GO) test -tags workers -run TestBenchWorkers -count=1 -timeout 0 -v ./cmd/oimconnect/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

# The README's screenshots of the console (pipeline/console/screenshots), taken by its
# browser test.
screenshots:
	CHROMIUM=$$(.ci/chromium) CONSOLE_SCREENSHOTS=$(CURDIR)/pipeline/console/screenshots $(GO) test -count=1 -run '^TestBrowser$$' ./pipeline/console/

clean:
	rm -rf bin demo $(TEST_OUTPUT)
