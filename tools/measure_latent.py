#!/usr/bin/env python3
"""The measurement behind LatentParents.acuteCosine: the widest angle of weight-space triangles
at true parents (the base given) and among siblings of a missing base.

    python tools/measure_latent.py [ZOO ...]          # e.g. examples/zoo examples/zoo2 examples/typed_zoo

For every truth file's parent with two or more fine-tune neighbours (children, or children and
its own parent) it prints the cosine of the angle at the parent between each pair — the widest
angle of a true parent's triangle, 90° (cosine 0) for orthogonal updates — and for every latent
node of the truth the widest angle over its children's triangles. Distances are the engine's:
the mean over the compared tensors (the CLI's JSON names them) of RMS(W_a − W_b). The ± is a
bootstrap over those tensors (200 resamples): how much the figure depends on which tensors were
compared. A synthetic part does the same on a random base with independent dense updates whose
sizes differ by up to `--spread` (ratio of RMS), with the base given and withheld.

Needs numpy; safetensors folders and files are read with tools/st.py, pytorch_model.bin with
torch when installed (else such models are left out, and said so); GGUF/ONNX/PEFT models are
quantized copies or adapters, never fine-tune siblings, and are left out.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import st  # noqa: E402

CLI_DEFAULT = os.path.join(HERE, "..", ".build", "debug", "modeltree-cli")


def load(path: str, names: list[str]) -> dict[str, np.ndarray] | None:
    files = []
    if os.path.isdir(path):
        index = os.path.join(path, "model.safetensors.index.json")
        if os.path.exists(index):
            with open(index) as f:
                files = sorted(set(json.load(f)["weight_map"].values()))
            files = [os.path.join(path, x) for x in files]
        elif os.path.exists(os.path.join(path, "model.safetensors")):
            files = [os.path.join(path, "model.safetensors")]
        elif os.path.exists(os.path.join(path, "pytorch_model.bin")):
            try:
                import torch
            except ImportError:
                return None
            state = torch.load(os.path.join(path, "pytorch_model.bin"), map_location="cpu", weights_only=True)
            return {n: state[n].float().numpy().astype(np.float64) for n in names if n in state}
    elif path.endswith(".safetensors"):
        files = [path]
    out = {}
    for f in files:
        tensors = st.read(f)
        out.update({n: np.asarray(v, dtype=np.float64) for n, v in tensors.items() if n in names})
    return out if all(n in out for n in names) else None


def per_tensor_rms(w: dict, a: str, b: str, names: list[str]) -> np.ndarray:
    return np.array([np.sqrt(np.mean((w[a][n] - w[b][n]) ** 2)) for n in names])


def cosines(d2: dict, x: str, u: str, v: str) -> tuple[float, float, float]:
    """Cosines at x, u, v of the triangle with side lengths d (engine distances)."""
    def at(p, q, r):
        a, b, c = d2[p, q], d2[p, r], d2[q, r]
        return (a * a + b * b - c * c) / (2 * a * b)
    return at(x, u, v), at(u, x, v), at(v, x, u)


class Triangles:
    """Distances from per-tensor RMS, and bootstrapped cosines over the tensors."""

    def __init__(self, w: dict, names: list[str], rng: np.random.Generator):
        self.w, self.names = w, names
        self.cache: dict = {}
        self.resamples = [rng.integers(0, len(names), len(names)) for _ in range(200)]

    def rms(self, a: str, b: str) -> np.ndarray:
        key = (a, b) if a < b else (b, a)
        if key not in self.cache:
            self.cache[key] = per_tensor_rms(self.w, key[0], key[1], self.names)
        return self.cache[key]

    def widest(self, x: str, u: str, v: str, at_first: bool) -> tuple[float, float]:
        """The cosine at x (at_first) or the smallest of the three, and its bootstrap sd."""
        def figure(sel):
            d = {}
            for p, q in itertools.permutations((x, u, v), 2):
                d[p, q] = self.rms(p, q)[sel].mean()
            c = cosines(d, x, u, v)
            return c[0] if at_first else min(c)
        full = figure(slice(None))
        boot = [figure(s) for s in self.resamples]
        return full, float(np.std(boot))


def zoo_rows(zoo: str, cli: str, rng: np.random.Generator) -> tuple[list, list]:
    doc = json.loads(subprocess.run([cli, "recover", zoo, "--format", "json", "--quiet"], capture_output=True,
                                    text=True, check=True).stdout)
    with open(os.path.join(zoo, "truth.json")) as f:
        truth = json.load(f)
    names_by_model = {}
    paths = {m["id"]: m["path"] for m in doc["models"] if m.get("path")}
    # The compared tensors of the model's own family: the CLI lists the union; keep those every loaded model has.
    w, left_out = {}, []
    for mid, p in paths.items():
        got = load(p, doc["tensors"])
        if got is None:
            left_out.append(mid)
        else:
            w[mid] = got
    edges = []
    for e in truth["edges"]:
        p, c, t = (e[0], e[1], "finetune") if isinstance(e, list) else (e["parent"], e["child"], e.get("type", "finetune"))
        if t == "finetune" and p in w and c in w:
            edges.append((p, c))
    neighbours: dict[str, set] = {}
    for p, c in edges:
        neighbours.setdefault(p, set()).add(c)
        neighbours.setdefault(c, set()).add(p)
    parents, latents = [], []
    for x, ns in sorted(neighbours.items()):
        for u, v in itertools.combinations(sorted(ns), 2):
            names = [n for n in doc["tensors"] if all(n in w[m] for m in (x, u, v))]
            tri = Triangles(w, names, rng)
            parents.append((os.path.basename(zoo), x, u, v, *tri.widest(x, u, v, at_first=True)))
    for node in truth.get("latent", []):
        kids = [k for k in node["children"] if k in w]
        for x, u, v in itertools.combinations(sorted(kids), 3):
            names = [n for n in doc["tensors"] if all(n in w[m] for m in (x, u, v))]
            tri = Triangles(w, names, rng)
            latents.append((os.path.basename(zoo), x, u, v, *tri.widest(x, u, v, at_first=False)))
    if left_out:
        print(f"# {zoo}: left out (not safetensors, or torch missing): {', '.join(sorted(left_out))}")
    return parents, latents


def synthetic_rows(rng: np.random.Generator, spread: float, draws: int) -> tuple[list, list]:
    """A base (Laplace, 4 tensors of 32 x 32) and 3 updates whose RMS sizes are log-uniform over
    [1, spread] x 0.01: the angle at the base, and the widest angle of the siblings' triangle."""
    names = [f"t{k}" for k in range(4)]
    parents, latents = [], []
    for k in range(draws):
        base = {n: rng.laplace(0, 0.05, (32, 32)) for n in names}
        sizes = 0.01 * np.exp(rng.uniform(0, np.log(spread), 3))
        w = {"base": base}
        for i, s in enumerate(sizes):
            w[f"k{i}"] = {n: base[n] + rng.normal(0, s, base[n].shape) for n in names}
        tri = Triangles(w, names, rng)
        parents.append(("synthetic", "base", "k0", "k1", *tri.widest("base", "k0", "k1", at_first=True)))
        latents.append(("synthetic", "k0", "k1", "k2", *tri.widest("k0", "k1", "k2", at_first=False)))
    return parents, latents


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("zoos", nargs="*")
    ap.add_argument("--cli", default=os.environ.get("MODELTREE_CLI", CLI_DEFAULT))
    ap.add_argument("--spread", type=float, default=1.5, help="largest ratio of update sizes in the synthetic part")
    ap.add_argument("--draws", type=int, default=40)
    ap.add_argument("--threshold", type=float, default=None, help="a threshold to count errors at (default: the library's)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    parents, latents = synthetic_rows(rng, args.spread, args.draws)
    for z in args.zoos:
        p, l = zoo_rows(z, args.cli, rng)
        parents += p
        latents += l
    print("true parents: cosine of the angle at the parent (± bootstrap over tensors)")
    for row in parents:
        print(f"  {row[0]:12s} {row[1]:28s} {row[2]:28s} {row[3]:28s} {row[4]:+.3f} ± {row[5]:.3f}")
    print("siblings of a latent parent: cosine of their triangle's widest angle")
    for row in latents:
        print(f"  {row[0]:12s} {row[1]:28s} {row[2]:28s} {row[3]:28s} {row[4]:+.3f} ± {row[5]:.3f}")
    real = [r[4] for r in parents if r[0] != "synthetic"]
    for label, rows in (("true parents, zoos", [r for r in parents if r[0] != "synthetic"]),
                        ("true parents, synthetic", [r for r in parents if r[0] == "synthetic"]),
                        ("latent, zoos", [r for r in latents if r[0] != "synthetic"]),
                        ("latent, synthetic", [r for r in latents if r[0] == "synthetic"])):
        if rows:
            x = np.array([r[4] for r in rows])
            print(f"{label:26s} n={len(x):3d} mean {x.mean():+.3f} sd {x.std():.3f} min {x.min():+.3f} max {x.max():+.3f}")
    if real:
        zl = [r[4] for r in latents if r[0] != "synthetic"]
        print(f"largest true-parent cosine {max(real):+.3f}; smallest latent cosine (zoos) {min(zl) if zl else float('nan'):+.3f}")
    if args.threshold is not None:
        t = args.threshold
        fp = sum(r[4] > t for r in parents)
        tp = sum(r[4] > t for r in latents)
        print(f"at {t}: true-parent triangles counted acute {fp}/{len(parents)}; latent triangles found {tp}/{len(latents)}")


if __name__ == "__main__":
    main()
