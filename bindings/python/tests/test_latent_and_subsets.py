"""Latent parents and layer subsets through the package, on families made here with numpy (the
truth is the construction): Graph.latent, Graph.is_latent, Edge.layers, the JSON document and
to_networkx agree with it."""
from __future__ import annotations

import json
import math

import numpy as np

import modeltree as mt

NAMES = ("l0.q", "l0.v", "l1.q", "l1.v")


def fine_tunes_of_a_withheld_base(seed: int = 3, with_base: bool = False) -> dict[str, dict[str, np.ndarray]]:
    """Four fine-tunes (independent dense updates of about one size) of a random base."""
    rng = np.random.default_rng(seed)
    base = {n: rng.laplace(0, 0.05, (32, 32)).astype(np.float32) for n in NAMES}
    models = {f"k{i}": {n: (w + rng.normal(0, s, w.shape)).astype(np.float32) for n, w in base.items()}
              for i, s in enumerate((0.018, 0.02, 0.021, 0.023))}
    if with_base:
        models["base"] = base
    return models


def test_siblings_of_a_withheld_base_hang_from_a_latent_node():
    g = mt.recover(fine_tunes_of_a_withheld_base())
    assert g.latent == ("latent-1",)
    assert g.ids[-1] == "latent-1" and g.is_latent("latent-1") and not g.is_latent("k0")
    assert g.paths["latent-1"] is None and math.isnan(g.kurtosis["latent-1"])
    assert {k: g.parent(k) for k in ("k0", "k1", "k2", "k3")} == dict.fromkeys(("k0", "k1", "k2", "k3"), "latent-1")
    assert g.parent("latent-1") is None and g.roots == ("latent-1",)
    doc = g.to_dict()
    assert [m.get("latent", False) for m in doc["models"]] == [False] * 4 + [True]
    assert doc["models"][-1]["evidence"]["triangles"] >= 1
    nx_graph = g.to_networkx()
    assert nx_graph.nodes["latent-1"]["latent"] and not nx_graph.nodes["k2"]["latent"]
    score = g.evaluate({"edges": [], "latent": [{"children": ["k0", "k1", "k2", "k3"]}]})
    assert score.typed_f1() == 1.0


def test_no_latent_node_when_the_base_is_given():
    g = mt.recover(fine_tunes_of_a_withheld_base(with_base=True))
    assert g.latent == ()
    assert {k: g.parent(k) for k in ("k0", "k1", "k2", "k3")} == dict.fromkeys(("k0", "k1", "k2", "k3"), "base")
    assert all(e.layers is None for e in g.edges)


def test_a_student_cut_from_its_teachers_layers_is_a_layer_subset():
    rng = np.random.default_rng(5)
    def layer_tensors(prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}.attn.q.weight": rng.normal(0, 0.05, (32, 32)), f"{prefix}.mlp.up.weight": rng.normal(0, 0.05, (64, 32))}
    teacher = {"embed.weight": rng.normal(0, 0.05, (40, 32))}
    for layer in range(4):
        teacher.update(layer_tensors(f"layers.{layer}"))
    student = {"embed.weight": teacher["embed.weight"]}
    for child, parent in enumerate((0, 2)):
        for suffix in ("attn.q.weight", "mlp.up.weight"):
            student[f"layers.{child}.{suffix}"] = teacher[f"layers.{parent}.{suffix}"]
    student = {n: (w + rng.normal(0, 0.02, w.shape)).astype(np.float32) for n, w in student.items()}
    teacher = {n: w.astype(np.float32) for n, w in teacher.items()}
    g = mt.recover({"teacher": teacher, "student": student})
    edge = g.edge("student")
    assert (edge.parent, edge.type, edge.layers) == ("teacher", "layer-subset", ((0, 0), (1, 2)))
    assert [e["layers"] for e in json.loads(g.to_json())["edges"]] == [[[0, 0], [1, 2]]]
    assert g.to_networkx().edges["teacher", "student"]["layers"] == ((0, 0), (1, 2))
    assert g._raw.edge_layer_count(g.ids.index("student")) == 2
    assert g._raw.edge_layer_count(g.ids.index("teacher")) == 0 and g._raw.edge_layers(g.ids.index("teacher")) == ()
