# mk/c.mk — the C ABI: the distributable libmodeltree.so, its installation, and the C/C++ tests.
#
#   make lib                     release libmodeltree.so with the Swift runtime linked in
#                                ($(BUILD_DIR)/c/lib: libmodeltree.so.X.Y.Z + .so.0 + .so links)
#   make cli                     release modeltree-cli with the Swift runtime linked in
#                                ($(BUILD_DIR)/c/bin/modeltree-cli, stripped)
#   make install PREFIX=/usr/local [DESTDIR=...] [RPATH=auto|yes|no]
#                                bin/modeltree-cli, lib/libmodeltree.so*, include/modeltree.h,
#                                include/modeltree.hpp, lib/pkgconfig/modeltree.pc
#   make uninstall PREFIX=...    removes what install wrote
#   make test-c                  installs into a staging prefix, builds the C tests and the
#                                examples with pkg-config only, runs them (zoo, ldd, toolchain
#                                hidden) and the installed CLI without the toolchain
#   make test-c-sanitize         the same tests built with clang -fsanitize=address,undefined
#   make test-c-tsan             the library built with ThreadSanitizer; Tests/c/test_concurrency.c
#                                and the C suite run against it from several threads at once, and
#                                the index's threaded tests (Tests/c/test_index.c)
#   make check-header            the headers alone as C99 and C++17, -Wall -Wextra -pedantic -Werror
#
# Included by the top-level Makefile; also usable alone (make -f mk/c.mk test-c). Defines no
# `all`, `test` or `run`. Paths are absolute, so it works from any directory.

MT_ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)

SWIFT ?= swift
BUILD_DIR ?= build
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DESTDIR ?=
PKG_CONFIG ?= pkg-config
CLANG ?= clang
CLANGXX ?= clang++
# Scratch path of the distributable (static Swift runtime, release) build; separate from the
# development builds so that switching between them rebuilds nothing.
MT_DIST_SCRATCH ?= $(MT_ROOT)/.build-dist
# The distributable build: the Swift runtime linked into the library (MODELTREE_STATIC_STDLIB,
# see Package.swift) and into the CLI (--static-swift-stdlib), so that both run on a machine
# without the toolchain. Every build in this scratch path passes the same flags: SwiftPM then
# rebuilds nothing when switching between the two products.
MT_DIST_BUILD = cd $(MT_ROOT) && MODELTREE_STATIC_STDLIB=1 $(SWIFT) build -c release --static-swift-stdlib \
    --scratch-path $(MT_DIST_SCRATCH)
# The CLI whose JSON the C tests compare with; built from the same sources and scratch path.
MODELTREE_CLI ?= $(MT_DIST_SCRATCH)/release/modeltree-cli
# The example zoo the tests recover (relative to MT_ROOT: the JSON holds paths as given).
MT_ZOO ?= examples/zoo
# The Swift toolchain's root (hidden in the "runs without the toolchain" test).
MT_TOOLCHAIN ?= $(abspath $(dir $(shell realpath "$$(command -v $(SWIFT))"))../..)

MT_OUT := $(abspath $(BUILD_DIR))/c
MT_VERSION := $(shell sed -n 's/^\#define MODELTREE_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)$$/\2/p' $(MT_ROOT)/include/modeltree.h | paste -sd. -)
MT_SOMAJOR := $(firstword $(subst ., ,$(MT_VERSION)))
MT_LIB := $(MT_OUT)/lib/libmodeltree.so.$(MT_VERSION)
MT_STAGE := $(MT_OUT)/stage
MT_WARN := -Wall -Wextra -pedantic -Werror
# What a careful user may compile with: the header must not be the reason their build fails.
MT_HEADER_WARN := $(MT_WARN) -Wshadow -Wconversion -Wsign-conversion -Wundef -Wcast-qual -Wredundant-decls
MT_TEST_SRC := $(addprefix $(MT_ROOT)/Tests/c/,test_modeltree.c harness.c st_files.c)

.PHONY: lib cli install uninstall test-c test-c-sanitize test-c-tsan test-runtime check-header clean-c

# Both always ask SwiftPM (it is incremental), then refresh the stripped copy (and the links).
lib:
	$(MT_DIST_BUILD) --product modeltree
	mkdir -p $(MT_OUT)/lib
	strip --strip-unneeded -o $(MT_LIB).tmp $(MT_DIST_SCRATCH)/release/libmodeltree.so
	mv -f $(MT_LIB).tmp $(MT_LIB)
	ln -sf $(notdir $(MT_LIB)) $(MT_OUT)/lib/libmodeltree.so.$(MT_SOMAJOR)
	ln -sf libmodeltree.so.$(MT_SOMAJOR) $(MT_OUT)/lib/libmodeltree.so

cli:
	$(MT_DIST_BUILD) --product modeltree-cli
	mkdir -p $(MT_OUT)/bin
	strip --strip-unneeded -o $(MT_OUT)/bin/modeltree-cli.tmp $(MODELTREE_CLI)
	mv -f $(MT_OUT)/bin/modeltree-cli.tmp $(MT_OUT)/bin/modeltree-cli

# The run path in modeltree.pc's Libs (RPATH=auto): a program linked with `pkg-config --libs
# modeltree` must start without LD_LIBRARY_PATH, as it would for a library from the system's
# package manager. The loader finds a library in its system directories by itself; anywhere else
# (/usr/local/lib until ldconfig has run, $HOME/.local/lib, /opt/...) only through a run path,
# which the program then carries (RUNPATH: LD_LIBRARY_PATH still wins). RPATH=no leaves it out
# (distribution packages, whose policy forbids run paths); RPATH=yes always writes it.
# The system directories are glibc's own list (ld.so --help), else the usual four.
RPATH ?= auto
MT_LDSO = $(firstword $(wildcard /lib64/ld-linux*.so.* /lib/ld-linux*.so.*))
MT_SYSTEM_LIBDIRS = $(or $(shell $(MT_LDSO) --help 2>/dev/null | sed -n 's|^ *\(/[^ ]*\) (system search path)$$|\1|p'),\
    /lib /usr/lib /lib64 /usr/lib64)
mt_wants_rpath = $(if $(filter yes,$(RPATH)),1,$(if $(filter no,$(RPATH)),,$(if $(filter $(patsubst %/,%,$(1)),$(MT_SYSTEM_LIBDIRS)),,1)))
mt_pc_rpath = $(if $(call mt_wants_rpath,$(1)), -Wl$(comma)-rpath$(comma)$${libdir})
comma := ,

# $(call mt_install,BINDIR,LIBDIR,INCLUDEDIR,final LIBDIR,final INCLUDEDIR,final PREFIX): copies
# the CLI, the library, the headers and the pkg-config file (which names the final paths).
define mt_install
	install -d $(1) $(2) $(2)/pkgconfig $(3)
	install -m 755 $(MT_OUT)/bin/modeltree-cli $(1)/
	install -m 755 $(MT_LIB) $(2)/
	ln -sf $(notdir $(MT_LIB)) $(2)/libmodeltree.so.$(MT_SOMAJOR)
	ln -sf libmodeltree.so.$(MT_SOMAJOR) $(2)/libmodeltree.so
	install -m 644 $(MT_ROOT)/include/modeltree.h $(MT_ROOT)/bindings/c/modeltree.hpp $(3)/
	sed -e 's|@PREFIX@|$(6)|' -e 's|@LIBDIR@|$(4)|' -e 's|@INCLUDEDIR@|$(5)|' -e 's|@VERSION@|$(MT_VERSION)|' \
	    -e 's|@RPATH@|$(call mt_pc_rpath,$(4))|' $(MT_ROOT)/bindings/c/modeltree.pc.in > $(2)/pkgconfig/modeltree.pc
endef

# After a system-wide install (no DESTDIR, run as root) into a directory the loader's cache
# covers (/usr/local/lib on Debian), refresh the cache as libtool does: `-lmodeltree` without
# pkg-config then works too.
install: lib cli
	$(call mt_install,$(DESTDIR)$(BINDIR),$(DESTDIR)$(LIBDIR),$(DESTDIR)$(INCLUDEDIR),$(LIBDIR),$(INCLUDEDIR),$(PREFIX))
	@if [ -z "$(DESTDIR)" ] && [ -w /etc/ld.so.cache ] && ldconfig -v -N 2>/dev/null | grep -qx '$(patsubst %/,%,$(LIBDIR)):.*'; then \
	    echo ldconfig; ldconfig; fi
	@echo "installed modeltree-cli in $(DESTDIR)$(BINDIR), libmodeltree in $(DESTDIR)$(LIBDIR), headers in $(DESTDIR)$(INCLUDEDIR)"

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/modeltree-cli $(DESTDIR)$(LIBDIR)/libmodeltree.so* $(DESTDIR)$(LIBDIR)/pkgconfig/modeltree.pc \
	    $(DESTDIR)$(INCLUDEDIR)/modeltree.h $(DESTDIR)$(INCLUDEDIR)/modeltree.hpp

# The tests see the library only as a user would: installed, found through pkg-config (whose
# Libs carry the run path: the staging prefix is no system directory).
MT_PC = PKG_CONFIG_PATH=$(MT_STAGE)/lib/pkgconfig $(PKG_CONFIG)
MT_LINK = $$($(MT_PC) --cflags --libs modeltree)

$(MT_STAGE)/lib/pkgconfig/modeltree.pc: lib cli
	rm -rf $(MT_STAGE)
	$(call mt_install,$(MT_STAGE)/bin,$(MT_STAGE)/lib,$(MT_STAGE)/include,$(MT_STAGE)/lib,$(MT_STAGE)/include,$(MT_STAGE))

$(MT_OUT)/zoo.json: cli
	cd $(MT_ROOT) && $(MODELTREE_CLI) recover $(MT_ZOO) --format json --quiet > $@.tmp && mv -f $@.tmp $@

# $(call mt_build_tests,CC,CXX,FLAGS,SUFFIX)
define mt_build_tests
	$(1) -std=c99 $(MT_WARN) $(3) $(MT_TEST_SRC) $(MT_LINK) -lpthread -lm -o $(MT_OUT)/test_modeltree$(4)
	$(1) -std=c99 $(MT_WARN) $(3) $(MT_ROOT)/examples/c/hub.c $(MT_LINK) -o $(MT_OUT)/hub$(4)
	$(2) -std=c++17 $(MT_WARN) $(3) $(MT_ROOT)/examples/cpp/hub.cpp $(MT_LINK) -o $(MT_OUT)/hub-cpp$(4)
	$(2) -std=c++17 $(MT_WARN) $(3) $(MT_ROOT)/Tests/c/test_hpp.cpp $(MT_LINK) -o $(MT_OUT)/test_hpp$(4)
	$(1) -std=c99 $(MT_WARN) $(3) $(MT_INDEX_TEST_SRC) $(MT_LINK) -lpthread -lm -o $(MT_OUT)/test_index$(4)
endef

# The hub index's tests (Tests/c/test_index.c): signatures, the index against modeltree_recover,
# kill -9 during adds, several processes and threads adding at once.
MT_INDEX_TEST_SRC := $(addprefix $(MT_ROOT)/Tests/c/,test_index.c harness.c)
MT_INDEX_TEST_ARGS = --zoo $(MT_ZOO) --tmp $(MT_OUT)

MT_TEST_ARGS = --zoo $(MT_ZOO) --zoo-json $(MT_OUT)/zoo.json --cli $(MODELTREE_CLI) --libdir $(MT_STAGE)/lib \
    --toolchain $(MT_TOOLCHAIN) --tmp $(MT_OUT)

test-c: check-header $(MT_STAGE)/lib/pkgconfig/modeltree.pc $(MT_OUT)/zoo.json
	$(call mt_build_tests,$(CC),$(CXX),-O1 -g,)
	cd $(MT_ROOT) && $(MT_OUT)/test_modeltree $(MT_TEST_ARGS) --hub $(MT_OUT)/hub --hub-cpp $(MT_OUT)/hub-cpp --test-hpp $(MT_OUT)/test_hpp
	cd $(MT_ROOT) && $(MT_OUT)/test_index $(MT_INDEX_TEST_ARGS)
	cd $(MT_ROOT) && MODELTREE_KERNEL=portable $(MODELTREE_CLI) recover $(MT_ZOO) --format json --quiet > $(MT_OUT)/zoo-portable.json
	cd $(MT_ROOT) && MODELTREE_KERNEL=portable $(MT_OUT)/test_modeltree $(MT_TEST_ARGS) --zoo-json $(MT_OUT)/zoo-portable.json \
	    kernel_name recover_synthetic zoo_json_equals_cli
	$(MT_CHECK_INSTALLED_CLI)
	$(MAKE) -f $(firstword $(MAKEFILE_LIST)) test-runtime

# The Swift runtime's fork hazard that Sources/ModelTreeRuntime/fork_guard.c removes, on the real
# runtime (Tests/runtime/fork_once.swift): the child must finish with the guard linked in; the
# control without it shows the hazard is still there (exit 3, a hang) or says it is gone.
test-runtime:
	mkdir -p $(MT_OUT)/runtime
	$(CLANG) -O2 -DMODELTREE_STATIC_RUNTIME -c $(MT_ROOT)/Sources/ModelTreeRuntime/fork_guard.c -I$(MT_ROOT)/Sources/ModelTreeRuntime/include \
	    -o $(MT_OUT)/runtime/fork_guard.o
	$(MT_TOOLCHAIN)/usr/bin/swiftc -O -static-stdlib $(MT_ROOT)/Tests/runtime/fork_once.swift $(MT_OUT)/runtime/fork_guard.o \
	    -o $(MT_OUT)/runtime/fork_once
	$(MT_TOOLCHAIN)/usr/bin/swiftc -O -static-stdlib $(MT_ROOT)/Tests/runtime/fork_once.swift -o $(MT_OUT)/runtime/fork_once-unguarded
	$(MT_OUT)/runtime/fork_once
	@$(MT_OUT)/runtime/fork_once-unguarded; rc=$$?; \
	if [ $$rc = 3 ]; then echo "control: without the guard the forked child hangs (the hazard is real on this runtime)"; \
	elif [ $$rc = 0 ]; then echo "control: without the guard the child finished: this runtime may no longer need fork_guard.c"; \
	else echo "control: exit $$rc"; exit 1; fi
	@# The library holds the guard, and the runtime's TLS it resets is defined inside it (not a NULL weak reference).
	@nm $(MT_DIST_SCRATCH)/release/libmodeltree.so | grep -q ' t forget_parent_tid$$' && \
	 nm $(MT_DIST_SCRATCH)/release/libmodeltree.so | grep -q ' [bd] _ZZN5swift14threading_impl5linux13ulock_get_tidEvE3tid$$' || \
	 { echo "libmodeltree.so lacks the fork guard, or the runtime's thread-id cache it resets"; exit 1; }

# The installed CLI needs nothing from the toolchain: ldd names none of its files, and (as root,
# where unshare is allowed) it gives the same JSON with the toolchain's folder hidden under an
# empty tmpfs.
define MT_CHECK_INSTALLED_CLI
	@if ldd $(MT_STAGE)/bin/modeltree-cli | grep -e '$(MT_TOOLCHAIN)' -e 'not found'; then \
	    echo "the installed modeltree-cli needs the files above" >&2; exit 1; fi
	@cd $(MT_ROOT) && if [ "$$(id -u)" = 0 ] && unshare --mount true 2>/dev/null; then \
	    unshare --mount sh -c 'mount -t tmpfs none "$$1" && test ! -e "$$1/usr" && exec "$$0" recover $(MT_ZOO) --format json --quiet' \
	        $(MT_STAGE)/bin/modeltree-cli $(MT_TOOLCHAIN) | cmp - $(MT_OUT)/zoo.json && \
	    echo "installed modeltree-cli: same JSON with $(MT_TOOLCHAIN) hidden"; \
	else echo "installed modeltree-cli: ldd clean (run as root to hide the toolchain)"; fi
endef

# The library itself is Swift (not instrumented); the sanitizers watch the C side of every call:
# out-of-bounds reads and writes of caller buffers, frees with the wrong allocator, leaks, UB.
# (-fuse-ld=bfd: the Swift toolchain's clang defaults to gold, which warns about every ASan symbol.)
MT_SAN := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -fuse-ld=bfd
test-c-sanitize: $(MT_STAGE)/lib/pkgconfig/modeltree.pc $(MT_OUT)/zoo.json
	$(call mt_build_tests,$(CLANG),$(CLANGXX),$(MT_SAN),-san)
	cd $(MT_ROOT) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	    $(MT_OUT)/test_modeltree-san $(MT_TEST_ARGS) --hub $(MT_OUT)/hub-san --hub-cpp $(MT_OUT)/hub-cpp-san --test-hpp $(MT_OUT)/test_hpp-san
	cd $(MT_ROOT) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	    $(MT_OUT)/test_index-san $(MT_INDEX_TEST_ARGS)

# ThreadSanitizer on the library itself: the Swift code, where a race would be, is built with
# --sanitize=thread in its own scratch path, and Tests/c/test_concurrency.c (several threads on
# independent and shared collections, one shared graph, a cancellation, per-thread messages), then
# the whole C suite (tests that need the distributable skip), drive it while the library's own
# worker threads run (MODELTREE_THREADS). halt_on_error makes any report fail the target.
# - The library links the toolchain clang's shared TSan runtime, since its link uses -z defs; the
#   tests use that same runtime (-shared-libsan), which needs the toolchain's libdispatch and
#   BlocksRuntime.
# - The Swift runtime must be the toolchain's shared one: its exported __tsan_on_initialize tells
#   TSan about swift_once. Linked in statically (MODELTREE_STATIC_STDLIB=1) that symbol is hidden
#   and TSan reports the lazy initialisation of Swift globals as races; hence `env -u`.
MT_TSAN_SCRATCH ?= $(MT_ROOT)/.build-tsan
MT_TSAN_THREADS ?= 4
MT_TSAN_RT = $(shell $(CLANG) -print-file-name=libclang_rt.tsan-$(shell uname -m).so)
MT_SWIFT_LIBDIR = $(MT_TOOLCHAIN)/usr/lib/swift/linux
MT_TSAN := -O1 -g -fsanitize=thread -shared-libsan -fno-omit-frame-pointer -I$(MT_ROOT)/include
MT_TSAN_LINK = -L$(MT_OUT)/tsan -lmodeltree -L$(MT_SWIFT_LIBDIR) -ldispatch -lBlocksRuntime -lpthread -lm \
    -Wl,-rpath,$(MT_OUT)/tsan:$(MT_SWIFT_LIBDIR):$(dir $(MT_TSAN_RT))
MT_TSAN_ENV = MODELTREE_THREADS=$(MT_TSAN_THREADS) TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 $$TSAN_OPTIONS"
test-c-tsan:
	cd $(MT_ROOT) && env -u MODELTREE_STATIC_STDLIB $(SWIFT) build -c release --sanitize=thread --product modeltree \
	    --scratch-path $(MT_TSAN_SCRATCH) -Xlinker $(MT_TSAN_RT)
	mkdir -p $(MT_OUT)/tsan
	ln -sf $(MT_TSAN_SCRATCH)/release/libmodeltree.so $(MT_OUT)/tsan/libmodeltree.so.$(MT_SOMAJOR)
	ln -sf libmodeltree.so.$(MT_SOMAJOR) $(MT_OUT)/tsan/libmodeltree.so
	$(CLANG) -std=c11 $(MT_WARN) $(MT_TSAN) $(addprefix $(MT_ROOT)/Tests/c/,test_concurrency.c harness.c st_files.c) \
	    $(MT_TSAN_LINK) -o $(MT_OUT)/test_concurrency-tsan
	$(CLANG) -std=c99 $(MT_WARN) $(MT_TSAN) $(MT_TEST_SRC) $(MT_TSAN_LINK) -o $(MT_OUT)/test_modeltree-tsan
	cd $(MT_ROOT) && $(MT_TSAN_ENV) $(MT_OUT)/test_concurrency-tsan --zoo $(MT_ZOO)
	# Every test but forked_child_uses_threads: with the toolchain's shared Swift runtime (which
	# TSan needs) Sources/ModelTreeRuntime/fork_guard.c cannot reach the runtime's thread-id cache,
	# so a child forked inside a test can livelock in swift_once — the hazard that test checks is
	# gone from the distributed library. (That same hazard, with this harness forking without exec,
	# was the session-4 TSan hang of lent_memory_is_not_written.)
	cd $(MT_ROOT) && $(MT_TSAN_ENV) $(MT_OUT)/test_modeltree-tsan --zoo $(MT_ZOO) --tmp $(MT_OUT) \
	    $(filter-out forked_child_uses_threads,$(shell sed -n 's/^ *{"\([a-z0-9_]*\)", test_.*/\1/p' $(MT_ROOT)/Tests/c/test_modeltree.c))
	$(CLANG) -std=c99 $(MT_WARN) $(MT_TSAN) $(MT_INDEX_TEST_SRC) $(MT_TSAN_LINK) -o $(MT_OUT)/test_index-tsan
	cd $(MT_ROOT) && $(MT_TSAN_ENV) $(MT_OUT)/test_index-tsan $(MT_INDEX_TEST_ARGS) threads index_equals candidate

# The public headers compile on their own, with the strictest common warnings, with both compilers.
check-header:
	mkdir -p $(MT_OUT)
	printf '#include <modeltree.h>\n' > $(MT_OUT)/header_alone.c
	printf '#include <modeltree.hpp>\nint main() { return modeltree::version_matches() ? 0 : 1; }\n' > $(MT_OUT)/hpp_alone.cpp
	for cc in $(CC) $(CLANG); do \
	    $$cc -std=c99 $(MT_HEADER_WARN) -Wstrict-prototypes -fsyntax-only -I$(MT_ROOT)/include $(MT_OUT)/header_alone.c || exit 1; \
	    $$cc -std=c11 $(MT_HEADER_WARN) -Wstrict-prototypes -fsyntax-only -I$(MT_ROOT)/include $(MT_OUT)/header_alone.c || exit 1; \
	done
	for cxx in $(CXX) $(CLANGXX); do \
	    $$cxx -std=c++17 $(MT_HEADER_WARN) -fsyntax-only -x c++ -I$(MT_ROOT)/include $(MT_OUT)/header_alone.c || exit 1; \
	    $$cxx -std=c++17 $(MT_HEADER_WARN) -fsyntax-only -I$(MT_ROOT)/include -I$(MT_ROOT)/bindings/c $(MT_OUT)/hpp_alone.cpp || exit 1; \
	done
	@echo "check-header: modeltree.h (C99, C11, C++17) and modeltree.hpp (C++17) compile alone"

clean-c:
	rm -rf $(MT_OUT) $(MT_TSAN_SCRATCH)
