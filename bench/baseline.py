#!/usr/bin/env python3
"""The benchmark's Python baseline: the method of Horwitz, Shul & Hoshen (ICLR 2025) written the
straightforward way with numpy, scipy and networkx, as a reader of the paper would.

    python bench/baseline.py FOLDER                       recover a family (RMS metric), print JSON
    python bench/baseline.py FOLDER --rank-check CLI.json exact ranks of the CLI's LoRA edges

Recovery: each model is loaded once (tools/st.py, BF16 widened to float32); the tensors used are
the square 2-D ones every model has; kurtosis(model) = mean over tensors of
scipy.stats.kurtosis (Fisher, biased); D[a][b] = mean over tensors of RMS(W_a - W_b) and
C[a][b] = mean over tensors of the Pearson correlation, both by numpy over each pair; trees are
the connected components of C > 0.5; per tree M = D + 0.3 * mean(D) * K (K = 1 where the kurtosis
order disagrees with "parent has the higher kurtosis") and networkx.minimum_spanning_arborescence.

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

import networkx as nx
import numpy as np
from scipy.stats import kurtosis

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import st  # noqa: E402

UNIT_ROUNDOFF = {"F64": 2.0 ** -53, "F32": 2.0 ** -24, "F16": 2.0 ** -11, "BF16": 2.0 ** -8}


def models_in(folder):
    return sorted(f[: -len(".safetensors")] for f in os.listdir(folder) if f.endswith(".safetensors"))


def square_names(tensors):
    return sorted(k for k, v in tensors.items() if v.ndim == 2 and v.shape[0] == v.shape[1])


def recover(folder, lam=0.3):
    t0 = time.time()
    ids = models_in(folder)
    weights = []
    for i in ids:  # each model is read once
        t = st.read(os.path.join(folder, i + ".safetensors"))
        weights.append({k: t[k].ravel() for k in square_names(t)})
    names = sorted(set.intersection(*(set(w) for w in weights)))
    n = len(ids)
    kurt = np.array([np.mean([kurtosis(w[k], fisher=True, bias=True) for k in names]) for w in weights])
    D = np.zeros((n, n))
    C = np.eye(n)
    for a in range(n):
        for b in range(a + 1, n):
            D[a, b] = D[b, a] = np.mean([np.sqrt(np.mean((weights[a][k] - weights[b][k]) ** 2)) for k in names])
            C[a, b] = C[b, a] = np.mean([np.corrcoef(weights[a][k], weights[b][k])[0, 1] for k in names])
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from((a, b) for a in range(n) for b in range(a + 1, n) if C[a, b] > 0.5)
    edges = []
    for comp in nx.connected_components(g):
        comp = sorted(comp)
        if len(comp) < 2:
            continue
        sub = D[np.ix_(comp, comp)]
        mean_d = sub[~np.eye(len(comp), dtype=bool)].mean()
        dg = nx.DiGraph()
        for a in comp:
            for b in comp:
                if a != b:
                    dg.add_edge(a, b, weight=D[a, b] + lam * mean_d * float(kurt[a] < kurt[b]))
        edges += [[ids[p], ids[c]] for p, c in nx.minimum_spanning_arborescence(dg).edges()]
    return {"edges": sorted(edges), "seconds": time.time() - t0}


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
    out = rank_check(args.folder, args.rank_check, args.every) if args.rank_check else recover(args.folder)
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
