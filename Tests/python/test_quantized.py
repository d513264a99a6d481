"""Edges typed `quantized` against numpy: a BF16 and an F16 cast of a model (numpy's own
rounding), fine-tunes stored in F32 and in BF16, and the formats zoo's GGUF and int8 ONNX
exports. For every edge the CLI reports, numpy recomputes the share of the differing elements
that lie within half a step of the child's storage grid (np.spacing for F16/F32, the BF16 grid
from the binary exponent) and of the parent's; the type must follow from those shares."""
from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest

from conftest import ROOT, recover_json, st

MINIMUM_SHARE = 0.9          # QuantizedCopies.minimumShare
HALF = 0.5 * (1 + 2 ** -6)   # GridEvidence.slack


def to_bf16_bits(a):
    """Round-to-nearest-even F32 -> BF16 bit patterns (as torch does)."""
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return bits.astype(np.uint16)


def write_bf16(path, tensors):
    header, chunks, off = {}, [], 0
    for name in sorted(tensors):
        b = to_bf16_bits(tensors[name]).tobytes()
        header[name] = {"dtype": "BF16", "shape": list(tensors[name].shape), "data_offsets": [off, off + len(b)]}
        chunks.append(b)
        off += len(b)
    hj = json.dumps(header).encode()
    hj += b" " * ((-len(hj)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)) + hj + b"".join(chunks))


def bf16_values(a):
    return (to_bf16_bits(a).astype(np.uint32) << 16).view(np.float32)


def spacing(values, dtype):
    v = np.abs(values.astype(np.float64))
    if dtype == "F16":
        return np.abs(np.spacing(values.astype(np.float16)).astype(np.float64))
    if dtype == "F32":
        return np.abs(np.spacing(values.astype(np.float32)).astype(np.float64))
    # BF16: 8 significant bits; exponent floor -126 (subnormals below).
    _, e = np.frexp(v)
    e = np.where(v == 0, -125, e)
    return np.exp2(np.maximum(e - 1, -126) - 7)


def shares(parent, child, parent_dtype, child_dtype, tensors):
    within_child = within_parent = changed = 0
    for t in tensors:
        p, c = parent[t].astype(np.float64), child[t].astype(np.float64)
        d = np.abs(p - c)
        moved = d > 0
        changed += int(moved.sum())
        within_child += int((moved & (d <= HALF * spacing(child[t], child_dtype))).sum())
        within_parent += int((moved & (d <= HALF * spacing(parent[t], parent_dtype))).sum())
    return (within_child / changed, within_parent / changed) if changed else (0.0, 0.0)


def test_casts_are_quantized_and_fine_tunes_are_not(family, tmp_path):
    f = family(31)
    r = f.root("r")
    f.full("a", r)
    f.full("b", r)           # stored in BF16 below: a fine-tune, not a cast
    f.full("a1", "a")
    f.full("light", r, std=2e-5)   # moves the weights less than the BF16 cast does
    path = f.write()
    write_bf16(os.path.join(path, "b", "model.safetensors"), f.weights["b"])
    r32 = {n: w.astype(np.float32) for n, w in f.weights["r"].items()}
    os.makedirs(os.path.join(path, "r-bf16"))
    write_bf16(os.path.join(path, "r-bf16", "model.safetensors"), r32)
    os.makedirs(os.path.join(path, "r-f16"))
    st.write(os.path.join(path, "r-f16", "model.safetensors"), {n: w.astype(np.float16) for n, w in r32.items()})
    a32 = {n: w.astype(np.float32) for n, w in f.weights["a"].items()}
    os.makedirs(os.path.join(path, "a-bf16"))
    write_bf16(os.path.join(path, "a-bf16", "model.safetensors"), a32)

    dtypes = {"r": "F32", "a": "F32", "a1": "F32", "light": "F32", "b": "BF16", "r-bf16": "BF16", "r-f16": "F16", "a-bf16": "BF16"}
    values = {m: {n: w.astype(np.float32) for n, w in f.weights[m].items()} for m in ("r", "a", "a1", "light")}
    values["b"] = {n: bf16_values(w) for n, w in f.weights["b"].items()}
    values["r-bf16"] = {n: bf16_values(w) for n, w in r32.items()}
    values["r-f16"] = {n: w.astype(np.float16).astype(np.float32) for n, w in r32.items()}
    values["a-bf16"] = {n: bf16_values(w) for n, w in a32.items()}

    doc = recover_json(path)
    for e in doc["edges"]:
        child_share, parent_share = shares(values[e["parent"]], values[e["child"]], dtypes[e["parent"]], dtypes[e["child"]],
                                           doc["tensors"])
        assert parent_share < MINIMUM_SHARE, e            # a copy is never its source's parent
        assert (e["type"] == "quantized") == (child_share >= MINIMUM_SHARE), (e, child_share)
    typed = {(e["parent"], e["child"]): e["type"] for e in doc["edges"]}
    # The copies are leaves of their sources, fixed before the tree is solved.
    assert {k: t for k, t in typed.items() if t == "quantized"} == \
        {("r", "r-bf16"): "quantized", ("r", "r-f16"): "quantized", ("a", "a-bf16"): "quantized"}
    assert not any(p in ("r-bf16", "r-f16", "a-bf16") for p, _ in typed)
    # The fine-tunes' tree, as an undirected one: `light` moved r by 2e-5 RMS, within what the
    # casts' rounding does, so no statistic orders r and light (issue 12: the direction of light
    # fine-tunes is open); the rest hangs from the one of the two nearer to it.
    finetunes = {frozenset(k) for k, t in typed.items() if t == "finetune"}
    assert frozenset(("r", "light")) in finetunes and frozenset(("a", "a1")) in finetunes
    assert all(any(frozenset((x, m)) in finetunes for x in ("r", "light")) for m in ("a", "b")), finetunes
    assert len(finetunes) == 4


def test_formats_zoo_exports_are_quantized():
    zoo = os.path.join(ROOT, "examples", "formats_zoo")
    with open(os.path.join(zoo, "truth.json")) as f:
        truth = json.load(f)
    doc = recover_json(zoo, "--truth", os.path.join(zoo, "truth.json"))
    got = {(e["parent"], e["child"]): e["type"] for e in doc["edges"]}
    for e in truth["edges"]:
        assert got.get((e["parent"], e["child"])) == e["type"], e
    assert doc["score"]["typed"]["f1"] == 1.0
