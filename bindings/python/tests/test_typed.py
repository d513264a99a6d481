"""Edge types through the package: the formats zoo's exports come out "quantized", as its truth
file (written by the zoo's generator) says, and value-identical copies are not edges."""
from __future__ import annotations

import json
import os

import modeltree as mt
import numpy as np
from mt_support import ROOT, st


def test_formats_zoo_edge_types_are_the_truths():
    zoo = os.path.join(ROOT, "examples", "formats_zoo")
    with open(os.path.join(zoo, "truth.json")) as f:
        truth = json.load(f)
    g = mt.recover(zoo)
    got = {(e.parent, e.child): e.type for e in g.edges}
    for e in truth["edges"]:
        assert got[(e["parent"], e["child"])] == e["type"], e
    # base.onnx is base's copy: it hangs from its stand-in, and the JSON lists it as a group.
    assert g.parent("base.onnx") == "base" and ("base", "base.onnx") not in got
    assert g.duplicates == (("base", "base.onnx"),) and json.loads(g.to_json())["duplicates"] == [["base", "base.onnx"]]


def test_typed_score_is_the_clis():
    zoo = os.path.join(ROOT, "examples", "formats_zoo")
    truth = os.path.join(zoo, "truth.json")
    g = mt.recover(zoo)
    score = g.evaluate(truth)
    with open(truth) as f:
        quantized = sum(1 for e in json.load(f)["edges"] if e["type"] == "quantized")
    assert score.type_recall("quantized") == (quantized, quantized)
    assert score.type_recall("merge") == (0, 0)
    assert score.typed_f1() == json.loads(g.render("json", score))["score"]["typed"]["f1"] == 1.0


def test_an_unmerged_adapter_hangs_from_its_base_by_an_adapter_edge(tmp_path):
    """A PEFT folder (adapter_config.json + lora_A/lora_B) whose update ΔW = B·A is built from
    `base`'s weights (B = W·Aᵀ, so ΔW = W·AᵀA: W's directions amplified, as Hu et al. 2021 §7
    measured) is the child of `base`, typed "adapter", and not of `other`, an unrelated model."""
    rng = np.random.default_rng(5)
    names = [f"layers.{k}.{p}.weight" for k in range(2) for p in ("q", "v")]
    side, r = 24, 2
    base = {n: rng.normal(0, 1, (side, side)) for n in names}
    for mid, weights in (("base", base), ("other", {n: rng.normal(0, 1, (side, side)) for n in names})):
        os.makedirs(tmp_path / mid)
        st.write(str(tmp_path / mid / "model.safetensors"),
                 {**{n: w.astype(np.float32) for n, w in weights.items()}, "norm.weight": np.ones(side, np.float32)})
    factors = {}
    for n in names:
        a = rng.normal(0, 1, (r, side))
        module = "base_model.model." + n[: -len(".weight")]
        factors[module + ".lora_A.weight"] = a.astype(np.float32)
        factors[module + ".lora_B.weight"] = (0.05 * base[n] @ a.T).astype(np.float32)
    os.makedirs(tmp_path / "adapter")
    st.write(str(tmp_path / "adapter" / "adapter_model.safetensors"), factors)
    with open(tmp_path / "adapter" / "adapter_config.json", "w") as f:
        json.dump({"peft_type": "LORA", "r": r, "lora_alpha": r, "target_modules": ["q", "v"]}, f)

    g = mt.recover(str(tmp_path))
    edge = g.edge("adapter")
    assert (edge.parent, edge.child, edge.type) == ("base", "adapter", "adapter")
    assert not edge.unsure
    assert g.parent("adapter") == "base" and g.parent("other") is None
    assert not any("different architectures" in w for w in g.warnings)
