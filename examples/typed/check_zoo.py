#!/usr/bin/env python3
"""Check a typed zoo with the ecosystem's own loaders (needs the packages of requirements.txt).

    python examples/typed/check_zoo.py examples/typed_zoo

- truth.json names only models that exist, every model on disk is in inventory.json, every edge
  has a known type, merge edges a coefficient, layer-subset edges a layer map;
- every Hugging Face folder loads with `AutoModelForCausalLM.from_pretrained` (safetensors,
  shards, pytorch_model.bin) to the canonical weights;
- every GGUF loads with transformers' own GGUF loader (its llama name map and q/k un-permutation,
  written independently of gguf-py's writer) to exactly the weights canonical.py reads;
- every adapter loads with `PeftModel.from_pretrained` over its base, and `merge_and_unload()`
  gives the base + ΔW canonical.py computes (modules_to_save included);
- every ONNX file runs in onnxruntime and gives the logits of its source model (F32/F16 exports
  closely, int8 roughly: a rank correlation of the logits);
- for the formats zoo (make_formats_zoo.py): every GGUF tensor read by gguf-py, renamed back and
  un-permuted equals gguf-py's own quantize + dequantize of the source's Hugging Face tensor (F16,
  Q8_0, Q4_0, Q5_0; K-quants within their error), and every export is far closer to its source
  than any fine-tune is to its parent or sibling (facts.export_gap).
Prints one line per model and exits 1 on the first failure.
"""
from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TQDM_DISABLE", "1")      # transformers' GGUF loader draws progress bars

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from typed import canonical, facts, gguf_export, lm  # noqa: E402

TYPES = {"finetune", "adapter", "quantized", "merge", "layer-subset"}


def fail(msg: str) -> None:
    print(f"FAIL {msg}")
    sys.exit(1)


def check_truth(zoo: str, inv: dict, truth: dict) -> None:
    on_disk = {n for n in os.listdir(zoo) if n not in
               ("README.md", "truth.json", "inventory.json", "facts.json", "make_log.json")}
    if on_disk != set(inv):
        fail(f"models on disk and in inventory.json differ: {sorted(on_disk ^ set(inv))}")
    named = set()
    for e in truth["edges"]:
        if e["type"] not in TYPES:
            fail(f"edge {e} has an unknown type")
        if e["type"] == "merge" and "coefficient" not in e:
            fail(f"merge edge {e} has no coefficient")
        if e["type"] == "layer-subset" and "layers" not in e:
            fail(f"layer-subset edge {e} has no layer map")
        named |= {e["parent"], e["child"]}
    for g in truth["duplicates"]:
        named |= set(g)
    for lat in truth["latent"]:
        named |= set(lat["children"])
    named |= {c["model"] for c in truth["claims"]} | set(truth["unclaimed"]) | set(truth["roots"])
    if named - set(inv):
        fail(f"truth.json names models that are not in the zoo: {sorted(named - set(inv))}")
    print(f"ok   truth.json: {len(truth['edges'])} edges, all {len(named)} names are models of the zoo")


def max_diff(a: dict, b: dict) -> float:
    if set(a) != set(b):
        fail(f"tensor names differ: {sorted(set(a) ^ set(b))[:4]}")
    return max(float(np.max(np.abs(a[k].astype(np.float64) - b[k]))) for k in a)


def check_gguf_against_source(mid: str, e: dict, got: dict, src: dict, n_layers: int) -> None:
    """Each tensor as gguf-py would quantize the source's (rows are whole blocks, so quantizing the
    permuted rows and un-permuting equals quantizing the Hugging Face rows)."""
    from gguf import GGMLQuantizationType as QT
    from gguf import quants as gq
    to_hf = {gguf_export.gguf_name(n, n_layers): n for n in src}
    for gname, qtype in e["tensor_types"].items():
        n = to_hf[gname]
        x = np.asarray(src[n], np.float32)
        if qtype in ("Q4_K", "Q6_K"):
            rel = float(np.sqrt(np.mean((got[n] - x) ** 2)) / np.sqrt(np.mean(x ** 2)))
            if rel > 0.1:
                fail(f"{mid}: {gname} ({qtype}) is {rel:.3g} (relative RMS) from the source's {n}")
            continue
        want = x.astype(np.float16).astype(np.float32) if qtype == "F16" else x if qtype == "F32" else \
            gq.dequantize(gq.quantize(x, getattr(QT, qtype)), getattr(QT, qtype)).reshape(x.shape)
        if not np.array_equal(got[n], want):
            fail(f"{mid}: {gname} ({qtype}) differs from gguf-py's {qtype} round trip of the source's {n}")
    print(f"ok   {mid}: every tensor = gguf-py's round trip of {e['parent']}'s ({', '.join(e['ggml_types'])})")


def check_formats(zoo: str, inv: dict, truth: dict, canon, n_layers: int) -> None:
    for mid, e in inv.items():
        if e["format"] == "gguf":
            check_gguf_against_source(mid, e, canon(mid), canon(e["parent"]), n_layers)
    gap = facts.export_gap(truth, {mid: canon(mid) for mid in inv})
    print(f"ok   exports within {gap['worst_export_rel']:.3g} of their sources (relative RMS), fine-tunes "
          f"at least {gap['closest_finetune_rel']:.3g} from their parent or sibling")


def main() -> None:
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as tlog
    tlog.disable_progress_bar()
    tlog.set_verbosity_error()
    zoo = os.path.abspath(sys.argv[1])
    inv = json.load(open(os.path.join(zoo, "inventory.json")))
    truth = json.load(open(os.path.join(zoo, "truth.json")))
    log = json.load(open(os.path.join(zoo, "make_log.json")))
    arch = log["arch"]
    check_truth(zoo, inv, truth)
    parent_of = {e["child"]: e["parent"] for e in truth["edges"] if e["type"] != "merge"}
    values = {}

    def canon(mid):
        if mid not in values:
            e = inv[mid]
            a = dict(arch, layers=len(e["layers"])) if "layers" in e else arch
            if e["relation"] == "duplicate" and "layers" in inv.get(e.get("of"), {}):
                a = dict(arch, layers=len(inv[e["of"]]["layers"]))
            base = canon(e["parent"]) if e["format"] == "peft" else None
            values[mid] = canonical.load(os.path.join(zoo, mid), e["format"], a, base=base,
                                         onnx_names=e.get("initializers"))
        return values[mid]

    for mid, e in inv.items():
        path = os.path.join(zoo, mid)
        fmt = e["format"]
        if fmt in ("safetensors", "safetensors-sharded", "pytorch-bin"):
            m = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
            d = max_diff({k: v.numpy() for k, v in m.state_dict().items()}, canon(mid))
            if d != 0:
                fail(f"{mid}: from_pretrained differs from the canonical weights by {d}")
            print(f"ok   {mid}: from_pretrained ({fmt}) = canonical weights")
        elif fmt == "gguf":
            m = AutoModelForCausalLM.from_pretrained(zoo, gguf_file=mid, dtype=torch.float32)
            d = max_diff({k: v.numpy() for k, v in m.state_dict().items()}, canon(mid))
            if d != 0:
                fail(f"{mid}: transformers' GGUF loader differs from canonical.py by {d}")
            print(f"ok   {mid}: transformers' GGUF loader = canonical weights (names, q/k un-permuted)")
        elif fmt == "peft":
            from peft import PeftModel
            base = canonical.load(os.path.join(zoo, e["parent"]), inv[e["parent"]]["format"], arch)
            bm = lm.model_from_state(arch, {k: torch.tensor(v) for k, v in base.items()})
            merged = PeftModel.from_pretrained(bm, path).merge_and_unload()
            d = max_diff({k: v.numpy() for k, v in merged.state_dict().items()}, canon(mid))
            if d > 1e-6:
                fail(f"{mid}: PEFT's merge_and_unload differs from base + ΔW by {d}")
            print(f"ok   {mid}: PeftModel.from_pretrained + merge_and_unload = base + ΔW (max {d:.1e})")
        elif fmt == "onnx":
            import onnxruntime as ort
            src = e.get("parent") or e.get("of") or parent_of.get(mid)
            model = lm.model_from_state(arch, {k: torch.tensor(v) for k, v in canon(src).items()}).eval()
            ids = (np.arange(32, dtype=np.int64).reshape(1, 32) * 7) % arch["vocab"]
            with torch.no_grad():
                ref = model(input_ids=torch.tensor(ids)).logits.numpy()
            got = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"input_ids": ids})[0]
            got = got.astype(np.float32)
            err = float(np.abs(got - ref).max() / np.abs(ref).max())
            corr = float(np.corrcoef(got.reshape(-1), ref.reshape(-1))[0, 1])
            limit = 0.9 if "int8" in e["how"] else 0.999
            if corr < limit:
                fail(f"{mid}: onnxruntime's logits do not follow {src}'s (correlation {corr:.4f})")
            print(f"ok   {mid}: onnxruntime logits vs {src}: correlation {corr:.5f}, max error {err:.2g} of the range")
        else:
            fail(f"{mid}: unknown format {fmt}")
    if log["zoo"] == "formats":
        check_formats(zoo, inv, truth, canon, arch["layers"])


if __name__ == "__main__":
    main()
