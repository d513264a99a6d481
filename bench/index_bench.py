#!/usr/bin/env python3
"""The hub index at scale (`make bench-index`; not part of the tests).

    python bench/index_bench.py [--models 10000] [--small-models 100000] [--write] [--quick]

Two runs, each into a fresh index file: `--models` synthetic models of about 1M parameters
(4 square 512 x 512 F32 tensors) in families of `--family` (three in four fine-tune trees, one
in four LoRA families of rank 8), then `--small-models` models of 2 x 32 x 32 in families of
`--small-family`. Weights are generated in memory by numpy and lent to the library through
`mt.Index.add({id: state_dict})` (the lent-tensor C API): disk is not the limit. Families are the
trees of bench/gen_family.py (a root, about sqrt(n) children, the others grandchildren); a
fine-tune adds Gaussian noise of 8-12 % of the weights' spread, a LoRA child a rank-8 update.

Reported per run: add throughput (models/s, signature included), index bytes per model and
signature bytes per model, `parent` latency p50/p99 for indexed models and for candidates not in
the index (its signature computed beforehand, timed apart), the whole graph's time, edge accuracy
against the generator's truth, and the edges of `--compare` families recovered by `mt.recover`
from the same weights (together, in one call) against the index graph's. Then the sketch-size table: for distance
sketches of k buckets, whether every edge of the example zoos and of gen_family families equals
`recover`'s, the largest confidence difference, the distance error and the bytes per model.

With --write the tables go into BENCHMARKS.md between the bench-index markers, after each part
(the 10^4 run, the sketch sizes, the 10^5 run), so a run stopped early keeps what it measured; rows
of a size this run does not measure stay. The machine's load is recorded with each row: time
figures from a busy machine are not final.
"""
from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import re
import shutil
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from gen_family import SIGMA, tree  # noqa: E402  (the benchmark's family shape)

import modeltree as mt  # noqa: E402


# -- synthetic families -------------------------------------------------------------------------

def family(seed: int, n: int, kind: str, shapes: dict[str, tuple[int, int]], prefix: str):
    """Yields (id, weights, parent id or None) for one family, parents before children; keeps only
    the models that still have children to come."""
    rng = np.random.default_rng(seed)
    parent = tree(n)
    kept: dict[int, dict[str, np.ndarray]] = {}
    remaining = [0] * n
    for p in parent:
        if p >= 0:
            remaining[p] += 1
    for i in range(n):
        if parent[i] < 0:
            w = {k: (rng.laplace(0, SIGMA / math.sqrt(2), size=s)).astype(np.float32) for k, s in shapes.items()}
        else:
            base = kept[parent[i]]
            w = {}
            for k, s in shapes.items():
                if kind == "lora":
                    r = 8
                    scale = math.sqrt(0.05 * SIGMA / math.sqrt(r))
                    b = rng.standard_normal((s[0], r), dtype=np.float32) * scale
                    a = rng.standard_normal((r, s[1]), dtype=np.float32) * scale
                    w[k] = base[k] + b @ a
                else:
                    tau = np.float32(SIGMA * rng.uniform(0.08, 0.12))
                    w[k] = base[k] + rng.standard_normal(s, dtype=np.float32) * tau
            remaining[parent[i]] -= 1
            if remaining[parent[i]] == 0:
                del kept[parent[i]]
        if remaining[i] > 0:
            kept[i] = w
        yield f"{prefix}-{i:03d}", w, (f"{prefix}-{parent[i]:03d}" if parent[i] >= 0 else None)


def families(count: int, size: int, shapes, seed: int, lora_every: int = 4):
    for f in range(count):
        kind = "lora" if f % lora_every == lora_every - 1 else "full"
        yield f, kind, family(seed * 100_003 + f, size, kind, shapes, f"{kind[0]}{f:05d}")


def percentile(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q / 100 * (len(v) - 1))))] if v else float("nan")


# -- one run --------------------------------------------------------------------------------------

def run(label: str, models: int, size: int, shapes, folder: str, queries: int, compare: int, seed: int) -> dict:
    count = max(1, models // size)
    path = os.path.join(folder, f"run{seed}.mtindex")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    truth: dict[str, str | None] = {}
    kinds: dict[str, str] = {}
    candidates = []          # (signature, true parent) of models generated but not added
    rng = np.random.default_rng(seed)
    added, t_add = 0, 0.0
    print(f"[{label}] {count} families of {size}: adding {count * size} models", flush=True)
    with mt.Index(path) as index:
        for f, kind, members in families(count, size, shapes, seed):
            held_out = set(rng.choice(np.arange(1, size), size=1, replace=False)) if len(candidates) < queries else set()
            for k, (mid, w, parent) in enumerate(members):
                if k in held_out:
                    candidates.append((mt.signature(w, id=mid, sketch=index.sketch), parent))
                    continue
                truth[mid], kinds[mid] = parent, kind
                t0 = time.perf_counter()
                index.add({mid: w})
                t_add += time.perf_counter() - t0
                added += 1
            if f % max(1, count // 20) == 0:
                print(f"[{label}]   {added} added, {added / t_add:.1f} models/s", flush=True)
        index_bytes = sum(os.path.getsize(path + s) for s in ("", "-wal") if os.path.exists(path + s))
        ids = sorted(truth)
        sample = [ids[i] for i in rng.choice(len(ids), size=min(20, len(ids)), replace=False)]
        signature_bytes = sum(len(bytes(index.signature(m))) for m in sample) / len(sample)

        picks = [ids[i] for i in rng.choice(len(ids), size=min(queries, len(ids)), replace=False)]
        lat_indexed = []
        for mid in picks:
            t0 = time.perf_counter()
            index.parent(mid)
            lat_indexed.append(time.perf_counter() - t0)
        lat_candidate, candidate_right = [], 0
        for sig, parent in candidates:
            t0 = time.perf_counter()
            answer = index.parent(sig)
            lat_candidate.append(time.perf_counter() - t0)
            candidate_right += answer.parent == parent

        t0 = time.perf_counter()
        graph = index.graph()
        t_graph = time.perf_counter() - t0
        edges = [(m, p) for m, p in truth.items() if p is not None and p in truth]
        correct = sum(graph.parent(m) == p for m, p in edges)

        # The same weights through one recover: the first families together, fine-tune and LoRA
        # ones, so that recover picks its metric from a collection of the index's mix (alone, a
        # LoRA family is recovered under the rank distance, which the index — like recover over
        # the whole collection — does not choose for an architecture that is mostly fine-tunes).
        weights = {mid: w for _, _, members in families(min(compare, count), size, shapes, seed)
                   for mid, w, _ in members if mid in truth}
        g = mt.recover(weights)
        compared = len(weights)
        same = sum(g.parent(mid) == graph.parent(mid) for mid in weights)
    bytes_per_model = index_bytes / added
    os.remove(path)
    for suffix in ("-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    return {
        "label": label, "models": added, "families": count, "size": size,
        "params": sum(a * b for a, b in shapes.values()),
        "add_rate": added / t_add, "index_bytes": bytes_per_model, "signature_bytes": signature_bytes,
        "p50": percentile(lat_indexed, 50) * 1e3, "p99": percentile(lat_indexed, 99) * 1e3,
        "c50": percentile(lat_candidate, 50) * 1e3, "c99": percentile(lat_candidate, 99) * 1e3,
        "candidates": f"{candidate_right}/{len(candidates)}",
        "graph": t_graph, "accuracy": f"{correct}/{len(edges)}", "recover_same": f"{same}/{compared}",
    }


# -- sketch sizes ---------------------------------------------------------------------------------

def sketch_sizes(cache: str, sizes=(256, 1024, 2048, 4096)) -> list[dict]:
    """For each k: per collection, whether the index graph (in memory) equals recover's edge for
    edge, the largest confidence difference, the mean and largest relative distance error of the
    edges, and the signature bytes per model."""
    collections = [os.path.join(ROOT, "examples", "zoo"), os.path.join(ROOT, "examples", "zoo2")]
    specs = [("full", 8, "1M", "F32"), ("full", 128, "1M", "BF16"), ("lora", 64, "4.7M", "BF16")]
    import subprocess
    for kind, n, params, dtype in specs:
        out = os.path.join(cache, f"{kind}-n{n}-{params}-{dtype}")
        cmd = [sys.executable, os.path.join(HERE, "gen_family.py"), out, "--models", str(n), "--dtype", dtype, "--kind", kind]
        if kind == "full":
            cmd += ["--params", params]
        subprocess.run(cmd, check=True)
        collections.append(out)
    rows = []
    for folder in collections:
        want = mt.recover(folder)
        for k in sizes:
            with mt.Index(":memory:", distance_buckets=k) as index:
                index.add(folder)
                g = index.graph()
                bytes_ = sum(len(bytes(index.signature(m))) for m in want.ids) / len(want)
            same = [g.parent(m) for m in want.ids] == [want.parent(m) for m in want.ids] and g.metric == want.metric
            errors = [abs(g.edge(e.child).distance - e.distance) / e.distance for e in want.edges if e.distance > 0]
            conf = max((abs(g.edge(e.child).confidence - e.confidence) for e in want.edges), default=0.0)
            rows.append({"collection": os.path.basename(folder), "k": k, "same": same, "conf": conf,
                         "mean_error": float(np.mean(errors)) if errors else 0.0,
                         "max_error": max(errors, default=0.0), "bytes": bytes_})
            print(f"[sketch] {rows[-1]}", flush=True)
    return rows


# -- output ---------------------------------------------------------------------------------------

TABLE_HEADER = [
    "| | models | params/model | add (models/s) | signature / index bytes per model | parent p50 / p99 (ms) | candidate p50 / p99 (ms) | graph (s) | edges right | same as recover | measured (load avg before → after) |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
]
SKETCH_HEADER = [
    "Sketch sizes (k distance buckets; rank sketches 96 × 64): the index graph against `recover` on the same files.",
    "", "| collection | k | same edges | max confidence diff | distance error mean / max | signature bytes/model |",
    "|---|---|---|---|---|---|",
]


def row(r: dict) -> str:
    return (f"| {r['label']} | {r['models']:,} ({r['families']} families of {r['size']}) | {r['params']:,} | {r['add_rate']:.1f} | "
            f"{r['signature_bytes'] / 1e3:.0f} kB / {r['index_bytes'] / 1e3:.0f} kB | {r['p50']:.1f} / {r['p99']:.1f} | {r['c50']:.1f} / {r['c99']:.1f} "
            f"({r['candidates']} right) | {r['graph']:.1f} | {r['accuracy']} | {r['recover_same']} | "
            f"{r['date']} ({r['load'][0]:.1f} → {r['load'][1]:.1f}) |")


def table(results: list[dict], sketches: list[dict], kept: list[str], pending: list[str]) -> str:
    """The bench-index block: this run's rows, the rows `kept` from an earlier run (other labels),
    and a line naming what is still `pending` (not measured yet, or stopped before its end)."""
    lines = [
        f"Machine: {platform.machine()} with {os.cpu_count()} CPUs (`make bench-index`; times from a shared machine, "
        "with the load average beside them, are indicative).",
        "",
    ] + TABLE_HEADER + kept + [row(r) for r in results]
    if pending:
        lines += ["", "Not measured by this run (yet): " + "; ".join(pending) + "."]
    if not sketches and not any("sketch sizes" in p for p in pending):
        lines += earlier_sketch_table()
    if sketches:
        lines += [""] + SKETCH_HEADER
        for s in sketches:
            lines.append(f"| {s['collection']} | {s['k']} | {'yes' if s['same'] else '**no**'} | {s['conf']:.4f} | "
                         f"{100 * s['mean_error']:.2f} % / {100 * s['max_error']:.2f} % | {s['bytes'] / 1e3:.0f} kB |")
    return "\n".join(lines) + "\n"


BEGIN, END = "<!-- bench-index:begin -->", "<!-- bench-index:end -->"


def current_block() -> str:
    with open(os.path.join(ROOT, "BENCHMARKS.md")) as f:
        doc = f.read()
    m = re.search(re.escape(BEGIN) + "(.*?)" + re.escape(END), doc, flags=re.S)
    return m.group(1) if m else ""


def earlier_rows(labels: set[str]) -> list[str]:
    """The scale rows of the block now in BENCHMARKS.md whose label this run does not measure."""
    out = []
    for line in current_block().splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) == len(TABLE_HEADER[1].split("|")) and line.startswith("| ") and cells[1] and cells[1] not in labels \
                and not set(cells[1]) <= set("-") and cells[2] != "models":
            out.append(line)
    return out


def earlier_sketch_table() -> list[str]:
    """The sketch-size table of the block now in BENCHMARKS.md (kept by a run that skips it)."""
    lines = current_block().splitlines()
    start = next((k for k, line in enumerate(lines) if line.startswith(SKETCH_HEADER[0][:13])), None)
    return [] if start is None else [""] + "\n".join(lines[start:]).strip().splitlines()


def write(text: str) -> None:
    path = os.path.join(ROOT, "BENCHMARKS.md")
    with open(path) as f:
        doc = f.read()
    block = f"{BEGIN}\n{text}{END}"
    doc = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, doc, flags=re.S) if BEGIN in doc \
        else doc.rstrip() + f"\n\n## Hub index\n\n{block}\n"
    with open(path + ".tmp", "w") as f:
        f.write(doc)
    os.replace(path + ".tmp", path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=int, default=10_000, help="1M-parameter models; 0 skips the run")
    ap.add_argument("--family", type=int, default=100)
    ap.add_argument("--small-models", type=int, default=100_000, help="2k-parameter models; 0 skips the run")
    ap.add_argument("--small-family", type=int, default=50)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--compare", type=int, default=4, help="families also recovered by mt.recover")
    ap.add_argument("--no-sketch-sizes", action="store_true")
    ap.add_argument("--quick", action="store_true", help="1,000 and 5,000 models: a check that it runs")
    ap.add_argument("--write", action="store_true",
                    help="write the tables into BENCHMARKS.md after each part (rows of other sizes stay)")
    ap.add_argument("--folder", default=None, help="where the index files go (default: a temporary folder)")
    args = ap.parse_args()
    if args.quick:
        args.models, args.small_models, args.queries = 1_000, 5_000, 50
    folder = args.folder or tempfile.mkdtemp(prefix="modeltree-bench-index-")
    cache = os.environ.get("MODELTREE_BENCH_CACHE", os.path.expanduser("~/.cache/modeltree-bench"))
    large = {f"layers.{i}.weight": (512, 512) for i in range(4)}
    small = {f"layers.{i}.weight": (32, 32) for i in range(2)}
    runs = [(f"{args.models:,} × 1M parameters", args.models, args.family, large, 1),
            (f"{args.small_models:,} × 2k parameters", args.small_models, args.small_family, small, 2)]
    runs = [r for r in runs if r[1] > 0]
    parts = [r[0] for r in runs] + ([] if args.no_sketch_sizes else ["sketch sizes"])
    kept = earlier_rows({r[0] for r in runs})
    results: list[dict] = []
    sketches: list[dict] = []

    def report(done: str) -> None:
        parts.remove(done)
        text = table(results, sketches, kept, parts)
        print(text, flush=True)
        if args.write:
            write(text)

    # Each part is written as soon as it ends, the slowest last: a run stopped early keeps the rest.
    for label, models, size, shapes, seed in runs[:1]:
        results.append(timed(run, label, models, size, shapes, folder, args.queries, args.compare, seed))
        report(label)
    if not args.no_sketch_sizes:
        sketches = sketch_sizes(cache)
        report("sketch sizes")
    for label, models, size, shapes, seed in runs[1:]:
        results.append(timed(run, label, models, size, shapes, folder, args.queries, args.compare, seed))
        report(label)
    if not args.folder:
        shutil.rmtree(folder, ignore_errors=True)


def timed(f, *args) -> dict:
    """f's result with the date and the load average before and after it."""
    before = os.getloadavg()[0]
    result = f(*args)
    result["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    result["load"] = (before, os.getloadavg()[0])
    return result


if __name__ == "__main__":
    main()
