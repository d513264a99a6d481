#!/usr/bin/env python3
"""The measurement behind LatentParents.acuteCosine: the widest angle of weight-space triangles
at true parents (the base given) and among siblings of a missing base.

    python tools/measure_latent.py [ZOO ...]          # e.g. examples/zoo examples/zoo2 examples/typed_zoo
    python tools/measure_latent.py --families OUT     # OUT from tools/make_latent_families.py

For every truth file's parent with two or more fine-tune neighbours (children, or children and
its own parent) it prints the cosine of the angle at the parent between each pair — the widest
angle of a true parent's triangle, 90° (cosine 0) for orthogonal updates — and for every latent
node of the truth the widest angle over its children's triangles. Distances are the engine's:
the mean over the compared tensors (the CLI's JSON names them) of RMS(W_a − W_b). The ± is a
bootstrap over those tensors (200 resamples): how much the figure depends on which tensors were
compared. A synthetic part does the same on a random base with independent dense updates whose
sizes differ by up to `--spread` (ratio of RMS), with the base given and withheld.

With `--families OUT` (a folder tools/make_latent_families.py wrote) it recovers each family
instead and scores it: the latent node found with exactly its children (base withheld), nothing
latent and every edge right (base given); with the off-path rows (UntouchedRows.offPath, here
in numpy) at the small sibling and at the given base, by the small sibling's squared update.
The zoo part prints the off-path rows at each true parent and latent sibling too.

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


ROW_TOLERANCE, TRAINING_ROUNDING, FACTOR_TOLERANCE, MIN_ROWS, TALLNESS, SAMPLED_ROWS = 1.0, 2.0 ** -16, 4.0, 8, 4, 1024
TOUCHED_MARGIN = 4.0


def lookup_tables(path: str) -> dict[str, tuple[np.ndarray, float]]:
    """The tallest 2-D tensors with more than TALLNESS rows per column (a vocabulary's), as
    float64 with the unit roundoff of their storage (BF16 is read widened: all low 16 bits zero)."""
    bin_path = os.path.join(path, "pytorch_model.bin")
    try:
        if os.path.isdir(path) and os.path.exists(bin_path):
            import torch
            tensors = {n: t.float().numpy() if t.dtype != torch.float16 else t.numpy()
                       for n, t in torch.load(bin_path, map_location="cpu", weights_only=True).items()}
        else:
            tensors = st.load_model(path)
    except (OSError, ValueError, ImportError):
        return {}
    tall = {n: t for n, t in tensors.items() if t.ndim == 2 and t.shape[0] > TALLNESS * t.shape[1] and t.shape[1] >= 2
            and t.dtype.kind == "f"}
    if not tall:
        return {}
    most = max(t.shape[0] for t in tall.values())
    out = {}
    for n, t in tall.items():
        if t.shape[0] != most:
            continue
        if t.dtype == np.float16:
            unit = 2.0 ** -11
        elif t.dtype == np.float32:
            unit = 2.0 ** -8 if not (t.view(np.uint32) & 0xFFFF).any() else 2.0 ** -24
        else:
            unit = 2.0 ** -53
        out[n] = (t.astype(np.float64), unit)
    return out


def off_path(x: dict, u: dict, v: dict) -> int:
    """Rows u and v hold as multiples of each other by their common factor (untouched between
    them) that x holds otherwise (touched): x is off the path from u to v. Max over the tables."""
    best = 0
    for name in x:
        if name not in u or name not in v or not (x[name][0].shape == u[name][0].shape == v[name][0].shape):
            continue
        (a, ua), (b, ub), (c, uc) = u[name], v[name], x[name]
        rows = a.shape[0]
        pick = np.arange(rows) if rows <= SAMPLED_ROWS else np.arange(SAMPLED_ROWS) * rows // SAMPLED_ROWS
        a, b, c = a[pick], b[pick], c[pick]
        tol = ROW_TOLERANCE * max(ua, ub, uc) + TRAINING_ROUNDING

        def fit(p, q):
            pp, pq, qq = (p * p).sum(1), (p * q).sum(1), (q * q).sum(1)
            ok = (pp > 0) & (qq > 0)
            alpha = np.where(ok, pq / np.where(ok, pp, 1), np.nan)
            res = np.linalg.norm(q - alpha[:, None] * p, axis=1) / np.sqrt(np.where(ok, qq, 1))
            return ok, alpha, res
        ok_uv, alpha, res_uv = fit(a, b)
        ok_ux, _, res_ux = fit(a, c)
        scaled = ok_uv & (res_uv <= tol) & ok_ux
        if scaled.sum() < MIN_ROWS:
            continue
        common = np.median(alpha[scaled])
        spread = FACTOR_TOLERANCE * tol / np.sqrt(a.shape[1])
        best = max(best, int((scaled & (res_ux > TOUCHED_MARGIN * tol) & (np.abs(alpha - common) <= spread)).sum()))
    return best


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
    tables = {m: lookup_tables(paths[m]) for m in w}
    parents, latents = [], []
    for x, ns in sorted(neighbours.items()):
        for u, v in itertools.combinations(sorted(ns), 2):
            names = [n for n in doc["tensors"] if all(n in w[m] for m in (x, u, v))]
            tri = Triangles(w, names, rng)
            parents.append((os.path.basename(zoo), x, u, v, *tri.widest(x, u, v, at_first=True),
                            f"off-path rows at {x}: {off_path(tables[x], tables[u], tables[v])}"))
    for node in truth.get("latent", []):
        kids = [k for k in node["children"] if k in w]
        for x, u, v in itertools.combinations(sorted(kids), 3):
            names = [n for n in doc["tensors"] if all(n in w[m] for m in (x, u, v))]
            tri = Triangles(w, names, rng)
            rows = [off_path(tables[a], tables[b], tables[c]) for a, b, c in ((x, u, v), (u, x, v), (v, x, u))]
            latents.append((os.path.basename(zoo), x, u, v, *tri.widest(x, u, v, at_first=False),
                            f"off-path rows at each: {rows}"))
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


def families(root: str, cli: str) -> None:
    """Recovers each family tools/make_latent_families.py wrote and says whether the latent node
    was found with exactly its children (base withheld), or nothing latent made (base given); per
    family the triangles' cosines and off-path rows, and a summary by the small sibling's ratio."""
    if not os.path.exists(os.path.join(root, "families.json")):
        sys.exit(f"{root}: no families.json (make one with tools/make_latent_families.py {root})")
    with open(os.path.join(root, "families.json")) as f:
        fams = json.load(f)
    summary: dict = {}
    for fam in fams:
        d = os.path.join(root, fam["family"])
        doc = json.loads(subprocess.run([cli, "recover", d, "--format", "json", "--quiet"], capture_output=True,
                                        text=True, check=True).stdout)
        with open(os.path.join(d, "truth.json")) as f:
            truth = json.load(f)
        latent = {m["id"] for m in doc["models"] if m.get("latent")}
        kids = {l: sorted(e["child"] for e in doc["edges"] if e["parent"] == l) for l in latent}
        parent = {e["child"]: e["parent"] for e in doc["edges"]}
        if fam["given"]:
            ok = not latent and all(parent.get(c) == p for p, c in truth["edges"])
        else:
            want = sorted(truth["latent"][0]["children"])
            ok = any(k == want for k in kids.values()) and len(latent) == 1
        paths = {m["id"]: m["path"] for m in doc["models"] if m.get("path")}
        tables = {m: lookup_tables(p) for m, p in paths.items()}
        members = sorted(c for _, c in truth["edges"]) if fam["given"] else sorted(truth["latent"][0]["children"])
        # Off-path rows: at the base between each pair of its children (it is on their path: any is false),
        # at each sibling between each pair of the others (it is off their path).
        at = [truth["roots"][0]] if fam["given"] else members
        rows = [off_path(tables[x], tables[u], tables[v]) for x in at
                for u, v in itertools.combinations([m for m in members if m != x], 2)]
        got = "; ".join(f"{l}: {', '.join(k)}" for l, k in kids.items()) or "no latent node"
        tree = ", ".join(f"{p}->{c}" for c, p in sorted(parent.items()) if p not in latent)
        size = next(b for b in (1.0, 1.5, 2.0, 3.0, float("inf")) if fam["measured"] <= b * 1.25) if fam["measured"] <= 3.75 else 4.0
        key = ("given" if fam["given"] else "withheld", size)
        summary.setdefault(key, []).append(ok)
        if not fam["given"]:
            small = fam.get("small")
            small_rows = [off_path(tables[small], tables[u], tables[v])
                          for u, v in itertools.combinations([m for m in members if m != small], 2)] if small else rows
            summary.setdefault(("small sibling off-path rows", size), []).extend(small_rows)
        else:
            summary.setdefault(("base off-path rows (false)", size), []).extend(rows)
        print(f"{fam['family']:36s} small x{fam['measured']:.2f} ({fam['how']:5s}) {'OK ' if ok else 'BAD'}  {got}  {tree}  "
              f"off-path rows {rows}")
    for (kind, r), vals in sorted(summary.items()):
        if "rows" in kind:
            print(f"{kind} at about {r:g}x: min {min(vals)} max {max(vals)} over {len(vals)} triangles")
        else:
            print(f"base {kind:8s} small sibling's squared update about 1/{r:g} of the others': {sum(vals)}/{len(vals)} right")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("zoos", nargs="*")
    ap.add_argument("--cli", default=os.environ.get("MODELTREE_CLI", CLI_DEFAULT))
    ap.add_argument("--spread", type=float, default=1.5, help="largest ratio of update sizes in the synthetic part")
    ap.add_argument("--draws", type=int, default=40)
    ap.add_argument("--threshold", type=float, default=None, help="a threshold to count errors at (default: the library's)")
    ap.add_argument("--families", help="a folder written by tools/make_latent_families.py: recover and score each family")
    args = ap.parse_args()
    if args.families:
        families(args.families, args.cli)
        return
    rng = np.random.default_rng(0)
    parents, latents = synthetic_rows(rng, args.spread, args.draws)
    for z in args.zoos:
        p, l = zoo_rows(z, args.cli, rng)
        parents += p
        latents += l
    print("true parents: cosine of the angle at the parent (± bootstrap over tensors)")
    for row in parents:
        print(f"  {row[0]:12s} {row[1]:28s} {row[2]:28s} {row[3]:28s} {row[4]:+.3f} ± {row[5]:.3f}  {row[6] if len(row) > 6 else ''}")
    print("siblings of a latent parent: cosine of their triangle's widest angle")
    for row in latents:
        print(f"  {row[0]:12s} {row[1]:28s} {row[2]:28s} {row[3]:28s} {row[4]:+.3f} ± {row[5]:.3f}  {row[6] if len(row) > 6 else ''}")
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
