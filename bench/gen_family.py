#!/usr/bin/env python3
"""Synthetic model families for the benchmark: a root, children and grandchildren made by
perturbing weights (speed does not need real training).

    python bench/gen_family.py OUT --models N --params 1M|25M --dtype F32|BF16 [--kind full|lora]

Layout: OUT/m000.safetensors ... (loose single-file models, the root is m000) and OUT/truth.json
({"edges": [[parent, child], ...], "roots": ["m000"]}); OUT/.complete marks a finished family, so
a cached one is reused and an interrupted one is rebuilt.

full: square layers (1M: 4 x 512x512, 25M: 6 x 2048x2048) plus a small non-square head the
      default tensor selection leaves out. The root's weights are Laplace (excess kurtosis 3);
      every child adds Gaussian noise of 8-12 % of the weights' spread, which lowers kurtosis, as
      fine-tuning does, so kurtosis gives the direction and RMS the placement.
lora: 8 square 768x768 layers; every child adds a rank-8 update B.A (a merged LoRA adapter) to
      every layer, so the rank of W_a - W_b is 8 x (edges between a and b) per layer.
Children: ceil(sqrt(N-1)) children of the root, the other models are grandchildren, dealt to the
children in turn. Deterministic from --seed.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import struct

import numpy as np

SIGMA = 0.02


def to_bf16_bits(a: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns, rounding to nearest even (finite inputs)."""
    bits = a.view(np.uint32)
    rounded = bits + (np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1)))
    return (rounded >> np.uint32(16)).astype(np.uint16)


def write_model(path: str, tensors: dict[str, np.ndarray], dtype: str) -> None:
    """Write float32 tensors as F32 or BF16 safetensors (sorted names, header padded to 8)."""
    header, off, blobs = {}, 0, []
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype=np.float32)
        raw = to_bf16_bits(a) if dtype == "BF16" else a
        nbytes = raw.nbytes
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [off, off + nbytes]}
        blobs.append(raw)
        off += nbytes
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * ((-len(hj)) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            b.tofile(f)
    os.replace(tmp, path)


def tree(n: int) -> list[int]:
    """parent[i] for i in 0..n-1 (-1 for the root m000)."""
    parent = [-1] * n
    c = max(1, math.ceil(math.sqrt(n - 1))) if n > 1 else 0
    for i in range(1, min(n, c + 1)):
        parent[i] = 0
    for k, i in enumerate(range(c + 1, n)):
        parent[i] = 1 + k % c
    return parent


def shapes(params: str, kind: str) -> dict[str, tuple[int, ...]]:
    if kind == "lora":
        return {f"layers.{i}.weight": (768, 768) for i in range(8)}
    if params == "1M":
        d, layers = 512, 4
    elif params == "25M":
        d, layers = 2048, 6
    else:
        raise SystemExit(f"--params must be 1M or 25M, not {params}")
    out = {f"layers.{i}.weight": (d, d) for i in range(layers)}
    out["head.weight"] = (10, d)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--models", type=int, required=True)
    ap.add_argument("--params", default="1M")
    ap.add_argument("--dtype", choices=("F32", "BF16"), default="BF16")
    ap.add_argument("--kind", choices=("full", "lora"), default="full")
    ap.add_argument("--rank", type=int, default=8, help="LoRA rank (kind lora)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    if os.path.exists(os.path.join(args.out, ".complete")):
        return
    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out)
    n = args.models
    parent = tree(n)
    rng = np.random.default_rng(args.seed)
    layout = shapes(args.params, args.kind)
    names = [f"m{i:03d}" for i in range(n)]

    # Models are made in index order; every parent precedes its children, and only the root and
    # the children (parents of grandchildren) are kept in memory.
    kept: dict[int, dict[str, np.ndarray]] = {}
    has_children = {p for p in parent if p >= 0}
    for i in range(n):
        if parent[i] < 0:
            w = {k: rng.laplace(0, SIGMA / math.sqrt(2), size=s).astype(np.float32) for k, s in layout.items()}
        else:
            base = kept[parent[i]]
            w = {}
            for k, s in layout.items():
                if args.kind == "lora" and len(s) == 2 and s[0] == s[1]:
                    r = args.rank
                    # B·A with entries of B·A about 5 % of the weights' spread: far above BF16 rounding.
                    scale = math.sqrt(0.05 * SIGMA / math.sqrt(r))
                    b = rng.standard_normal((s[0], r), dtype=np.float32) * scale
                    a = rng.standard_normal((r, s[1]), dtype=np.float32) * scale
                    w[k] = base[k] + b @ a
                else:
                    tau = SIGMA * rng.uniform(0.08, 0.12)
                    w[k] = base[k] + rng.standard_normal(s, dtype=np.float32) * np.float32(tau)
        write_model(os.path.join(args.out, names[i] + ".safetensors"), w, args.dtype)
        if i in has_children or parent[i] < 0:
            kept[i] = w
        # a child's parent is no longer needed once its last child is written
        for p in list(kept):
            if p != i and all(parent[j] != p for j in range(i + 1, n)):
                del kept[p]

    truth = {"edges": [[names[parent[i]], names[i]] for i in range(n) if parent[i] >= 0],
             "roots": [names[i] for i in range(n) if parent[i] < 0]}
    with open(os.path.join(args.out, "truth.json"), "w") as f:
        json.dump(truth, f, indent=1)
    with open(os.path.join(args.out, ".complete"), "w") as f:
        f.write(json.dumps(vars(args)) + "\n")


if __name__ == "__main__":
    main()
