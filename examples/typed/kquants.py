"""Q4_K and Q6_K quantizers in numpy (gguf-py 0.19 can dequantize the K-quants but not make them).

They follow ggml's reference quantizers (`quantize_row_q4_K_ref`, `quantize_row_q6_K_ref` in
ggml-quants.c, the path llama-quantize takes without an importance matrix): per 256-value super
block, a best-fit scale (and min, for Q4_K) per sub-block found by the same search, 6-bit / 8-bit
sub-block scales relative to an F16 super-block scale, then every value rounded to its nearest
level. Float sums run in numpy's order, not C's, so a rare tie may round differently from
llama-quantize; the files are valid either way, which `verify` proves against gguf-py.

    quantize(x, "Q4_K" | "Q6_K")  -> uint8 array (rows, bytes per row), rows of x a multiple of 256
    verify(x, raw, qtype)         -> facts; raises if gguf-py's dequantization is not the nearest
                                     level of each sub-block's grid (the type's error bound)
"""
from __future__ import annotations

import numpy as np
from gguf import GGMLQuantizationType as QT
from gguf import quants as gq

QK_K = 256
f32 = np.float32


def _rint(v):
    """ggml's nearest_int: round half to even in float32."""
    return np.rint(v.astype(f32)).astype(np.int32)


def _make_qkx2(x, w, nmax, rmin, rdelta, nstep):
    """Best (scale, min, levels) per row of x (rows = sub-blocks), as ggml's make_qkx2_quants."""
    xmin = np.minimum(x.min(1), f32(0))
    xmax = x.max(1)
    sum_w = w.sum(1, dtype=f32)
    sum_x = (w * x).sum(1, dtype=f32)
    flat = xmax == xmin
    rng = np.where(flat, f32(1), xmax - xmin).astype(f32)
    iscale = (f32(nmax) / rng).astype(f32)
    scale = (f32(1) / iscale).astype(f32)
    mn = xmin.copy()
    L = np.clip(_rint(iscale[:, None] * (x - mn[:, None])), 0, nmax)
    best = (w * (scale[:, None] * L + mn[:, None] - x) ** 2).sum(1, dtype=f32)
    for k in range(nstep + 1):
        # ggml updates `min` when a candidate wins, and later candidates start from it
        span = np.where(flat, f32(1), xmax - mn).astype(f32)
        isc = ((f32(rmin) + f32(rdelta) * f32(k) + f32(nmax)) / span).astype(f32)
        La = np.clip(_rint(isc[:, None] * (x - mn[:, None])), 0, nmax)
        sl = (w * La).sum(1, dtype=f32)
        sl2 = (w * La * La).sum(1, dtype=f32)
        sxl = (w * La * x).sum(1, dtype=f32)
        D = sum_w * sl2 - sl * sl
        ok = D > 0
        Ds = np.where(ok, D, f32(1))
        ts = ((sum_w * sxl - sum_x * sl) / Ds).astype(f32)
        tm = ((sl2 * sum_x - sl * sxl) / Ds).astype(f32)
        pos = tm > 0
        ts = np.where(pos, sxl / np.where(sl2 > 0, sl2, f32(1)), ts).astype(f32)
        tm = np.where(pos, f32(0), tm).astype(f32)
        err = (w * (ts[:, None] * La + tm[:, None] - x) ** 2).sum(1, dtype=f32)
        take = ok & (err < best) & ~flat
        L = np.where(take[:, None], La, L)
        best = np.where(take, err, best)
        scale = np.where(take, ts, scale)
        mn = np.where(take, tm, mn)
    scale = np.where(flat, f32(0), scale)
    L = np.where(flat[:, None], 0, L)
    return scale.astype(f32), (-mn).astype(f32), L


def _make_qx(x, nmax):
    """Best signed scale and levels per row of x, as ggml's make_qx_quants(rmse_type=1, no weights)."""
    n_rows = x.shape[0]
    idx = np.abs(x).argmax(1)                       # first index of the largest |x|, as C's `>`
    mx = x[np.arange(n_rows), idx]
    zero = np.abs(mx) < 1e-15
    mxs = np.where(zero, f32(1), mx).astype(f32)
    w = x * x

    def levels(iscale):
        return np.clip(_rint(iscale[:, None] * x), -nmax, nmax - 1)

    iscale = (f32(-nmax) / mxs).astype(f32)
    L = levels(iscale)
    slx = (w * x * L).sum(1, dtype=f32)
    sl2 = (w * L * L).sum(1, dtype=f32)
    scale = np.where(sl2 > 0, slx / np.where(sl2 > 0, sl2, f32(1)), f32(0)).astype(f32)
    best = scale * slx
    for k in range(-9, 10):
        if k == 0:
            continue
        isc = (-(f32(nmax) + f32(0.1) * f32(k)) / mxs).astype(f32)
        La = levels(isc)
        a = (w * x * La).sum(1, dtype=f32)
        b = (w * La * La).sum(1, dtype=f32)
        take = (b > 0) & (a * a > best * b)
        L = np.where(take[:, None], La, L)
        scale = np.where(take, a / np.where(b > 0, b, f32(1)), scale).astype(f32)
        best = np.where(take, scale * a, best)
    scale = np.where(zero, f32(0), scale)
    L = np.where(zero[:, None], -nmax, L)
    return scale.astype(f32), (L + nmax).astype(np.int32)


def _f16(v):
    return np.asarray(v, dtype=f32).astype(np.float16)


def _q4_k(x):
    nb = x.shape[0]
    sub = x.reshape(nb * 8, 32)
    av = np.sqrt((sub * sub).sum(1, dtype=f32) / f32(32)).astype(f32)
    w = (av[:, None] + np.abs(sub)).astype(f32)
    scales, mins, L = _make_qkx2(sub, w, 15, -1.0, 0.1, 20)
    scales, mins, L = scales.reshape(nb, 8), mins.reshape(nb, 8), L.reshape(nb, 8, 32)
    max_scale, max_min = scales.max(1), mins.max(1)
    inv_s = np.where(max_scale > 0, f32(63) / np.where(max_scale > 0, max_scale, f32(1)), f32(0)).astype(f32)
    inv_m = np.where(max_min > 0, f32(63) / np.where(max_min > 0, max_min, f32(1)), f32(0)).astype(f32)
    ls = np.minimum(63, _rint(inv_s[:, None] * scales)).astype(np.uint8)
    lm = np.minimum(63, _rint(inv_m[:, None] * mins)).astype(np.uint8)
    packed = np.zeros((nb, 12), np.uint8)
    packed[:, 0:4] = ls[:, 0:4]
    packed[:, 4:8] = lm[:, 0:4]
    packed[:, 8:12] = (ls[:, 4:8] & 0xF) | ((lm[:, 4:8] & 0xF) << 4)
    packed[:, 0:4] |= (ls[:, 4:8] >> 4) << 6
    packed[:, 4:8] |= (lm[:, 4:8] >> 4) << 6
    d = _f16(max_scale / f32(63))
    dmin = _f16(max_min / f32(63))
    dj = d.astype(f32)[:, None] * ls.astype(f32)
    mj = dmin.astype(f32)[:, None] * lm.astype(f32)
    nz = dj != 0
    q = np.clip(_rint((x.reshape(nb, 8, 32) + mj[..., None]) / np.where(nz, dj, f32(1))[..., None]), 0, 15)
    L = np.where(nz[..., None], q, L).reshape(nb, 4, 2, 32)
    qs = (L[:, :, 0, :] | (L[:, :, 1, :] << 4)).astype(np.uint8).reshape(nb, 128)
    return np.concatenate([d.view(np.uint8).reshape(nb, 2), dmin.view(np.uint8).reshape(nb, 2), packed, qs], 1)


def _q6_k(x):
    nb = x.shape[0]
    sub = x.reshape(nb * 16, 16)
    scales, L = _make_qx(sub, 32)
    scales, L = scales.reshape(nb, 16), L.reshape(nb, 16, 16)
    ia = np.abs(scales).argmax(1)
    max_scale = scales[np.arange(nb), ia]
    zero = np.abs(max_scale) < 1e-15
    iscale = (f32(-128) / np.where(zero, f32(1), max_scale)).astype(f32)
    d = _f16(f32(1) / iscale)
    sc = np.minimum(127, _rint(iscale[:, None] * scales)).astype(np.int8)
    dj = d.astype(f32)[:, None] * sc.astype(f32)
    nz = dj != 0
    q = np.clip(_rint(x.reshape(nb, 16, 16) / np.where(nz, dj, f32(1))[..., None]), -32, 31) + 32
    L = np.where(nz[..., None], q, L).reshape(nb, 2, 4, 32).astype(np.uint8)
    ql = np.concatenate([L[:, :, 0] & 0xF | ((L[:, :, 2] & 0xF) << 4),
                         L[:, :, 1] & 0xF | ((L[:, :, 3] & 0xF) << 4)], 2).reshape(nb, 128)
    qh = ((L[:, :, 0] >> 4) | ((L[:, :, 1] >> 4) << 2) | ((L[:, :, 2] >> 4) << 4)
          | ((L[:, :, 3] >> 4) << 6)).reshape(nb, 64)
    out = np.concatenate([ql, qh, sc.view(np.uint8), d.view(np.uint8).reshape(nb, 2)], 1)
    out[zero] = 0
    return out


def quantize(x: np.ndarray, qtype: str) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=f32)
    rows, cols = x.shape
    if cols % QK_K:
        raise ValueError(f"{qtype} needs rows of a multiple of {QK_K} values, got {cols}")
    blocks = x.reshape(-1, QK_K)
    raw = {"Q4_K": _q4_k, "Q6_K": _q6_k}[qtype](blocks)
    return raw.reshape(rows, -1)


def _grid_q4_k(raw):
    """Per sub-block (step d_j, offset m_j) and the level of each value, decoded here, not by gguf-py."""
    nb = raw.shape[0]
    d = raw[:, 0:2].copy().view(np.float16).astype(f32).reshape(nb)
    dmin = raw[:, 2:4].copy().view(np.float16).astype(f32).reshape(nb)
    s = raw[:, 4:16]
    sc = np.concatenate([s[:, 0:4] & 63, (s[:, 8:12] & 0xF) | ((s[:, 0:4] >> 6) << 4)], 1)
    m = np.concatenate([s[:, 4:8] & 63, (s[:, 8:12] >> 4) | ((s[:, 4:8] >> 6) << 4)], 1)
    qs = raw[:, 16:].reshape(nb, 4, 32)
    q = np.stack([qs & 0xF, qs >> 4], 2).reshape(nb, 8, 32).astype(f32)
    return d[:, None] * sc.astype(f32), dmin[:, None] * m.astype(f32), q, np.arange(16, dtype=f32)


def _grid_q6_k(raw):
    nb = raw.shape[0]
    ql = raw[:, 0:128].reshape(nb, 2, 64)
    qh = raw[:, 128:192].reshape(nb, 2, 32)
    sc = raw[:, 192:208].copy().view(np.int8).astype(f32)
    d = raw[:, 208:210].copy().view(np.float16).astype(f32).reshape(nb)
    q1 = (ql[:, :, 0:32] & 0xF) | (((qh >> 0) & 3) << 4)
    q2 = (ql[:, :, 32:64] & 0xF) | (((qh >> 2) & 3) << 4)
    q3 = (ql[:, :, 0:32] >> 4) | (((qh >> 4) & 3) << 4)
    q4 = (ql[:, :, 32:64] >> 4) | (((qh >> 6) & 3) << 4)
    q = np.stack([q1, q2, q3, q4], 2).reshape(nb, 16, 16).astype(f32) - 32
    return d[:, None] * sc, np.zeros_like(sc), q, np.arange(-32, 32, dtype=f32)


def verify(x: np.ndarray, raw: np.ndarray, qtype: str) -> dict:
    """Dequantize with gguf-py and prove the file valid: gguf-py's values equal step*level - offset
    as decoded here, and each is the level of its sub-block's grid nearest to the source value."""
    x = np.ascontiguousarray(x, dtype=f32)
    deq = gq.dequantize(raw, getattr(QT, qtype)).reshape(x.shape)
    blocks = raw.reshape(-1, raw.shape[-1] // (x.shape[1] // QK_K))
    step, off, q, levels = {"Q4_K": _grid_q4_k, "Q6_K": _grid_q6_k}[qtype](blocks)
    sub = q.shape[2]
    xs = x.reshape(-1, q.shape[1], sub)
    ds = deq.reshape(xs.shape)
    mine = step[..., None] * q - off[..., None]
    if not np.array_equal(mine, ds):
        raise AssertionError(f"{qtype}: gguf-py's dequantization differs from the decoded levels")
    grid = step[..., None, None] * levels - off[..., None, None]          # (nb, nsub, 1, n_levels)
    nearest = np.abs(xs[..., None] - grid).min(-1)
    err = np.abs(xs - ds)
    tol = 1e-6 * np.maximum(step, 1e-30)[..., None]
    worst = float((err - nearest).max())
    if not np.all(err <= nearest + tol):
        raise AssertionError(f"{qtype}: a value is not on its nearest level (excess {worst:.3g})")
    safe = np.where(step > 0, step, np.inf)[..., None]
    return {"qtype": qtype, "values": int(x.size),
            "rms_error": float(np.sqrt(np.mean((x - deq) ** 2, dtype=np.float64))),
            "max_error_in_steps": float((err / safe).max()),
            "nearest_level_everywhere": True}
