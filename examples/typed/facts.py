"""Facts about a zoo's data that the engine's designers need, computed in numpy over canonical
weights (Hugging Face names, q/k de-permuted, quantized types dequantized, LoRA applied).

These describe the data, not any recovery method:
    edge_stats      per true edge: RMS of child - parent, relative to the parent's RMS, and the
                    change of mean excess kurtosis of the layer matrices
    lstsq_merge     least squares of a merge over candidate parents: coefficients, residual
    sibling_angles  angles at a parent and at its children between pairs of fine-tune deltas
                    (also for the withheld root of a latent family)
    export_gap      every export against its source and every fine-tune against its parent and
                    its siblings, tensor by tensor; fails unless exports are far the closer
"""
from __future__ import annotations

import numpy as np

LAYER_MATS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def _mats(state: dict) -> list[str]:
    return sorted(n for n in state if any(f".{m}." in n for m in LAYER_MATS))


def excess_kurtosis(x: np.ndarray) -> float:
    x = np.asarray(x, np.float64).reshape(-1)
    d = x - x.mean()
    v = np.mean(d * d)
    return float(np.mean(d ** 4) / (v * v) - 3.0) if v > 0 else 0.0


def mean_kurtosis(state: dict) -> float:
    return float(np.mean([excess_kurtosis(state[n]) for n in _mats(state)]))


def _flat(state: dict, names: list[str]) -> np.ndarray:
    return np.concatenate([np.asarray(state[n], np.float64).reshape(-1) for n in names])


def rms_delta(child: dict, parent: dict, names=None) -> tuple[float, float]:
    names = names or sorted(set(child) & set(parent))
    names = [n for n in names if np.shape(child[n]) == np.shape(parent[n])]
    c, p = _flat(child, names), _flat(parent, names)
    d = float(np.sqrt(np.mean((c - p) ** 2)))
    return d, d / float(np.sqrt(np.mean(p ** 2)))


def edge_stats(edges: list[dict], values: dict) -> list[dict]:
    rows = []
    for e in edges:
        p, c = values[e["parent"]], values[e["child"]]
        if e["type"] == "layer-subset":
            pairs = e["layers"]
            cc, pp = {}, {}
            for ci, pi in pairs:
                for m in LAYER_MATS:
                    for grp in ("self_attn", "mlp"):
                        cn, pn = f"model.layers.{ci}.{grp}.{m}.weight", f"model.layers.{pi}.{grp}.{m}.weight"
                        if cn in c and pn in p:
                            cc[cn], pp[cn] = c[cn], p[pn]
            rms, rel = rms_delta(cc, pp)
            k_p, k_c = mean_kurtosis(pp), mean_kurtosis(cc)
        else:
            rms, rel = rms_delta(c, p, _mats(p))
            k_p, k_c = mean_kurtosis(p), mean_kurtosis(c)
        rows.append({"parent": e["parent"], "child": e["child"], "type": e["type"],
                     "how": e.get("how", ""), "rms": rms, "rel_rms": rel,
                     "kurtosis_parent": k_p, "kurtosis_child": k_c, "kurtosis_change": k_c - k_p})
    return rows


def lstsq_merge(child: dict, candidates: dict, root: dict) -> dict:
    """min ||child - sum_i c_i P_i|| over all layer matrices. The residual's RMS is given alone and
    relative to the RMS of child - root (how far the merge moved from the family's root)."""
    names = _mats(child)
    y = _flat(child, names)
    ids = sorted(candidates)
    A = np.stack([_flat(candidates[i], names) for i in ids], 1)
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    r = y - A @ coef
    moved = np.sqrt(np.mean((y - _flat(root, names)) ** 2))
    rms = float(np.sqrt(np.mean(r ** 2)))
    return {"coefficients": {i: float(c) for i, c in zip(ids, coef)}, "coefficient_sum": float(coef.sum()),
            "residual_rms": rms, "residual_rel": rms / float(moved)}


def bf16_rounding_rms(state: dict) -> float:
    """RMS change of the layer matrices when a state is rounded to BF16 (nearest even)."""
    names = _mats(state)
    x = _flat(state, names).astype(np.float32)
    b = (x.view(np.uint32).astype(np.uint64) + 0x7FFF + ((x.view(np.uint32) >> 16) & 1)) >> 16
    r = (b.astype(np.uint32) << 16).view(np.float32)
    return float(np.sqrt(np.mean((r.astype(np.float64) - x) ** 2)))


def sibling_angles(parent: dict, children: dict) -> list[dict]:
    """For each pair of children of one parent: the angle at the parent between the two deltas
    and the angle at each child between the directions to the parent and to the sibling."""
    names = _mats(parent)
    p = _flat(parent, names)
    ids = sorted(children)
    x = {i: _flat(children[i], names) for i in ids}

    def angle(u, v):
        c = float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))
        return float(np.degrees(np.arccos(np.clip(c, -1, 1))))

    out = []
    for a in range(len(ids)):
        for b in range(a + 1, len(ids)):
            A, B = x[ids[a]], x[ids[b]]
            out.append({"a": ids[a], "b": ids[b], "at_parent": angle(A - p, B - p),
                        "at_a": angle(p - A, B - A), "at_b": angle(p - B, A - B),
                        "d_ab": float(np.sqrt(np.mean((A - B) ** 2))),
                        "d_pa": float(np.sqrt(np.mean((A - p) ** 2))), "d_pb": float(np.sqrt(np.mean((B - p) ** 2)))})
    return out




def _pair(kind: str, a: str, b: str, values: dict) -> dict:
    """RMS of b - a over every tensor (whole model) and tensor by tensor, relative to a's RMS."""
    va, vb = values[a], values[b]
    per = {n: dict(zip(("rms", "rel"), rms_delta(vb, va, [n]))) for n in sorted(va)}
    rms, rel = rms_delta(vb, va, sorted(va))
    rels = [p["rel"] for p in per.values()]
    return {"kind": kind, "source": a, "model": b, "rms": rms, "rel": rel,
            "max_tensor_rel": max(rels), "min_tensor_rel": min(rels), "tensors": per}


def export_gap(truth: dict, values: dict, factor: float = 2.0) -> dict:
    """Issue 11's condition on a formats collection: every export (quantized edge or duplicate)
    is at least `factor` times closer to its source than any fine-tune is to its parent or to a
    sibling fine-tune (whole-model relative RMS). Raises AssertionError otherwise."""
    pairs = []
    for e in truth["edges"]:
        pairs.append(_pair("export" if e["type"] == "quantized" else e["type"], e["parent"], e["child"], values))
    for g in truth["duplicates"]:
        pairs += [_pair("export", g[0], mid, values) for mid in g[1:]]
    fts = sorted(e["child"] for e in truth["edges"] if e["type"] == "finetune")
    pairs += [_pair("finetune-sibling", a, b, values) for i, a in enumerate(fts) for b in fts[i + 1:]]
    worst_export = max(p["rel"] for p in pairs if p["kind"] == "export")
    closest_tune = min(p["rel"] for p in pairs if p["kind"] != "export")
    if not worst_export * factor <= closest_tune:
        raise AssertionError(f"an export is {worst_export:.3g} from its source, a fine-tune only "
                             f"{closest_tune:.3g} from another model: train the fine-tunes longer")
    return {"pairs": pairs, "worst_export_rel": worst_export, "closest_finetune_rel": closest_tune}
