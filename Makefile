# Baton -- the two commands a newcomer needs are `make demo` and `make test`.
# This Makefile is thin: it installs the Debian packages the build needs when
# they are missing (scripts/install-deps.sh), drives CMake, and runs scripts.
#
#   make demo     run an example workflow end to end on the embedded dev stack
#   make demo-agent  the research agent alone: LLM, HTTP and MCP workers (docs/agents.md)
#   make test     build with ASan+UBSan and run every unit and integration test
#                 (integration tests on Apache Kafka; the demo's also embedded)
#   make test-repeat RUNS=10 [FRESH=1] [TESTS=regex]: the suite RUNS times in a row, a table
#                 of failures and test times (scripts/test-repeat.sh)
#   make bench    N=2000 K=3 C=50: throughput and latency on the dev stack (bench/)
#                 [BATONDS=2: again with two batond; docs/benchmark.md]
#   make bench-timers M=100000: timers batond holds with M pending 24 h timers
#   make bench-bridge N_BRIDGE=50000: baton-bridge events/s and runs started/s
#   make dev      start the dev stack in the background (make dev-stop stops it)
#                 BROKER=apache [KAFKA_NODES=3]: on Apache Kafka
#   make build    release build into build/bin/
#   make chaos    DURATION=300 [SEED=n]: the fault-injection suite (tests/chaos/)
#   make kafka    fetch Apache Kafka's jars into build/kafka/libs (Maven)
#   make fuzz     FUZZ_SECONDS=600: libFuzzer runs of tests/fuzz/ (installs clang)
#
# BROKER=apache|embedded picks the Kafka of make dev, demo, bench and chaos:
# Apache Kafka 3.9 started by scripts/kafka.sh (a JVM per node), or the
# embedded broker (librdkafka's mock cluster in baton-devstack: no JVM, no
# download).  Default: embedded, except for the integration tests.

N ?= 2000
K ?= 3
C ?= 50
JOBS ?= 2
DURATION ?= 300
SEED ?=
CHAOS_BIN ?= build/bin
FUZZ_SECONDS ?= 600
BROKER ?=
export BROKER
# The jars are fetched first when a target runs on Apache Kafka.
KAFKA_DEP := $(if $(filter apache,$(BROKER)),kafka)

.PHONY: all deps build build-asan kafka test test-the-tests test-repeat demo demo-agent bench bench-timers bench-agent-growth bench-bridge dev dev-stop clean format lint chaos fuzz

all: build

deps:
	@scripts/install-deps.sh

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j$(JOBS)

build-asan: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DBATON_SANITIZE=ON >/dev/null
	cmake --build build-asan -j$(JOBS)

# Apache Kafka's jars (cached in ~/.m2; nothing to do when already there).
kafka: deps
	scripts/kafka.sh fetch

test-the-tests: build-asan kafka
	bash tests/mutation/run.sh

test: build build-asan kafka
	cd build-asan && ctest --output-on-failure --timeout 900 -j1

# The suite RUNS times in a row on a clean clone of HEAD: which runs and
# tests failed, each test's time over the runs (scripts/test-repeat.sh).
test-repeat: deps
	FRESH=$(FRESH) TESTS='$(TESTS)' scripts/test-repeat.sh $(or $(RUNS),10)

demo: build $(KAFKA_DEP)
	scripts/demo.sh

demo-agent: build
	scripts/demo-agent.sh

bench: build $(KAFKA_DEP)
	bench/bench.sh $(N) $(K) $(C)

bench-timers: build $(KAFKA_DEP)
	bench/bench-timers.sh $(M)

# The claim check's growth figures (README "Large state"): a conversation
# of 25..200 turns with and without it, on Apache Kafka.
bench-agent-growth: build kafka
	BROKER=apache bench/agent-growth.sh

bench-bridge: build $(KAFKA_DEP)
	bench/bridge.sh $(or $(N_BRIDGE),50000)

# Coverage-guided fuzzing needs clang (installed here only): each target of
# tests/fuzz/ runs FUZZ_SECONDS from the committed corpus; crash inputs land
# in build-fuzz/artifacts/ (add them to the corpus as regress-*).
fuzz:
	@scripts/install-deps.sh --fuzz
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DBATON_SANITIZE=ON -DBATON_LIBFUZZER=ON >/dev/null
	cmake --build build-fuzz -j$(JOBS) --target fuzz_envelope fuzz_snapshot fuzz_definition fuzz_path fuzz_intrinsic fuzz_config
	mkdir -p build-fuzz/artifacts
	cd build-fuzz && BATON_FUZZ_SECONDS=$(FUZZ_SECONDS) BATON_FUZZ_ARTIFACTS=$(CURDIR)/build-fuzz/artifacts ctest -R '^fuzz\.' --output-on-failure -j1

chaos: build $(KAFKA_DEP)
	BATON_BIN=$(CHAOS_BIN) tests/chaos/chaos.sh $(DURATION) $(SEED)

dev: build $(KAFKA_DEP)
	scripts/dev.sh start

dev-stop:
	scripts/dev.sh stop

lint:
	scripts/lint.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan
