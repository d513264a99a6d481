#!/usr/bin/env python3
"""Converts a zoo of checkpoints as published (GGUF, ONNX, PyTorch .bin pickles, PEFT adapter
folders, safetensors) into a folder of safetensors models, one sub-folder per model id, named as
the zoo's truth.json names them — so that a safetensors-only method (tools/reference_recover.py,
the paper's method) can be run on the same models libmodeltree reads in their own formats.

Every format is read by its ecosystem's own library, not by libmodeltree's readers:
  * GGUF (gguf-py): tensors dequantised with gguf.quants.dequantize, llama.cpp's names mapped back
    to Hugging Face Llama names, and the rotary q/k row permutation that llama.cpp's
    convert_hf_to_gguf.py applies undone (heads from llama.attention.head_count{,_kv}).
  * ONNX (onnx): initializers, DequantizeLinear ones dequantised ((q - zero_point) * scale along
    the node's axis). torch.onnx's exporter names the linear layers' weights anonymously
    ("val_133") and stores them transposed, as MatMul's right operand; they are named by the
    order a Llama decoder layer runs them (q, k, v, o, gate, up, down; then lm_head unless tied),
    which the count of linear nodes (7 per layer, + 1) and their shapes must confirm, else the
    file is refused.
  * .bin (torch.load(weights_only=True)).
  * safetensors: the model's folder is linked, not copied.
  * An un-merged PEFT adapter is not a model of its own: a user of a safetensors-only method
    would merge it into its base first (peft's merge_and_unload: W + scaling * B @ A). With
    --adapters claimed (the default) it is merged into the base its adapter_config.json names
    (base_model_name_or_path, matched to a model id of the zoo by its last path component) —
    the claim, right or wrong, is all such a user has; when the claim names no model of the zoo,
    or with --adapters omit, the adapter is left out (its true edges then count as missed).

    python tools/to_safetensors.py ZOO OUT [--adapters claimed|omit]

Needs numpy, torch, safetensors, and gguf / onnx for zoos holding those formats. Prints, per
model, how it was converted (JSON).
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys

try:
    import numpy as np
except ImportError:
    sys.exit("to_safetensors.py needs numpy: pip install numpy")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402  (the writer: numpy arrays to a .safetensors file)


class MissingPackage(ValueError):
    """A format's library is not installed (the message says which and how to install it)."""


def _need(module: str, package: str):
    """`module`, imported; MissingPackage naming `package` when it is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingPackage(f"needs {package} for this zoo's files: pip install {package}") from None

# llama.cpp's tensor names (gguf-py's MODEL_TENSOR names for LLM_ARCH_LLAMA) -> Hugging Face's.
_GGUF_GLOBAL = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
                "output.weight": "lm_head.weight"}
_GGUF_BLOCK = {"attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
               "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
               "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
               "ffn_down": "mlp.down_proj"}
# The order a transformers LlamaDecoderLayer runs its linear layers (what an ONNX export records).
_LLAMA_LINEARS = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                  "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]


def _unpermute(w: np.ndarray, heads: int) -> np.ndarray:
    """Inverse of convert_hf_to_gguf.py's LlamaModel.permute (rows of each head interleaved by
    rotary pair): w.reshape(heads, 2, rows/heads/2, cols).swapaxes(1, 2)."""
    rows = w.shape[0]
    return w.reshape(heads, rows // heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def read_gguf(path: str) -> dict[str, np.ndarray]:
    gguf = _need("gguf", "gguf")

    reader = gguf.GGUFReader(path)

    def field(key):
        f = reader.fields.get(key)
        return None if f is None else f.contents()

    arch = field("general.architecture")
    if arch != "llama":
        raise ValueError(f"{path}: architecture {arch!r}; only llama's tensor names are mapped")
    heads, kv_heads = field("llama.attention.head_count"), field("llama.attention.head_count_kv")
    kv_heads = kv_heads or heads
    out = {}
    for t in reader.tensors:
        w = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        w = w.reshape([int(d) for d in reversed(t.shape)])          # GGML lists dimensions fastest first
        if t.name in _GGUF_GLOBAL:
            name = _GGUF_GLOBAL[t.name]
        else:
            parts = t.name.split(".")
            if len(parts) != 4 or parts[0] != "blk" or parts[2] not in _GGUF_BLOCK:
                raise ValueError(f"{path}: tensor {t.name} has no Llama counterpart")
            name = f"model.layers.{parts[1]}.{_GGUF_BLOCK[parts[2]]}.{parts[3]}"
            if parts[2] == "attn_q":
                w = _unpermute(w, heads)
            elif parts[2] == "attn_k":
                w = _unpermute(w, kv_heads)
        out[name] = w
    return out


def read_onnx(path: str) -> dict[str, np.ndarray]:
    onnx = _need("onnx", "onnx")
    numpy_helper = _need("onnx.numpy_helper", "onnx")

    model = onnx.load(path)
    graph = model.graph
    init = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    values = {}                                     # tensor name -> float array (initializers, dequantised)
    for name, a in init.items():
        if np.issubdtype(a.dtype, np.floating):
            values[name] = a.astype(np.float32)
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and node.input[0] in init:
            q = init[node.input[0]].astype(np.float32)
            scale = init[node.input[1]].astype(np.float32)
            zero = init[node.input[2]].astype(np.float32) if len(node.input) > 2 and node.input[2] else np.zeros_like(scale)
            axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
            if scale.ndim == 1 and q.ndim > 1:          # per channel along `axis`
                shape = [1] * q.ndim
                shape[axis] = -1
                scale, zero = scale.reshape(shape), zero.reshape(shape)
            values[node.output[0]] = (q - zero) * scale
    out = {}
    prefix = "m."                                   # torch.onnx names the wrapped module's parameters m.<name>
    linears = []
    for node in graph.node:
        if node.op_type == "MatMul" and node.input[1] in values and values[node.input[1]].ndim == 2:
            linears.append(values[node.input[1]].T)  # MatMul's right operand is the weight transposed
    for name, a in values.items():
        base = name[: -len("_DequantizeLinear_Output")] if name.endswith("_DequantizeLinear_Output") else name
        if base.startswith(prefix) and base.endswith(".weight"):
            out[base[len(prefix):]] = a
    if len(linears) % 7 not in (0, 1) or not linears:
        raise ValueError(f"{path}: {len(linears)} linear layers, not 7 per Llama layer (and lm_head unless tied)")
    layers = len(linears) // 7
    for k, w in enumerate(linears[: 7 * layers]):
        out[f"model.layers.{k // 7}.{_LLAMA_LINEARS[k % 7]}.weight"] = w
    if len(linears) % 7 == 1:
        out["lm_head.weight"] = linears[-1]
    hidden = out["model.embed_tokens.weight"].shape[1] if "model.embed_tokens.weight" in out else None
    for k in range(layers):                         # the shapes a Llama layer's linears must have
        q, o = out[f"model.layers.{k}.self_attn.q_proj.weight"], out[f"model.layers.{k}.self_attn.o_proj.weight"]
        g, d = out[f"model.layers.{k}.mlp.gate_proj.weight"], out[f"model.layers.{k}.mlp.down_proj.weight"]
        if q.shape != o.shape or g.shape[::-1] != d.shape or (hidden and q.shape != (hidden, hidden)):
            raise ValueError(f"{path}: the linear layers of layer {k} do not have a Llama layer's shapes")
    return out


def read_bin(path: str) -> dict[str, np.ndarray]:
    torch = _need("torch", "torch")

    state = torch.load(path, map_location="cpu", weights_only=True)
    return {k: v.float().numpy() if v.is_floating_point() else v.numpy() for k, v in state.items()}


def read_safetensors_folder(folder: str) -> dict[str, np.ndarray]:
    safe_open = _need("safetensors", "safetensors").safe_open
    _need("torch", "torch")                           # safe_open(framework="pt") reads BF16 as numpy cannot

    out = {}
    for f in sorted(os.listdir(folder)):
        if f.endswith(".safetensors"):
            with safe_open(os.path.join(folder, f), framework="pt") as s:
                for k in s.keys():
                    t = s.get_tensor(k)
                    out[k] = t.float().numpy() if t.is_floating_point() else t.numpy()
    return out


def merge_adapter(folder: str, base: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The base with the adapter merged in, as peft's merge_and_unload computes it for LoRA:
    W + scaling * B @ A (scaling lora_alpha / r, or / sqrt(r) with use_rslora; rank_pattern and
    alpha_pattern per module; transposed with fan_in_fan_out), modules_to_save replaced."""
    with open(os.path.join(folder, "adapter_config.json")) as f:
        cfg = json.load(f)
    if cfg.get("peft_type", "LORA") != "LORA" or cfg.get("use_dora"):
        raise ValueError(f"{folder}: only plain LoRA adapters are merged (peft_type {cfg.get('peft_type')})")
    weights = read_safetensors_folder(folder)
    merged = dict(base)
    prefix = "base_model.model."
    for key, a in weights.items():
        if not key.startswith(prefix):
            raise ValueError(f"{folder}: tensor {key} is not under {prefix}")
        if ".lora_A." in key:
            module = key[len(prefix): key.index(".lora_A.")]
            b = weights[key.replace(".lora_A.", ".lora_B.")]
            short = module.rsplit(".", 1)[-1]
            pattern = lambda p: next((v for k, v in cfg.get(p, {}).items() if module.endswith(k) or short == k), None)
            r = pattern("rank_pattern") or cfg["r"]
            alpha = pattern("alpha_pattern") or cfg["lora_alpha"]
            scaling = alpha / (np.sqrt(r) if cfg.get("use_rslora") else r)
            delta = (b.astype(np.float64) @ a.astype(np.float64)) * scaling
            if cfg.get("fan_in_fan_out"):
                delta = delta.T
            target = module + ".weight"
            if target not in merged or merged[target].shape != delta.shape:
                raise ValueError(f"{folder}: {target} is not a tensor of its base with shape {delta.shape}")
            merged[target] = (merged[target].astype(np.float64) + delta).astype(np.float32)
        elif ".lora_B." not in key:                  # a module saved whole (modules_to_save)
            merged[key[len(prefix):]] = a
    return merged


def _kind(path: str) -> str | None:
    """The format of one model (a file or a folder), None for anything else."""
    if os.path.isdir(path):
        files = os.listdir(path)
        if "adapter_config.json" in files:
            return "adapter"
        if any(f.endswith(".safetensors") for f in files):
            return "safetensors"
        if any(f.endswith(".bin") for f in files):
            return "bin"
        return None
    return {".gguf": "gguf", ".onnx": "onnx"}.get(os.path.splitext(path)[1])


def _read(path: str, kind: str) -> dict[str, np.ndarray]:
    if kind == "bin":
        path = os.path.join(path, next(f for f in sorted(os.listdir(path)) if f.endswith(".bin")))
    return {"gguf": read_gguf, "onnx": read_onnx, "bin": read_bin}[kind](path)


def convert_model(path: str, target: str) -> str:
    """TARGET/ made a safetensors model of the full model at PATH (a safetensors folder is linked);
    returns how. Adapters are `convert`'s (they need their base)."""
    kind = _kind(path)
    if kind is None or kind == "adapter":
        raise ValueError(f"{path}: not a full model of a format this converter reads")
    if kind == "safetensors":
        os.symlink(os.path.abspath(path), target)
        return "safetensors (linked)"
    tensors = _read(path, kind)
    os.makedirs(target)
    st.write(os.path.join(target, "model.safetensors"), tensors)
    return f"{kind} (converted)"


def convert(zoo: str, out: str, adapters: str = "claimed") -> dict[str, str]:
    """Writes OUT/<id>/ for every model of ZOO (ids as truth.json names them: a folder's name, a
    loose file's name with its extension); returns {id: how it was converted or left out}."""
    models = [(name, os.path.join(zoo, name)) for name in sorted(os.listdir(zoo))]
    models = [(m, p, _kind(p)) for m, p in models if _kind(p)]
    if not models:
        raise ValueError(f"no models under {zoo}")
    os.makedirs(out, exist_ok=True)
    ids = {m for m, _, _ in models}
    report = {}
    for mid, path, kind in models:
        if kind != "adapter":
            report[mid] = convert_model(path, os.path.join(out, mid))
    for mid, path, kind in models:
        if kind != "adapter":
            continue
        with open(os.path.join(path, "adapter_config.json")) as f:
            claimed = json.load(f).get("base_model_name_or_path") or ""
        base = claimed.rstrip("/").rsplit("/", 1)[-1]
        if adapters == "omit":
            report[mid] = "adapter (left out)"
        elif base not in ids or base == mid or base not in report:
            report[mid] = f"adapter (left out: its claimed base {claimed!r} is not a full model of the zoo)"
        else:
            tensors = read_safetensors_folder(os.path.join(out, base))
            os.makedirs(os.path.join(out, mid))
            st.write(os.path.join(out, mid, "model.safetensors"), merge_adapter(path, tensors))
            report[mid] = f"adapter (merged into its claimed base {base})"
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("zoo")
    ap.add_argument("out", help="a folder to create (models are linked or written under it)")
    ap.add_argument("--adapters", choices=("claimed", "omit"), default="claimed",
                    help="merge each adapter into the base its config claims (default), or leave adapters out")
    args = ap.parse_args()
    try:
        print(json.dumps(convert(args.zoo, args.out, args.adapters), indent=1))
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"to_safetensors.py: {e}")


if __name__ == "__main__":
    main()
