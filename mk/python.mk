# mk/python.mk — the Python package (bindings/python): install it, test it.
#
#   make python-install         builds libmodeltree.so (mk/c.mk's `lib`), then
#                               pip install ./bindings/python (the .so is bundled into the package)
#   make test-bindings-python   python-install, then pytest on bindings/python/tests (which also
#                               runs examples/python/*), comparing with the CLI built from the same
#                               sources and scratch path as the library (mk/c.mk's MODELTREE_CLI)
#
# Included by the top-level Makefile; also usable alone (make -f mk/python.mk test-bindings-python).
# Defines no `all`, `test` or `run`.

MT_PY_ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
PYTHON ?= python3

# The C fragment provides `lib` and MT_LIB (the stripped libmodeltree.so.X.Y.Z); include it once.
ifndef MT_LIB
include $(MT_PY_ROOT)/mk/c.mk
endif

MT_PY_PIP := $(PYTHON) -m pip install --quiet --disable-pip-version-check

.PHONY: python-install test-bindings-python

# pip builds the extension in a fresh isolated environment each time, so a rebuilt library is
# always the one bundled. MODELTREE_LIB names it exactly (BUILD_DIR may have been overridden).
python-install: lib
	MODELTREE_LIB=$(MT_LIB) $(MT_PY_PIP) $(MT_PY_ROOT)/bindings/python

test-bindings-python: python-install
	cd $(MT_PY_ROOT) && $(SWIFT) build -c release --product modeltree-cli --scratch-path $(MT_DIST_SCRATCH)
	cd $(MT_PY_ROOT) && MODELTREE_CLI=$(MODELTREE_CLI) $(PYTHON) -m pytest -q -p no:cacheprovider bindings/python/tests
