# flowtrack: the two commands a new machine needs are `make demo` and `make test`.
# Both install their Debian packages first (scripts/install-deps.sh, idempotent).

SHELL      := /bin/bash
PREFIX     ?= /usr/local
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
DEMO_DIR   ?= demo
CTEST_ARGS ?=

MCP_TESTS  := tests/mcp
UI_TESTS   := tests/browser

.PHONY: all deps npm-deps build build-release build-asan test test-plain test-asan fuzz build-fuzz build-fuzz-fast fuzz-long fuzz-long-fast demo install bench bench-deps bench-cli bench-runner bench-sse bench-http bench-mcp bench-pg bench-ab format clean

all: build

deps:
	@bash scripts/install-deps.sh

# The official MCP SDK client the end-to-end tests drive the MCP server with, and
# playwright-core, which drives Debian's Chromium through the dashboard (npm ci).
npm-deps: deps
	@bash scripts/npm-deps.sh $(MCP_TESTS)
	@bash scripts/npm-deps.sh $(UI_TESTS)

# The test builds carry the storage fault hook (FT_FAULTS, docs/operations.md); the
# release build, which `make install` and `make demo` use, must not.
build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DFT_FAULTS=ON >/dev/null
	@ninja -C $(BUILD)

build-release: deps
	@cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
	    -DFT_FAULTS=OFF >/dev/null
	@ninja -C build-release

build-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DFT_SANITIZE=ON -DFT_FAULTS=ON >/dev/null
	@ninja -C $(ASAN_BUILD)

# The whole suite: the plain build, the same tests under ASan + UBSan, and a
# short run of every fuzz target (make fuzz FUZZ_SECONDS=600 for a longer one).
test: test-plain test-asan fuzz
	@cat $(BUILD)/ctest.out $(ASAN_BUILD)/ctest.out | awk '/tests passed, .* failed out of/ { \
	    p += $$NF - $$4; f += $$4 } END { printf "suite: %d passed, %d failed\n", p, f }'

test-plain: build npm-deps
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS) | tee ctest.out; \
	    exit $${PIPESTATUS[0]}

test-asan: build-asan npm-deps
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS) | tee ctest.out; \
	    exit $${PIPESTATUS[0]}

FUZZ_SECONDS ?= 30
fuzz: build-fuzz
	@bash scripts/fuzz.sh build-fuzz $(FUZZ_SECONDS)

build-fuzz: deps
	@CC=clang cmake -S . -B build-fuzz -G Ninja -DFT_FUZZ=ON -DBUILD_TESTING=OFF -DFT_FAULTS=OFF >/dev/null
	@ninja -C build-fuzz

# The same targets with UBSan but without AddressSanitizer: about 2.7 times faster, for runs
# of many millions of executions.
build-fuzz-fast: deps
	@CC=clang cmake -S . -B build-fuzz-fast -G Ninja -DFT_FUZZ=ON -DFT_FUZZ_ASAN=OFF -DBUILD_TESTING=OFF -DFT_FAULTS=OFF >/dev/null
	@ninja -C build-fuzz-fast

# Long runs of every fuzz target, one after the other (docs/benchmarks.md, "Fuzzing");
# FUZZ_JOBS=2 runs two libFuzzer workers per target. The fast runs end by replaying every
# input they found through the ASan build.
FUZZ_RUNS ?= 10000000
FUZZ_JOBS ?= 1
fuzz-long: build-fuzz
	@FT_FUZZ_JOBS=$(FUZZ_JOBS) bash scripts/fuzz-long.sh build-fuzz $(FUZZ_RUNS)
fuzz-long-fast: build-fuzz-fast build-fuzz
	@FT_FUZZ_JOBS=$(FUZZ_JOBS) FT_FUZZ_REPLAY=build-fuzz bash scripts/fuzz-long.sh build-fuzz-fast $(FUZZ_RUNS)

# A demo store with the project's own example tracker imported.
demo: build-release
	@bash scripts/demo.sh build-release/flowtrack $(DEMO_DIR)

install: build-release
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 build-release/flowtrack $(DESTDIR)$(PREFIX)/bin/flowtrack

# Every benchmark (docs/benchmarks.md): each prints the machine and runs beside its anchor.
bench: bench-cli bench-runner bench-sse bench-http bench-mcp bench-pg

bench-deps: build-release
	@bash scripts/install-deps.sh --bench

bench-cli: bench-deps
	@bash bench/cli/run.sh

bench-runner: bench-deps
	@bash bench/runner/run.sh

# SSE fan-out and HTTP reads, each beside nginx. QUICK=1 for short runs.
bench-sse: bench-deps
	@bash bench/sse/run.sh

bench-http: bench-deps
	@bash bench/http/run.sh

bench-mcp: bench-deps
	@bash bench/mcp/run.sh

# The server's writes and fan-out on SQLite, on PostgreSQL, and with two servers on it.
bench-pg: bench-deps
	@bash bench/pg/run.sh

# An older commit against the working tree, paired in one run: make bench-ab REV=<commit>
bench-ab: bench-deps
	@bash bench/ab/run.sh $(REV)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-release build-fuzz
