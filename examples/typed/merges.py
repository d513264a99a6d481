"""Model merges by the formulas mergekit uses (arcee-ai/mergekit, merge_methods/*), in numpy.

Every method works tensor by tensor on float32 copies of the parents (mergekit's `dtype:
float32`); the caller stores the result in the output dtype (mergekit's `out_dtype`).

    linear        sum_i w_i * M_i / sum_i w_i                           (linear, normalize: true)
    task_arithmetic  B + sum_i w_i (M_i - B)                            (task_arithmetic)
    slerp         spherical interpolation of the flattened tensors, t   (slerp; lerp when the
                  normalised dot product exceeds 0.9995)
    ties          deltas D_i = M_i - B trimmed to the top `density` by magnitude, weighted w_i D_i,
                  sign elected by the sum, disagreeing entries dropped, divided by the sum of the
                  kept weights (ties: magnitude sparsification, consensus "sum", normalize: true)
    dare_ties     deltas dropped at random with probability 1 - density and rescaled by 1/density,
                  then the same sign election, without normalisation (dare_ties)
    dare_linear   random drop + rescale, summed without election (dare_linear)

`merge(...)` returns the merged state and, per tensor, the numbers a checker needs (SLERP's two
effective weights, the fraction of entries TIES kept).
"""
from __future__ import annotations

import numpy as np


def _slerp(t: float, v0: np.ndarray, v1: np.ndarray, dot_threshold=0.9995, eps=1e-8):
    a, b = v0.astype(np.float32), v1.astype(np.float32)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    u0 = a / na if na > eps else a
    u1 = b / nb if nb > eps else b
    dot = float(np.sum(u0 * u1))
    if abs(dot) > dot_threshold:
        return (1 - t) * a + t * b, (1 - t, t)
    theta0 = np.arccos(dot)
    s0 = np.sin(theta0 - theta0 * t) / np.sin(theta0)
    s1 = np.sin(theta0 * t) / np.sin(theta0)
    return (s0 * a + s1 * b).astype(np.float32), (float(s0), float(s1))


def _magnitude(delta: np.ndarray, density: float) -> np.ndarray:
    if density >= 1:
        return delta
    k = int(density * delta.size)
    flat = np.abs(delta).reshape(-1)
    keep = np.argsort(-flat, kind="stable")[:k]
    mask = np.zeros(delta.size, np.float32)
    mask[keep] = 1
    return delta * mask.reshape(delta.shape)


def _bernoulli(delta: np.ndarray, density: float, rng: np.random.Generator) -> np.ndarray:
    if density >= 1:
        return delta
    mask = (rng.random(delta.shape) < density).astype(np.float32)
    return delta * mask / np.float32(density)


def merge(method: str, parents: dict, params: dict, seed: int = 0):
    """parents: {"base": state?, "models": [(name, state, {"weight", "density"}), ...]}"""
    models = parents["models"]
    base = parents.get("base")
    names = sorted(models[0][1])
    rng = np.random.default_rng(seed)
    out, per_tensor = {}, {}
    for n in names:
        xs = [np.asarray(m[1][n], np.float32) for m in models]
        ws = np.array([m[2].get("weight", 1.0) for m in models], np.float32)
        if method == "linear":
            r = sum(w * x for w, x in zip(ws, xs)) / ws.sum()
        elif method == "slerp":
            r, eff = _slerp(params["t"], xs[0], xs[1])
            per_tensor[n] = {"s0": round(float(eff[0]), 6), "s1": round(float(eff[1]), 6)}
        else:
            b = np.asarray(base[n], np.float32)
            deltas = [x - b for x in xs]
            if method in ("ties",):
                deltas = [_magnitude(d, m[2]["density"]) for d, m in zip(deltas, models)]
            elif method in ("dare_ties", "dare_linear"):
                deltas = [_bernoulli(d, m[2]["density"], rng) for d, m in zip(deltas, models)]
            elif method != "task_arithmetic":
                raise ValueError(f"unknown merge method {method}")
            wd = np.stack([w * d for w, d in zip(ws, deltas)])
            wshape = (-1,) + (1,) * (wd.ndim - 1)
            if method in ("ties", "dare_ties"):
                majority = np.where(wd.sum(0) >= 0, 1.0, -1.0).astype(np.float32)
                mask = (np.sign(wd) == majority).astype(np.float32)
                mixed = (wd * mask).sum(0)
                divisor = (ws.reshape(wshape) * mask).sum(0)
                divisor[divisor == 0] = 1
                per_tensor[n] = {"kept": round(float(mask.mean()), 4)}
            else:
                mixed = wd.sum(0)
                divisor = np.full_like(mixed, ws.sum())
                if abs(ws.sum()) < 1e-8:
                    divisor[:] = 1
            if params.get("normalize", False):
                mixed = mixed / divisor
            r = b + mixed
        out[n] = r.astype(np.float32)
    return out, per_tensor


DEFAULTS = {  # mergekit's per-method defaults (registry.py)
    "linear": {"normalize": True},
    "task_arithmetic": {"normalize": False},
    "ties": {"normalize": True},
    "dare_ties": {"normalize": False},
    "dare_linear": {"normalize": False},
    "slerp": {},
}
