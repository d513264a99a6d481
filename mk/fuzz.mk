# mk/fuzz.mk — libFuzzer targets for the reader's parsers of untrusted bytes and for the C ABI.
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
# The core (Sources/ModelTree) is compiled once, instrumented (-sanitize=fuzzer,address) and with
# -enable-testing, into a static library with its .swiftmodule; every target links it, and the
# C kernels it imports (Sources/ModelTreeKernels, under ASan).
# Swift targets (Tests/fuzz/<Name>Fuzz.swift, `@testable import ModelTree`, so internal entry
# points are reachable):
#   safetensors   SafetensorsFile.parse: a whole file image, header validation and tiling
#   index         ModelLoader.weightMap: a model.safetensors.index.json (JSONParser at depth 64)
#   gguf          GGUFFile.parse: a whole GGUF image (header, metadata, tensor infos, layout),
#                 the ggml dequantizers on its tensors, arrays read on demand, the name map
#   pickle        torch.save checkpoints: first byte even, a whole archive (ZipArchive +
#                 PickleMachine + StateDictPolicy); odd, a data.pkl over a fixed archive
#   protobuf      ProtobufReader driven schema-free, and ONNXModel.parse on a whole .onnx image
#   signature     ModelSignature(bytes:): the hub index's signature format (a signature's checks
#                 and statistics reach most of the core)
#   frontmatter   FrontMatter(parsing:): a model card's README.md front matter (base_model,
#                 base_model_relation), and Audit.resolve on what it reads
# and one C target:
#   abi           Tests/fuzz/abi_fuzz.c: programs of C ABI calls over in-memory tensors, every
#                 result checked against include/modeltree.h; linked with the core and the shim
#                 (Sources/ModelTreeC, instrumented), see the rules at the end
#
# Variables: FUZZ_TIME (seconds per target, default 600), FUZZ_TARGETS (subset), FUZZ_ARGS
# (extra libFuzzer flags), FUZZ_OUT. A finding stops `make fuzz`; copy it to
# Tests/fuzz/regressions/<target>/ with the fix. Included by the top-level Makefile or alone:
# make -f mk/fuzz.mk fuzz-regress.

FUZZ_ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
SWIFTC ?= swiftc
FUZZ_OUT ?= $(FUZZ_ROOT)/.build-fuzz/fuzz
FUZZ_TIME ?= 600
FUZZ_TARGETS ?= safetensors index gguf pickle protobuf signature frontmatter abi
FUZZ_ARGS ?=
# Inputs up to 16 KB; an input that runs for 10 s is a hang; 2 GB of RSS is a leak or a blow-up.
# SWIFT_BACKTRACE=enable=no: the Swift runtime's crash handler would otherwise run under ASan
# after a finding and bury its report under a spurious one of its own.
FUZZ_FLAGS := -max_len=16384 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
# Every Swift compilation here: -O keeps Swift's overflow and bounds traps (only -Ounchecked drops
# them); -swift-version 6 is the language mode Package.swift builds the sources in (swiftc alone
# defaults to 5, which checks less); -package-name: the index reads the core's `package`
# declarations, as SwiftPM builds them. Links use bfd: the toolchain defaults to gold, which warns
# about every ASan symbol.
FUZZ_SWIFT_COMMON := -parse-as-library -swift-version 6 -O -g -sanitize=fuzzer,address -package-name modeltree
FUZZ_CORE_OUT := $(FUZZ_OUT)/core
FUZZ_CORE := $(FUZZ_CORE_OUT)/libModelTree.a
FUZZ_ABI_OUT := $(FUZZ_OUT)/abi

.PHONY: fuzz fuzz-build fuzz-regress clean-fuzz

# The C kernels the core imports as the module ModelTreeKernels (Sources/ModelTreeKernels):
# compiled by the toolchain's clang with ASan (no fuzzer coverage: float arithmetic has no
# branches worth steering), found by swiftc through the target's module map (-I), and linked into
# every binary, as SwiftPM does.
FUZZ_KERNEL_DIR := $(FUZZ_ROOT)/Sources/ModelTreeKernels
FUZZ_KERNEL_SRC := $(sort $(wildcard $(FUZZ_KERNEL_DIR)/*.c))
FUZZ_KERNEL_OBJ := $(patsubst $(FUZZ_KERNEL_DIR)/%.c,$(FUZZ_OUT)/kernels/%.o,$(FUZZ_KERNEL_SRC))
FUZZ_KERNEL_DEPS := $(wildcard $(FUZZ_KERNEL_DIR)/*.h $(FUZZ_KERNEL_DIR)/*.inc $(FUZZ_KERNEL_DIR)/include/*)
FUZZ_KERNEL_INCLUDE := -I $(FUZZ_KERNEL_DIR)/include

$(FUZZ_OUT)/kernels/%.o: $(FUZZ_KERNEL_DIR)/%.c $(FUZZ_KERNEL_DEPS)
	mkdir -p $(@D)
	$(FUZZ_CC) -g -O1 -fsanitize=address -I$(FUZZ_KERNEL_DIR)/include -c $< -o $@

fuzz-build: $(foreach t,$(FUZZ_TARGETS),$(FUZZ_OUT)/fuzz-$(t))

# The target's entry file is named after it: safetensors → SafetensorsFuzz.swift.
fuzz_entry = $(FUZZ_ROOT)/Tests/fuzz/$(shell echo $(1) | sed 's/./\U&/')Fuzz.swift

# -I finds the core's .swiftmodule (and the kernels' module map, which it imports).
$(FUZZ_OUT)/fuzz-%: $(FUZZ_CORE) $(FUZZ_ROOT)/Tests/fuzz/*Fuzz.swift $(FUZZ_KERNEL_OBJ)
	$(SWIFTC) $(FUZZ_SWIFT_COMMON) -use-ld=bfd -module-name ModelTreeFuzz -I $(FUZZ_CORE_OUT) $(FUZZ_KERNEL_INCLUDE) \
	    $(call fuzz_entry,$*) $(FUZZ_CORE) $(FUZZ_KERNEL_OBJ) -o $@

fuzz: fuzz-build
	set -e; for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_OUT)/corpus/$$t $(FUZZ_OUT)/artifacts/$$t $(FUZZ_ROOT)/Tests/fuzz/regressions/$$t; \
	    echo "== fuzz $$t for $(FUZZ_TIME) s (log: $(FUZZ_OUT)/fuzz-$$t.log)"; \
	    SWIFT_BACKTRACE=enable=no $(FUZZ_OUT)/fuzz-$$t $(FUZZ_FLAGS) -max_total_time=$(FUZZ_TIME) \
	        -dict=$(FUZZ_ROOT)/Tests/fuzz/$$t.dict -artifact_prefix=$(FUZZ_OUT)/artifacts/$$t/ $(FUZZ_ARGS) \
	        $(FUZZ_OUT)/corpus/$$t $(FUZZ_ROOT)/Tests/fuzz/corpus/$$t $(FUZZ_ROOT)/Tests/fuzz/regressions/$$t \
	        > $(FUZZ_OUT)/fuzz-$$t.log 2>&1 || { tail -60 $(FUZZ_OUT)/fuzz-$$t.log; exit 1; }; \
	    grep -E '^(#[0-9]+.*DONE|Done|stat::)' $(FUZZ_OUT)/fuzz-$$t.log; \
	done

# -runs=0 executes each given input once and stops; a crash exits non-zero.
fuzz-regress: fuzz-build
	set -e; for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_ROOT)/Tests/fuzz/regressions/$$t $(FUZZ_OUT)/artifacts/$$t; \
	    SWIFT_BACKTRACE=enable=no $(FUZZ_OUT)/fuzz-$$t $(FUZZ_FLAGS) -runs=0 -artifact_prefix=$(FUZZ_OUT)/artifacts/$$t/ $(FUZZ_ROOT)/Tests/fuzz/corpus/$$t $(FUZZ_ROOT)/Tests/fuzz/regressions/$$t \
	        > $(FUZZ_OUT)/regress-$$t.log 2>&1 || { cat $(FUZZ_OUT)/regress-$$t.log; exit 1; }; \
	    echo "fuzz-regress $$t: $$(find $(FUZZ_ROOT)/Tests/fuzz/corpus/$$t $(FUZZ_ROOT)/Tests/fuzz/regressions/$$t -type f | wc -l) inputs, no finding"; \
	done

clean-fuzz:
	rm -rf $(FUZZ_OUT)

# The core, shared by every target: an instrumented static library with its .swiftmodule.
# -enable-testing lets the Swift targets reach internal API by `@testable import`. Sources/ is
# used as it is (no -D switches, no copies).
FUZZ_CORE_SOURCES := $(sort $(shell find $(FUZZ_ROOT)/Sources/ModelTree -name '*.swift'))
$(FUZZ_CORE): $(FUZZ_CORE_SOURCES) $(FUZZ_KERNEL_DEPS)
	mkdir -p $(@D)
	$(SWIFTC) $(FUZZ_SWIFT_COMMON) -enable-testing -module-name ModelTree $(FUZZ_KERNEL_INCLUDE) -emit-module \
	    -emit-module-path $(@D)/ModelTree.swiftmodule -emit-library -static -o $@ $(FUZZ_CORE_SOURCES)

# The abi target. The shim (Sources/ModelTreeC) imports the core as the module ModelTree: it is
# compiled against the core's library and linked with the C harness into one libFuzzer binary,
# so every Swift line behind the ABI gives coverage feedback.
# The harness is compiled by the toolchain's clang (-fsanitize=fuzzer-no-link: instrumented, no
# main; swiftc's -sanitize=fuzzer links libFuzzer's main).
FUZZ_CC ?= $(firstword $(wildcard $(dir $(realpath $(shell command -v $(SWIFTC))))clang) clang)
FUZZ_SHIM_SOURCES := $(sort $(wildcard $(FUZZ_ROOT)/Sources/ModelTreeC/*.swift))
FUZZ_INDEX_SOURCES := $(sort $(wildcard $(FUZZ_ROOT)/Sources/ModelTreeIndex/*.swift))
# SQLite as the library links it (Package.swift): Debian's archive, statically.
FUZZ_SQLITE := $(firstword $(wildcard /usr/lib/$(shell gcc -print-multiarch 2>/dev/null)/libsqlite3.a /usr/lib/libsqlite3.a /usr/lib64/libsqlite3.a))
FUZZ_ABI_CFLAGS := -g -O1 -Wall -Wextra -Werror -fsanitize=fuzzer-no-link,address -I$(FUZZ_ROOT)/include

# Rewritten only when the C flags change, so that the harness is rebuilt then.
$(FUZZ_ABI_OUT)/cflags: fuzz-abi-force
	@mkdir -p $(@D)
	@echo '$(FUZZ_ABI_CFLAGS)' | cmp -s - $@ || echo '$(FUZZ_ABI_CFLAGS)' > $@

$(FUZZ_ABI_OUT)/libModelTreeIndex.a: $(FUZZ_CORE) $(FUZZ_INDEX_SOURCES)
	mkdir -p $(@D)
	$(SWIFTC) $(FUZZ_SWIFT_COMMON) -module-name ModelTreeIndex -I $(FUZZ_CORE_OUT) -I $(FUZZ_ROOT)/Sources/CSQLite $(FUZZ_KERNEL_INCLUDE) -emit-module \
	    -emit-module-path $(@D)/ModelTreeIndex.swiftmodule -emit-library -static -o $@ $(FUZZ_INDEX_SOURCES)

$(FUZZ_ABI_OUT)/abi_fuzz.o: $(FUZZ_ROOT)/Tests/fuzz/abi_fuzz.c $(FUZZ_ROOT)/include/modeltree.h $(FUZZ_ABI_OUT)/cflags
	$(FUZZ_CC) $(FUZZ_ABI_CFLAGS) -c $< -o $@

# -I include finds include/module.modulemap (the module CModelTree the shim imports).
$(FUZZ_OUT)/fuzz-abi: $(FUZZ_CORE) $(FUZZ_ABI_OUT)/libModelTreeIndex.a $(FUZZ_ABI_OUT)/abi_fuzz.o $(FUZZ_SHIM_SOURCES) \
        $(FUZZ_ROOT)/include/module.modulemap $(FUZZ_KERNEL_OBJ)
	$(SWIFTC) $(FUZZ_SWIFT_COMMON) -use-ld=bfd -module-name ModelTreeC -I $(FUZZ_CORE_OUT) -I $(FUZZ_ABI_OUT) -I $(FUZZ_ROOT)/include \
	    -I $(FUZZ_ROOT)/Sources/CSQLite $(FUZZ_KERNEL_INCLUDE) $(FUZZ_SHIM_SOURCES) $(FUZZ_ABI_OUT)/abi_fuzz.o \
	    $(FUZZ_ABI_OUT)/libModelTreeIndex.a $(FUZZ_CORE) $(FUZZ_KERNEL_OBJ) $(FUZZ_SQLITE) -lm -o $@

.PHONY: fuzz-abi-force
fuzz-abi-force:

