# mk/fuzz.mk — libFuzzer targets for the reader's parsers of untrusted bytes (issue 6).
#
#   make fuzz            builds the targets, then fuzzes each in turn for FUZZ_TIME seconds
#                        (one process each: seconds ≈ CPU seconds), starting from the seed corpus
#                        and the regressions; new inputs go to $(FUZZ_OUT)/corpus/<target>,
#                        findings to $(FUZZ_OUT)/artifacts/<target>/ (both outside git)
#   make fuzz-regress    builds the targets and runs every seed and regression input once
#                        (seconds; needs only the Swift toolchain)
#   make fuzz-build      the binaries only
#   make clean-fuzz      removes $(FUZZ_OUT) (binaries, working corpora, findings)
#
# Targets (Tests/fuzz/<Name>Fuzz.swift, each compiled into one module with the reader's sources
# and -sanitize=fuzzer,address, so internal entry points are reachable):
#   safetensors   SafetensorsFile.parse: a whole file image, header validation and tiling
#   index         ModelLoader.weightMap: a model.safetensors.index.json (JSONParser at depth 64)
#
# Variables: FUZZ_TIME (seconds per target, default 600), FUZZ_TARGETS (subset), FUZZ_ARGS
# (extra libFuzzer flags), FUZZ_OUT. A finding stops `make fuzz`; copy it to
# Tests/fuzz/regressions/<target>/ with the fix. Included by the top-level Makefile or alone:
# make -f mk/fuzz.mk fuzz-regress.

FUZZ_ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
SWIFTC ?= swiftc
FUZZ_OUT ?= $(FUZZ_ROOT)/.build-fuzz/fuzz
FUZZ_TIME ?= 600
FUZZ_TARGETS ?= safetensors index
FUZZ_ARGS ?=
# Inputs up to 16 KB; an input that runs for 10 s is a hang; 2 GB of RSS is a leak or a blow-up.
FUZZ_FLAGS := -max_len=16384 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
FUZZ_SOURCES := $(wildcard $(FUZZ_ROOT)/Sources/ModelTree/IO/*.swift) \
    $(FUZZ_ROOT)/Sources/ModelTree/Model.swift $(FUZZ_ROOT)/Sources/ModelTree/ModelTreeError.swift
# -O keeps Swift's overflow and bounds traps (only -Ounchecked drops them). bfd: the toolchain
# defaults to gold, which warns about every ASan symbol.
FUZZ_SWIFTFLAGS := -parse-as-library -module-name ModelTreeFuzz -O -g -sanitize=fuzzer,address -use-ld=bfd

.PHONY: fuzz fuzz-build fuzz-regress clean-fuzz

fuzz-build: $(foreach t,$(FUZZ_TARGETS),$(FUZZ_OUT)/fuzz-$(t))

# The target's entry file is named after it: safetensors → SafetensorsFuzz.swift.
fuzz_entry = $(FUZZ_ROOT)/Tests/fuzz/$(shell echo $(1) | sed 's/./\U&/')Fuzz.swift

$(FUZZ_OUT)/fuzz-%: $(FUZZ_SOURCES) $(FUZZ_ROOT)/Tests/fuzz/*Fuzz.swift
	mkdir -p $(FUZZ_OUT)
	$(SWIFTC) $(FUZZ_SWIFTFLAGS) $(FUZZ_SOURCES) $(call fuzz_entry,$*) -o $@

fuzz: fuzz-build
	set -e; for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_OUT)/corpus/$$t $(FUZZ_OUT)/artifacts/$$t $(FUZZ_ROOT)/Tests/fuzz/regressions/$$t; \
	    echo "== fuzz $$t for $(FUZZ_TIME) s (log: $(FUZZ_OUT)/fuzz-$$t.log)"; \
	    $(FUZZ_OUT)/fuzz-$$t $(FUZZ_FLAGS) -max_total_time=$(FUZZ_TIME) \
	        -dict=$(FUZZ_ROOT)/Tests/fuzz/$$t.dict -artifact_prefix=$(FUZZ_OUT)/artifacts/$$t/ $(FUZZ_ARGS) \
	        $(FUZZ_OUT)/corpus/$$t $(FUZZ_ROOT)/Tests/fuzz/corpus/$$t $(FUZZ_ROOT)/Tests/fuzz/regressions/$$t \
	        > $(FUZZ_OUT)/fuzz-$$t.log 2>&1 || { tail -60 $(FUZZ_OUT)/fuzz-$$t.log; exit 1; }; \
	    grep -E '^(#[0-9]+.*DONE|Done|stat::)' $(FUZZ_OUT)/fuzz-$$t.log; \
	done

# -runs=0 executes each given input once and stops; a crash exits non-zero.
fuzz-regress: fuzz-build
	set -e; for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_ROOT)/Tests/fuzz/regressions/$$t; \
	    $(FUZZ_OUT)/fuzz-$$t $(FUZZ_FLAGS) -runs=0 $(FUZZ_ROOT)/Tests/fuzz/corpus/$$t $(FUZZ_ROOT)/Tests/fuzz/regressions/$$t \
	        > $(FUZZ_OUT)/regress-$$t.log 2>&1 || { cat $(FUZZ_OUT)/regress-$$t.log; exit 1; }; \
	    echo "fuzz-regress $$t: $$(find $(FUZZ_ROOT)/Tests/fuzz/corpus/$$t $(FUZZ_ROOT)/Tests/fuzz/regressions/$$t -type f | wc -l) inputs, no finding"; \
	done

clean-fuzz:
	rm -rf $(FUZZ_OUT)
