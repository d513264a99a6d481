"""The two typed zoos, model by model: what each is made from, how, and what its card claims.

Every entry is one model (or, with "withheld", a model made but left out of the zoo). Kinds:
  pretrain      from scratch on a corpus                              -> root (or latent node)
  finetune      full fine-tune with AdamW                             -> finetune
  lora-merged   PEFT LoRA trained, merge_and_unload(), saved as a full model -> finetune
  adapter       PEFT LoRA saved un-merged with save_pretrained        -> adapter
  layer-subset  some layers of the parent copied, then distilled      -> layer-subset
  cast          the parent's weights saved in BF16                    -> quantized
  int8          LLM.int8-style row-wise absmax int8, dequantized, saved F32 -> quantized
  gguf          convert_hf_to_gguf (+ llama-quantize)                 -> quantized
  onnx          torch.onnx.export in F16 (quantized) or F32 (duplicate of the parent)
  onnx-int8     onnxruntime quantize_static QDQ of the F32 export     -> quantized
  merge         mergekit formula over the parents                     -> merge (one edge per parent)
  copy | resave | rename                                              -> duplicate of `of`

Card fields: readme = (base_model or None, base_model_relation or None) or None for no README;
name_or_path = config.json `_name_or_path`; adapter_base = what the adapter's base was loaded as
(PEFT writes it to adapter_config.json and to its README); gguf_base = a `--metadata` override
naming base models (None: gguf-py takes them from the source's model card, as convert does).
"""
from __future__ import annotations

ORG1 = "typed-zoo"
ORG2 = "typed-zoo2"

PRETRAIN = dict(steps=3000, lr=3e-3, warmup=150, wd=0.1)
FT = dict(steps=300, lr=5e-4, warmup=30, wd=0.1)
LORA_FT = dict(steps=300, lr=2e-3, warmup=30, wd=0.0)
TRAIN_SHAPE = dict(batch=32, seq=64)


def _h(org, name):
    return f"{org}/{name}"


def zoo1():
    o = ORG1
    arch = dict(vocab=384, hidden=64, inter=256, layers=4, heads=4, kv_heads=2, ctx=256)
    lm_b_data = "+".join(f"fortunes:{n}" for n in ("computers", "cookie", "people", "science", "definitions",
                                                   "songs-poems", "politics", "work", "men-women"))
    m = [
        dict(id="lm-a", kind="pretrain", corpus="pydoc", seed=11, store="F32", **PRETRAIN,
             readme=(None, None)),
        dict(id="lm-b", kind="pretrain", corpus=lm_b_data, seed=21, store="F32", withheld=True,
             **dict(PRETRAIN, steps=2500)),
        dict(id="lm-a-gpl", kind="finetune", parent="lm-a", corpus="license:GPL-3", seed=12, store="BF16",
             **FT, readme=(_h(o, "lm-a"), None), name_or_path=_h(o, "lm-a")),
        dict(id="lm-a-apache", kind="finetune", parent="lm-a", corpus="license:Apache-2.0", seed=13,
             store="BF16", **FT, readme=(_h(o, "lm-a-gpl"), "finetune"), name_or_path=_h(o, "lm-a")),
        dict(id="lm-a-lgpl", kind="lora-merged", parent="lm-a", corpus="license:LGPL-2.1", seed=14,
             store="F32", fmt="pytorch-bin", r=16, alpha=32,
             targets=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
             **LORA_FT, readme=None),
        dict(id="lm-a-gpl-gfdl", kind="finetune", parent="lm-a-gpl", corpus="license:GFDL-1.3", seed=15,
             store="BF16", fmt="safetensors-sharded", **FT, readme=([_h(o, "lm-a-gpl")], "finetune"),
             name_or_path="/home/alice/checkpoints/lm-a-gpl"),
        dict(id="lm-a-light", kind="finetune", parent="lm-a", corpus="license:CC0-1.0", seed=16, store="F32",
             steps=40, lr=2e-5, warmup=5, wd=0.1, readme=("meta-llama/Llama-3.2-1B", None)),
        dict(id="lm-a-adapter-artistic", kind="adapter", parent="lm-a", corpus="license:Artistic", seed=17,
             r=8, alpha=16, targets=["q_proj", "v_proj"], **LORA_FT, adapter_base=_h(o, "lm-a")),
        dict(id="lm-a-adapter-bsd", kind="adapter", parent="lm-a", corpus="license:BSD+license:GPL-1",
             seed=18, r=4, alpha=8, targets=["q_proj", "k_proj", "v_proj", "o_proj"],
             modules_to_save=["lm_head"], **LORA_FT, adapter_base=_h(o, "lm-a-apache")),
        dict(id="lm-a-gpl-adapter-mpl", kind="adapter", parent="lm-a-gpl", corpus="license:MPL-2.0", seed=19,
             r=8, alpha=16, targets=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
             **LORA_FT, adapter_base=_h(o, "lm-a"), drop_readme=True),
        dict(id="lm-a-F16.gguf", kind="gguf", parent="lm-a", outtype="F16"),
        dict(id="lm-a-Q8_0.gguf", kind="gguf", parent="lm-a", outtype="Q8_0",
             gguf_base=[{"name": "lm-a", "organization": o, "repo_url": f"https://huggingface.co/{o}/lm-a"}]),
        dict(id="lm-a-gpl-Q4_0.gguf", kind="gguf", parent="lm-a-gpl", outtype="Q4_0"),
        dict(id="lm-a-apache-Q4_K_M.gguf", kind="gguf", parent="lm-a-apache", outtype="Q4_K_M",
             gguf_base=[{"name": "lm-a-apache", "organization": o,
                         "repo_url": f"https://huggingface.co/{o}/lm-a-apache"}]),
        dict(id="lm-a-bf16", kind="cast", parent="lm-a", store="BF16",
             readme=(_h(o, "lm-a"), "quantized"), name_or_path=_h(o, "lm-a")),
        dict(id="lm-a-int8", kind="int8", parent="lm-a", readme=(_h(o, "lm-a"), "quantized")),
        dict(id="lm-a-lgpl-fp16.onnx", kind="onnx", parent="lm-a-lgpl", dtype="F16"),
        dict(id="lm-a-lgpl-int8.onnx", kind="onnx-int8", parent="lm-a-lgpl"),
        dict(id="merge-linear", kind="merge", method="linear", store="BF16",
             models=[("lm-a-gpl", {"weight": 0.5}), ("lm-a-apache", {"weight": 0.5})],
             readme=([_h(o, "lm-a-gpl"), _h(o, "lm-a-apache")], "merge")),
        dict(id="merge-task-arithmetic", kind="merge", method="task_arithmetic", base="lm-a", store="BF16",
             models=[("lm-a-gpl", {"weight": 0.5}), ("lm-a-lgpl", {"weight": 0.3})],
             readme=([_h(o, "lm-a-gpl"), _h(o, "lm-a-lgpl")], "merge")),
        dict(id="merge-slerp", kind="merge", method="slerp", t=0.35, store="BF16",
             models=[("lm-a-apache", {}), ("lm-a-lgpl", {})], readme=None),
        dict(id="merge-ties", kind="merge", method="ties", base="lm-a", store="BF16", normalize=False,
             models=[("lm-a-gpl", {"weight": 0.5, "density": 0.5}), ("lm-a-apache", {"weight": 0.3, "density": 0.5})],
             readme=(_h(o, "lm-a"), "merge")),
        dict(id="merge-dare", kind="merge", method="dare_ties", base="lm-a", store="BF16", seed=5,
             models=[("lm-a-apache", {"weight": 0.4, "density": 0.6}), ("lm-a-lgpl", {"weight": 0.4, "density": 0.6})],
             readme=([_h(o, "lm-a-apache"), _h(o, "lm-a-light")], "merge")),
        dict(id="lm-a-apache-copy", kind="copy", of="lm-a-apache"),
        dict(id="lm-a-gpl-gfdl-resaved", kind="resave", of="lm-a-gpl-gfdl"),
        dict(id="tiny-gpl.Q4_0.gguf", kind="rename", of="lm-a-gpl-Q4_0.gguf"),
        dict(id="lm-a-half", kind="layer-subset", parent="lm-a", layers=[0, 2], corpus="pydoc", seed=20,
             store="BF16", steps=200, lr=5e-4, warmup=20, wd=0.1, kd_weight=0.5,
             readme=(_h(o, "lm-a"), None), name_or_path=_h(o, "lm-a")),
        dict(id="lm-b-startrek", kind="finetune", parent="lm-b", corpus="fortunes:startrek", seed=22,
             store="BF16", **FT, readme=(_h(o, "lm-b"), None)),
        dict(id="lm-b-tao", kind="finetune", parent="lm-b", corpus="fortunes:tao", seed=23, store="BF16",
             **FT, readme=None, name_or_path=_h(o, "lm-b")),
        dict(id="lm-b-zippy", kind="finetune", parent="lm-b", corpus="fortunes:zippy", seed=24, store="BF16",
             **FT, readme=(_h(o, "lm-a"), None)),
        dict(id="lm-b-tao-linux", kind="finetune", parent="lm-b-tao", corpus="fortunes:linux", seed=25,
             store="BF16", **FT, readme=(_h(o, "lm-b-tao"), "finetune")),
    ]
    return dict(name="typed_zoo", org=o, arch=arch, tokenizer_corpus="pydoc+" + lm_b_data + "+license:GPL-3",
                models=m)


def zoo2():
    """Other seeds, texts and shape (3 layers, 8 query heads sharing 2 KV heads); same recipe."""
    o = ORG2
    arch = dict(vocab=320, hidden=64, inter=256, layers=3, heads=8, kv_heads=2, ctx=256)
    root_data = "+".join(f"fortunes:{n}" for n in ("art", "knghtbrd", "wisdom", "literature", "miscellaneous",
                                                   "humorists", "education", "drugs", "law", "platitudes"))
    m = [
        dict(id="fx", kind="pretrain", corpus=root_data, seed=101, store="F32", **PRETRAIN, readme=(None, None)),
        dict(id="px", kind="pretrain", corpus="pydoc", seed=201, store="F32", withheld=True,
             **dict(PRETRAIN, steps=2500)),
        dict(id="fx-food", kind="finetune", parent="fx", corpus="fortunes:food", seed=102, store="BF16", **FT,
             readme=(_h(o, "fx"), "finetune")),
        dict(id="fx-sports", kind="finetune", parent="fx", corpus="fortunes:sports", seed=103, store="F32",
             fmt="pytorch-bin", **FT, readme=None, name_or_path=_h(o, "fx")),
        dict(id="fx-kids", kind="lora-merged", parent="fx", corpus="fortunes:kids", seed=104, store="BF16",
             fmt="safetensors-sharded", r=8, alpha=16,
             targets=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
             **LORA_FT, readme=(_h(o, "fx-food"), None)),
        dict(id="fx-food-love", kind="finetune", parent="fx-food", corpus="fortunes:love", seed=105,
             store="BF16", **FT, readme=([_h(o, "fx-food")], "finetune"), name_or_path=_h(o, "fx-food")),
        dict(id="fx-light", kind="finetune", parent="fx", corpus="fortunes:riddles", seed=106, store="F32",
             steps=30, lr=3e-5, warmup=5, wd=0.1, readme=None),
        dict(id="fx-adapter-pets", kind="adapter", parent="fx", corpus="fortunes:pets", seed=107, r=4, alpha=8,
             targets=["q_proj", "v_proj"], **LORA_FT, adapter_base=_h(o, "fx")),
        dict(id="fx-adapter-magic", kind="adapter", parent="fx", corpus="fortunes:magic", seed=108, r=8, alpha=8,
             targets=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
             **LORA_FT, adapter_base="/data/models/fx-food", drop_readme=True),
        dict(id="fx-sports-adapter-news", kind="adapter", parent="fx-sports", corpus="fortunes:news", seed=109,
             r=8, alpha=16, targets=["q_proj", "k_proj", "v_proj", "o_proj"], modules_to_save=["lm_head"],
             **LORA_FT, adapter_base=_h(o, "fx-sports")),
        dict(id="fx-BF16.gguf", kind="gguf", parent="fx", outtype="BF16"),
        dict(id="fx-food-Q8_0.gguf", kind="gguf", parent="fx-food", outtype="Q8_0"),
        dict(id="fx-Q4_K_M.gguf", kind="gguf", parent="fx", outtype="Q4_K_M",
             gguf_base=[{"name": "fx", "organization": o, "repo_url": f"https://huggingface.co/{o}/fx"}]),
        dict(id="fx-food-Q4_0.gguf", kind="gguf", parent="fx-food", outtype="Q4_0", quantize_from="F32",
             gguf_base=[{"name": "fx-sports", "organization": o, "repo_url": f"https://huggingface.co/{o}/fx-sports"}]),
        dict(id="fx-sports-F16.gguf", kind="gguf", parent="fx-sports", outtype="F16"),
        dict(id="fx-sports-bf16", kind="cast", parent="fx-sports", store="BF16",
             readme=(_h(o, "fx-sports"), "quantized")),
        dict(id="fx-int8", kind="int8", parent="fx", readme=(_h(o, "fx"), "quantized"), name_or_path=_h(o, "fx")),
        dict(id="fx-light.onnx", kind="onnx", parent="fx-light", dtype="F32"),
        dict(id="fx-food-love-int8.onnx", kind="onnx-int8", parent="fx-food-love"),
        dict(id="mix-linear", kind="merge", method="linear", store="BF16",
             models=[("fx-food", {"weight": 0.7}), ("fx-sports", {"weight": 0.3})],
             readme=([_h(o, "fx-food"), _h(o, "fx-sports")], "merge")),
        dict(id="mix-task-arithmetic", kind="merge", method="task_arithmetic", base="fx", store="BF16",
             models=[("fx-sports", {"weight": 0.4}), ("fx-kids", {"weight": 0.3}), ("fx-food", {"weight": 0.1})],
             readme=(_h(o, "fx"), "merge")),
        dict(id="mix-slerp", kind="merge", method="slerp", t=0.6, store="BF16",
             models=[("fx-food", {}), ("fx-kids", {})],
             readme=([_h(o, "fx-food"), _h(o, "fx-sports")], "merge")),
        dict(id="mix-ties", kind="merge", method="ties", base="fx", store="BF16",
             models=[("fx-food", {"weight": 0.5, "density": 0.7}), ("fx-sports", {"weight": 0.5, "density": 0.7})],
             readme=None),
        dict(id="mix-dare-linear", kind="merge", method="dare_linear", base="fx", store="BF16", seed=9,
             models=[("fx-kids", {"weight": 0.5, "density": 0.5}), ("fx-food", {"weight": 0.3, "density": 0.5})],
             readme=([_h(o, "fx-kids"), _h(o, "fx-food")], "merge")),
        dict(id="fx-food-copy", kind="copy", of="fx-food"),
        dict(id="fx-kids-resaved", kind="resave", of="fx-kids"),
        dict(id="fx-Q4_K_M-renamed.gguf", kind="rename", of="fx-Q4_K_M.gguf"),
        dict(id="fx-half", kind="layer-subset", parent="fx", layers=[0, 2], corpus=root_data, seed=110,
             store="BF16", steps=200, lr=5e-4, warmup=20, wd=0.1, kd_weight=0.5,
             readme=("teknium/OpenHermes-2.5-Mistral-7B", None)),
        dict(id="px-gpl2", kind="finetune", parent="px", corpus="license:GPL-2", seed=202, store="BF16", **FT,
             readme=(_h(o, "px"), None), name_or_path=_h(o, "px")),
        dict(id="px-lgpl2", kind="finetune", parent="px", corpus="license:LGPL-2", seed=203, store="BF16", **FT,
             readme=([_h(o, "fx")], "finetune")),
        dict(id="px-mpl11", kind="finetune", parent="px", corpus="license:MPL-1.1", seed=204, store="BF16", **FT,
             readme=None),
        dict(id="px-gfdl12", kind="finetune", parent="px", corpus="license:GFDL-1.2", seed=205, store="BF16", **FT,
             readme=(_h(o, "px"), "finetune")),
        dict(id="px-gpl2-Q8_0.gguf", kind="gguf", parent="px-gpl2", outtype="Q8_0"),
    ]
    return dict(name="typed_zoo2", org=o, arch=arch, tokenizer_corpus="pydoc+" + root_data + "+license:GPL-2",
                models=m)


ORG_F = "formats-zoo"
FORMATS_FT = dict(steps=400, lr=1e-3, warmup=40, wd=0.1)


def formats():
    """Issue 11's collection: one base, its GGUF exports (F16, Q8_0, Q4_0, Q4_K_M; the last two
    llama-quantize'd from an F32 GGUF, so that the base is their only possible parent: from the F16
    GGUF they would hold values base-F16.gguf holds too), two fine-tunes
    (one a torch.save pytorch_model.bin), an F32 ONNX export of the base (value-identical: a
    duplicate) and an onnxruntime int8 export of the .bin fine-tune (quantized). Small on purpose:
    2 layers, 4 query heads sharing 2 KV heads (so k is permuted with n_head_kv != n_head)."""
    o = ORG_F
    arch = dict(vocab=320, hidden=64, inter=256, layers=2, heads=4, kv_heads=2, ctx=256)
    m = [
        dict(id="base", kind="pretrain", corpus="pydoc", seed=301, store="F32",
             steps=1500, lr=3e-3, warmup=100, wd=0.1, readme=(None, None)),
        dict(id="base-ft-gpl", kind="finetune", parent="base", corpus="license:GPL-3", seed=302, store="F32",
             **FORMATS_FT, readme=(_h(o, "base"), "finetune")),
        dict(id="base-ft-apache-bin", kind="finetune", parent="base", corpus="license:Apache-2.0", seed=303,
             store="F32", fmt="pytorch-bin", **FORMATS_FT, readme=None, name_or_path=_h(o, "base")),
        dict(id="base-F16.gguf", kind="gguf", parent="base", outtype="F16"),
        dict(id="base-Q8_0.gguf", kind="gguf", parent="base", outtype="Q8_0"),
        dict(id="base-Q4_0.gguf", kind="gguf", parent="base", outtype="Q4_0", quantize_from="F32",
             gguf_base=[{"name": "base", "organization": o, "repo_url": f"https://huggingface.co/{o}/base"}]),
        dict(id="base-Q4_K_M.gguf", kind="gguf", parent="base", outtype="Q4_K_M", quantize_from="F32"),
        dict(id="base.onnx", kind="onnx", parent="base", dtype="F32"),
        dict(id="base-ft-apache-bin-int8.onnx", kind="onnx-int8", parent="base-ft-apache-bin"),
    ]
    return dict(name="formats_zoo", org=o, arch=arch, tokenizer_corpus="pydoc+license:GPL-3+license:Apache-2.0",
                models=m)
