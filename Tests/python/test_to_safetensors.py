"""tools/to_safetensors.py, the converter that lets the paper's safetensors-only method read the
zoos as published: each converted model holds exactly the values the CLI reads from the original
file (its own GGUF, ONNX and pickle readers, an independent implementation): given both side by
side, the CLI finds them value-identical (a duplicate group) — which a q/k permutation left in
place or another dequantisation would prevent. An ONNX export's linear weights are anonymous (the
CLI matches them by content to whatever model is beside them), so their names and orientation
are checked against the model the zoo exported them from. An adapter merged by the converter
equals peft's merge_and_unload. Each case skips when its format's library (gguf, onnx, torch,
peft) is missing."""
from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest

from conftest import ROOT, recover_json, st

sys.path.insert(0, os.path.join(ROOT, "tools"))
import to_safetensors  # noqa: E402

FORMATS = os.path.join(ROOT, "examples", "formats_zoo")
TYPED = os.path.join(ROOT, "examples", "typed_zoo")


@pytest.mark.parametrize("zoo, model, library, source", [
    (FORMATS, "base-Q4_K_M.gguf", "gguf", None),     # k-quants, q/k rows permuted by llama.cpp
    (FORMATS, "base-F16.gguf", "gguf", None),
    (FORMATS, "base-ft-apache-bin-int8.onnx", "onnx", "base-ft-apache-bin"),   # DequantizeLinear
    (FORMATS, "base.onnx", "onnx", "base"),
    (TYPED, "lm-a-lgpl-fp16.onnx", "onnx", "lm-a-lgpl"),
    (TYPED, "lm-a-lgpl", "torch", None),             # a pytorch_model.bin folder
])
def test_converted_values_are_the_clis_reading(zoo, model, library, source, tmp_path):
    pytest.importorskip(library)
    converted = tmp_path / "converted"
    to_safetensors.convert_model(os.path.join(zoo, model), str(converted))
    folder = tmp_path / "side-by-side"
    folder.mkdir()
    original = "original" + os.path.splitext(model)[1]
    os.symlink(os.path.join(zoo, model), folder / original)
    os.symlink(converted, folder / "converted")
    doc = recover_json(str(folder))
    assert doc["duplicates"] == [sorted(["converted", original])], (doc["duplicates"], doc["edges"])
    tensors = st.load_model(str(converted / "model.safetensors"))
    assert set(doc["tensors"]) <= set(tensors)
    if source:
        # Each tensor is its source's, by name and orientation, up to the export's rounding (int8:
        # a per-channel step; a misnamed or untransposed weight would be as far as unrelated ones).
        pytest.importorskip("torch")
        want = to_safetensors.read_bin(os.path.join(zoo, source, "pytorch_model.bin")) if not os.path.exists(
            os.path.join(zoo, source, "model.safetensors")) else st.load_model(os.path.join(zoo, source))
        for name, w in want.items():
            if w.ndim == 2 and name in tensors:
                assert tensors[name].shape == w.shape, name
                rel = np.sqrt(np.mean((tensors[name] - w) ** 2) / np.mean(w.astype(np.float64) ** 2))
                assert rel < 0.02, (name, rel)
        assert sum(1 for n in want if "layers.0." in n and n in tensors) >= 7


def test_merged_adapter_is_pefts_merge_and_unload(tmp_path):
    pytest.importorskip("peft")
    transformers = pytest.importorskip("transformers")
    from peft import PeftModel

    adapter, base = os.path.join(TYPED, "lm-a-adapter-bsd"), os.path.join(TYPED, "lm-a-apache")
    with open(os.path.join(adapter, "adapter_config.json")) as f:
        assert json.load(f)["base_model_name_or_path"].endswith("/lm-a-apache")
    ours = to_safetensors.merge_adapter(adapter, to_safetensors.read_safetensors_folder(base))
    model = transformers.AutoModelForCausalLM.from_pretrained(base, torch_dtype="float32")
    merged = PeftModel.from_pretrained(model, adapter).merge_and_unload().state_dict()
    compared = 0
    for name, value in merged.items():
        if name in ours:
            want = value.float().numpy()
            assert np.allclose(ours[name], want, rtol=1e-5, atol=1e-6), name
            compared += 1
    assert compared >= 2 * 4 and "lm_head.weight" in ours     # q/k/v/o of each layer, and modules_to_save


def test_an_adapter_whose_claimed_base_is_absent_is_left_out(tmp_path):
    pytest.importorskip("safetensors")
    pytest.importorskip("torch")
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    os.symlink(os.path.join(TYPED, "lm-a"), zoo / "lm-a")
    os.symlink(os.path.join(TYPED, "lm-a-adapter-bsd"), zoo / "lm-a-adapter-bsd")   # claims lm-a-apache
    os.symlink(os.path.join(TYPED, "lm-a-adapter-artistic"), zoo / "lm-a-adapter-artistic")   # claims lm-a
    report = to_safetensors.convert(str(zoo), str(tmp_path / "out"))
    assert report["lm-a-adapter-bsd"].startswith("adapter (left out")
    assert report["lm-a-adapter-artistic"] == "adapter (merged into its claimed base lm-a)"
    assert sorted(os.listdir(tmp_path / "out")) == ["lm-a", "lm-a-adapter-artistic"]
