# Baton -- the two commands a newcomer needs are `make demo` and `make test`.
# This Makefile is thin: it installs the Debian packages the build needs when
# they are missing (scripts/install-deps.sh), drives CMake, and runs scripts.
#
#   make demo     run an example workflow end to end on the embedded dev stack
#   make test     build with ASan+UBSan and run every unit and integration test
#   make bench    N=2000 K=3 C=50: throughput and latency on the dev stack (bench/)
#   make bench-timers M=100000: timers batond holds with M pending 24 h timers
#   make dev      start the dev stack in the background (make dev-stop stops it)
#   make build    release build into build/bin/
#   make chaos    DURATION=300 [SEED=n]: the fault-injection suite (tests/chaos/)
#   make fuzz     FUZZ_SECONDS=600: libFuzzer runs of tests/fuzz/ (installs clang)

N ?= 2000
K ?= 3
C ?= 50
JOBS ?= 2
DURATION ?= 300
SEED ?=
CHAOS_BIN ?= build/bin
FUZZ_SECONDS ?= 600

.PHONY: all deps build build-asan test demo bench bench-timers dev dev-stop clean format chaos fuzz

all: build

deps:
	@scripts/install-deps.sh

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j$(JOBS)

build-asan: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DBATON_SANITIZE=ON >/dev/null
	cmake --build build-asan -j$(JOBS)

test: build build-asan
	cd build-asan && ctest --output-on-failure --timeout 900 -j1

demo: build
	scripts/demo.sh

bench: build
	bench/bench.sh $(N) $(K) $(C)

bench-timers: build
	bench/bench-timers.sh $(M)

# Coverage-guided fuzzing needs clang (installed here only): each target of
# tests/fuzz/ runs FUZZ_SECONDS from the committed corpus; crash inputs land
# in build-fuzz/artifacts/ (add them to the corpus as regress-*).
fuzz:
	@scripts/install-deps.sh --fuzz
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DBATON_SANITIZE=ON -DBATON_LIBFUZZER=ON >/dev/null
	cmake --build build-fuzz -j$(JOBS) --target fuzz_envelope fuzz_snapshot fuzz_definition fuzz_path fuzz_intrinsic fuzz_config
	mkdir -p build-fuzz/artifacts
	cd build-fuzz && BATON_FUZZ_SECONDS=$(FUZZ_SECONDS) BATON_FUZZ_ARTIFACTS=$(CURDIR)/build-fuzz/artifacts ctest -R '^fuzz\.' --output-on-failure -j1

chaos: build
	BATON_BIN=$(CHAOS_BIN) tests/chaos/chaos.sh $(DURATION) $(SEED)

dev: build
	scripts/dev.sh start

dev-stop:
	scripts/dev.sh stop

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan
