#!/usr/bin/env python3
"""The benchmark's Python baseline: the paper's method (Horwitz, Shul & Hoshen, ICLR 2025) as
tools/reference_recover.py writes it with numpy, scipy and networkx — the same code that gives the
README's "as published" scores — plus an exact rank check for the LoRA family.

    python bench/baseline.py FOLDER                       recover a family, print {"edges", "seconds"}
    python bench/baseline.py FOLDER --rank-check CLI.json exact ranks of the CLI's LoRA edges

Rank check: for every edge (or every k-th, --every) of a modeltree-cli JSON result, the exact numerical rank of
W_parent - W_child per tensor (numpy SVD of the full matrix, singular values above the tolerance
of NumericalRank.tolerance), summed over tensors, against the integer part of the CLI's edge
distance (its rank distance); and the seconds per pair, to estimate a full exact computation.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools")
sys.path.insert(0, TOOLS)
import reference_recover  # noqa: E402  (exits with a one-line message when numpy, scipy or networkx is missing)
import numpy as np  # noqa: E402
import st  # noqa: E402

UNIT_ROUNDOFF = {"F64": 2.0 ** -53, "F32": 2.0 ** -24, "F16": 2.0 ** -11, "BF16": 2.0 ** -8}


def square_names(tensors):
    return sorted(k for k, v in tensors.items() if v.ndim == 2 and v.shape[0] == v.shape[1])


def recover(folder):
    """The reference recovery with its defaults; edges sorted as [parent, child] pairs."""
    result = reference_recover.recover(folder)
    return {"edges": sorted(result["edges"]), "seconds": result["seconds"]["total"]}


def tolerance(u, rms_weight, rows, cols):
    """NumericalRank.tolerance: twice the spectral norm of the rounding noise of a difference."""
    s = u * rms_weight * math.sqrt(2.0 / 3.0)
    return 2 * s * (math.sqrt(rows) + math.sqrt(cols))


def rank_check(folder, cli_json, every=1):
    with open(cli_json) as f:
        result = json.load(f)
    loaded = {}

    def load(i):
        if i not in loaded:
            path = os.path.join(folder, i + ".safetensors")
            with open(path, "rb") as fh:
                n = int.from_bytes(fh.read(8), "little")
                header = json.loads(fh.read(n))
            t = st.read(path)
            loaded[i] = {k: (t[k].astype(np.float64), header[k]["dtype"]) for k in square_names(t)}
        return loaded[i]

    t0 = time.time()
    checked, agree, mismatches = 0, 0, []
    edges = result["edges"][::every]
    for e in edges:
        a, b = load(e["parent"]), load(e["child"])
        total = 0
        for k in sorted(a):
            (wa, da), (wb, db) = a[k], b[k]
            u = max(UNIT_ROUNDOFF[da], UNIT_ROUNDOFF[db], 2.0 ** -24)
            rms = math.sqrt((np.sum(wa * wa) + np.sum(wb * wb)) / (2 * wa.size))
            sv = np.linalg.svd(wa - wb, compute_uv=False)
            total += int(np.sum(sv > tolerance(u, rms, *wa.shape)))
        checked += 1
        got = int(math.floor(e["distance"]))
        if got == total:
            agree += 1
        else:
            mismatches.append([e["parent"], e["child"], got, total])
    seconds = time.time() - t0
    n = len(result["models"])
    per_pair = seconds / max(1, checked)
    return {"pairs_checked": checked, "agree": agree, "mismatches": mismatches[:10],
            "seconds": seconds, "seconds_per_pair": per_pair,
            "estimated_all_pairs_seconds": per_pair * n * (n - 1) / 2}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder")
    ap.add_argument("--rank-check", metavar="CLI_JSON")
    ap.add_argument("--every", type=int, default=1, help="rank check: every k-th edge only")
    args = ap.parse_args()
    try:
        out = rank_check(args.folder, args.rank_check, args.every) if args.rank_check else recover(args.folder)
    except (OSError, ValueError) as e:
        sys.exit(f"baseline.py: {e}")
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
