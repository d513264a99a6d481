"""Duplicate groups (value-identical models) against numpy's element-by-element equality of the
compared tensors: byte copies, renamed files, an F16 model re-saved as F32, and models one ulp
apart (not duplicates). On the typed zoos, against the generator's truth."""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from conftest import ROOT, recover_json, run_cli, st


def expected_groups(doc):
    """Models whose every compared tensor is equal, element by element (numpy), as sorted groups."""
    weights = {m["id"]: st.load_model(m["path"]) for m in doc["models"]}
    ids = [m["id"] for m in doc["models"]]
    groups, placed = [], set()
    for a in ids:
        if a in placed:
            continue
        group = [a] + [b for b in ids if b != a and b not in placed and all(
            np.array_equal(weights[a][t].astype(np.float32), weights[b][t].astype(np.float32)) for t in doc["tensors"])]
        placed.update(group)
        if len(group) > 1:
            groups.append(group)
    return sorted(sorted(g) for g in groups)


def check_groups_in_output(doc):
    groups = [set(g) for g in doc["duplicates"]]
    for e in doc["edges"]:
        assert not any(e["parent"] in g and e["child"] in g for g in groups), e
    # Each group's stand-in is its first member in the caller's order and the only one with edges.
    order = {m["id"]: k for k, m in enumerate(doc["models"])}
    for g in doc["duplicates"]:
        assert g == sorted(g, key=order.get)
        for copy in g[1:]:
            assert not any(copy in (e["parent"], e["child"]) for e in doc["edges"]), copy
    children = {e["child"] for e in doc["edges"]}
    in_groups = {m for g in doc["duplicates"] for m in g[1:]}
    roots = set(doc["roots"])
    # Every model is a root, a child, or a copy standing behind its group's first member.
    assert {m["id"] for m in doc["models"]} == children | in_groups | roots


def test_synthetic_copies_are_groups(family, tmp_path):
    f = family(21)
    r = f.root("r")
    f.full("a", r)
    f.full("b", r)
    path = f.write()
    # F16 values: the same model stored as F16 and re-saved as F32 holds the same values.
    half = {n: w.astype(np.float16) for n, w in f.weights["b"].items()}
    st.write(os.path.join(path, "b", "model.safetensors"), half)
    os.makedirs(os.path.join(path, "b-f32"))
    st.write(os.path.join(path, "b-f32", "model.safetensors"), {n: w.astype(np.float32) for n, w in half.items()})
    shutil.copytree(os.path.join(path, "a"), os.path.join(path, "a-copy"))
    os.makedirs(os.path.join(path, "renamed"))
    shutil.copy(os.path.join(path, "a", "model.safetensors"), os.path.join(path, "renamed", "weights.safetensors"))
    # One element one ulp away: not a duplicate.
    near = {n: w.astype(np.float32).copy() for n, w in f.weights["r"].items()}
    first = sorted(near)[0]
    near[first][3, 4] = np.nextafter(near[first][3, 4], np.float32(1))
    os.makedirs(os.path.join(path, "r-ulp"))
    st.write(os.path.join(path, "r-ulp", "model.safetensors"), near)

    doc = recover_json(path)
    assert sorted(sorted(g) for g in doc["duplicates"]) == expected_groups(doc)
    assert sorted(sorted(g) for g in doc["duplicates"]) == [["a", "a-copy", "renamed"], ["b", "b-f32"]]
    check_groups_in_output(doc)
    text = run_cli("recover", path).stdout
    assert "a-copy  identical to a (duplicate)" in text and "b-f32  identical to b (duplicate)" in text
    dot = run_cli("recover", path, "--format", "dot").stdout
    assert '"a" -> "a-copy" [label="identical", dir=none, style=dotted];' in dot


@pytest.mark.parametrize("zoo", ["formats_zoo", "typed_zoo2"])
def test_zoo_duplicates_are_the_truths(zoo):
    folder = os.path.join(ROOT, "examples", zoo)
    with open(os.path.join(folder, "truth.json")) as f:
        truth = json.load(f)
    doc = recover_json(folder)
    assert sorted(sorted(g) for g in doc["duplicates"]) == sorted(sorted(g) for g in truth["duplicates"])
    check_groups_in_output(doc)
