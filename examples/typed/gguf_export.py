"""GGUF files as llama.cpp makes them from a Hugging Face Llama folder, written with gguf-py.

`convert(...)` follows `convert_hf_to_gguf.py` (LlamaModel): gguf-py's TensorNameMap renames
every tensor (`model.layers.N.self_attn.q_proj.weight` -> `blk.N.attn_q.weight`, ...), the q and k
projections get its rotary row permutation `permute(w, n_head, n_head)` / `permute(w, n_head,
n_head_kv)`, 1-D tensors and norms stay F32, the metadata comes from gguf-py's own `Metadata.load`
(model card `base_model:` -> `general.base_model.*`, or a `--metadata` override file), then the
llama.* hyper-parameters, `general.file_type`, `general.quantization_version` and a GPT-2 style
vocabulary (tokens, types, merges from tokenizer.json via gguf-py's SpecialVocab).

Q4_0 and Q4_K_M are what `llama-quantize` makes from such a file (the one `--outtype auto` writes:
BF16 for a BF16 source, F16 for an F32 one): its per-tensor type choice
(`llama_tensor_get_type`: output.weight -> Q6_K/Q8_0, attn_v and ffn_down of `use_more_bits`
layers -> Q6_K for Q4_K_M) and its fallback for rows not a multiple of 256 values (Q4_K -> Q5_0,
Q6_K -> Q8_0), which at hidden size 64 leaves Q4_K/Q6_K only on ffn_down.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import gguf
import numpy as np
from gguf import GGMLQuantizationType as QT
from gguf import quants as gq

from . import kquants

FILE_TYPE = {"F32": 0, "F16": 1, "Q4_0": 2, "Q8_0": 7, "Q4_K_M": 15, "BF16": 32}
QUANTIZE_TYPES = ("Q4_0", "Q4_K_M")          # made by llama-quantize, from a GGUF
BLOCK = {"Q4_0": 32, "Q5_0": 32, "Q8_0": 32, "Q4_K": 256, "Q6_K": 256}
FALLBACK = {"Q4_K": "Q5_0", "Q6_K": "Q8_0"}


def permute(w: np.ndarray, n_head: int, n_head_kv: int | None) -> np.ndarray:
    """convert_hf_to_gguf.py's LlamaModel.permute: rotary halves -> interleaved pairs, per head."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


def unpermute(w: np.ndarray, n_head: int, n_head_kv: int | None) -> np.ndarray:
    """The inverse of `permute` (what a reader must apply to compare with the Hugging Face rows)."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


def gguf_name(hf_name: str, n_layers: int) -> str:
    tmap = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, n_layers)
    name = tmap.get_name(hf_name, try_suffixes=(".weight", ".bias"))
    if name is None:
        raise KeyError(f"no GGUF name for {hf_name}")
    return name


def _use_more_bits(i: int, n: int) -> bool:
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def _quantize_type(gname: str, ncols: int, ftype: str, counters: dict, n_layers: int) -> str:
    """llama-quantize's choice for one 2-D weight (llama_tensor_get_type + fallback), no imatrix."""
    default = {"Q4_0": "Q4_0", "Q4_K_M": "Q4_K"}[ftype]
    t = default
    if gname == "output.weight":
        t = "Q8_0" if ncols % BLOCK[default] else ("Q6_K" if default != "Q8_0" else "Q8_0")
    elif "attn_v.weight" in gname:
        if ftype == "Q4_K_M" and _use_more_bits(counters["attn_v"], n_layers):
            t = "Q6_K"
        counters["attn_v"] += 1
    elif "ffn_down" in gname:
        if ftype == "Q4_K_M" and _use_more_bits(counters["ffn_down"], n_layers):
            t = "Q6_K"
        counters["ffn_down"] += 1
    if ncols % BLOCK[t]:
        t = FALLBACK[t]
    return t


def _encode(data: np.ndarray, qtype: str):
    """(array for GGUFWriter.add_tensor, raw_dtype) of float32 data in one GGML type."""
    if qtype == "F32":
        return data.astype(np.float32), None
    if qtype == "F16":
        return data.astype(np.float16), None
    if qtype in ("Q4_K", "Q6_K"):
        raw = kquants.quantize(data, qtype)
        return raw, getattr(QT, qtype)
    raw = gq.quantize(data, getattr(QT, qtype))
    return raw, getattr(QT, qtype)


def _decode(data: np.ndarray, qtype: str) -> np.ndarray:
    """The float32 values an encoded tensor stands for (gguf-py's dequantization)."""
    arr, raw_dtype = _encode(data, qtype)
    if raw_dtype is None:
        return arr.astype(np.float32)
    return gq.dequantize(arr, raw_dtype).reshape(data.shape).astype(np.float32)


def _vocab(writer: gguf.GGUFWriter, source_dir: Path, n_vocab: int) -> None:
    """What _set_vocab_gpt2 writes: tokens by id, CONTROL for special added tokens, merges and
    special ids through SpecialVocab. The pre-tokenizer is GPT-2's byte-level regex."""
    with open(source_dir / "tokenizer.json", encoding="utf-8") as f:
        tj = json.load(f)
    by_id = {i: t for t, i in tj["model"]["vocab"].items()}
    special = {a["id"]: a["content"] for a in tj.get("added_tokens", []) if a.get("special")}
    by_id.update(special)
    tokens, types = [], []
    for i in range(n_vocab):
        if i in by_id:
            tokens.append(by_id[i])
            types.append(gguf.TokenType.CONTROL if i in special else gguf.TokenType.NORMAL)
        else:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    gguf.SpecialVocab(source_dir, load_merges=True, n_vocab=n_vocab).add_to_gguf(writer)


def convert(source_dir: str, state: dict, arch: dict, out_path: str, outtype: str, source_dtype: str,
            base_models_override: list | None = None, quantize_from: str | None = None) -> dict:
    """Write `out_path` from the HF folder `source_dir` whose weights are `state` (name -> float32
    numpy, exactly the values its files hold, stored as `source_dtype`). `quantize_from` names the
    GGUF type llama-quantize reads for Q4_0/Q4_K_M (default: what `--outtype auto` writes; "F32"
    for `--outtype f32`, whose values are the source's own). Returns the tensor types and metadata
    written."""
    n_layers, n_head, n_kv = arch["layers"], arch["heads"], arch["kv_heads"]
    via = None
    if outtype in QUANTIZE_TYPES:
        # llama-quantize reads the GGUF `convert_hf_to_gguf.py --outtype auto` writes: BF16 for a
        # BF16 source, F16 otherwise
        via = quantize_from or ("BF16" if source_dtype == "BF16" else "F16")
    counters = {"attn_v": 0, "ffn_down": 0}
    writer = gguf.GGUFWriter(out_path, gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.LLAMA])
    types, checks = {}, {}
    for hf_name in sorted(state):             # the safetensors header order convert iterates
        data = np.asarray(state[hf_name], dtype=np.float32)
        if hf_name.endswith("q_proj.weight"):
            data = permute(data, n_head, n_head)
        elif hf_name.endswith("k_proj.weight"):
            data = permute(data, n_head, n_kv)
        gname = gguf_name(hf_name, n_layers)
        if data.ndim <= 1 or gname.endswith("_norm.weight"):
            qtype = "F32"
        elif via is None:
            qtype = outtype
            if qtype != "F16" and data.shape[-1] % BLOCK.get(qtype, 1):
                qtype = "F16"          # convert's QuantError fallback
        else:
            data = _decode(data, via)
            qtype = _quantize_type(gname, data.shape[-1], outtype, counters, n_layers)
        arr, raw_dtype = _encode(data, qtype)
        if qtype in ("Q4_K", "Q6_K"):
            checks[gname] = kquants.verify(data, arr, qtype)
        writer.add_tensor(gname, arr, raw_dtype=raw_dtype)
        types[gname] = qtype

    src = Path(source_dir)
    override_path = None
    if base_models_override is not None:
        fd, override_path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump({"general.base_models": base_models_override}, f)
    try:
        total, shared, expert, count = writer.get_total_parameter_count()
        meta = gguf.Metadata.load(Path(override_path) if override_path else None, src, None, total)
    finally:
        if override_path:
            os.unlink(override_path)
    if meta.name is None:
        meta.name = src.name
    if meta.size_label is None and total > 0:
        meta.size_label = gguf.size_label(total, shared, expert, count)
    writer.add_type(gguf.GGUFType.MODEL)
    meta.set_gguf_meta_model(writer)

    writer.add_block_count(n_layers)
    writer.add_context_length(arch["ctx"])
    writer.add_embedding_length(arch["hidden"])
    writer.add_feed_forward_length(arch["inter"])
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_kv)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_key_length(arch["hidden"] // n_head)
    writer.add_value_length(arch["hidden"] // n_head)
    writer.add_file_type(FILE_TYPE[outtype])
    writer.add_vocab_size(arch["vocab"])
    writer.add_rope_dimension_count(arch["hidden"] // n_head)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    _vocab(writer, src, arch["vocab"])

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return {"tensor_types": types, "file_type": FILE_TYPE[outtype], "via": via, "kquant_checks": checks,
            "general.name": meta.name, "base_models": meta.base_models or []}
