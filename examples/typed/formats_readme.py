"""examples/formats_zoo/README.md and the distances it reports, from what make_formats_zoo.py made.

    tensor_distances(zoo, truth)   facts.export_gap over the values read back from the files by
                                   gguf-py / onnx / torch / safetensors (Hugging Face names, GGUF
                                   q/k un-permuted, ONNX initializers mapped and transposed back)
    write(path, zoo, truth, measured, env)
"""
from __future__ import annotations

import os

from . import canonical, facts, readme


def tensor_distances(zoo, truth: dict) -> dict:
    """facts.export_gap over the values read back from the files of the zoo just written."""
    values = {mid: canonical.load(zoo.paths[mid], zoo.formats[mid], zoo.arch, onnx_names=zoo.onnx_names.get(mid))
              for mid in zoo.inventory}
    return facts.export_gap(truth, values)


def _size(path: str) -> int:
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)


def _short(name: str) -> str:
    return (name.replace("model.layers.", "L").replace("self_attn.", "").replace("mlp.", "")
            .replace(".weight", "").replace("model.", ""))


def write(path: str, zoo, truth: dict, measured: dict, env: dict) -> None:
    """`env`: the Python and package versions the run used (make_typed_zoo.environment())."""
    inv, a, spec = zoo.inventory, zoo.arch, zoo.spec
    top = os.path.dirname(path)
    by_id = {m["id"]: m for m in spec["models"]}
    L = [f"""# Formats zoo: one base model and its exports in GGUF, PyTorch .bin and ONNX (issue 11)

{len(inv)} models made by `examples/make_formats_zoo.py` with the ecosystem's own tools, the
collection issue 11's "Done when" names: a small Llama-architecture base as safetensors, its GGUF
F16, Q8_0, Q4_0 and Q4_K_M exports (gguf-py, written as llama.cpp's `convert_hf_to_gguf.py` and
`llama-quantize` write them: GGUF tensor names, q/k rows permuted), two fine-tunes of the base (one
saved by `torch.save` as `pytorch_model.bin`), an ONNX export of the base (`torch.onnx.export`,
F32) and an int8 ONNX export of the `.bin` fine-tune (onnxruntime's `quantize_static`). The typed
truth is `truth.json` (format in the team brief); `inventory.json` says for every model its format,
relation and how it was made (GGUF tensor types, ONNX initializer → Hugging Face tensor map);
`facts.json` holds the distances below tensor by tensor; `make_log.json` the environment, the
corpora (with SHA-256), every step's parameters, losses and time, and the SHA-256 of every file.

Regenerate (from the repository root; CPU only, one thread):

    python3 -m venv /tmp/zoo-venv
    /tmp/zoo-venv/bin/pip install /opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl
    /tmp/zoo-venv/bin/pip install -r examples/typed/requirements.txt
    /tmp/zoo-venv/bin/python examples/make_formats_zoo.py

It takes a few minutes on the shared 2-core machine (make_log.json records the run's times).
Made with Python {env['python']}, {", ".join(f"{k} {v}" for k, v in env["packages"].items() if v)}
(examples/typed/requirements.txt); with these versions every file but make_log.json comes out
byte for byte the same (make_log.json lists their SHA-256). To check the files with the
ecosystem's own loaders (transformers' `from_pretrained` for safetensors and `.bin`, transformers'
GGUF loader against gguf-py's dequantization + un-permutation, onnxruntime running the ONNX files
against the source model's logits):

    /tmp/zoo-venv/bin/python examples/make_formats_zoo.py --out /tmp/check
    diff -r -x make_log.json /tmp/check examples/formats_zoo
    /tmp/zoo-venv/bin/python examples/typed/check_zoo.py examples/formats_zoo

## Architecture and data

`LlamaForCausalLM` (transformers `LlamaConfig`): hidden {a['hidden']}, {a['layers']} layers,
{a['heads']} attention heads sharing {a['kv_heads']} KV heads (GQA, head dim {a['hidden'] // a['heads']}: `attn_k`
is permuted with `n_head_kv` = {a['kv_heads']} ≠ `n_head` = {a['heads']}), MLP {a['inter']} (SiLU-gated),
RMSNorm, RoPE θ 10000, untied `lm_head`, context {a['ctx']}; a byte-level BPE tokenizer with
{a['vocab']} tokens trained (HF tokenizers) on `{spec['tokenizer_corpus']}`. Texts (no internet;
files shipped by Debian bookworm, SHA-256 checked before use): `pydoc` = Python's reference
documentation (`pydoc_data/topics.py` of libpython3.11-stdlib, read with `ast`, never executed);
`license:X` = `/usr/share/common-licenses/X`. Training: AdamW (β 0.9/0.95, weight decay on
matrices), linear warm-up then cosine to 0, batches of 32 random windows of 64 tokens, one thread,
`torch.use_deterministic_algorithms(True)`. The base is pre-trained from a seed for
{by_id['base']['steps']} steps (peak lr {by_id['base']['lr']}); each fine-tune starts from the base's
stored values and trains {by_id['base-ft-gpl']['steps']} steps (peak lr {by_id['base-ft-gpl']['lr']}) on one licence text.
"""]
    L.append("## Files\n")
    L.append("| model | format | relation | source | how it was made | size |")
    L.append("|---|---|---|---|---|---|")
    parent = {e["child"]: e["parent"] for e in truth["edges"]}
    for g in truth["duplicates"]:
        for mid in g[1:]:
            parent[mid] = f"= {g[0]}"
    for mid, e in inv.items():
        fmt = e["format"] + (" " + e["dtype"] if e.get("dtype") else "")
        if e["format"] == "gguf":
            fmt += " (" + ", ".join(e["ggml_types"]) + ")"
        files = sorted(os.listdir(os.path.join(top, mid))) if os.path.isdir(os.path.join(top, mid)) else []
        how = e["how"] + (f"; files: {', '.join(files)}" if files else "")
        L.append(f"| `{mid}` | {fmt} | {e['relation']} | {parent.get(mid, '—')} | {how} | "
                 f"{_size(os.path.join(top, mid)) / 1024:.0f} KiB |")
    total = sum(_size(os.path.join(top, mid)) for mid in inv)
    L.append(f"\nTotal {total / 2 ** 20:.2f} MiB of model files.\n")
    gguf_types = {mid: e["tensor_types"] for mid, e in inv.items() if e["format"] == "gguf"}
    L.append("GGUF tensor types (`llama-quantize`'s per-tensor choice: at hidden size 64 only `ffn_down`, "
             "whose rows are 256 long, can hold a K-quant; elsewhere Q4_K falls back to Q5_0 and Q6_K to "
             "Q8_0, as llama-quantize does for real models with odd widths):\n")
    names = sorted({g for t in gguf_types.values() for g in t})
    L.append("| GGUF tensor | " + " | ".join(f"`{m}`" for m in gguf_types) + " |")
    L.append("|---|" + "---|" * len(gguf_types))
    for g in names:
        L.append(f"| `{g}` | " + " | ".join(t.get(g, "") for t in gguf_types.values()) + " |")
    L.append("")

    L.append("## Truth\n")
    L.append(f"`truth.json`: edges {[(e['parent'], e['child'], e['type']) for e in truth['edges']]}, "
             f"roots {truth['roots']}, duplicates {truth['duplicates']}, {len(truth['claims'])} claims "
             f"(verdicts by the typed zoos' rule), unclaimed {truth['unclaimed']}.\n")
    L.append("The F32 ONNX export `base.onnx` holds exactly the base's values (every initializer equals "
             "a base tensor or its transpose), so by the typed truth contract it is a **duplicate** of "
             "`base`, not a quantized child (the typed zoos' convention; a quantized edge would claim a "
             "direction the weights cannot show). The int8 ONNX export is the quantized ONNX edge.\n")

    t = measured["tensors"]
    L.append("## Distances (numpy over the values read back from the files)\n")
    L.append("Each pair's RMS of the difference under the Hugging Face names (GGUF dequantized by "
             "gguf-py, renamed back and q/k un-permuted; ONNX initializers mapped back by content and "
             "transposed back; `.bin` by `torch.load(weights_only=True)`), relative to the source's RMS. "
             f"Whole models (all {len(canonical.hf_names(a))} tensors together):\n")
    L.append("| kind | source | model | RMS(model − source) | relative | largest tensor relative | smallest tensor relative |")
    L.append("|---|---|---|---|---|---|---|")
    for p in t["pairs"]:
        L.append(f"| {p['kind']} | `{p['source']}` | `{p['model']}` | {p['rms']:.3g} | {p['rel']:.3g} | "
                 f"{p['max_tensor_rel']:.3g} | {p['min_tensor_rel']:.3g} |")
    L.append(f"\nThe farthest export is {t['worst_export_rel']:.3g} (relative) from its source; the "
             f"closest fine-tune is {t['closest_finetune_rel']:.3g} from the model it is compared with "
             f"({t['closest_finetune_rel'] / t['worst_export_rel']:.1f}×). The generator refuses to write "
             "the zoo unless that factor is at least 2.\n")
    L.append("Tensor by tensor (relative RMS; L = `model.layers.`):\n")
    cols = t["pairs"]
    L.append("| tensor | " + " | ".join(f"`{p['model']}` vs `{p['source']}`" for p in cols) + " |")
    L.append("|---|" + "---|" * len(cols))
    for n in canonical.hf_names(a):
        L.append(f"| `{_short(n)}` | " + " | ".join(f"{p['tensors'][n]['rel']:.3g}" for p in cols) + " |")
    L.append("")
    gguf_part = readme.RECIPES.format(pre=None, **readme._recipe_numbers(zoo)).split("### GGUF", 1)[1]
    gguf_part = gguf_part.split("Q4_0 and Q4_K_M are llama-quantize's output", 1)[0]
    L.append("## How the GGUF files were written" + gguf_part + """Q4_0 and Q4_K_M are llama-quantize's
output from the GGUF `convert_hf_to_gguf.py --outtype f32` writes (that intermediate file holds the
base's own values and is not in the collection), so the base is their only possible parent; from
the usual F16 intermediate they would hold values `base-F16.gguf` holds too and the weights could
not tell which of the two is their parent. llama-quantize's per-tensor choices are in the table
above. gguf-py cannot make K-quants, so `examples/typed/kquants.py` does, following ggml's
reference quantizers; every Q4_K/Q6_K tensor is checked when written (gguf-py's dequantization
equals the levels decoded independently, each value is its sub-block grid's level nearest to the
source value), recorded in inventory.json (`kquant_checks`).
""")
    L.append("""## Notes for the readers

- `base-ft-apache-bin/pytorch_model.bin` is `torch.save(model.state_dict())` (torch 2.13's zip:
  entries under `pytorch_model/`: `data.pkl`, `data/0` …, `byteorder`, `.format_version`,
  `.storage_alignment`); the protocol-2 pickle is a `collections.OrderedDict` of
  `torch._utils._rebuild_tensor_v2` over persistent ids `('storage', torch.FloatStorage, key,
  'cpu', numel)`; contiguous F32, no shared storages. Its folder has config.json,
  generation_config.json and the tokenizer, no safetensors.
- ONNX (`torch.onnx.export`, dynamo exporter, opset 18): the exporter's optimizer folds each Linear
  weight's transpose into a new initializer named by value (`val_N`, shape [in, out], the transpose
  of the Hugging Face weight); the embedding and the norms keep module-path names
  (`m.model.embed_tokens.weight`). onnxruntime's quantizer renames a weight `W` to `W_quantized`
  (int8, zero point 0, per output channel: DequantizeLinear axis 1) + `W_scale` + `W_zero_point`;
  the embedding (a Gather input) is uint8 with one scale and a non-zero zero point.
  inventory.json's `initializers` maps every initializer to its Hugging Face tensor, found by
  exact content match on the F32 export: the names do not carry it. The other initializers
  (`m.model.rotary_emb.inv_freq`, small constants such as `val_4`, `zeros`, `new_ones`, the
  activations' scales and zero points) are no weights of the model.
- GGUF claims: `base-Q4_0.gguf` carries `general.base_model.0.*` naming `formats-zoo/base` (a
  `--metadata` override); the other GGUF files inherit the base's model card, which claims nothing.
""")
    with open(path, "w") as f:
        f.write("\n".join(L).rstrip() + "\n")
