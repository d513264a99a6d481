"""Read any zoo model back into canonical weights: Hugging Face names, float32, q/k rows in
Hugging Face order, quantized types dequantized, LoRA applied to its base.

Each format is read with the ecosystem's own reader, never with the code that wrote it:
safetensors (`safetensors.torch`), `torch.load(weights_only=True)` for .bin, gguf-py's GGUFReader
and `quants.dequantize` for GGUF, onnx + numpy_helper for ONNX (DequantizeLinear applied by hand
with the scale/zero-point/axis the graph names), PEFT's own adapter file layout for adapters.

    load(path, fmt, arch, *, base=None, onnx_names=None) -> {hf_name: np.float32 array}
"""
from __future__ import annotations

import json
import os

import numpy as np
import torch

from . import gguf_export


def _safetensors_file(path: str) -> dict:
    from safetensors.torch import load_file
    return {k: v.float().numpy() for k, v in load_file(path).items()}


def _hf_folder(path: str) -> dict:
    single = os.path.join(path, "model.safetensors")
    index = os.path.join(path, "model.safetensors.index.json")
    binf = os.path.join(path, "pytorch_model.bin")
    if os.path.isfile(single):
        return _safetensors_file(single)
    if os.path.isfile(index):
        with open(index) as f:
            wm = json.load(f)["weight_map"]
        out = {}
        for shard in sorted(set(wm.values())):
            out.update(_safetensors_file(os.path.join(path, shard)))
        if set(out) != set(wm):
            raise ValueError(f"{path}: shards do not hold exactly the weight_map's tensors")
        return out
    if os.path.isfile(binf):
        sd = torch.load(binf, map_location="cpu", weights_only=True)
        return {k: v.float().numpy() for k, v in sd.items()}
    raise FileNotFoundError(f"{path}: no weights")


def _gguf(path: str, arch: dict) -> dict:
    import gguf
    from gguf import quants as gq
    r = gguf.GGUFReader(path)

    def kv(key):
        f = r.fields[key]
        return int(f.parts[f.data[0]][0])

    n_layers = kv("llama.block_count")
    n_head, n_kv = kv("llama.attention.head_count"), kv("llama.attention.head_count_kv")
    to_hf = {}
    for name in hf_names(arch):
        to_hf[gguf_export.gguf_name(name, n_layers)] = name
    out = {}
    for t in r.tensors:
        shape = tuple(int(d) for d in reversed(t.shape.tolist()))       # GGUF lists ne0 first
        vals = gq.dequantize(t.data, t.tensor_type).reshape(shape).astype(np.float32)
        hf = to_hf[t.name]
        if hf.endswith("q_proj.weight"):
            vals = gguf_export.unpermute(vals, n_head, n_head)
        elif hf.endswith("k_proj.weight"):
            vals = gguf_export.unpermute(vals, n_head, n_kv)
        out[hf] = vals
    return out


def _onnx(path: str, names: dict) -> dict:
    import onnx
    from onnx import numpy_helper
    proto = onnx.load(path)
    inits = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    values = {}
    for node in proto.graph.node:
        if node.op_type != "DequantizeLinear" or node.input[0] not in inits:
            continue
        q = inits[node.input[0]].astype(np.float32)
        scale = inits[node.input[1]].astype(np.float32)
        zp = inits[node.input[2]].astype(np.float32) if len(node.input) > 2 else np.zeros_like(scale)
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        if scale.ndim == 1 and scale.size > 1:
            shape = [1] * q.ndim
            shape[axis] = scale.size
            scale, zp = scale.reshape(shape), zp.reshape(shape)
        base = node.input[0][:-len("_quantized")] if node.input[0].endswith("_quantized") else node.input[0]
        values[base] = (q - zp) * scale
    for name, a in inits.items():
        if name not in values and a.dtype in (np.float32, np.float16):
            values[name] = a.astype(np.float32)
    out = {}
    for init, info in names.items():
        v = values[init]
        out[info["tensor"]] = np.ascontiguousarray(v.T if info["transposed"] else v)
    return out


def _adapter(path: str, base: dict) -> dict:
    from safetensors.torch import load_file
    with open(os.path.join(path, "adapter_config.json")) as f:
        cfg = json.load(f)
    scale = cfg["lora_alpha"] / (cfg["r"] ** 0.5 if cfg.get("use_rslora") else cfg["r"])
    t = {k: v.float().numpy() for k, v in load_file(os.path.join(path, "adapter_model.safetensors")).items()}
    out = {k: v.copy() for k, v in base.items()}
    prefix = "base_model.model."
    for k, v in t.items():
        name = k[len(prefix):] if k.startswith(prefix) else k
        if ".lora_A." in name:
            target = name.replace(".lora_A.weight", ".weight")
            b = t[k.replace(".lora_A.", ".lora_B.")]
            out[target] = (out[target].astype(np.float64) + scale * (b.astype(np.float64) @ v)).astype(np.float32)
        elif ".lora_B." not in name:
            out[name] = v                      # a modules_to_save copy replaces the base tensor
    return out


def hf_names(arch: dict) -> list[str]:
    names = ["model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"]
    for i in range(arch["layers"]):
        p = f"model.layers.{i}."
        names += [p + s for s in ("self_attn.q_proj.weight", "self_attn.k_proj.weight",
                                  "self_attn.v_proj.weight", "self_attn.o_proj.weight",
                                  "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight",
                                  "input_layernorm.weight", "post_attention_layernorm.weight")]
    return names


def load(path: str, fmt: str, arch: dict, *, base: dict | None = None, onnx_names: dict | None = None) -> dict:
    if fmt in ("safetensors", "safetensors-sharded", "pytorch-bin"):
        return _hf_folder(path) if os.path.isdir(path) else _safetensors_file(path)
    if fmt == "gguf":
        return _gguf(path, arch)
    if fmt == "onnx":
        return _onnx(path, onnx_names)
    if fmt == "peft":
        return _adapter(path, base)
    raise ValueError(f"unknown format {fmt}")
