# mk/python.mk — the Python side of the build: the interpreter the tests use, the package.
#
#   make python-deps            the test interpreter with Tests/python/requirements.txt installed
#   make python-install         builds libmodeltree.so (mk/c.mk's `lib`), then
#                               pip install ./bindings/python into the test interpreter
#                               (the .so is bundled into the package)
#   make test-bindings-python   python-install, then pytest on bindings/python/tests (which also
#                               runs examples/python/*), comparing with the CLI built from the same
#                               sources and scratch path as the library (mk/c.mk's MODELTREE_CLI)
#
# The test interpreter: by default a virtual environment this file makes, $(BUILD_DIR)/venv, from
# $(PYTHON3) — nothing is ever installed into the global interpreter, so it works on a Debian
# system Python (PEP 668) as on any other. `make ... PYTHON=/path/to/python` uses that interpreter
# instead (the packages are installed into it). torch is optional (its tests skip without it):
# TORCH_WHEEL names a wheel to install with the test dependencies; by default the CPU-only wheel
# in the `wheels` folder beside the Swift toolchain, when there is one (PyPI's torch pulls 3 GB of
# CUDA libraries that no test uses).
#
# Included by the top-level Makefile; also usable alone (make -f mk/python.mk test-bindings-python).
# Defines no `all`, `test` or `run`.

MT_PY_ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)

# The C fragment provides `lib`, BUILD_DIR, MT_LIB (the stripped libmodeltree.so.X.Y.Z); include it once.
ifndef MT_LIB
include $(MT_PY_ROOT)/mk/c.mk
endif

PYTHON3 ?= python3
MT_VENV := $(abspath $(BUILD_DIR))/venv
ifeq ($(strip $(PYTHON)),)
PYTHON := $(MT_VENV)/bin/python
MT_PY_MAKE_VENV := 1
endif
TORCH_WHEEL ?= $(firstword $(wildcard $(dir $(MT_TOOLCHAIN))wheels/torch-*+cpu-cp$(shell $(PYTHON3) -c 'import sys; print("%d%d" % sys.version_info[:2])' 2>/dev/null)-*.whl))

MT_PY_PIP := $(PYTHON) -m pip install --quiet --disable-pip-version-check

.PHONY: python-venv python-deps python-install test-bindings-python

# `python3 -m venv` needs ensurepip, which Debian ships apart (python3-venv): say so if it is missing.
python-venv:
ifdef MT_PY_MAKE_VENV
	@test -x $(PYTHON) || { echo "creating $(MT_VENV) from $$(command -v $(PYTHON3))"; \
	    $(PYTHON3) -m venv $(MT_VENV) || { rm -rf $(MT_VENV); \
	    echo "could not make a virtual environment with $(PYTHON3) (Debian: apt-get install python3-venv), or pass PYTHON=/path/to/python" >&2; exit 1; }; }
endif

python-deps: python-venv
	$(MT_PY_PIP) -r $(MT_PY_ROOT)/Tests/python/requirements.txt $(TORCH_WHEEL)

# pip builds the extension in a fresh isolated environment each time, so a rebuilt library is
# always the one bundled. MODELTREE_LIB names it exactly (BUILD_DIR may have been overridden).
python-install: lib python-deps
	MODELTREE_LIB=$(MT_LIB) $(MT_PY_PIP) $(MT_PY_ROOT)/bindings/python

test-bindings-python: python-install cli
	cd $(MT_PY_ROOT) && MODELTREE_CLI=$(MODELTREE_CLI) $(PYTHON) -m pytest -q -p no:cacheprovider bindings/python/tests

# The distributions PyPI would get (bindings/python/pyproject.toml): `python -m build` makes the
# sdist (the package and the Swift package it builds libmodeltree.so from), then the wheel from
# that sdist (the library built from source with the toolchain, bundled). test-python-dist
# installs the wheel into a fresh virtual environment and checks it (Tests/packaging/check_dist.py).
MT_PY_DIST := $(abspath $(BUILD_DIR))/dist
.PHONY: python-dist test-python-dist
python-dist: python-deps
	$(MT_PY_PIP) build
	rm -rf $(MT_PY_DIST)
	$(PYTHON) -m build --outdir $(MT_PY_DIST) $(MT_PY_ROOT)/bindings/python

test-python-dist: python-dist
	$(PYTHON) -m venv $(MT_PY_DIST)/venv
	$(MT_PY_DIST)/venv/bin/python -m pip install --quiet --disable-pip-version-check $(MT_PY_DIST)/*.whl
	cd $(MT_PY_ROOT) && $(MT_PY_DIST)/venv/bin/python Tests/packaging/check_dist.py $(MT_PY_DIST) include/modeltree.h examples/zoo
