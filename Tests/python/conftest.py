"""The CLI's tests share the package tests' support module (bindings/python/tests/mt_support.py):
the built CLI, the example zoos, synthetic families written with tools/st.py. They test the CLI
that MODELTREE_CLI names (`make test-python` passes the one `make build` builds), else the first
one built (mt_support.CLI_SCRATCHES)."""
from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bindings", "python", "tests"))
from mt_support import EXAMPLE_ZOOS as ZOOS, ROOT, Family, model_folders, recover_json, run_cli, st  # noqa: E402,F401


@pytest.fixture
def family(tmp_path):
    def make(seed=0):
        return Family(str(tmp_path / f"family{seed}"), seed)
    return make
