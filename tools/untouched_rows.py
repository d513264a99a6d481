"""Measures the "untouched rows" evidence of a zoo: rows of a 2-D tensor that one model holds as a
scalar multiple of another's (AdamW's decoupled weight decay on rows that got no gradient, such as
the embeddings of tokens a fine-tune never saw).

For every ordered pair (a, b) of models and every 2-D tensor both hold with one shape, each row r
is fitted as b_r = alpha_r * a_r (least squares, float64); the row is *scaled* when the residual
||b_r - alpha_r a_r|| / ||b_r|| is within `ROW_TOLERANCE` unit roundoffs of the coarser of the two
stored dtypes, and the pair's scaled rows are those whose alpha_r is the median's within
`ALPHA_TOLERANCE` unit roundoffs / sqrt(columns). Prints the pairs where at least `MIN_ROWS` rows
are scaled, with the common alpha, and the gap between the scaled rows' worst residual and the
other rows' best (the separation).

    /work/venv/h-data/bin/python tools/untouched_rows.py examples/typed_zoo [--tensor embed_tokens]

Reads safetensors (single or sharded) and pytorch_model.bin folders; other formats are skipped
(GGUF/ONNX exports are quantized copies, found before the tree is solved).
"""
from __future__ import annotations

import argparse
import glob
import os

import numpy as np

ROW_TOLERANCE = 1.0
TRAINING_ROUNDING = 2.0 ** -16
ALPHA_TOLERANCE = 4.0
MIN_ROWS = 8
UNIT = {"F32": 2.0 ** -24, "BF16": 2.0 ** -8, "F16": 2.0 ** -11, "F64": 2.0 ** -53}


def load(folder: str) -> dict[str, tuple[np.ndarray, str]]:
    from safetensors import safe_open
    out: dict[str, tuple[np.ndarray, str]] = {}
    files = sorted(glob.glob(os.path.join(folder, "*.safetensors"))) if os.path.isdir(folder) else []
    for f in files:
        with safe_open(f, "pt") as h:
            for k in h.keys():
                t = h.get_tensor(k)
                out[k] = (t.float().numpy().astype(np.float64), str(t.dtype).replace("torch.", ""))
    if not files and os.path.isdir(folder) and os.path.exists(os.path.join(folder, "pytorch_model.bin")):
        import torch
        sd = torch.load(os.path.join(folder, "pytorch_model.bin"), map_location="cpu", weights_only=True)
        for k, t in sd.items():
            out[k] = (t.float().numpy().astype(np.float64), str(t.dtype).replace("torch.", ""))
    names = {"float32": "F32", "bfloat16": "BF16", "float16": "F16", "float64": "F64"}
    return {k: (v, names.get(d, d)) for k, (v, d) in out.items() if v.ndim == 2}


def fit(a: np.ndarray, b: np.ndarray, unit: float):
    aa = (a * a).sum(1)
    ok = aa > 0
    alpha = np.where(ok, (a * b).sum(1) / np.where(ok, aa, 1), np.nan)
    res = np.linalg.norm(b - alpha[:, None] * a, axis=1) / np.maximum(np.linalg.norm(b, axis=1), 1e-300)
    tol = ROW_TOLERANCE * unit + TRAINING_ROUNDING
    fits = ok & (res <= tol)
    if fits.sum() == 0:
        return 0, np.nan, res, fits, False
    med = np.median(alpha[fits])
    agree = fits & (np.abs(alpha - med) <= ALPHA_TOLERANCE * tol / np.sqrt(a.shape[1]))
    return int(agree.sum()), float(med), res, agree, abs(med - 1) > ALPHA_TOLERANCE * tol / np.sqrt(a.shape[1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("zoo")
    ap.add_argument("--tensor", default="", help="only tensors whose name contains this")
    args = ap.parse_args()
    models = {}
    for d in sorted(os.listdir(args.zoo)):
        p = os.path.join(args.zoo, d)
        if os.path.isdir(p):
            t = load(p)
            if t:
                models[d] = t
    ids = list(models)
    for i in ids:
        for j in ids:
            if i == j:
                continue
            for name, (a, da) in models[i].items():
                if args.tensor not in name or name not in models[j] or models[j][name][0].shape != a.shape:
                    continue
                b, db = models[j][name]
                unit = max(UNIT.get(da, 2.0 ** -8), UNIT.get(db, 2.0 ** -8))
                n, alpha, res, agree, decisive = fit(a, b, unit)
                if n < MIN_ROWS:
                    continue
                worst_in = res[agree].max()
                rest = res[~agree]
                best_out = rest.min() if rest.size else float("nan")
                equal = int((a[agree] == b[agree]).all(1).sum())
                print(f"{i:>24} -> {j:<24} {name:<32} {n:4d}/{a.shape[0]} rows  c={alpha:.7f}  "
                      f"{'DECISIVE' if decisive else 'equal   '} bit-equal {equal:4d}  resid in<= {worst_in:.1e}  out>= {best_out:.1e}  ({da}->{db})")


if __name__ == "__main__":
    main()
