"""Writes the signature fuzzer's seed corpus (Tests/fuzz/corpus/signature/): small signatures of
tiny models — values kept, sketched in F32 and BF16, a wide tensor, a tensor with NaN — made with
small sketch sizes so that each stays under the fuzzer's 16 kB, and a few broken ones. Needs the
modeltree package and numpy (make python-install). Deterministic; rerun after a format change and
commit the files.

    python Tests/fuzz/make_signature_seeds.py
"""
import os

import numpy as np

import modeltree as mt

HERE = os.path.dirname(os.path.abspath(__file__))
SMALL = {"distance_buckets": 16, "coarse_buckets": 4, "rank_rows": 8, "rank_columns": 4, "rank_hits": 2}


def main() -> None:
    out = os.path.join(HERE, "corpus", "signature")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(1)
    bf16 = rng.standard_normal((20, 20)).astype(np.float32)
    models = {
        "values_kept": ({"a.weight": rng.standard_normal((4, 4)).astype(np.float32),
                         "a.bias": rng.standard_normal(4).astype(np.float32),
                         "head.weight": rng.standard_normal((3, 4)).astype(np.float32)}, SMALL),
        "sketched_f32": ({"w": rng.standard_normal((12, 12)).astype(np.float32)}, SMALL),
        "sketched_wide": ({"w": rng.standard_normal((5, 40)).astype(np.float32)}, SMALL),
        "with_nan": ({"w": np.where(rng.random((6, 6)) < 0.1, np.nan, 1.0).astype(np.float32)}, SMALL),
    }
    written = {}
    for name, (state, sketch) in models.items():
        written[name] = bytes(mt.signature(state, id=name, sketch=sketch))
    try:  # bfloat16 through torch when it is there; else the F32 seeds do
        import torch

        written["sketched_bf16"] = bytes(mt.signature({"w": torch.from_numpy(bf16).to(torch.bfloat16)}, id="bf16", sketch=SMALL))
    except ImportError:
        pass
    good = written["sketched_f32"]
    written["bad_checksum"] = good[:40] + bytes([good[40] ^ 0x10]) + good[41:]
    written["truncated"] = good[: len(good) // 2]
    written["version_2"] = good[:8] + b"\x02" + good[9:]
    for name, data in written.items():
        assert len(data) <= 16384, (name, len(data))
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
