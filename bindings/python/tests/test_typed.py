"""Edge types through the package: the formats zoo's exports come out "quantized", as its truth
file (written by the zoo's generator) says, and value-identical copies are not edges."""
from __future__ import annotations

import json
import os

import modeltree as mt
import numpy as np
from mt_support import ROOT, recover_json, st


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


def test_raw_confidence_is_the_clis():
    """Edge.raw_confidence (and the networkx attribute) is the CLI's JSON `raw_confidence` for the
    same edge, exactly; the calibration moves some edge's value, so it is not `confidence`."""
    zoo = os.path.join(ROOT, "examples", "formats_zoo")
    g = mt.recover(zoo)
    cli = {(e["parent"], e["child"]): (e["raw_confidence"], e["confidence"]) for e in recover_json(zoo)["edges"]}
    assert {(e.parent, e.child) for e in g.edges} == set(cli)
    for e in g.edges:
        assert (e.raw_confidence, e.confidence) == cli[(e.parent, e.child)], e
        assert 0 <= e.raw_confidence <= 1
    assert any(e.raw_confidence != e.confidence for e in g.edges)
    d = g.to_networkx()
    assert all(d.edges[e.parent, e.child]["raw_confidence"] == e.raw_confidence for e in g.edges)


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
    # Unsure or not as the adapter family's calibrated confidence says (the development zoos
    # measure how often adapter edges are right; tools/calibrate.py).
    assert edge.unsure == (edge.confidence < g.unsure_threshold)
    assert g.parent("adapter") == "base" and g.parent("other") is None
    assert not any("different architectures" in w for w in g.warnings)


def _merge_family(seed: int = 0):
    """Four fine-tunes of a base (Laplace weights, F32) and two merges with known coefficients:
    a linear 0.5 / 0.5 of ft0 and ft1, and task arithmetic base + 0.5 τ₀ + 0.3 τ₂ (the base's
    coefficient 0.2)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    names = [f"l{i}.{p}" for i in range(2) for p in ("q", "k", "v")]
    base = {n: (rng.laplace(size=(40, 40)) * 0.035).astype(np.float32) for n in names}
    ft = [{n: (base[n] + rng.laplace(size=(40, 40)) * 0.003).astype(np.float32) for n in names} for _ in range(4)]
    comb = lambda parts: {n: sum(c * m[n].astype(np.float64) for c, m in parts).astype(np.float32) for n in names}
    models = {"base": base, **{f"ft{k}": m for k, m in enumerate(ft)},
              "linear": comb([(0.5, ft[0]), (0.5, ft[1])]),
              "task-arithmetic": comb([(0.2, base), (0.5, ft[0]), (0.3, ft[2])])}
    return models, names


def _affine_fit(child, parents, names):
    """Least squares child ≈ Σ cᵢ Pᵢ with Σ cᵢ = 1 on the flattened weights, each tensor weighted
    by 1 / its size (the library's mean over tensors of mean squares): numpy, independently."""
    import numpy as np

    def flat(m):
        return np.concatenate([m[n].astype(np.float64).ravel() / np.sqrt(m[n].size) for n in names])

    r = flat(parents[0])
    a = np.stack([flat(p) - r for p in parents[1:]], axis=1)
    coef, *_ = np.linalg.lstsq(a, flat(child) - r, rcond=None)
    return [1 - coef.sum(), *coef]


def test_graph_edges_list_each_merge_parent_with_its_coefficient():
    models, names = _merge_family()
    g = mt.recover(models)
    want = {"linear": ["ft0", "ft1"], "task-arithmetic": ["base", "ft0", "ft2"]}
    for child, parents in want.items():
        into = [e for e in g.edges if e.child == child]
        assert sorted(e.parent for e in into) == sorted(parents) and all(e.type == "merge" for e in into)
        fitted = dict(zip(parents, _affine_fit(models[child], [models[p] for p in parents], names)))
        for e in into:
            assert abs(e.coefficient - fitted[e.parent]) < 1e-4, (e, fitted)
            assert e.residual_ratio is not None and e.residual_ratio < 0.25
        # The primary edge (Graph.parent, Graph.edge) is the largest coefficient's.
        assert g.parent(child) == max(into, key=lambda e: e.coefficient).parent == g.edge(child).parent
        assert abs(sum(e.coefficient for e in into) - 1) < 1e-9
    others = [e for e in g.edges if e.child not in want]
    assert {(e.parent, e.child) for e in others} == {("base", f"ft{k}") for k in range(4)}
    assert all(e.type == "finetune" and e.coefficient is None and e.residual_ratio is None for e in others)
    doc = json.loads(g.to_json())
    assert [(e["parent"], e["child"], e.get("coefficient")) for e in doc["edges"]] == \
        [(e.parent, e.child, e.coefficient) for e in g.edges]


def test_to_networkx_is_the_edge_list():
    import networkx as nx

    models, _ = _merge_family(1)
    g = mt.recover(models)
    d = g.to_networkx()
    assert set(d.nodes) == set(g.ids) and nx.is_directed_acyclic_graph(d)
    assert sorted(d.edges) == sorted((e.parent, e.child) for e in g.edges)
    for e in g.edges:
        attrs = d.edges[e.parent, e.child]
        assert attrs["type"] == e.type and attrs["distance"] == e.distance and attrs["confidence"] == e.confidence
        assert attrs.get("coefficient") == e.coefficient
    assert d.in_degree("task-arithmetic") == 3 and d.in_degree("linear") == 2
    # The roots are the nodes without a parent, as networkx counts them.
    assert sorted(n for n in d.nodes if d.in_degree(n) == 0) == sorted(g.roots)
