#!/usr/bin/env python3
"""Measures how well `modeltree-cli recover` hangs un-merged PEFT adapters from their base, on
synthetic families made by real training (the measurement behind AdapterAttachment's thresholds).

    python tools/measure_adapter_attachment.py train OUT --seed 0   # train one family set into OUT
    python tools/measure_adapter_attachment.py score OUT [OUT ...]   # recover each, print the table

`train` needs torch, transformers, peft, safetensors and the typed zoo's helpers (examples/typed:
the same tiny Llama, tokenizer, AdamW and PEFT LoRA recipe as the typed zoos, on the same Debian
texts); about 8 CPU-minutes per seed. It pre-trains two unrelated roots A and B (800 steps),
fine-tunes A twice (300 steps, BF16 values saved as F32, as `.float()` before saving does), once
lightly (40 steps at lr 2e-5), A-gpl once more, and B once, then trains twelve PEFT adapters on
various of them (r 4 or 8; q/v, q/k/v/o or every projection; some with lm_head in
modules_to_save; the same MPL text on A and on A-gpl) and saves everything as model folders with a
truth.json. `score` needs only numpy and the CLI (MODELTREE_CLI or .build/debug/modeltree-cli):
per adapter the recovered parent, the truth, the raw and calibrated confidence and whether it is
marked unsure, then the reliability table (share right among edges of raw confidence >= c: the
calibration is fitted on the example zoos, these families are not in it).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

ARCH = dict(vocab=384, hidden=64, inter=256, layers=4, heads=4, kv_heads=2, ctx=256)
QV = ["q_proj", "v_proj"]
QKVO = ["q_proj", "k_proj", "v_proj", "o_proj"]
ALL = QKVO + ["gate_proj", "up_proj", "down_proj"]
FULL = [  # id, parent, corpus, seed offset, steps, lr, stored BF16
    ("A-gpl", "A", "license:GPL-3", 12, 300, 5e-4, True),
    ("A-apache", "A", "license:Apache-2.0", 13, 300, 5e-4, True),
    ("A-light", "A", "license:CC0-1.0", 16, 40, 2e-5, False),
    ("A-gpl-lgpl", "A-gpl", "license:LGPL-2.1", 15, 300, 5e-4, False),
    ("B-gpl", "B", "license:GPL-3", 22, 300, 5e-4, False),
]
ADAPTERS = [  # id, parent, corpus, seed offset, r, alpha, targets, modules_to_save
    ("A+art", "A", "license:Artistic", 17, 8, 16, QV, None),
    ("A+bsd", "A", "license:BSD+license:GPL-1", 18, 4, 8, QKVO, ["lm_head"]),
    ("A-gpl+mpl", "A-gpl", "license:MPL-2.0", 19, 8, 16, ALL, None),
    ("A-gpl+pets", "A-gpl", "fortunes:pets", 20, 4, 8, QV, ["lm_head"]),
    ("A-light+magic", "A-light", "fortunes:magic", 23, 8, 8, QKVO, None),
    ("B+art", "B", "license:Artistic", 24, 8, 16, QV, None),
    ("A-apache+mpl", "A-apache", "license:MPL-2.0", 25, 4, 8, QKVO, ["lm_head"]),
    # The same text on the root and on a fine-tune (the order-of-training vote's hardest case: an
    # adapter's text like the fine-tune's), one two fine-tunes down, and texts unlike the licences.
    ("A+mpl", "A", "license:MPL-2.0", 26, 8, 16, ALL, None),
    ("A-gpl-lgpl+art", "A-gpl-lgpl", "license:Artistic", 27, 8, 16, ALL, None),
    ("A-gpl+magic", "A-gpl", "fortunes:magic", 28, 8, 16, ALL, None),
    ("A-apache+bsd", "A-apache", "license:BSD+license:GPL-1", 29, 8, 16, QV, None),
    ("B-gpl+mpl", "B-gpl", "license:MPL-2.0", 30, 8, 16, ALL, None),
]
ROOTS = [("A", "pydoc", 11), ("B", "fortunes:computers+fortunes:people+fortunes:science", 21)]


def train(out: str, seed: int) -> None:
    sys.path.insert(0, os.path.join(ROOT, "examples"))
    import numpy as np
    import torch
    from safetensors.numpy import save_file
    from typed import lm, texts

    torch.set_num_threads(1)
    corpora = {c for _, c, _ in ROOTS} | {f[2] for f in FULL} | {a[2] for a in ADAPTERS}
    docs = {c: texts.corpus(c) for c in sorted(corpora)}
    tok = lm.train_tokenizer(sum(docs.values(), []), ARCH["vocab"])
    stream = {c: lm.token_stream(tok, d) for c, d in docs.items()}
    shape = dict(batch=16, seq=64)
    states: dict[str, dict] = {}
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)

    def model_of(parent):
        return lm.model_from_state(ARCH, {k: v.clone() for k, v in states[parent].items()})

    def save(mid, state):
        states[mid] = {k: v.detach().float().clone() for k, v in state.items()}
        os.makedirs(os.path.join(out, mid))
        save_file({k: v.numpy() for k, v in states[mid].items()}, os.path.join(out, mid, "model.safetensors"))

    for mid, corpus, s in ROOTS:
        m = lm.new_model(ARCH, s + seed)
        lm.train(m, stream[corpus], steps=800, lr=3e-3, warmup=80, wd=0.1, seed=s + seed, **shape)
        save(mid, lm.state_of(m))
    edges = []
    for mid, parent, corpus, s, steps, lr, bf16 in FULL:
        m = model_of(parent)
        lm.train(m, stream[corpus], steps=steps, lr=lr, warmup=max(1, steps // 10), wd=0.1, seed=s + seed, **shape)
        state = lm.state_of(m)
        save(mid, lm.as_stored(state, "BF16") if bf16 else state)
        edges.append({"parent": parent, "child": mid, "type": "finetune"})
    for mid, parent, corpus, s, r, alpha, targets, mts in ADAPTERS:
        pm = lm.lora(model_of(parent), r=r, alpha=alpha, targets=targets, seed=s + seed, modules_to_save=mts)
        lm.train(pm, stream[corpus], steps=300, lr=2e-3, warmup=30, wd=0.0, seed=s + seed, **shape)
        pm.save_pretrained(os.path.join(out, mid))
        edges.append({"parent": parent, "child": mid, "type": "adapter"})
    with open(os.path.join(out, "truth.json"), "w") as f:
        json.dump({"edges": edges, "roots": [r[0] for r in ROOTS]}, f, indent=1)
    del np


def score(outs: list[str]) -> None:
    cli = os.environ.get("MODELTREE_CLI", os.path.join(ROOT, ".build", "debug", "modeltree-cli"))
    rows = []
    for out in outs:
        with open(os.path.join(out, "truth.json")) as f:
            truth = {e["child"]: e["parent"] for e in json.load(f)["edges"]
                     if isinstance(e, dict) and e.get("type") == "adapter"}
        doc = json.loads(subprocess.run([cli, "recover", out, "--format", "json"], check=True,
                                        capture_output=True, text=True).stdout)
        got = {e["child"]: e for e in doc["edges"] if e.get("type") == "adapter"}
        for child, parent in sorted(truth.items()):
            e = got.get(child)
            rows.append((os.path.basename(out.rstrip("/")), child, parent, e and e["parent"],
                         e["raw_confidence"] if e else float("nan"), bool(e and e["unsure"]),
                         e["confidence"] if e else float("nan")))
    print(f"{'set':12s} {'adapter':24s} {'truth':14s} {'recovered':14s}   raw  calibrated unsure")
    for s, child, parent, got, raw, unsure, conf in rows:
        mark = "" if got == parent else "  WRONG"
        print(f"{s:12s} {child:24s} {parent:14s} {str(got):14s} {raw:5.2f} {conf:11.3f} {unsure}{mark}")
    right = sum(1 for r in rows if r[3] == r[2])
    print(f"\nadapter recall: {right}/{len(rows)}; sure and right: "
          f"{sum(1 for r in rows if r[3] == r[2] and not r[5])}/{sum(1 for r in rows if not r[5])} sure edges")
    print("reliability: raw confidence >= c -> share right")
    for c in (0.0, 0.2, 0.4, 0.6, 0.8):
        sel = [r for r in rows if r[4] >= c]
        if sel:
            print(f"  >= {c:.1f}: {sum(1 for r in sel if r[3] == r[2])}/{len(sel)}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train")
    t.add_argument("out")
    t.add_argument("--seed", type=int, default=0)
    s = sub.add_parser("score")
    s.add_argument("outs", nargs="+")
    a = p.parse_args()
    if a.command == "train":
        train(a.out, a.seed)
    else:
        score(a.outs)


if __name__ == "__main__":
    main()
