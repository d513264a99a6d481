# The benchmark: `make bench` generates the synthetic families (cached outside the repository, in
# $(BENCH_CACHE)), runs the bandwidth probe, modeltree-cli and the Python baseline
# (tools/reference_recover.py) on them, and writes the table into BENCHMARKS.md. Not part of
# `make test`. Python is the test interpreter (mk/python.mk: build/venv unless PYTHON= is given).
#   make bench BENCH_ARGS="--only n32-25M"   some families only
BENCH_CACHE ?= $(HOME)/.cache/modeltree-bench
BENCH_ARGS  ?=
CC          ?= cc

.PHONY: bench bench-deps

bench-deps: python-deps
	@test -x /usr/bin/time || (apt-get update && apt-get install -y time)

.build/bench-probe: bench/probe.c
	@mkdir -p .build
	$(CC) -O2 -pthread -o $@ bench/probe.c

bench: bench-deps build .build/bench-probe
	MODELTREE_BENCH_CACHE=$(BENCH_CACHE) $(PYTHON) bench/run.py --write $(BENCH_ARGS)
