# libmcp: set-up, build, demo and tests on a fresh Debian machine.
#   make demo   build, then run a real MCP exchange against the everything server (stdio, then HTTP)
#   make test   build, then run every test (C, Swift, Python interop, ABI checks)
#   make        build only: build/lib/libmcp.so.1, build/bin/*
#   make bench  benchmarks (not tests)
#   make bench-100k  100,000 connections held on this machine (heavy: several minutes,
#               ~3 GB of memory; C100K_ARGS="--conns 20000" for a lighter run)
#   make wheel  the Python binding as a manylinux wheel with the library inside, in dist/
#   make soak   N minutes of mixed traffic, RSS/fds/latency per minute and a trend verdict
#               (MINUTES=30 by default)
#   make test-fuzz  build the fuzz targets, replay their corpora (ctest label "fuzz")
#   make fuzz FUZZ_SECONDS=60  fuzz each target that long; prints runs and coverage
#   make test-asan  engine + C tests under AddressSanitizer and UBSan (build-asan/)
#   make test-tsan  engine + C tests and the Swift unit tests under ThreadSanitizer (build-tsan/)

BUILD  ?= build
VENV   ?= .venv
JOBS   ?= 2
APT_PACKAGES := cmake libjansson-dev pkg-config golang-go valgrind prometheus chromium postgresql nginx iproute2
SUDO := $(shell [ "$$(id -u)" -ne 0 ] && command -v sudo)

FUZZ_SECONDS ?= 60
# The sanitized builds need clang with its sanitizer runtimes: the Swift toolchain's.
CLANG ?= $(dir $(shell readlink -f $$(command -v swiftc)))clang

.PHONY: all build deps venv demo test test-fuzz fuzz test-asan test-tsan bench bench-100k wheel soak clean

all: build

# System packages, installed only when something is missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(VENV)/.stamp: tests/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r tests/requirements.txt
	touch $@

# Third-party servers from PyPI (mcp-server-time, mcp-server-git) pin the 1.x SDK:
# their own venv, beside the test peers'.
$(VENV)-3p/.stamp: tests/requirements-3p.txt
	python3 -m venv $(VENV)-3p
	$(VENV)-3p/bin/pip install -q -r tests/requirements-3p.txt
	touch $@

venv: $(VENV)/.stamp $(VENV)-3p/.stamp

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DMCP_PYTHON=$(abspath $(VENV))/bin/python

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

demo: build
	python3 scripts/demo.py $(BUILD)/bin/mcp-everything-server
	python3 scripts/demo_http.py $(BUILD)/bin/mcp-everything-server

test: build venv
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -LE fuzz

test-fuzz: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -L fuzz

fuzz: deps
	FUZZ_BUILD=$(abspath $(BUILD))/fuzz fuzz/run.sh build
	FUZZ_BUILD=$(abspath $(BUILD))/fuzz fuzz/run.sh run $(FUZZ_SECONDS)

# A sanitized build directory: the engine (SwiftPM, --sanitize) and the C programs.
$(BUILD)-asan/CMakeCache.txt $(BUILD)-tsan/CMakeCache.txt: | deps
	cmake -S . -B $(@D) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=$(CLANG) \
	  -DMCP_SANITIZE=$(if $(findstring asan,$(@D)),address,thread) -DMCP_PYTHON=$(abspath $(VENV))/bin/python

# The C tests (tests/c) only: each starts the engine's threads and servers.
# Suppressions, each beside its reason: tests/sanitizers/.
test-asan: $(BUILD)-asan/CMakeCache.txt venv
	cmake --build $(BUILD)-asan -j$(JOBS)
	cd $(BUILD)-asan && \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1:suppressions=$(CURDIR)/tests/sanitizers/asan.supp \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/sanitizers/lsan.supp:print_suppressions=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$(CURDIR)/tests/sanitizers/ubsan.supp \
	  ctest --output-on-failure -j$(JOBS) -R '^c_test_'

test-tsan: $(BUILD)-tsan/CMakeCache.txt venv
	cmake --build $(BUILD)-tsan -j$(JOBS)
	cd $(BUILD)-tsan && \
	  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/sanitizers/tsan.supp \
	  ctest --output-on-failure -j$(JOBS) -R '^c_test_'
	TSAN_OPTIONS=halt_on_error=1:suppressions=$(CURDIR)/tests/sanitizers/tsan.supp \
	  swift test -c release -Xswiftc -enable-testing --sanitize=thread --scratch-path $(BUILD)-tsan/swiftpm-test

bench: build venv
	$(VENV)/bin/python bench/run.py --build $(BUILD)
	$(VENV)/bin/python bench/http_bench.py --build $(BUILD)
	$(VENV)/bin/python bench/client_bench.py --build $(BUILD)
	$(VENV)/bin/python bench/python_binding_bench.py --build $(BUILD)
	$(VENV)/bin/python bench/payload_bench.py --build $(BUILD)
	$(VENV)/bin/python bench/schema_bench.py --build $(BUILD)
	$(VENV)/bin/python bench/bridge_bench.py --build $(BUILD)

C100K_ARGS ?=
bench-100k: build venv
	$(VENV)/bin/python bench/c100k_bench.py --build $(BUILD) $(C100K_ARGS)

wheel: build venv
	$(VENV)/bin/python scripts/wheel.py --library $(BUILD)/lib/libmcp.so.1 --out dist

MINUTES ?= 30
soak: build venv
	$(VENV)/bin/python bench/soak.py --build $(BUILD) --minutes $(MINUTES)

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-tsan
