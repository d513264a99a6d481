# libmodeltree. The README's two commands:
#   make run    recover the bundled example zoos and score them against their truth
#   make test   every test: Swift, C (plain, under ASan/UBSan, and a concurrency test with the
#               library built under ThreadSanitizer), Python CLI and package tests, and the
#               fuzzers' corpus and regression inputs replayed once
#   make fuzz   libFuzzer on the reader's parsers (FUZZ_TIME s per target, default 600); see FUZZING.md
#   make bench  the benchmark (not part of the tests); see BENCHMARKS.md
SWIFT  ?= swift
PYTHON ?= python3
CLI     = .build/release/modeltree-cli

.PHONY: build run test test-swift test-python python-deps clean

build:
	$(SWIFT) build -c release --product modeltree-cli

run: build
	$(CLI) recover examples/zoo --truth examples/zoo/truth.json
	$(CLI) recover examples/zoo2 --truth examples/zoo2/truth.json

python-deps:
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r Tests/python/requirements.txt

test: build python-deps test-swift test-c test-c-sanitize test-c-tsan test-python test-bindings-python fuzz-regress

test-swift:
	$(SWIFT) test

test-python:
	$(PYTHON) -m pytest -q Tests/python

clean: clean-c clean-fuzz
	rm -rf .build .build-dist

# The C ABI (lib, install, test-c, test-c-sanitize, test-c-tsan, check-header), the Python package
# (python-install, test-bindings-python) and the benchmark (bench, not part of the tests).
include mk/c.mk
include mk/python.mk
include mk/fuzz.mk
-include mk/bench.mk
