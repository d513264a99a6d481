#!/usr/bin/env python3
"""Families of real fine-tunes whose common base is withheld (and the same with it given), with
siblings of unequal update sizes: the data behind LatentParents' small-sibling figures.

    python tools/make_latent_families.py OUT [--quick]

Uses the typed zoos' machinery (examples/typed: tiny Llama LMs, byte-level BPE, AdamW betas
0.9/0.95 with weight decay on matrices, real text shipped by Debian) with seeds of its own (4xx,
5xx; the typed zoos use 1x, 2x, 1xx, 2xx, 3xx). Per base: four full fine-tunes ("big": 300 steps at
lr 5e-4, the typed zoos' recipe) on four texts, and "small" siblings on two more texts whose
squared update is meant to be 1/1.5, 1/2 or 1/3 of a big one's, made either with fewer steps or a
lower learning rate (the measured ratio is written to OUT/families.json, it is what is reported).

OUT/models/<id>/ holds every model (save_pretrained, BF16 or F32 as listed) and OUT/models.json
what was made; OUT/<family>/ holds symlinks to a family's models and a truth.json:
`<base>-<text>-r<ratio>-<how>` is three big siblings and one small one with the base withheld
(truth: one latent node over the four), `...-trio` two big and the small one, `...-given` the same
with the base (truth: the base is their parent), `<base>-equal` the four big siblings.
`--families-only` rewrites the family folders from OUT/models.json. Score them with
`tools/measure_latent.py --families OUT`. Needs torch, transformers, tokenizers, safetensors (`/work/venv/h-data`) and
`apt-get install fortunes`. Deterministic on one machine (one thread, fixed seeds).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "examples"))

try:
    import torch  # noqa: E402

    from typed import lm, texts  # noqa: E402
except ImportError as missing:
    sys.exit(f"make_latent_families.py needs {missing.name}: pip install -r examples/typed/requirements.txt")

FT = dict(steps=300, lr=5e-4, warmup=30, wd=0.1)
SHAPE = dict(batch=32, seq=64)

BASES = [
    dict(id="qb", seed=401, steps=1200, lr=3e-3, warmup=100, wd=0.1,
         corpus="+".join(f"fortunes:{n}" for n in ("art", "computers", "cookie", "definitions", "education",
                                                   "humorists", "literature", "miscellaneous", "people", "wisdom")),
         arch=dict(vocab=384, hidden=64, inter=256, layers=4, heads=4, kv_heads=2, ctx=256),
         big=[("license:GPL-3", 411, "BF16"), ("license:Apache-2.0", 412, "BF16"), ("fortunes:startrek", 413, "F32"),
              ("fortunes:zippy", 414, "BF16")],
         small=[("license:MPL-2.0", 421, "BF16"), ("fortunes:food", 431, "BF16")]),
    dict(id="rb", seed=501, steps=1200, lr=3e-3, warmup=100, wd=0.1, corpus="pydoc",
         arch=dict(vocab=320, hidden=64, inter=256, layers=3, heads=8, kv_heads=2, ctx=256),
         big=[("license:LGPL-2.1", 511, "BF16"), ("fortunes:tao", 512, "BF16"), ("license:Artistic", 513, "BF16"),
              ("fortunes:sports", 514, "F32")],
         small=[("fortunes:love", 521, "BF16"), ("license:GFDL-1.3", 531, "F32")]),
]
RATIOS = (1.5, 2.0, 3.0)


def save(out: str, mid: str, arch: dict, tok, state: dict, store: str) -> dict:
    d = os.path.join(out, "models", mid)
    os.makedirs(d, exist_ok=True)
    model = lm.model_from_state(arch, state)
    if store == "BF16":
        model = model.to(torch.bfloat16)
    model.save_pretrained(d)
    tok.save_pretrained(d)
    return lm.as_stored(state, store)


def sq_update(a: dict, b: dict) -> float:
    """Mean over tensors of the squared RMS difference (the engine's distance, squared)."""
    rms = [float(((a[k] - b[k]) ** 2).mean().sqrt()) for k in a if a[k].dim() == 2]
    return (sum(rms) / len(rms)) ** 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--quick", action="store_true", help="1/20 of the steps (a smoke test)")
    ap.add_argument("--bases", default="qb,rb")
    ap.add_argument("--families-only", action="store_true", help="rewrite the family folders from OUT/models.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    scale = (lambda s: max(5, s // 20)) if args.quick else (lambda s: s)
    if args.families_only:
        if not os.path.exists(os.path.join(args.out, "models.json")):
            sys.exit(f"{args.out}: no models.json (make the models first: tools/make_latent_families.py {args.out})")
        with open(os.path.join(args.out, "models.json")) as f:
            write_families(args.out, json.load(f))
        return
    made = []
    for b in [b for b in BASES if b["id"] in args.bases.split(",")]:
        texts_all = [b["corpus"]] + [c for c, _, _ in b["big"] + b["small"]]
        tok = lm.train_tokenizer(sum((texts.corpus(c) for c in texts_all), []), b["arch"]["vocab"])
        streams = {c: lm.token_stream(tok, texts.corpus(c)) for c in texts_all}

        def train(state, corpus, seed, steps, lr, warmup, wd=0.1):
            model = lm.model_from_state(b["arch"], {k: v.clone() for k, v in state.items()}) if state else lm.new_model(b["arch"], seed)
            model.config._attn_implementation = "eager"
            t = time.time()
            lm.train(model, streams[corpus], steps=scale(steps), lr=lr, warmup=min(warmup, scale(steps) // 2 or 1),
                     wd=wd, seed=seed, **SHAPE)
            print(json.dumps({"base": b["id"], "corpus": corpus, "seed": seed, "steps": scale(steps), "lr": lr,
                              "seconds": round(time.time() - t, 1)}), flush=True)
            return lm.state_of(model)

        base = save(args.out, b["id"], b["arch"], tok, train(None, b["corpus"], b["seed"], b["steps"], b["lr"], b["warmup"], b["wd"]), "F32")
        bigs = []
        for k, (corpus, seed, store) in enumerate(b["big"]):
            mid = f"{b['id']}-big{k}"
            bigs.append((mid, save(args.out, mid, b["arch"], tok, train(base, corpus, seed, **FT), store)))
        big_sq = sum(sq_update(base, s) for _, s in bigs) / len(bigs)
        smalls = []
        for corpus, seed, store in b["small"]:
            for r in RATIOS:
                for how in ("steps", "lr"):
                    steps = round(FT["steps"] / r) if how == "steps" else FT["steps"]
                    lr = FT["lr"] / r ** 0.5 if how == "lr" else FT["lr"]
                    name = corpus.split(":")[1].lower().replace(".", "")
                    mid = f"{b['id']}-small-{name}-r{r:g}-{how}"
                    s = save(args.out, mid, b["arch"], tok,
                             train(base, corpus, seed + int(10 * r), steps, lr, round(FT["warmup"] * steps / FT["steps"])), store)
                    smalls.append((mid, s, r, how))

        made.append(dict(base=b["id"], bigs=[m for m, _ in bigs],
                         equal=round(big_sq / min(sq_update(base, s) for _, s in bigs), 3),
                         smalls=[dict(id=mid, ratio=r, how=how, measured=round(big_sq / sq_update(base, s), 3))
                                 for mid, s, r, how in smalls]))
    with open(os.path.join(args.out, "models.json"), "w") as f:
        json.dump(made, f, indent=1)
    write_families(args.out, made)


def write_families(out: str, made: list) -> None:
    """The family folders (symlinks and truth.json) and OUT/families.json, from OUT/models.json."""
    families = []
    for b in made:
        def family(name, members, given, **about):
            d = os.path.join(out, name)
            os.makedirs(d, exist_ok=True)
            for m in members + ([b["base"]] if given else []):
                if not os.path.lexists(os.path.join(d, m)):
                    os.symlink(os.path.join("..", "models", m), os.path.join(d, m))
            truth = ({"edges": [[b["base"], m] for m in members], "roots": [b["base"]]} if given
                     else {"edges": [], "roots": [], "latent": [{"children": members}]})
            with open(os.path.join(d, "truth.json"), "w") as f:
                json.dump(truth, f, indent=1)
            families.append(dict(family=name, given=given, **about))

        for given in (False, True):
            family(f"{b['base']}-equal" + ("-given" if given else ""), b["bigs"], given, ratio=1.0, how="-",
                   measured=b["equal"])
        # Four siblings (three big, one small), and three (two big, one small): the small one's
        # triangles are all the latent node has.
        for sm in b["smalls"]:
            for members, tail in ((b["bigs"][:3] + [sm["id"]], ""), (b["bigs"][:2] + [sm["id"]], "-trio")):
                for given in (False, True):
                    family(sm["id"].replace("-small-", "-") + tail + ("-given" if given else ""), members, given,
                           ratio=sm["ratio"], how=sm["how"], small=sm["id"], measured=sm["measured"])

    with open(os.path.join(out, "families.json"), "w") as f:
        json.dump(families, f, indent=1)


if __name__ == "__main__":
    main()
