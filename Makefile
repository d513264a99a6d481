# libmodeltree. The README's two commands:
#   make run    recover the bundled example zoos and score them against their truth
#   make test   every test: Swift, C (plain, under ASan/UBSan, and a concurrency test with the
#               library built under ThreadSanitizer), Python CLI and package tests, the wheel built
#               from the sdist (test-python-dist), the READMEs' own commands (test-docs), and the
#               fuzzers' corpus and regression inputs replayed once
#   make install PREFIX=...   modeltree-cli, libmodeltree.so, the headers, modeltree.pc (mk/c.mk)
#   make fuzz   libFuzzer on the reader's parsers (FUZZ_TIME s per target, default 600); see FUZZING.md
#   make bench  the benchmark (not part of the tests); see BENCHMARKS.md
#   make picture  draws docs/zoo.svg (the README's picture) again with the CLI; a test checks it
#   make calibrate  measures the confidence calibration again (tools/calibrate.py); a test checks it
# Python runs in a virtual environment made in build/venv (PYTHON=/path/to/python to choose
# another interpreter): the global one is never written to. See mk/python.mk.
SWIFT  ?= swift
# The CLI is built once, as the distributable build (mk/c.mk's `cli`: release, the Swift runtime
# linked in, scratch path .build-dist): `make run`, the tests and `make install` share it with
# libmodeltree.so, whose release build then adds only the C shim.
CLI     = $(MODELTREE_CLI)

.PHONY: build run test test-swift test-python test-docs clean picture calibrate

build: cli

run: build
	$(CLI) recover examples/zoo --truth examples/zoo/truth.json
	$(CLI) recover examples/zoo2 --truth examples/zoo2/truth.json

test: build test-swift test-c test-c-sanitize test-c-tsan test-python test-bindings-python test-python-dist test-docs fuzz-regress

# The README's picture is the tool's own drawing; Tests/python/test_pictures.py fails when it is stale.
picture: build
	$(CLI) recover examples/zoo --truth examples/zoo/truth.json --format svg --quiet > docs/zoo.svg.tmp && mv docs/zoo.svg.tmp docs/zoo.svg

# The confidence calibration and the unsure threshold, measured on the development zoos with the CLI
# (tools/calibrate.py); Tests/python/test_calibration.py fails when the committed table is stale.
calibrate: build python-deps
	$(PYTHON) tools/calibrate.py --cli $(CLI)

test-swift:
	$(SWIFT) test

test-python: build python-deps
	MODELTREE_CLI=$(MODELTREE_CLI) $(PYTHON) -m pytest -q -p no:cacheprovider Tests/python

# The READMEs' command blocks, run in order as a reader would paste them (Tests/docs/run_readme.py),
# and the scripts' one-line messages when a package or an input is missing.
MT_READMES = README.md bindings/c/README.md bindings/python/README.md
test-docs: python-install
	$(PYTHON) -m pytest -q -p no:cacheprovider Tests/docs
	$(PYTHON) Tests/docs/run_readme.py $(MT_READMES)

clean: clean-c clean-fuzz
	rm -rf .build .build-dist $(MT_VENV) $(MT_PY_DIST)

# The C ABI (lib, cli, install, test-c, test-c-sanitize, test-c-tsan, check-header), the Python
# side (the test interpreter, python-install, test-bindings-python), the fuzzers and the benchmark.
include mk/c.mk
include mk/python.mk
include mk/fuzz.mk
-include mk/bench.mk
