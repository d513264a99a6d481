"""Edge types through the package: the formats zoo's exports come out "quantized", as its truth
file (written by the zoo's generator) says, and value-identical copies are not edges."""
from __future__ import annotations

import json
import os

import modeltree as mt
from mt_support import ROOT


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
