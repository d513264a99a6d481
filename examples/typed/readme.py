"""The zoo's README.md, written from what the run made and measured (so a re-run re-creates it)."""
from __future__ import annotations

import os

import numpy as np

INTRO = {
    1: """# Typed example zoo 1: tiny Llama LMs and every model-supply-chain relation

{n} models made by `examples/make_typed_zoo.py` from real text, with the tools the ecosystem uses:
transformers + AdamW for pre-training and full fine-tunes, PEFT for LoRA (merged and un-merged),
gguf-py written as llama.cpp's `convert_hf_to_gguf.py` / `llama-quantize` write GGUF,
`torch.onnx.export` + onnxruntime's quantizer for ONNX, mergekit's formulas for merges. The typed
truth is `truth.json` (format in the team brief); `inventory.json` says for every model its
format, relation and how it was made; `facts.json` holds the measurements below; `make_log.json`
the environment, the corpora (with SHA-256), every step's parameters, losses and time, and the
SHA-256 of every file written.
""",
    2: """# Typed example zoo 2: held-out data for the typed relations (never used to tune the engine)

{n} models made by `examples/make_typed_zoo.py --zoo 2` with the recipe of zoo 1 and other seeds,
other texts and another shape (3 layers, 8 query heads sharing 2 KV heads, vocabulary 320). **This
zoo is held out: it is never used to choose the engine's methods, thresholds or defaults; it only
measures them.** Files as in zoo 1: `truth.json`, `inventory.json`, `facts.json`, `make_log.json`.
""",
}


def _fmt(x, digits=4):
    return f"{x:.{digits}g}" if isinstance(x, float) else str(x)


def _size(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)


def write(path: str, zoo, truth: dict, measured: dict, n: int) -> None:
    inv = zoo.inventory
    a = zoo.arch
    L = []
    L.append(INTRO[n].format(n=len(inv)).rstrip() + "\n")
    L.append("Regenerate (from the repository root; CPU only, one thread, see make_log.json for the time):\n")
    L.append("    python3 -m venv /tmp/zoo-venv")
    L.append("    /tmp/zoo-venv/bin/pip install /opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")
    L.append("    /tmp/zoo-venv/bin/pip install -r examples/typed/requirements.txt")
    L.append("    apt-get install fortunes          # the fortune texts some models are trained on")
    L.append(f"    /tmp/zoo-venv/bin/python examples/make_typed_zoo.py{'' if n == 1 else ' --zoo 2'}\n")
    L.append("It takes about 40 minutes on the shared 2-core machine (one thread, about 20 minutes of "
             "CPU; make_log.json records the run's times). With the package versions of "
             "examples/typed/requirements.txt every file but make_log.json (which holds times) comes out "
             "byte for byte the same; make_log.json lists their SHA-256. To check:\n")
    L.append(f"    /tmp/zoo-venv/bin/python examples/make_typed_zoo.py{'' if n == 1 else ' --zoo 2'} --out /tmp/check")
    L.append(f"    diff -r -x make_log.json /tmp/check examples/{zoo.spec['name']}\n")
    L.append("## Architecture and data\n")
    L.append(f"`LlamaForCausalLM` (transformers `LlamaConfig`): hidden {a['hidden']}, {a['layers']} layers, "
             f"{a['heads']} attention heads sharing {a['kv_heads']} KV heads (GQA; head dim "
             f"{a['hidden'] // a['heads']}), MLP {a['inter']} (SiLU-gated), RMSNorm, RoPE θ 10000, untied "
             f"`lm_head`, context {a['ctx']}; a byte-level BPE tokenizer with {a['vocab']} tokens trained "
             f"(HF tokenizers) on `{zoo.spec['tokenizer_corpus']}`. Intermediate size 256 makes `ffn_down`'s rows "
             "256 long, the one tensor K-quants can hold at this size (llama-quantize falls back to Q5_0 / "
             "Q8_0 elsewhere, as it does for real models with odd widths).\n")
    L.append("Texts (no internet; files shipped by Debian bookworm, SHA-256 checked before use): "
             "`pydoc` = Python's reference documentation, `pydoc_data/topics.py` of libpython3.11-stdlib "
             "(read with `ast`, never executed); `license:X` = `/usr/share/common-licenses/X` (base-files); "
             "`fortunes:X` = `/usr/share/games/fortunes/X` (package `fortunes`).\n")
    L.append("Training: AdamW (β 0.9/0.95, weight decay on matrices), linear warm-up then cosine to 0, "
             f"batches of {zoo.spec.get('batch', 32)} random windows of 64 tokens, one thread, "
             "`torch.use_deterministic_algorithms(True)`. A child always starts from the values its "
             "parent's files hold (a BF16 parent's weights widened to F32), as after `from_pretrained`.\n")

    L.append(RECIPES.format(pre=zoo.spec["models"][0], **_recipe_numbers(zoo)).rstrip() + "\n")
    L.append("## Models\n")
    L.append("| model | format | relation | parent(s) | how it was made | size |")
    L.append("|---|---|---|---|---|---|")
    parents = {}
    for e in truth["edges"]:
        parents.setdefault(e["child"], []).append(e["parent"] + (f" ({e['coefficient']:g})" if "coefficient" in e else ""))
    for g in truth["duplicates"]:
        for mid in g[1:]:
            parents.setdefault(mid, []).append(f"= {g[0]}")
    for lat in truth["latent"]:
        for mid in lat["children"]:
            parents.setdefault(mid, []).append("latent (withheld root)")
    for mid, e in inv.items():
        L.append(f"| `{mid}` | {e['format']}{' ' + e['dtype'] if e.get('dtype') else ''} | {e['relation']} | "
                 f"{', '.join(parents.get(mid, ['—']))} | {e['how']} | {_size(os.path.join(os.path.dirname(path), mid)) / 1024:.0f} KiB |")
    total = sum(_size(os.path.join(os.path.dirname(path), mid)) for mid in inv)
    L.append(f"\nTotal {total / 2 ** 20:.1f} MiB of model files.\n")

    L.append("## Truth file\n")
    L.append(f"`truth.json`: {len(truth['edges'])} typed edges, roots {truth['roots']}, "
             f"{len(truth['duplicates'])} duplicate groups, {len(truth['latent'])} latent node(s), "
             f"{len(truth['claims'])} claims, {len(truth['unclaimed'])} models claiming nothing. Conventions:\n")
    L.append("- A duplicate group lists its original first; edges into or out of a group name that first "
             "member (score any member as it). An F32 ONNX export holds exactly its source's values, so it "
             "is a duplicate of it, not a quantized child.")
    L.append("- A latent node is identified by its children (they have no edge to it); its own root was "
             "trained and then withheld. `roots` lists only visible roots.")
    L.append("- Merge coefficients: `linear` and `task_arithmetic` are exact linear combinations (the "
             "base's coefficient is 1 − Σλ). For `slerp` they are the nominal 1 − t and t (the "
             "effective per-tensor sin ratios are in inventory.json). For TIES/DARE they are the "
             "formula before trimming, sign election and dropping: mergekit's `weight`s (divided by "
             "their sum where the method normalises, mergekit's default for `ties`) and 1 − Σ for the "
             "base, which is why a normalised TIES merge gives its base 0 although entries trimmed in "
             "every model keep the base's value. facts.json has what least squares finds.")
    L.append("- `layers` maps child layer → parent layer (embeddings, final norm and lm_head are copied too).")
    L.append("- A claim's verdict: the claimed id is the last path component of the claim (hub id, "
             "local path or URL). `agrees` if it names a true parent (any member of the parent's "
             "duplicate group), `contradicts` if it names another model of the collection, "
             "`unsupported` if no model of the collection has that id. GGUF claims are "
             "`general.base_model.N.repo_url` (gguf-py writes `.name` title-cased, e.g. `Lm A`).\n")
    L.append("| model | source | claimed | verdict |")
    L.append("|---|---|---|---|")
    for c in truth["claims"]:
        L.append(f"| `{c['model']}` | {c['source']} | `{c['claimed']}` | {c['verdict']} |")
    L.append(f"\nClaiming nothing: {', '.join('`' + u + '`' for u in truth['unclaimed'])}.\n")

    L.append("## Measured facts (numpy over canonical weights; facts about the data, not engine results)\n")
    L.append("Canonical = Hugging Face names, q/k rows de-permuted, quantized types dequantized, ONNX "
             "initializers mapped back (and transposed back), LoRA applied to its base. Over the "
             f"{7 * a['layers']} layer matrices (q, k, v, o, gate, up, down); kurtosis is the mean Fisher "
             "excess kurtosis of those matrices.\n")
    L.append("| parent → child | type | RMS(child − parent) | relative to parent RMS | kurtosis parent → child (Δ) |")
    L.append("|---|---|---|---|---|")
    for r in measured["edges"]:
        L.append(f"| `{r['parent']}` → `{r['child']}` | {r['type']} | {r['rms']:.3g} | {r['rel_rms']:.3g} | "
                 f"{r['kurtosis_parent']:.3f} → {r['kurtosis_child']:.3f} ({r['kurtosis_change']:+.4f}) |")
    L.append("")
    by_type = {}
    for r in measured["edges"]:
        by_type.setdefault(r["type"], []).append(r)
    L.append("| type | edges | RMS range | mean Δkurtosis | child kurtosis lower |")
    L.append("|---|---|---|---|---|")
    for t, rows in sorted(by_type.items()):
        rms = [r["rms"] for r in rows]
        dk = [r["kurtosis_change"] for r in rows]
        L.append(f"| {t} | {len(rows)} | {min(rms):.3g} … {max(rms):.3g} | {np.mean(dk):+.4f} | "
                 f"{sum(d < 0 for d in dk)}/{len(dk)} |")
    L.append("")
    L.append("Merges: least squares `min ‖M − Σ cᵢ Pᵢ‖` over the layer matrices, with the true "
             "parents only and with every full model of the family (root, fine-tunes, merged LoRAs) "
             "as candidates. Residual: its RMS, and that RMS relative to the RMS of M − root (how far "
             "the merge moved). The merges are stored in BF16, which alone leaves the RMS given as "
             "the floor.\n")
    L.append("| merge | method | nominal | LS over true parents | residual (rel.) | LS over all family models (4 largest) | residual (rel.) | BF16 floor |")
    L.append("|---|---|---|---|---|---|---|---|")
    for mid, r in measured["merges"].items():
        nom = ", ".join(f"{k} {v:.3g}" for k, v in sorted(r["nominal"].items()))
        tp = ", ".join(f"{k} {v:.3f}" for k, v in sorted(r["true_parents"]["coefficients"].items()))
        allc = sorted(r["all_family_models"]["coefficients"].items(), key=lambda kv: -abs(kv[1]))[:4]
        al = ", ".join(f"{k} {v:.3f}" for k, v in allc)
        t, f = r["true_parents"], r["all_family_models"]
        L.append(f"| `{mid}` | {r['method']} | {nom} | {tp} | {t['residual_rms']:.2g} ({t['residual_rel']:.2g}) | "
                 f"{al} | {f['residual_rms']:.2g} ({f['residual_rel']:.2g}) | {r['bf16_rounding_rms']:.2g} |")
    L.append("")
    L.append("Siblings: for two fine-tunes A, B of one parent P, the angle at P between A − P and B − P "
             "(90° = independent updates) and the angles at A and at B in the triangle; for the latent "
             "family P is the withheld root.\n")
    L.append("| parent | A | B | angle at P | at A | at B | ‖A−B‖ | ‖A−P‖ | ‖B−P‖ (RMS) |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    for pid, g in measured["siblings"].items():
        for q in g["pairs"]:
            L.append(f"| `{pid}`{' (withheld)' if g['withheld'] else ''} | `{q['a']}` | `{q['b']}` | "
                     f"{q['at_parent']:.0f}° | {q['at_a']:.0f}° | {q['at_b']:.0f}° | {q['d_ab']:.3g} | "
                     f"{q['d_pa']:.3g} | {q['d_pb']:.3g} |")
    L.append("")
    L.append(READERS.rstrip() + "\n")
    with open(path, "w") as f:
        f.write("\n".join(L).rstrip() + "\n")


def _recipe_numbers(zoo) -> dict:
    from . import zoo_specs
    return {"pt": zoo_specs.PRETRAIN, "ft": zoo_specs.FT, "lora": zoo_specs.LORA_FT}


RECIPES = """## How each relation was made

- **Pre-training** (roots, and the withheld latent root): `LlamaForCausalLM(LlamaConfig(...))`
  initialised by transformers from a seed, {pt[steps]} steps (2,500 for the withheld root), peak
  lr {pt[lr]}, {pt[warmup]} warm-up steps, weight decay {pt[wd]}.
- **finetune**: full fine-tuning with AdamW from the parent's stored values, {ft[steps]} steps,
  peak lr {ft[lr]}, weight decay {ft[wd]}, on another text; stored in F32 or BF16 as the table
  says (`save_pretrained`, `max_shard_size` for the sharded one, `torch.save(state_dict)` in
  torch's zip format for `pytorch_model.bin`). The "light" fine-tune (a few dozen steps at
  lr 2e-5 or 3e-5) moves the weights about as much as a BF16 cast does, the hard case issue 12
  describes. A **merged LoRA** is PEFT `get_peft_model` + training ({lora[steps]} steps, lr
  {lora[lr]}) + `merge_and_unload()`, saved as a full model: typed `finetune`.
- **adapter**: PEFT LoRA (A Kaiming-uniform, B = 0, no dropout) trained like the merged LoRA and
  saved un-merged with `save_pretrained`: `adapter_config.json` + `adapter_model.safetensors`
  (F32, keys `base_model.model.<HF name without .weight>.lora_A.weight` / `.lora_B.weight`; a
  `modules_to_save` copy is `base_model.model.lm_head.weight`) + PEFT's generated README (deleted
  for one adapter). ΔW = (alpha / r) · B · A.
- **quantized**: GGUF as described below; `model.to(torch.bfloat16).save_pretrained` for the
  BF16 cast; LLM.int8's row-wise absmax round trip (`W8 = round(127·W/absmax_row)`, `W8·absmax/127`)
  of the decoder's Linear weights, saved F32; ONNX exported with `torch.onnx.export` (dynamo
  exporter, opset 18) in F16 (`model.half()`), and the F32 export quantized by onnxruntime's
  `quantize_static` (QDQ, int8 symmetric weights per output channel, uint8 activations,
  calibration windows from the source's training text). An F32 ONNX export holds its source's
  values exactly and is a duplicate, not a quantized child.
- **merge**: the parents' stored values widened to F32, merged tensor by tensor by mergekit's
  formula (`examples/typed/merges.py`: linear, task_arithmetic, slerp, ties, dare_ties,
  dare_linear, with mergekit's defaults unless the table says otherwise), stored BF16
  (mergekit's `out_dtype`), with a `mergekit_config.yml` as mergekit writes one.
- **duplicate**: a byte copy of a folder, a re-save of a sharded BF16 model into one file with
  `safetensors.torch.save_file` (other bytes, same values), a GGUF file under another name.
- **layer-subset**: a student with fewer layers initialised from the given layers of its parent
  (plus embeddings, final norm, lm_head), then distilled from it (0.5·CE + 0.5·T²·KL at T = 2,
  200 steps) like DistilBERT.
- **latent parent**: a second root pre-trained on other text with another seed, never written to
  the zoo, fine-tuned into three children (and one grandchild); its claims name it, so they are
  `unsupported`.
- **claims**: written as people write them: the model card's `base_model:` (string or list,
  with `base_model_relation:` on some), config.json `_name_or_path` (added back as transformers
  4.x wrote it: transformers 5 no longer saves it), PEFT's `base_model_name_or_path` (the name
  the base was loaded under), GGUF `general.base_model.*` from gguf-py's `Metadata.load`: either
  inherited from the source's model card, as `convert_hf_to_gguf.py` does (so a GGUF of a
  fine-tune names the fine-tune's parent, its own grandparent: `contradicts`), or from a
  `--metadata` override naming the converted model.

### GGUF

Written with gguf-py's `GGUFWriter` the way `convert_hf_to_gguf.py` (LlamaModel) writes a Llama:
tensor names from gguf-py's `TensorNameMap` (`token_embd.weight`, `blk.N.attn_q.weight`,
`blk.N.attn_k.weight`, `blk.N.attn_v.weight`, `blk.N.attn_output.weight`, `blk.N.ffn_gate.weight`,
`blk.N.ffn_up.weight`, `blk.N.ffn_down.weight`, `blk.N.attn_norm.weight`, `blk.N.ffn_norm.weight`,
`output_norm.weight`, `output.weight`), dims listed innermost first (ne0 = the row length), and
**the q and k rows permuted for rotary embeddings**: `permute(w, n_head, n_head)` for
`attn_q`, `permute(w, n_head, n_head_kv)` for `attn_k` where

    permute(w, n_head, n_head_kv): if n_head_kv and n_head != n_head_kv: n_head = n_head_kv
        return w.reshape(n_head, 2, rows // n_head // 2, cols).swapaxes(1, 2).reshape(rows, cols)

(undo with `reshape(n_head, rows // n_head // 2, 2, cols).swapaxes(1, 2)`). Metadata: `general.architecture`
`llama`, `general.type` `model`, `general.name` (gguf-py's heuristics: from config.json's
`_name_or_path` when it is a hub id, so a GGUF of a fine-tune may carry its parent's title-cased
name), `general.organization`, `general.size_label`, `general.tags`, `general.base_model.count`
and `general.base_model.N.{{name,organization,repo_url}}` when claimed, `llama.block_count`,
`llama.context_length`, `llama.embedding_length`, `llama.feed_forward_length`,
`llama.attention.head_count`, `llama.attention.head_count_kv`, `llama.rope.freq_base`,
`llama.attention.layer_norm_rms_epsilon`, `llama.attention.key_length`, `.value_length`,
`llama.vocab_size`, `llama.rope.dimension_count`, `general.file_type` (1 F16, 7 Q8_0, 2 Q4_0,
15 Q4_K_M, 32 BF16), `general.quantization_version` 2, and the vocabulary (`tokenizer.ggml.model`
`gpt2`, `.pre` `gpt-2`, `.tokens`, `.token_type`, `.merges`, `.bos_token_id`, `.eos_token_id`).
Norms and other 1-D tensors are F32. F16/BF16/Q8_0 files are convert's own output (`--outtype`);
Q4_0 and Q4_K_M are llama-quantize's output from the GGUF `--outtype auto` makes of the source
(BF16 for a BF16 source, F16 for an F32 one; that intermediate file is not in the zoo, and no
model of the zoo holds its values, so the source is the only parent the weights allow), with its
per-tensor choices: Q4_0 puts `output.weight` in Q8_0 (its Q6_K pick falls back: 64 values a row); Q4_K_M
puts Q4_K/Q6_K (`use_more_bits` layers) on `ffn_down` (rows of 256), Q6_K→Q8_0 on `attn_v` of
those layers and `output.weight`, and Q4_K→Q5_0 elsewhere. gguf-py cannot make K-quants, so
`examples/typed/kquants.py` does, following ggml's reference quantizers; every Q4_K/Q6_K tensor
is checked when written: gguf-py's dequantization equals the levels decoded independently, and
each value is the level of its sub-block's grid nearest to the source value (the type's error
bound); the per-tensor checks are in inventory.json (`kquant_checks`), the errors by type against
the source in `error_vs_parent_by_type`.
"""

READERS = """## Notes for the format and relation code

- ONNX: the dynamo exporter's optimizer folds each Linear weight's transpose into a new
  initializer named by value (`val_130`, shape [in, out] = the transpose of the Hugging Face
  weight); the embedding and the norms keep module-path names (`m.model.embed_tokens.weight`,
  `m.model.layers.0.input_layernorm.weight`). onnxruntime renames a quantized weight `W` to
  `W_quantized` + `W_scale` + `W_zero_point` feeding a DequantizeLinear: int8, zero point 0,
  axis 1 (per output channel) for MatMul weights; uint8 with one scale and a non-zero uint8 zero
  point for the embedding (the Gather's input). inventory.json maps every initializer to its Hugging Face tensor (`initializers`), found
  by exact content match on the F32/F16 export: names do not carry it.
- PEFT folders keep `base_model.model.` before the Hugging Face module path; scale = lora_alpha / r
  (no rsLoRA here). An adapter's canonical weights (as measured above) are base + ΔW, with the
  `modules_to_save` copy replacing the base's lm_head.
- `pytorch_model.bin` is `torch.save(model.state_dict())` (torch 2.13): a zip whose entries sit
  under `pytorch_model/` (`data.pkl`, `data/0` …, `byteorder`, `.format_version`,
  `.storage_alignment`); the protocol-2 pickle is a `collections.OrderedDict` of
  `torch._utils._rebuild_tensor_v2` over persistent ids `('storage', torch.FloatStorage, key,
  'cpu', numel)`; contiguous F32, no shared storages.
- Tokenizer files (`tokenizer.json`, `tokenizer_config.json`), `generation_config.json`,
  `mergekit_config.yml` and README.md are the tools' own; every model folder except adapters has a
  config.json. Files at the zoo's top level that are not models: README.md, truth.json,
  inventory.json, facts.json, make_log.json.
"""
