# The benchmark (issue 5): `make bench` generates the synthetic families (cached outside the
# repository, in $(BENCH_CACHE)), runs the bandwidth probe, modeltree-cli and the Python baseline
# on them, and writes the table into BENCHMARKS.md. Not part of `make test`.
#   make bench BENCH_ARGS="--only n32-25M"   some families only
BENCH_CACHE ?= $(HOME)/.cache/modeltree-bench
BENCH_ARGS  ?=
PYTHON      ?= python3
CC          ?= cc

.PHONY: bench bench-deps

bench-deps:
	@test -x /usr/bin/time || (apt-get update && apt-get install -y time)
	@$(PYTHON) -c "import numpy, scipy, networkx" 2>/dev/null || $(PYTHON) -m pip install --quiet numpy scipy networkx

.build/bench-probe: bench/probe.c
	@mkdir -p .build
	$(CC) -O2 -pthread -o $@ bench/probe.c

bench: bench-deps .build/bench-probe
	swift build -c release --product modeltree-cli
	MODELTREE_BENCH_CACHE=$(BENCH_CACHE) $(PYTHON) bench/run.py --write $(BENCH_ARGS)
