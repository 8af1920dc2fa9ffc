# oimconnect: the two set-up commands are `make demo` and `make test`.
GO      ?= go
BIN     := bin/oimconnect
DEMO_DB ?= demo/oimconnect.duckdb
PKGS    := ./...

.PHONY: all build test demo bench lint clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/oimconnect

# Every test: unit, golden and end-to-end against real DuckDB files and a throwaway
# PostgreSQL server (.ci/postgres starts it, installing it from Debian's packages when it
# can; `.ci/postgres stop` removes it). Without one the PostgreSQL tests skip, saying so,
# except under CI=true, where they fail.
test:
	@if [ -z "$$TEST_POSTGRES_URL" ]; then pg=$$(.ci/postgres start) && eval "$$pg" || echo "no PostgreSQL server: its tests will skip (fail under CI=true)"; fi; \
	$(GO) test -count=1 $(PKGS)

# Generate a realistic OIM data set into $(DEMO_DB) and export every flow.
demo: build
	@mkdir -p $(dir $(DEMO_DB))
	$(BIN) demo --db $(DEMO_DB)

# Benchmarks: the engine against hand-written DuckDB SQL doing the same work, same run,
# into DuckDB and (with a PostgreSQL server, started here) into PostgreSQL.
# BENCH_INVOICES sets the size: 1,000,000 invoices make about 10M lines.
BENCH_INVOICES ?= 1000000
bench:
	@if [ -z "$$TEST_POSTGRES_URL" ]; then pg=$$(.ci/postgres start) && eval "$$pg" || echo "no PostgreSQL server: its case will skip"; fi; \
	BENCH_INVOICES=$(BENCH_INVOICES) $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 0 $(PKGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

clean:
	rm -rf bin demo
