#!/usr/bin/env python3
"""Reference implementation of Model Graph recovery (Horwitz, Shul, Hoshen, ICLR 2025), kept
deliberately plain: the paper's method as a reader would write it with numpy, scipy and networkx
(`pip install numpy scipy networkx`). The README's "as published" scores and the benchmark's
Python baseline (bench/baseline.py imports `recover` from here) are this file.

    python tools/reference_recover.py examples/zoo --truth examples/zoo/truth.json

Method (defaults):
  * models: every sub-folder of FOLDER holding .safetensors files (model.safetensors or shards with
    model.safetensors.index.json), and every loose FOLDER/*.safetensors file; id = folder/file name.
  * tensors used: the floating 2-D tensors present in every model with the same name and shape,
    restricted to the square ones if any are square (--all-shapes keeps the non-square ones too).
  * each model is read once (tools/st.py) and kept as float32 (F64 as float64); every statistic
    is computed in float64.
  * kurtosis(model) = mean over used tensors of scipy.stats.kurtosis(W.ravel()) (Fisher, biased).
  * D[a][b] = mean over used tensors of RMS(W_a - W_b).
  * trees = connected components of "mean over used tensors of Pearson corr(W_a, W_b) > 0.5".
  * per tree: K[i][j] = 1 when kurtosis[i] < kurtosis[j] (direction "finetune": a parent has the
    higher kurtosis; "pretrain" flips it), M = D + lam * mean(off-diagonal D of the tree) * K,
    then networkx.minimum_spanning_arborescence on edges i->j weighted M[i][j].
Output JSON: {"edges": [[p, c], ...], "roots": [...], "trees": [[...], ...], ...}; with --truth also
edge accuracy (an edge is correct only when parent and direction are right) per true tree and overall.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

try:
    import networkx as nx
    import numpy as np
    from scipy.stats import kurtosis as scipy_kurtosis
except ImportError as missing:
    sys.exit(f"reference_recover.py needs {missing.name}: pip install numpy scipy networkx")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402


def discover(folder):
    """Return [(model_id, path)] sorted by id."""
    found = []
    for name in sorted(os.listdir(folder)):
        p = os.path.join(folder, name)
        if os.path.isdir(p) and any(f.endswith(".safetensors") for f in os.listdir(p)):
            found.append((name, p))
        elif os.path.isfile(p) and name.endswith(".safetensors"):
            found.append((name[: -len(".safetensors")], p))
    return found


def select_tensors(shapes_per_model, all_shapes=False):
    """Names of floating 2-D tensors with the same shape in every model (square ones if any)."""
    common = None
    for shapes in shapes_per_model:
        cur = {(n, s) for n, s in shapes.items() if len(s) == 2}
        common = cur if common is None else common & cur
    common = sorted(common or [])
    square = [(n, s) for n, s in common if s[0] == s[1]]
    chosen = common if (all_shapes or not square) else square
    return [n for n, _ in chosen]


def pearson(a, b):
    a = a - a.mean()
    b = b - b.mean()
    na, nb = np.sqrt(a @ a), np.sqrt(b @ b)
    if na == 0 or nb == 0:
        return 1.0 if np.array_equal(a, b) else 0.0
    return float(a @ b / (na * nb))


def recover(folder, lam=0.3, corr_threshold=0.5, direction="finetune", all_shapes=False):
    t0 = time.time()
    models = discover(folder)
    if not models:
        raise ValueError(f"no models under {folder}")
    ids = [m for m, _ in models]
    loaded = []
    for _, path in models:  # each model is read once; keep only floating 2-D tensors, F16 widened
        t = st.load_model(path)
        loaded.append({k: v.astype(np.float32) if v.dtype == np.float16 else v
                       for k, v in t.items() if v.ndim == 2 and np.issubdtype(v.dtype, np.floating)})
    names = select_tensors([{k: v.shape for k, v in t.items()} for t in loaded], all_shapes)
    if not names:
        raise ValueError(f"{folder}: no 2-D tensor with the same name and shape in every model")
    # the used tensors, flattened, model-major (views: the other tensors are freed with `loaded`)
    flat = [[t[n].ravel() for n in names] for t in loaded]
    del loaded
    t_load = time.time() - t0

    n = len(ids)
    kurt = np.array([np.mean([scipy_kurtosis(w.astype(np.float64), fisher=True, bias=True) for w in f]) for f in flat])
    D = np.zeros((n, n))
    C = np.eye(n)
    for i in range(n):
        for j in range(i + 1, n):
            rms, corr = [], []
            for a, b in zip(flat[i], flat[j]):  # one tensor at a time in float64
                a, b = a.astype(np.float64), b.astype(np.float64)
                rms.append(np.sqrt(np.mean((a - b) ** 2)))
                corr.append(pearson(a, b))
            D[i, j] = D[j, i] = np.mean(rms)
            C[i, j] = C[j, i] = np.mean(corr)

    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from((i, j) for i in range(n) for j in range(i + 1, n) if C[i, j] > corr_threshold)
    comps = sorted((sorted(c) for c in nx.connected_components(g)), key=lambda c: c[0])

    edges, roots = [], []
    for comp in comps:
        if len(comp) == 1:
            roots.append(comp[0])
            continue
        sub = D[np.ix_(comp, comp)]
        m = len(comp)
        mean_d = sub[~np.eye(m, dtype=bool)].mean()
        dg = nx.DiGraph()
        dg.add_nodes_from(comp)
        for a in comp:
            for b in comp:
                if a == b:
                    continue
                if direction == "finetune":
                    wrong = kurt[a] < kurt[b]
                else:
                    wrong = kurt[a] > kurt[b]
                dg.add_edge(a, b, weight=D[a, b] + lam * mean_d * float(wrong))
        arb = nx.minimum_spanning_arborescence(dg, attr="weight")
        has_parent = set()
        for p, c in sorted(arb.edges()):
            edges.append((p, c))
            has_parent.add(c)
        roots.extend(x for x in comp if x not in has_parent)

    return {
        "edges": [[ids[p], ids[c]] for p, c in edges],
        "roots": [ids[r] for r in roots],
        "trees": [[ids[i] for i in comp] for comp in comps],
        "models": ids,
        "tensors_used": names,
        "kurtosis": {ids[i]: float(kurt[i]) for i in range(n)},
        "distance": {ids[i]: {ids[j]: float(D[i, j]) for j in range(n)} for i in range(n)},
        "correlation": {ids[i]: {ids[j]: float(C[i, j]) for j in range(n)} for i in range(n)},
        "params": {"lambda": lam, "corr_threshold": corr_threshold, "direction": direction,
                   "all_shapes": all_shapes},
        "seconds": {"load": round(t_load, 4), "total": round(time.time() - t0, 4)},
    }


def read_truth(path):
    """The (parent, child) pairs and roots of a truth file; a typed edge ({"parent", "child",
    "type", ...}) counts as its pair, as the paper's method knows no types."""
    with open(path) as f:
        try:
            truth = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not JSON ({e})") from None
    edges = truth.get("edges") if isinstance(truth, dict) else None
    if not isinstance(edges, list):
        raise ValueError(f"{path}: a truth file is an object with an \"edges\" list")
    try:
        pairs = [(e["parent"], e["child"]) if isinstance(e, dict) else tuple(e) for e in edges]
    except (KeyError, TypeError):
        raise ValueError(f"{path}: an edge is [parent, child] or {{\"parent\": ..., \"child\": ...}}") from None
    if any(len(p) != 2 for p in pairs):
        raise ValueError(f"{path}: an edge is [parent, child] or {{\"parent\": ..., \"child\": ...}}")
    return {"edges": pairs, "roots": list(truth.get("roots", []))}


def score(result, truth):
    """Edge accuracy overall and per true tree (trees named by their root); truth as read_truth gives it."""
    true_edges = set(truth["edges"])
    got = {tuple(e) for e in result["edges"]}
    parent = {c: p for p, c in true_edges}

    def root_of(x):
        while x in parent:
            x = parent[x]
        return x

    per_tree = {}
    for p, c in sorted(true_edges):
        r = root_of(c)
        t = per_tree.setdefault(r, {"correct": 0, "total": 0, "wrong": []})
        t["total"] += 1
        if (p, c) in got:
            t["correct"] += 1
        else:
            t["wrong"].append([p, c])
    for t in per_tree.values():
        t["accuracy"] = t["correct"] / t["total"]
    correct = len(true_edges & got)
    true_roots = set(truth.get("roots", []))
    return {
        "accuracy": correct / len(true_edges) if true_edges else 1.0,
        "correct": correct,
        "total": len(true_edges),
        "per_tree": per_tree,
        "extra_edges": sorted([list(e) for e in got - true_edges]),
        "roots_correct": sorted(true_roots) == sorted(result["roots"]),
        "n_trees_true": len(true_roots) if true_roots else None,
        "n_trees_found": len(result["trees"]),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder")
    ap.add_argument("--truth", help="truth.json with {'edges': [[parent, child], ...], 'roots': [...]}")
    ap.add_argument("--lam", type=float, default=0.3, help="kurtosis penalty weight (default 0.3)")
    ap.add_argument("--corr", type=float, default=0.5, help="clustering threshold on mean Pearson corr")
    ap.add_argument("--direction", choices=("finetune", "pretrain"), default="finetune")
    ap.add_argument("--all-shapes", action="store_true", help="use non-square 2-D tensors too")
    ap.add_argument("--full", action="store_true", help="include kurtosis, distance, correlation matrices")
    ap.add_argument("-o", "--output", help="write JSON here instead of stdout")
    args = ap.parse_args()
    try:
        run(args)
    except (OSError, ValueError) as e:  # a missing or malformed model or truth file
        sys.exit(f"reference_recover.py: {e}")


def run(args):
    if not os.path.isdir(args.folder):
        raise NotADirectoryError(f"{args.folder} is not a folder of models")
    res = recover(args.folder, args.lam, args.corr, args.direction, args.all_shapes)
    out = {k: res[k] for k in ("edges", "roots", "trees", "kurtosis", "params", "seconds")}
    out["n_tensors_used"] = len(res["tensors_used"])
    if args.full:
        out.update({k: res[k] for k in ("tensors_used", "distance", "correlation")})
    if args.truth:
        truth = read_truth(args.truth)
        out["score"] = score(res, truth)
        kurt = res["kurtosis"]
        out["truth_edges"] = [
            {"parent": p, "child": c, "kurtosis_parent": round(kurt[p], 4), "kurtosis_child": round(kurt[c], 4),
             "distance": round(res["distance"][p][c], 6), "correlation": round(res["correlation"][p][c], 4),
             "recovered": [p, c] in res["edges"]}
            for p, c in truth["edges"] if p in kurt and c in kurt]
    text = json.dumps(out, indent=1)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text + "\n")
    else:
        print(text)
    if args.truth:
        s = out["score"]
        print(f"edge accuracy {s['correct']}/{s['total']} = {s['accuracy']:.3f}; trees found "
              f"{s['n_trees_found']} (true {s['n_trees_true']})", file=sys.stderr)
        for r, t in s["per_tree"].items():
            print(f"  tree {r}: {t['correct']}/{t['total']}", file=sys.stderr)


if __name__ == "__main__":
    main()
