# Two entry points for a fresh Debian 12 machine (see README):
#   make demo   install what is missing, build (Release), run the offline demo
#   make test   install what is missing, build, run the whole test suite through ctest
#   make fuzz           libFuzzer targets (clang, ASan + UBSan), each run FUZZ_SECONDS (60)
#                       and, with FUZZ_MIN_RUNS, on until it has made that many executions;
#                       an input slower than FUZZ_TIMEOUT (10 s, wall time) is a hang
#   make test-sanitize  the whole test suite built with g++ ASan + UBSan in build-sanitize
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps configure build test demo bench format clean fuzz test-sanitize

all: build

deps:
	@./scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null

build: configure
	@cmake --build $(BUILD) -j$(JOBS)

test: build
	@./scripts/install-test-tools.sh $(BUILD)
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 600

# The demo needs only the tool and the scene generator, not the tests and benchmarks.
demo: configure
	@cmake --build $(BUILD) -j$(JOBS) --target s2prep s2prep-scenegen
	@./scripts/demo.sh $(BUILD)

bench: build
	@./bench/run.sh $(BUILD)

format:
	@clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD) demo-output demo-data

# --- Hardening: fuzzing and sanitizers (own build folders, never mixed with $(BUILD)) ---
CCACHE := $(shell command -v ccache >/dev/null 2>&1 && echo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_MIN_RUNS ?= 0
SANITIZE_BUILD ?= build-sanitize
SANITIZE_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer

fuzz: deps
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
	  -DS2PREP_FUZZ=ON -DS2PREP_BUILD_TESTS=OFF -DS2PREP_BUILD_BENCH=OFF $(CCACHE) >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS) --target fuzz_targets
	@./fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_MIN_RUNS)

# Leak checking is off: GDAL, GEOS and OpenCV keep process-lifetime caches that LSan reports.
test-sanitize: deps
	@cmake -S . -B $(SANITIZE_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=g++ \
	  -DCMAKE_CXX_FLAGS="$(SANITIZE_FLAGS)" -DS2PREP_BUILD_BENCH=OFF $(CCACHE) >/dev/null
	@cmake --build $(SANITIZE_BUILD) -j$(JOBS)
	@./scripts/install-test-tools.sh $(SANITIZE_BUILD)
	@cd $(SANITIZE_BUILD) && \
	  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:$(ASAN_OPTIONS) \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:$(UBSAN_OPTIONS) \
	  ctest --output-on-failure -j$(JOBS) --timeout 1200
