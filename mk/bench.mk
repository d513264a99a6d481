# The benchmark: `make bench` generates the synthetic families (cached outside the repository, in
# $(BENCH_CACHE)), runs the bandwidth probe, modeltree-cli once per kernel set the CPU runs
# (MODELTREE_KERNEL=sse2/avx2/avx512), the modeltree-cli of commit
# $(BENCH_BASELINE_COMMIT) (built in its own scratch folder) and the Python baseline
# (tools/reference_recover.py) on them, and writes the table into BENCHMARKS.md. Not part of
# `make test`. Python is the test interpreter (mk/python.mk: build/venv unless PYTHON= is given).
#   make bench BENCH_ARGS="--only n32-25M"             some families only
#   make bench BENCH_ARGS="--only -1M- --callgrind"    the small families, with instruction counts
#   make bench-targets  only the families of issue 15's open targets (n = 8, 32, 128 x 25M BF16),
#                      every kernel set beside 69c3b17, no Python baseline; prints each target with
#                      its verdict and writes the bench-targets section of BENCHMARKS.md (~3 minutes
#                      on a quiet machine once the families are cached)
#   make bench-index   the hub index (bench/index_bench.py): 10,000 models of ~1M parameters and
#                      100,000 of 2k generated in memory, then its sketch sizes; writes the "Hub
#                      index" table of BENCHMARKS.md. About 40 minutes on 2 busy cores.
#   make bench-index BENCH_INDEX_ARGS=--quick   1,000 and 5,000 models: a check that it runs
BENCH_CACHE ?= $(HOME)/.cache/modeltree-bench
BENCH_ARGS  ?=
CC          ?= cc

# The modeltree-cli the speed targets compare with: the last commit before the Swift 6 core with
# tensor sources and one streaming driver, built from a git archive of that commit, by the same
# toolchain.
BENCH_BASELINE_COMMIT ?= 69c3b17
BENCH_BASELINE_DIR    := .build-baseline/$(BENCH_BASELINE_COMMIT)
BENCH_BASELINE_CLI    := $(BENCH_BASELINE_DIR)/build/release/modeltree-cli

BENCH_INDEX_ARGS ?=

.PHONY: bench bench-deps bench-index bench-targets

bench-deps: python-deps
	@test -x /usr/bin/time || (apt-get update && apt-get install -y time)

.build/bench-probe: bench/probe.c
	@mkdir -p .build
	$(CC) -O2 -pthread -o $@ bench/probe.c

$(BENCH_BASELINE_CLI):
	rm -rf $(BENCH_BASELINE_DIR)/src
	mkdir -p $(BENCH_BASELINE_DIR)/src
	git archive $(BENCH_BASELINE_COMMIT) | tar -x -C $(BENCH_BASELINE_DIR)/src
	cd $(BENCH_BASELINE_DIR)/src && $(SWIFT) build -c release --product modeltree-cli --scratch-path ../build

bench: bench-deps build .build/bench-probe $(BENCH_BASELINE_CLI)
	MODELTREE_BENCH_CACHE=$(BENCH_CACHE) $(PYTHON) bench/run.py --cli $(MODELTREE_CLI) --baseline-cli $(BENCH_BASELINE_CLI) \
	    --write $(BENCH_ARGS)

bench-targets: bench-deps build .build/bench-probe $(BENCH_BASELINE_CLI)
	MODELTREE_BENCH_CACHE=$(BENCH_CACHE) $(PYTHON) bench/run.py --cli $(MODELTREE_CLI) --baseline-cli $(BENCH_BASELINE_CLI) \
	    --targets --write $(BENCH_ARGS)

# The package is installed into the test interpreter (mk/python.mk), built from these sources.
bench-index: python-install
	MODELTREE_BENCH_CACHE=$(BENCH_CACHE) $(PYTHON) bench/index_bench.py --write $(BENCH_INDEX_ARGS)
