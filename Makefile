# Two entry points for a fresh Debian 12 machine (see README):
#   make demo   install what is missing, build (Release), run the offline demo
#   make test   install what is missing, build, run the whole test suite through ctest
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps configure build test demo bench format clean

all: build

deps:
	@./scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null

build: configure
	@cmake --build $(BUILD) -j$(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 600

demo: build
	@./scripts/demo.sh $(BUILD)

bench: build
	@./bench/run.sh $(BUILD)

format:
	@clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD) demo-output demo-data
