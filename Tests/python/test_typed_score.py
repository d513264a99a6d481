"""--truth with typed truth files (the team's contract: typed edges, duplicate groups, latent
nodes, claims) scored against a brute-force scorer written in plain Python from the contract's
words (tools/typed_score.py, which also scores the paper's method's graphs for the README):
parent, child and type right; a model stands for either copy of its true duplicate group; a
latent node is known by its children. The recovered side is the CLI's own JSON (edges and
duplicate groups); the truths are the zoos' and random variants of them."""
from __future__ import annotations

import json
import os
import random

import pytest

from conftest import ROOT, recover_json, run_cli
from typed_score import TYPES, score

TYPED_ZOOS = [os.path.join(ROOT, "examples", z) for z in ("formats_zoo", "typed_zoo2")]


def check(zoo: str, truth: dict, truth_path: str):
    with open(truth_path, "w") as f:
        json.dump(truth, f)
    doc = recover_json(zoo, "--truth", truth_path)
    typed = doc["score"]["typed"]
    ours = score(truth, doc)
    expected = ours["typed"]
    assert (typed["correct"], typed["true"], typed["reported"]) == (expected["correct"], expected["true"], expected["reported"])
    assert {t["type"]: (t["correct"], t["total"]) for t in typed["types"]} == expected["types"]
    for key in ("precision", "recall", "f1"):
        assert typed[key] == pytest.approx(expected[key]), key
    assert (doc["score"]["correct"], doc["score"]["total"]) == (ours["correct"], ours["total"])
    assert doc["score"]["ari"] == pytest.approx(ours["ari"])
    return doc, expected


@pytest.mark.parametrize("zoo", TYPED_ZOOS, ids=["formats_zoo", "typed_zoo2"])
def test_zoo_truth_scores_as_the_brute_force(zoo, tmp_path):
    with open(os.path.join(zoo, "truth.json")) as f:
        truth = json.load(f)
    # check() also holds the old fields to their meaning: a true edge is right when its child's
    # primary parent is its parent (typed_score.untyped), and the families' ARI.
    doc, expected = check(zoo, truth, str(tmp_path / "truth.json"))
    assert doc["score"]["total"] == len(truth["edges"]) and expected["true"] > 0


@pytest.mark.parametrize("zoo", TYPED_ZOOS, ids=["formats_zoo", "typed_zoo2"])
def test_random_typed_truths_score_as_the_brute_force(zoo, tmp_path):
    """Truths made from the recovered graph itself, with random types, duplicate groups and a
    latent node, so that many relations match and every rule of the matching is exercised."""
    doc = recover_json(zoo)
    ids = [m["id"] for m in doc["models"]]
    grouped = {m for g in doc.get("duplicates", []) for m in g}
    rng = random.Random(12)
    for trial in range(8):
        edges, children = [], {}
        for e in doc["edges"]:
            if e["parent"] in grouped and e["child"] in grouped and any(
                    e["parent"] in g and e["child"] in g for g in doc.get("duplicates", [])):
                continue
            children.setdefault(e["parent"], []).append(e["child"])
            if e["type"] == "merge":    # a merge's edges stay a merge (a child with two parents is one)
                edges.append({"parent": e["parent"], "child": e["child"], "type": "merge"})
                continue
            t = e["type"] if rng.random() < 0.6 else rng.choice(TYPES[:3])
            edges.append({"parent": e["parent"], "child": e["child"], "type": t} if rng.random() < 0.8 else [e["parent"], e["child"]])
        truth = {"edges": edges, "roots": []}
        # A latent node: a parent with two or more children withheld, its children's edges removed.
        forks = sorted(p for p, cs in children.items() if len(cs) >= 2)
        if forks and trial % 2 == 0:
            p = rng.choice(forks)
            node = {"children": children[p]}
            kept = [e for e in edges if (e[1] if isinstance(e, list) else e["child"]) not in children[p]]
            has_parent = {(e[1] if isinstance(e, list) else e["child"]) for e in kept}
            if p not in has_parent or rng.random() < 0.5:
                node["parent"] = p
            truth["edges"], truth["latent"] = kept, [node]
        # Duplicate groups of two models that are not latent children.
        latent_children = {c for n in truth.get("latent", []) for c in n["children"]}
        free = [m for m in ids if m not in latent_children]
        rng.shuffle(free)
        joined = {frozenset(e[:2] if isinstance(e, list) else (e["parent"], e["child"])) for e in truth["edges"]}
        pairs = [free[k:k + 2] for k in range(0, len(free) - 1, 2)]
        truth["duplicates"] = [g for g in pairs if frozenset(g) not in joined][:trial % 3 + 1]
        _, expected = check(zoo, truth, str(tmp_path / f"truth{trial}.json"))
        assert expected["true"] > 0


def test_typed_truth_errors_name_the_problem(tmp_path):
    zoo = TYPED_ZOOS[0]
    cases = [
        ({"edges": [{"parent": "base", "child": "base-ft-gpl", "type": "fork"}]}, "edges[0].type \"fork\""),
        ({"edges": [{"parent": "base", "child": "base-ft-gpl", "type": "finetune"},
                    {"parent": "base.onnx", "child": "base-ft-gpl", "type": "merge"}]}, "base-ft-gpl has two parents"),
        ({"edges": [], "duplicates": [["base", "base.onnx"], ["base", "base-F16.gguf"]]}, "base is in two duplicate groups"),
        ({"edges": [["base", "base-ft-gpl"]], "latent": [{"children": ["base-ft-gpl"]}]}, "also has an edge into it"),
        ({"edges": [], "claims": [{"model": "base", "source": "readme", "claimed": "x", "verdict": "maybe"}]}, "verdict \"maybe\""),
        ({"edges": [{"parent": "base", "child": "base-ft-gpl", "kind": "merge"}]}, "unknown key \"kind\""),
        ({"edges": [], "duplicates": [["base", "nowhere"]]}, "nowhere"),
        ({"edges": [["base", "base.onnx"]], "duplicates": [["base", "base.onnx"]]}, "joins two members of duplicates[0]"),
    ]
    for k, (truth, message) in enumerate(cases):
        path = tmp_path / f"bad{k}.json"
        path.write_text(json.dumps(truth))
        proc = run_cli("recover", zoo, "--truth", str(path), check=False)
        assert proc.returncode != 0 and message in proc.stderr, (truth, proc.stderr)
        assert proc.stderr.count("\n") == 1


def test_merge_parents_are_one_relation_each(tmp_path):
    zoo = TYPED_ZOOS[0]
    truth = {"edges": [{"parent": "base", "child": "base-ft-gpl", "type": "merge", "coefficient": 0.5},
                       {"parent": "base-F16.gguf", "child": "base-ft-gpl", "type": "merge", "coefficient": 0.5}],
             "roots": ["base"]}
    doc, expected = check(zoo, truth, str(tmp_path / "merge.json"))
    assert expected["true"] == 2 and doc["score"]["total"] == 2
