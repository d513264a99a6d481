"""--truth with typed truth files (the team's contract: typed edges, duplicate groups, latent
nodes, claims) scored against a brute-force scorer written here from the contract's words:
parent, child and type right; a model stands for either copy of its true duplicate group; a
latent node is known by its children. The recovered side is the CLI's own JSON (edges and
duplicate groups); the truths are the zoos' and random variants of them."""
from __future__ import annotations

import itertools
import json
import os
import random

import pytest

from conftest import ROOT, recover_json, run_cli

TYPED_ZOOS = [os.path.join(ROOT, "examples", z) for z in ("formats_zoo", "typed_zoo2")]
TYPES = ["finetune", "adapter", "quantized", "merge", "layer-subset"]


def brute_force(truth: dict, doc: dict) -> dict:
    """Typed precision/recall and recall per type, by enumeration: every true relation is looked
    for among every reported one."""
    group = {}                                    # model -> the set of models it stands for
    for g in truth.get("duplicates", []):
        for m in g:
            group[m] = frozenset(g)

    def same(a, b):
        return a == b or b in group.get(a, ())

    true_items = []
    for e in truth["edges"]:
        p, c, t = (e[0], e[1], "finetune") if isinstance(e, list) else (e["parent"], e["child"], e.get("type", "finetune"))
        true_items.append(("edge", t, ("model", p), ("model", c)))
    for node in truth.get("latent", []):
        latent = ("latent", frozenset(node["children"]))
        for c in node["children"]:
            true_items.append(("edge", "finetune", latent, ("model", c)))
        if node.get("parent"):
            true_items.append(("edge", "finetune", ("model", node["parent"]), latent))
    for g in truth.get("duplicates", []):
        for a, b in itertools.combinations(g, 2):
            true_items.append(("pair", "duplicate", a, b))

    reported_groups = [set(g) for g in doc.get("duplicates", [])]
    in_one_group = lambda a, b: any(a in g and b in g for g in reported_groups)
    reported = []
    for e in doc["edges"]:
        if in_one_group(e["parent"], e["child"]):
            continue
        reported.append(("edge", e["type"], ("model", e["parent"]), ("model", e["child"])))
    for g in reported_groups:
        for a, b in itertools.combinations(sorted(g), 2):
            reported.append(("pair", "duplicate", a, b))

    def end_matches(true_end, got_end):
        if true_end[0] == "latent" or got_end[0] == "latent":
            return false_if_mixed(true_end, got_end)
        return same(true_end[1], got_end[1])

    def false_if_mixed(a, b):
        if a[0] != b[0]:
            return False
        return {frozenset(group.get(m, {m})) for m in a[1]} == {frozenset(group.get(m, {m})) for m in b[1]}

    def matches(t, r):
        if t[0] != r[0] or t[1] != r[1]:
            return False
        if t[0] == "pair":
            return {t[2], t[3]} == {r[2], r[3]}
        return end_matches(t[2], r[2]) and end_matches(t[3], r[3])

    # Relations are sets: equal ones (two copies standing for one group) count once on each side.
    def distinct(items):
        kept = []
        for x in items:
            if not any(matches_same(x, y) for y in kept):
                kept.append(x)
        return kept

    def matches_same(x, y):
        return matches(x, y) and matches(y, x)

    true_items, reported_distinct = distinct(true_items), distinct(reported)
    # An edge joining two copies of one true group is reported but can match no relation.
    self_loops = [r for r in reported_distinct if r[0] == "edge" and r[2][0] == "model" and same(r[2][1], r[3][1])]
    found = [t for t in true_items if any(matches(t, r) for r in reported_distinct)]
    types = {}
    for kind in TYPES + ["duplicate"]:
        of_kind = [t for t in true_items if t[1] == kind]
        if of_kind:
            types[kind] = (sum(1 for t in found if t[1] == kind), len(of_kind))
    return {"correct": len(found), "true": len(true_items), "reported": len(reported_distinct),
            "types": types, "self_loops": len(self_loops)}


def check(zoo: str, truth: dict, truth_path: str):
    with open(truth_path, "w") as f:
        json.dump(truth, f)
    doc = recover_json(zoo, "--truth", truth_path)
    typed = doc["score"]["typed"]
    expected = brute_force(truth, doc)
    assert (typed["correct"], typed["true"], typed["reported"]) == (expected["correct"], expected["true"], expected["reported"])
    assert {t["type"]: (t["correct"], t["total"]) for t in typed["types"]} == expected["types"]
    p = expected["correct"] / expected["reported"] if expected["reported"] else 1.0
    r = expected["correct"] / expected["true"] if expected["true"] else 1.0
    assert typed["precision"] == pytest.approx(p) and typed["recall"] == pytest.approx(r)
    assert typed["f1"] == pytest.approx(0.0 if p + r == 0 else 2 * p * r / (p + r))
    return doc, expected


@pytest.mark.parametrize("zoo", TYPED_ZOOS, ids=["formats_zoo", "typed_zoo2"])
def test_zoo_truth_scores_as_the_brute_force(zoo, tmp_path):
    with open(os.path.join(zoo, "truth.json")) as f:
        truth = json.load(f)
    doc, expected = check(zoo, truth, str(tmp_path / "truth.json"))
    # Old fields keep their meaning: a true edge is right when its child's primary parent is its parent.
    primary = {}
    for e in doc["edges"]:
        primary.setdefault(e["child"], e["parent"])
    pairs = [(e["parent"], e["child"]) for e in truth["edges"]]
    assert doc["score"]["total"] == len(pairs)
    assert doc["score"]["correct"] == sum(primary.get(c) == p for p, c in pairs)


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
