#!/usr/bin/env python3
"""Build the typed example zoos: tiny Llama LMs and every relation, made by the ecosystem's tools.

    python examples/make_typed_zoo.py            # -> examples/typed_zoo/   (zoo 1)
    python examples/make_typed_zoo.py --zoo 2    # -> examples/typed_zoo2/  (zoo 2, never tuned on)

Roots are pre-trained from scratch on real text shipped by Debian (Python's pydoc topics, the
licences in /usr/share/common-licenses, the `fortunes` package); children are made with
transformers + AdamW, PEFT, gguf-py, torch.onnx + onnxruntime and mergekit's formulas. The model
list is in typed/zoo_specs.py; each helper module under typed/ does one job. Needs the packages of
typed/requirements.txt (CPU torch wheel, transformers, peft, gguf, onnx, onnxruntime, onnxscript,
safetensors, numpy) and `apt-get install fortunes`.

Writes into a fresh `<out>.tmp` and renames it over `<out>` at the end, so an interrupted run
leaves the previous zoo in place. Deterministic on one machine and package set (one thread,
deterministic torch algorithms, fixed seeds); `make_log.json` records both and every step.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from typed import (canonical, cards, facts, gguf_export, lm, merges, onnx_export, readme,  # noqa: E402
                   texts, zoo_specs)

DUP_KINDS = ("copy", "resave", "rename")


class Zoo:
    """Builds one zoo model by model; keeps every model's canonical values for its children."""

    def __init__(self, spec: dict, out: str, quick: bool):
        self.spec, self.out, self.quick = spec, out, quick
        self.arch = spec["arch"]
        self.org = spec["org"]
        self.by_id = {m["id"]: m for m in spec["models"]}
        self.values: dict[str, dict] = {}       # id -> {hf name: float32 numpy}, as the files hold
        self.paths: dict[str, str] = {}
        self.formats: dict[str, str] = {}
        self.inventory: dict[str, dict] = {}
        self.onnx_names: dict[str, dict] = {}
        self.steps: list[dict] = []
        self.streams: dict[str, torch.Tensor] = {}
        self.withheld_dir = out + ".withheld"

    # -- helpers -------------------------------------------------------------------------------
    def log(self, entry: dict) -> None:
        self.steps.append(entry)
        print(json.dumps({k: entry[k] for k in ("id", "kind", "seconds") if k in entry}), flush=True)

    def stream(self, corpus: str) -> torch.Tensor:
        if corpus not in self.streams:
            self.streams[corpus] = lm.token_stream(self.tok, texts.corpus(corpus))
        return self.streams[corpus]

    def steps_of(self, m: dict) -> int:
        return max(5, m["steps"] // 20) if self.quick else m["steps"]

    def torch_state(self, mid: str) -> dict:
        return {k: torch.tensor(v) for k, v in self.values[mid].items()}

    def folder(self, mid: str) -> str:
        d = os.path.join(self.withheld_dir if self.by_id[mid].get("withheld") else self.out, mid)
        os.makedirs(d, exist_ok=True)
        return d

    def train_kwargs(self, m: dict) -> dict:
        return dict(steps=self.steps_of(m), lr=m["lr"], warmup=min(m["warmup"], self.steps_of(m) // 2 or 1),
                    wd=m["wd"], seed=m["seed"], **zoo_specs.TRAIN_SHAPE)

    def save_hf(self, mid: str, state: dict, store: str, fmt: str = "safetensors", arch: dict | None = None) -> str:
        """save_pretrained (or torch.save for .bin) of a full model, with config and tokenizer."""
        arch = arch or self.arch
        d = self.folder(mid)
        model = lm.model_from_state(arch, {k: v.float() for k, v in state.items()})
        if store == "BF16":
            model = model.to(torch.bfloat16)
        if fmt == "safetensors":
            model.save_pretrained(d)
        elif fmt == "safetensors-sharded":
            model.save_pretrained(d, max_shard_size="400KB" if store == "BF16" else "800KB")
        elif fmt == "pytorch-bin":
            model.config.save_pretrained(d)
            model.generation_config.save_pretrained(d)
            torch.save(model.state_dict(), os.path.join(d, "pytorch_model.bin"))
        else:
            raise ValueError(fmt)
        self.tok.save_pretrained(d)
        return d

    def card(self, mid: str, m: dict, title_body: str) -> None:
        d = self.paths[mid]
        rd = m.get("readme")
        if rd is not None:
            base, rel = rd
            cards.write_readme(d, mid, title_body, base_model=base, relation=rel,
                               extra={"library_name": "transformers", "pipeline_tag": "text-generation"})
        if m.get("name_or_path"):
            cards.set_name_or_path(d, m["name_or_path"])

    def record(self, mid: str, fmt: str, relation: str, how: str, values: dict, **extra) -> None:
        self.values[mid] = values
        self.formats[mid] = fmt
        m = self.by_id[mid]
        if not m.get("withheld"):
            self.inventory[mid] = dict(format=fmt, relation=relation, how=how, **extra)

    def check_readback(self, mid: str, exact: bool = True) -> float:
        """Read the written files back with the ecosystem's readers; return the max deviation."""
        m = self.by_id[mid]
        base = self.values.get(m.get("parent")) if m["kind"] == "adapter" else None
        got = canonical.load(self.paths[mid], self.formats[mid], self.arch_of(mid), base=base,
                             onnx_names=self.onnx_names.get(mid))
        want = self.values[mid]
        if set(got) != set(want):
            raise AssertionError(f"{mid}: read back {sorted(set(got) ^ set(want))[:4]} differently")
        worst = max(float(np.max(np.abs(got[k].astype(np.float64) - want[k]))) for k in want)
        if exact and worst != 0.0:
            raise AssertionError(f"{mid}: files hold other values than intended (max {worst})")
        return worst

    def arch_of(self, mid: str) -> dict:
        m = self.by_id[mid]
        if m["kind"] == "layer-subset":
            return dict(self.arch, layers=len(m["layers"]))
        if m["kind"] in DUP_KINDS:
            return self.arch_of(m["of"])
        return self.arch

    # -- kinds ---------------------------------------------------------------------------------
    def pretrain(self, m):
        model = lm.new_model(self.arch, m["seed"])
        model.config._attn_implementation = "eager"
        res = lm.train(model, self.stream(m["corpus"]), **self.train_kwargs(m))
        state = lm.as_stored(lm.state_of(model), m["store"])
        self.paths[m["id"]] = self.save_hf(m["id"], state, m["store"])
        self.card(m["id"], m, f"A tiny Llama pre-trained from scratch on `{m['corpus']}` "
                              f"({self.steps_of(m)} steps of AdamW, seed {m['seed']}).")
        self.record(m["id"], "safetensors", "root", f"pre-trained from scratch on {m['corpus']}",
                    {k: v.numpy() for k, v in state.items()}, dtype=m["store"])
        return res

    def finetune(self, m):
        model = lm.model_from_state(self.arch, self.torch_state(m["parent"]))
        model.config._attn_implementation = "eager"
        res = lm.train(model, self.stream(m["corpus"]), **self.train_kwargs(m))
        state = lm.as_stored(lm.state_of(model), m["store"])
        fmt = m.get("fmt", "safetensors")
        self.paths[m["id"]] = self.save_hf(m["id"], state, m["store"], fmt)
        self.card(m["id"], m, f"Full fine-tune of `{m['parent']}` on `{m['corpus']}` "
                              f"({self.steps_of(m)} steps of AdamW, lr {m['lr']}).")
        self.record(m["id"], fmt, "finetune", f"full fine-tune (AdamW) of {m['parent']} on {m['corpus']}",
                    {k: v.numpy() for k, v in state.items()}, dtype=m["store"], parent=m["parent"])
        return res

    def lora_merged(self, m):
        model = lm.model_from_state(self.arch, self.torch_state(m["parent"]))
        model.config._attn_implementation = "eager"
        pm = lm.lora(model, r=m["r"], alpha=m["alpha"], targets=m["targets"], seed=m["seed"])
        res = lm.train(pm, self.stream(m["corpus"]), **self.train_kwargs(m))
        merged = pm.merge_and_unload()
        state = lm.as_stored(lm.state_of(merged), m["store"])
        fmt = m.get("fmt", "safetensors")
        self.paths[m["id"]] = self.save_hf(m["id"], state, m["store"], fmt)
        self.card(m["id"], m, f"LoRA (r={m['r']}, alpha={m['alpha']}) fine-tune of `{m['parent']}` on "
                              f"`{m['corpus']}`, merged into the weights with PEFT's merge_and_unload().")
        self.record(m["id"], fmt, "finetune", f"PEFT LoRA r={m['r']} on {m['targets']} trained on "
                    f"{m['corpus']}, merged (merge_and_unload) into {m['parent']}",
                    {k: v.numpy() for k, v in state.items()}, dtype=m["store"], parent=m["parent"])
        return res

    def adapter(self, m):
        model = lm.model_from_state(self.arch, self.torch_state(m["parent"]))
        model.config._attn_implementation = "eager"
        pm = lm.lora(model, r=m["r"], alpha=m["alpha"], targets=m["targets"], seed=m["seed"],
                     modules_to_save=m.get("modules_to_save"), name_or_path=m["adapter_base"])
        res = lm.train(pm, self.stream(m["corpus"]), **self.train_kwargs(m))
        d = self.folder(m["id"])
        pm.save_pretrained(d)
        if m.get("drop_readme"):
            os.remove(os.path.join(d, "README.md"))
        self.paths[m["id"]] = d
        vals = canonical.load(d, "peft", self.arch, base=self.values[m["parent"]])
        self.record(m["id"], "peft", "adapter", f"PEFT LoRA r={m['r']} alpha={m['alpha']} on {m['targets']}"
                    + (f" + modules_to_save {m['modules_to_save']}" if m.get("modules_to_save") else "")
                    + f", trained on {m['corpus']} over {m['parent']}, saved un-merged", vals, parent=m["parent"])
        return res

    def layer_subset(self, m):
        sub_arch = dict(self.arch, layers=len(m["layers"]))
        pstate = self.torch_state(m["parent"])
        init = {}
        for k, v in pstate.items():
            if not k.startswith("model.layers."):
                init[k] = v.clone()
        for ci, pi in enumerate(m["layers"]):
            for k, v in pstate.items():
                if k.startswith(f"model.layers.{pi}."):
                    init[k.replace(f"model.layers.{pi}.", f"model.layers.{ci}.", 1)] = v.clone()
        student = lm.model_from_state(sub_arch, init)
        student.config._attn_implementation = "eager"
        teacher = lm.model_from_state(self.arch, pstate)
        teacher.config._attn_implementation = "eager"
        res = lm.train(student, self.stream(m["corpus"]), teacher=teacher, kd_weight=m["kd_weight"],
                       **self.train_kwargs(m))
        state = lm.as_stored(lm.state_of(student), m["store"])
        self.paths[m["id"]] = self.save_hf(m["id"], state, m["store"], arch=sub_arch)
        self.card(m["id"], m, f"{len(m['layers'])}-layer student initialised from layers {m['layers']} of "
                              f"`{m['parent']}`, then distilled from it on `{m['corpus']}`.")
        self.record(m["id"], "safetensors", "layer-subset",
                    f"layers {m['layers']} of {m['parent']} (with its embeddings, final norm and lm_head), "
                    f"distilled (KD weight {m['kd_weight']}) on {m['corpus']}",
                    {k: v.numpy() for k, v in state.items()}, dtype=m["store"], parent=m["parent"],
                    layers=[[c, p] for c, p in enumerate(m["layers"])])
        return res

    def cast(self, m):
        state = lm.as_stored(self.torch_state(m["parent"]), m["store"])
        self.paths[m["id"]] = self.save_hf(m["id"], state, m["store"])
        self.card(m["id"], m, f"`{m['parent']}` saved in {m['store']} (model.to(torch.bfloat16)).")
        self.record(m["id"], "safetensors", "quantized", f"{m['parent']} cast to {m['store']}",
                    {k: v.numpy() for k, v in state.items()}, dtype=m["store"], parent=m["parent"])

    def int8(self, m):
        """LLM.int8's weight format: per output row absmax, W8 = round(127 W / absmax), dequantized
        W8 * absmax / 127 (bitsandbytes' CB/SCB), on the decoder's Linear layers only."""
        state = {}
        for k, v in self.values[m["parent"]].items():
            v = np.asarray(v, np.float32)
            if ".layers." in k and v.ndim == 2:
                absmax = np.abs(v).max(1, keepdims=True).astype(np.float32)
                q = np.clip(np.rint(v * (np.float32(127) / absmax)), -127, 127).astype(np.float32)
                v = (q * (absmax / np.float32(127))).astype(np.float32)
            state[k] = torch.tensor(v)
        self.paths[m["id"]] = self.save_hf(m["id"], state, "F32")
        self.card(m["id"], m, f"`{m['parent']}` after an int8 round trip (row-wise absmax, as "
                              "bitsandbytes' LLM.int8 stores Linear weights), dequantized and saved in F32.")
        self.record(m["id"], "safetensors", "quantized",
                    f"{m['parent']} int8 row-wise absmax (LLM.int8 CB/SCB) on decoder Linear weights, dequantized to F32",
                    {k: v.numpy() for k, v in state.items()}, dtype="F32", parent=m["parent"])

    def gguf(self, m):
        path = os.path.join(self.out, m["id"])
        info = gguf_export.convert(self.paths[m["parent"]], self.values[m["parent"]], self.arch, path,
                                   m["outtype"], self.inventory[m["parent"]]["dtype"],
                                   base_models_override=m.get("gguf_base"),
                                   quantize_from=m.get("quantize_from"))
        self.paths[m["id"]] = path
        self.formats[m["id"]] = "gguf"
        vals = canonical.load(path, "gguf", self.arch)
        types = sorted(set(info["tensor_types"].values()))
        self.record(m["id"], "gguf", "quantized",
                    f"convert_hf_to_gguf --outtype {m['outtype'].lower()}" if info["via"] is None else
                    f"convert_hf_to_gguf --outtype {info['via'].lower()}, then llama-quantize {m['outtype']}",
                    vals, parent=m["parent"], gguf_file_type=info["file_type"], tensor_types=info["tensor_types"],
                    ggml_types=types, general_name=info["general.name"], kquant_checks=info["kquant_checks"] or None,
                    quantized_from=info["via"],
                    base_models_override=m.get("gguf_base") is not None)
        err = {}
        for t in types:
            names = [self._hf_of(g) for g, tt in info["tensor_types"].items() if tt == t]
            d = np.concatenate([(vals[n] - self.values[m["parent"]][n]).reshape(-1) for n in names])
            err[t] = {"tensors": len(names), "rms_error": float(np.sqrt(np.mean(d.astype(np.float64) ** 2))),
                      "max_error": float(np.abs(d).max())}
        self.inventory[m["id"]]["error_vs_parent_by_type"] = err

    def _hf_of(self, gname: str) -> str:
        for n in canonical.hf_names(self.arch):
            if gguf_export.gguf_name(n, self.arch["layers"]) == gname:
                return n
        raise KeyError(gname)

    def onnx(self, m):
        path = os.path.join(self.out, m["id"])
        onnx_export.export(self.torch_state(m["parent"]), self.arch, path, m["dtype"])
        names = onnx_export.name_map(path, self.values[m["parent"]])
        self._check_names(m["id"], names)
        self.onnx_names[m["id"]] = names
        self.paths[m["id"]] = path
        self.formats[m["id"]] = "onnx"
        vals = canonical.load(path, "onnx", self.arch, onnx_names=names)
        rel = "quantized" if m["dtype"] != "F32" else "duplicate"
        self.record(m["id"], "onnx", rel, f"torch.onnx.export (dynamo, opset 18) of {m['parent']} in {m['dtype']}",
                    vals, parent=m["parent"], dtype=m["dtype"], initializers=names)

    def onnx_int8(self, m):
        import tempfile
        path = os.path.join(self.out, m["id"])
        with tempfile.TemporaryDirectory() as tmp:
            fp32 = os.path.join(tmp, "fp32.onnx")
            onnx_export.export(self.torch_state(m["parent"]), self.arch, fp32, "F32")
            names = onnx_export.name_map(fp32, self.values[m["parent"]])
            self._check_names(m["id"], names)
            s = self.stream(self._corpus_of(m["parent"]))
            g = np.random.default_rng(0)
            calib = [s[i:i + 32].numpy()[None] for i in g.integers(0, len(s) - 33, 8)]
            onnx_export.quantize_qdq(fp32, path, calib)
        self.onnx_names[m["id"]] = names
        self.paths[m["id"]] = path
        self.formats[m["id"]] = "onnx"
        vals = canonical.load(path, "onnx", self.arch, onnx_names=names)
        self.record(m["id"], "onnx", "quantized",
                    f"torch.onnx.export (F32) of {m['parent']}, then onnxruntime quantize_static QDQ: int8 "
                    "weights per output channel (DequantizeLinear axis 1), uint8 activations, "
                    f"calibrated on 8 windows of {self._corpus_of(m['parent'])}",
                    vals, parent=m["parent"], initializers=names)

    def _corpus_of(self, mid: str) -> str:
        m = self.by_id[mid]
        while "corpus" not in m:
            m = self.by_id[m.get("parent") or m["of"]]
        return m["corpus"]

    def _check_names(self, mid: str, names: dict) -> None:
        covered = {v["tensor"] for v in names.values()}
        missing = set(self.values[self.by_id[mid]["parent"]]) - covered
        if missing:
            raise AssertionError(f"{mid}: no initializer holds {sorted(missing)[:3]}")

    def merge(self, m):
        parents, params, seed = _merge_inputs(self, m)
        merged, per_tensor = merges.merge(m["method"], parents, params, seed=seed)
        state = lm.as_stored({k: torch.tensor(v) for k, v in merged.items()}, m["store"])
        self.paths[m["id"]] = self.save_hf(m["id"], state, m["store"])
        mk = {"merge_method": m["method"], "dtype": "float32", "out_dtype": m["store"].lower()}
        if m.get("base"):
            mk["base_model"] = f"{self.org}/{m['base']}"
        if m["method"] == "slerp":
            mk["base_model"] = f"{self.org}/{m['models'][0][0]}"
            mk["parameters"] = {"t": m["t"]}
        mk["models"] = [{"model": f"{self.org}/{pid}", **({"parameters": p} if p else {})} for pid, p in m["models"]]
        if params.get("normalize") is not None and m["method"] != "slerp":
            mk.setdefault("parameters", {})["normalize"] = params["normalize"]
        cards.write_mergekit_config(self.paths[m["id"]], mk)
        self.card(m["id"], m, f"A `{m['method']}` merge (mergekit's formula) of "
                              + ", ".join(f"`{p}`" for p, _ in m["models"])
                              + (f" over base `{m['base']}`" if m.get("base") else "") + ".")
        coeffs = self.merge_coefficients(m)
        self.record(m["id"], "safetensors", "merge", f"mergekit {m['method']} of {[p for p, _ in m['models']]}"
                    + (f" on base {m['base']}" if m.get("base") else "") + f", stored {m['store']}",
                    {k: v.numpy() for k, v in state.items()}, dtype=m["store"], coefficients=coeffs,
                    mergekit_config=mk,
                    per_tensor=per_tensor or None)

    @staticmethod
    def merge_coefficients(m) -> dict:
        """Each parent's coefficient in the merge's formula before any trimming: exact for linear
        and task arithmetic, nominal for SLERP (1 - t, t) and TIES/DARE (the weights, normalised
        to sum 1 where mergekit normalises, and 1 - their sum for the base)."""
        w = {pid: p.get("weight", 1.0) for pid, p in m["models"]}
        if m["method"] == "slerp":
            return {m["models"][0][0]: 1 - m["t"], m["models"][1][0]: m["t"]}
        normalize = m.get("normalize", merges.DEFAULTS[m["method"]].get("normalize", False))
        if normalize:
            tot = sum(w.values())
            w = {k: v / tot for k, v in w.items()}
        if m.get("base"):
            w[m["base"]] = 1 - sum(w.values())
        return w

    def duplicate(self, m):
        src = self.paths[m["of"]]
        dst = os.path.join(self.out, m["id"])
        if m["kind"] in ("copy", "rename"):
            (shutil.copytree if os.path.isdir(src) else shutil.copyfile)(src, dst)
            how = "byte copy of" if m["kind"] == "copy" else "the same file under another name as"
        else:
            # A re-save: the same BF16 values, one file instead of shards, other header metadata
            from safetensors.torch import save_file
            os.makedirs(dst)
            vals = {k: torch.tensor(v).to(torch.bfloat16) for k, v in self.values[m["of"]].items()}
            save_file(vals, os.path.join(dst, "model.safetensors"), metadata={"format": "pt"})
            lm.model_from_state(self.arch, self.torch_state(m["of"])).to(torch.bfloat16).config.save_pretrained(dst)
            self.tok.save_pretrained(dst)
            how = "re-saved (safetensors.torch.save_file into one file instead of shards, same BF16 values) from"
        self.paths[m["id"]] = dst
        self.formats[m["id"]] = "safetensors" if m["kind"] == "resave" else self.formats[m["of"]]
        if m["of"] in self.onnx_names:
            self.onnx_names[m["id"]] = self.onnx_names[m["of"]]
        extra = {"dtype": self.inventory[m["of"]]["dtype"]} if "dtype" in self.inventory[m["of"]] else {}
        self.record(m["id"], self.formats[m["id"]], "duplicate", f"{how} {m['of']}", self.values[m["of"]],
                    of=m["of"], **extra)

    # -- the whole zoo -------------------------------------------------------------------------
    def build(self) -> None:
        t0 = time.time()
        self.tok = lm.train_tokenizer(texts.corpus(self.spec["tokenizer_corpus"]), self.arch["vocab"])
        self.log({"id": "tokenizer", "kind": "tokenizer", "corpus": self.spec["tokenizer_corpus"],
                  "vocab": self.arch["vocab"], "seconds": round(time.time() - t0, 1)})
        for m in self.spec["models"]:
            t0 = time.time()
            kind = m["kind"].replace("-", "_")
            if m["kind"] in DUP_KINDS:
                kind = "duplicate"
            res = getattr(self, kind)(m)
            entry = {"id": m["id"], "kind": m["kind"], **{k: v for k, v in m.items() if k not in ("id", "kind")}}
            if m["kind"] in ("pretrain", "finetune", "lora-merged", "adapter", "layer-subset"):
                entry["steps"] = self.steps_of(m)
            if res:
                entry["training"] = res
            if not m.get("withheld"):
                exact = m["kind"] not in ("gguf", "onnx", "onnx-int8", "adapter")
                entry["readback_max_deviation"] = self.check_readback(m["id"], exact=exact)
            entry["seconds"] = round(time.time() - t0, 1)
            self.log(entry)


def build_truth(zoo: Zoo) -> dict:
    spec = zoo.spec
    withheld = {m["id"] for m in spec["models"] if m.get("withheld")}
    present = [m for m in spec["models"] if not m.get("withheld")]
    rep = {}                                      # duplicate group representative

    def group_of(mid):
        while zoo.by_id[mid]["kind"] in DUP_KINDS:
            mid = zoo.by_id[mid]["of"]
        return rep.get(mid, mid)

    dup_groups: dict[str, list[str]] = {}
    for m in present:
        if m["kind"] in DUP_KINDS:
            g = group_of(m["of"])
            dup_groups.setdefault(g, [g]).append(m["id"])
        if m["kind"] == "onnx" and m["dtype"] == "F32":   # value-identical export: a duplicate
            dup_groups.setdefault(m["parent"], [m["parent"]]).append(m["id"])
            rep[m["id"]] = m["parent"]
    edges, parents_of, latent = [], {}, {}
    for m in present:
        k = m["kind"]
        if k in DUP_KINDS or k == "pretrain" or (k == "onnx" and m["dtype"] == "F32"):
            continue
        if k == "merge":
            coeffs = Zoo.merge_coefficients(m)
            for pid in sorted(coeffs):
                edges.append({"parent": group_of(pid), "child": m["id"], "type": "merge",
                              "coefficient": round(coeffs[pid], 6)})
            parents_of[m["id"]] = [group_of(p) for p in coeffs]
            continue
        p = m["parent"]
        if p in withheld:
            latent.setdefault(p, []).append(m["id"])
            parents_of[m["id"]] = []
            continue
        e = {"parent": group_of(p), "child": m["id"],
             "type": {"finetune": "finetune", "lora-merged": "finetune", "adapter": "adapter",
                      "layer-subset": "layer-subset"}.get(k, "quantized")}
        if k == "layer-subset":
            e["layers"] = [[c, pl] for c, pl in enumerate(m["layers"])]
        edges.append(e)
        parents_of[m["id"]] = [group_of(p)]
    roots = [m["id"] for m in present if m["kind"] == "pretrain"]
    ids = {m["id"] for m in present}
    claims, claimed_models = [], set()
    for m in present:
        mid = m["id"]
        true_parents = set(parents_of.get(group_of(mid), parents_of.get(mid, [])))
        for c in cards.claims(zoo.paths[mid], zoo.formats[mid]):
            target = cards.claimed_id(c["claimed"])
            if target not in ids:
                verdict = "unsupported"
            elif group_of(target) in true_parents:
                verdict = "agrees"
            else:
                verdict = "contradicts"
            claims.append({"model": mid, "source": c["source"], "claimed": c["claimed"], "verdict": verdict})
            claimed_models.add(mid)
    return {"edges": edges, "roots": roots,
            "duplicates": [dup_groups[g] for g in sorted(dup_groups)],
            "latent": [{"children": sorted(ch)} for _, ch in sorted(latent.items())],
            "claims": claims,
            "unclaimed": sorted(ids - claimed_models)}


def check_distinct(zoo: Zoo, truth: dict) -> None:
    """No two models outside one duplicate group may hold the same values in every layer matrix,
    and no model may hold the values a GGUF was quantized from other than its parent: the weights
    could not tell which is whose parent (two int8 exports on one grid, an F16 GGUF that equals
    llama-quantize's input), so the truth would claim more than they show."""
    group = {mid: g[0] for g in truth["duplicates"] for mid in g}
    ids = sorted(zoo.inventory)

    def same(x: dict, y: dict) -> bool:
        names = [n for n in sorted(x) if n.startswith("model.layers.") and x[n].ndim == 2]
        return names == [n for n in sorted(y) if n.startswith("model.layers.") and y[n].ndim == 2] \
            and all(np.array_equal(x[n], y[n]) for n in names)

    for a in range(len(ids)):
        for b in range(a + 1, len(ids)):
            x, y = ids[a], ids[b]
            if group.get(x, x) != group.get(y, y) and same(zoo.values[x], zoo.values[y]):
                raise AssertionError(f"{x} and {y} hold the same layer weights but are not duplicates")
    for mid, e in zoo.inventory.items():
        if e.get("quantized_from"):       # llama-quantize's input: the parent rounded to F16/BF16
            inter = {k: v.numpy() for k, v in lm.as_stored(zoo.torch_state(e["parent"]), e["quantized_from"]).items()}
            for y in ids:
                if group.get(y, y) != group.get(e["parent"], e["parent"]) and same(inter, zoo.values[y]):
                    raise AssertionError(f"{mid} was quantized from values {y} holds, not only {e['parent']}'s")


def measure(zoo: Zoo, truth: dict) -> dict:
    vals = zoo.values
    edge_rows = facts.edge_stats([dict(e, how=zoo.inventory[e["child"]]["how"]) for e in truth["edges"]], vals)
    merges_out = {}
    def root_of(mid):
        while zoo.by_id[mid].get("parent"):
            mid = zoo.by_id[mid]["parent"]
        return mid

    visible_root = truth["roots"][0]
    fam_candidates = [m["id"] for m in zoo.spec["models"]
                      if m["kind"] in ("pretrain", "finetune", "lora-merged") and root_of(m["id"]) == visible_root]
    root = vals[visible_root]
    for m in zoo.spec["models"]:
        if m["kind"] != "merge":
            continue
        truep = sorted(Zoo.merge_coefficients(m))
        merges_out[m["id"]] = {
            "method": m["method"], "nominal": Zoo.merge_coefficients(m),
            "bf16_rounding_rms": facts.bf16_rounding_rms(
                merges.merge(m["method"], *_merge_inputs(zoo, m))[0]),
            "true_parents": facts.lstsq_merge(vals[m["id"]], {p: vals[p] for p in truep}, root),
            "all_family_models": facts.lstsq_merge(vals[m["id"]], {p: vals[p] for p in fam_candidates}, root),
        }
    siblings = {}
    for m in zoo.spec["models"]:
        kids = [c["id"] for c in zoo.spec["models"]
                if c.get("parent") == m["id"] and c["kind"] in ("finetune", "lora-merged")]
        if len(kids) >= 2:
            siblings[m["id"]] = {"withheld": bool(m.get("withheld")),
                                 "pairs": facts.sibling_angles(vals[m["id"]], {k: vals[k] for k in kids})}
    return {"edges": edge_rows, "merges": merges_out, "siblings": siblings}


def _merge_inputs(zoo: Zoo, m: dict):
    parents = {"models": [(pid, zoo.values[pid], p) for pid, p in m["models"]]}
    if m.get("base"):
        parents["base"] = zoo.values[m["base"]]
    params = dict(merges.DEFAULTS[m["method"]])
    if "normalize" in m:
        params["normalize"] = m["normalize"]
    if m["method"] == "slerp":
        params["t"] = m["t"]
    return parents, params, m.get("seed", 0)


def environment() -> dict:
    import importlib.metadata as md
    pk = {}
    for p in ("torch", "transformers", "tokenizers", "peft", "gguf", "onnx", "onnxruntime", "onnxscript",
              "safetensors", "numpy", "PyYAML"):
        try:
            pk[p] = md.version(p)
        except md.PackageNotFoundError:
            pk[p] = None
    return {"python": platform.python_version(), "platform": platform.platform(), "packages": pk,
            "torch_threads": torch.get_num_threads(), "deterministic_algorithms": True}


def file_hashes(out: str) -> dict:
    h = {}
    for root, _, files in os.walk(out):
        for f in sorted(files):
            p = os.path.join(root, f)
            rel = os.path.relpath(p, out)
            if rel in ("make_log.json",):
                continue
            with open(p, "rb") as fh:
                h[rel] = hashlib.sha256(fh.read()).hexdigest()
    return dict(sorted(h.items()))


def fix_hash_seed() -> None:
    """Re-run this interpreter with PYTHONHASHSEED=0 unless it already has it."""
    if os.environ.get("PYTHONHASHSEED") != "0":
        # PEFT keeps target_modules in a set and writes it in iteration order: fix string hashing
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable] + sys.argv)


def make(spec: dict, out: str, quick: bool, label, write_readme, more_facts=None) -> None:
    """Build the zoo `spec` into `out` (via `<out>.tmp`, renamed at the end) with its truth,
    inventory, facts (plus `more_facts(zoo, truth)`), README (`write_readme(path, zoo, truth,
    facts)`) and make_log (`"zoo": label`)."""
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    from transformers.utils import logging as tlog
    tlog.disable_progress_bar()
    tlog.set_verbosity_error()

    tmp = out + ".tmp"
    for d in (tmp, tmp + ".withheld"):
        shutil.rmtree(d, ignore_errors=True)
    os.makedirs(tmp)
    t_start = time.time()
    zoo = Zoo(spec, tmp, quick)
    zoo.build()
    truth = build_truth(zoo)
    check_distinct(zoo, truth)
    measured = measure(zoo, truth)
    if more_facts is not None:
        measured.update(more_facts(zoo, truth))
    with open(os.path.join(tmp, "truth.json"), "w") as f:
        json.dump(truth, f, indent=1)
        f.write("\n")
    with open(os.path.join(tmp, "inventory.json"), "w") as f:
        json.dump(zoo.inventory, f, indent=1, sort_keys=True)
        f.write("\n")
    with open(os.path.join(tmp, "facts.json"), "w") as f:
        json.dump(measured, f, indent=1)
        f.write("\n")
    write_readme(os.path.join(tmp, "README.md"), zoo, truth, measured)
    log = {"zoo": label, "quick": quick, "environment": environment(), "corpora": texts.sources(),
           "arch": spec["arch"], "train_shape": zoo_specs.TRAIN_SHAPE, "steps": zoo.steps,
           "seconds_total": round(time.time() - t_start, 1), "cpu_seconds": round(time.process_time(), 1),
           "files_sha256": file_hashes(tmp)}
    with open(os.path.join(tmp, "make_log.json"), "w") as f:
        json.dump(log, f, indent=1)
        f.write("\n")
    shutil.rmtree(tmp + ".withheld", ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)
    print(f"wrote {len(zoo.inventory)} models to {out} in {time.time() - t_start:.0f} s")


def main() -> None:
    fix_hash_seed()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zoo", type=int, default=1, choices=(1, 2))
    ap.add_argument("--out", help="output folder (default examples/typed_zoo or examples/typed_zoo2)")
    ap.add_argument("--quick", action="store_true", help="1/20 of the training steps (a smoke test, not the zoo)")
    args = ap.parse_args()
    spec = zoo_specs.zoo1() if args.zoo == 1 else zoo_specs.zoo2()
    out = os.path.abspath(args.out or os.path.join(HERE, spec["name"]))
    make(spec, out, args.quick, args.zoo,
         lambda path, zoo, truth, measured: readme.write(path, zoo, truth, measured, args.zoo))


if __name__ == "__main__":
    main()
