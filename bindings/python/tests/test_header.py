"""The Python side's declarations match include/modeltree.h: constants, statuses, and every
function of the header has its raw-layer call."""
from __future__ import annotations

import os
import re

import pytest

import modeltree as mt
from modeltree import _errors, _graph, _modeltree
from mt_support import ROOT

HEADER = os.path.join(ROOT, "include", "modeltree.h")
SOURCE = os.path.join(os.path.dirname(__file__), "..", "src", "modeltree", "_modeltree.c")


@pytest.fixture(scope="module")
def header() -> str:
    with open(HEADER) as f:
        return f.read()


def enum_values(header: str) -> dict[str, int]:
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^\s*MODELTREE_([A-Z0-9_]+)\s*=\s*(\d+)\s*,?", header, re.M)}


def test_enum_constants_match_the_header(header):
    values = enum_values(header)
    assert len(values) >= 19
    for name, value in values.items():
        assert getattr(_modeltree, name) == value, name


def test_status_classes_match_the_header(header):
    values = enum_values(header)
    statuses = ["OK", "INVALID_ARGUMENT", "IO", "FORMAT", "INCOMPATIBLE_MODELS", "OUT_OF_MEMORY", "CANCELLED", "INTERNAL"]
    assert [values[s] for s in statuses] == list(range(len(statuses)))
    assert len(_errors.STATUS_ERRORS) == len(statuses)
    for status, cls in enumerate(_errors.STATUS_ERRORS[1:], start=1):
        assert cls.status == status
        assert _modeltree.status_string(status) != "unknown status"
    # A status the header may append later still raises the base class.
    assert _modeltree.status_string(len(statuses)) == "unknown status"


def test_option_names_match_the_header(header):
    values = enum_values(header)
    assert {k: v for k, v in _graph.METRICS.items()} == {k: values[f"METRIC_{k.upper()}"] for k in _graph.METRICS}
    assert {k: v for k, v in _graph.DIRECTIONS.items()} == {k: values[f"DIRECTION_{k.upper()}"] for k in _graph.DIRECTIONS}
    assert _graph.FORMATS == {k[len("FORMAT_"):].lower(): v for k, v in values.items() if k.startswith("FORMAT_")}
    assert _graph.EDGE_TYPES == {k[len("EDGE_"):].lower().replace("_", "-"): v for k, v in values.items() if k.startswith("EDGE_")}


def test_version_is_the_headers_and_checked_by_the_library(header):
    defines = dict(re.findall(r"^#define MODELTREE_VERSION_(MAJOR|MINOR|PATCH) (\d+)", header, re.M))
    assert mt.__version__ == f"{defines['MAJOR']}.{defines['MINOR']}.{defines['PATCH']}" == _modeltree.HEADER_VERSION_STRING
    number = _modeltree.HEADER_VERSION_NUMBER
    assert _modeltree.version_compatible(number)
    assert not _modeltree.version_compatible(number + 1) and not _modeltree.version_compatible(number + 10000)


def test_defines_match_the_header(header):
    defines = dict(re.findall(r"^#define MODELTREE_(VERSION_MAJOR|VERSION_MINOR|VERSION_PATCH|MAX_NDIM) (\d+)", header, re.M))
    assert _modeltree.MAX_NDIM == int(defines["MAX_NDIM"])
    number = int(defines["VERSION_MAJOR"]) * 10000 + int(defines["VERSION_MINOR"]) * 100 + int(defines["VERSION_PATCH"])
    assert _modeltree.HEADER_VERSION_NUMBER == number
    assert _modeltree.version_number() // 10000 == number // 10000  # the bundled library's ABI
    assert mt.library_version == _modeltree.version_string()
    assert "MODELTREE_INDEX_INVALID ((int64_t)-2)" in header and _modeltree.INDEX_INVALID == -2
    assert "MODELTREE_NO_PARENT ((int64_t)-1)" in header and _modeltree.NO_PARENT == -1


def test_every_header_function_is_called_by_the_extension(header):
    functions = set(re.findall(r"MODELTREE_API\s+[\w\s\*]+?\b(modeltree_\w+)\s*\(", header))
    assert len(functions) >= 30
    with open(SOURCE) as f:
        source = f.read()
    missing = sorted(f for f in functions if not re.search(rf"\b{f}\s*\(", source))
    assert not missing, f"header functions without a Python call: {missing}"
