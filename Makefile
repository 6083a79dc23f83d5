# revgate: the two commands a new user needs are `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

NODE_TEST := node --test --test-reporter=spec --import tsx
TEST_FILES = $(wildcard test/unit/*.test.ts test/integration/*.test.ts test/fuzz/*.test.ts)

.PHONY: help deps nats-server prometheus build typecheck test demo clean

help:
	@echo "make demo   run the revocation walkthrough on loopback (nats-server, upstream, issuer, proxy)"
	@echo "make test   install what is missing, type-check, and run every test"
	@echo "make fuzz   run the test/fuzz properties long (FUZZ_RUNS, default 100000; FUZZ_SEED replays a run)"
	@echo "make build  compile to dist/ (the revgate command)"
	@echo "make bench  measure throughput, lookups and replay as ratios against baselines (docs/benchmarks.md)"

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

deps: node_modules/.package-lock.json

# nats-server is a Debian package; tests and the demo start their own servers from it.
nats-server:
	@command -v nats-server >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq nats-server; \
	  else echo "nats-server is missing: install it with 'sudo apt-get install nats-server' (Debian/Ubuntu), then rerun"; exit 1; fi; }

# The Debian package prometheus brings promtool and a Prometheus server; the monitoring tests use both.
prometheus:
	@command -v promtool >/dev/null && command -v prometheus >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq prometheus; \
	  else echo "prometheus is missing: install it with 'sudo apt-get install prometheus' (Debian/Ubuntu), then rerun"; exit 1; fi; }

build: deps
	npx tsc -p tsconfig.json
	chmod +x dist/main.js

typecheck: deps
	npx tsc -p tsconfig.json --noEmit
	npx tsc -p test/tsconfig.json --noEmit

# node --test exits 0 when it finds no test file, so the file list is checked first.
test: deps nats-server prometheus build typecheck
	@test -n "$(TEST_FILES)" || { echo "no test files found under test/"; exit 1; }
	$(NODE_TEST) $(TEST_FILES)

# The same properties as in `make test` with FUZZ_RUNS runs each; properties that sign tokens or send requests get a fraction.
FUZZ_RUNS ?= 100000
.PHONY: fuzz
fuzz: deps nats-server
	FUZZ_RUNS=$(FUZZ_RUNS) $(NODE_TEST) $(wildcard test/fuzz/*.test.ts)

# wrk is a Debian package; `make bench` sends its HTTP load with it.
wrk:
	@command -v wrk >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk; \
	  else echo "wrk is missing: install it with 'sudo apt-get install wrk' (Debian/Ubuntu), then rerun"; exit 1; fi; }

# Benchmarks as ratios against baselines measured in the same run; docs/benchmarks.md explains them.
# They run the tsc output, as `make build` compiles the product; under tsx, Denylist.match() was 1.5 times slower.
# BENCH_SECONDS, BENCH_ROUNDS, BENCH_CONNECTIONS and BENCH_REPLAY_RUNS change the load; BENCH_REPORT=FILE also saves the report.
BENCH_OUT := node_modules/.cache/revgate-bench
.PHONY: wrk bench
bench: deps nats-server wrk
	rm -rf $(BENCH_OUT)
	npx tsc -p test/bench/tsconfig.json
	cp package.json $(BENCH_OUT)/package.json
	node $(BENCH_OUT)/test/bench/run.js

demo: deps nats-server build
	node --import tsx deploy/demo/demo.ts

clean:
	rm -rf dist .demo
