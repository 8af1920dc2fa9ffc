# oimconnect: the two set-up commands are `make demo` and `make test`.
GO      ?= go
BIN     := bin/oimconnect
DEMO_DB ?= demo/oimconnect.duckdb
PKGS    := ./...

.PHONY: all build test demo bench lint clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/oimconnect

# Every test: unit, golden and end-to-end against real DuckDB files.
test:
	$(GO) test -count=1 $(PKGS)

# Generate a realistic OIM data set into $(DEMO_DB) and export every flow.
demo: build
	@mkdir -p $(dir $(DEMO_DB))
	$(BIN) demo --db $(DEMO_DB)

# Benchmarks: the engine against hand-written DuckDB SQL doing the same work, same run.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x $(PKGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

clean:
	rm -rf bin demo
