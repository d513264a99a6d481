"""Graph.evaluate against hand-computed scores, a plain pair count and modeltree-cli --truth. The
scoring is the library's (modeltree_graph_evaluate*): the package only hands the truth over."""
from __future__ import annotations

import itertools
import json
import os

import pytest

import modeltree as mt
from mt_support import cli_json, example_zoo, truth_of_tree
from mt_support import weights, zoo  # noqa: F401  (fixtures; zoo needs weights)

# The zoo's recovered graph is TREE. This truth differs in two edges (a1 -> a11 is a -> a11, and
# b -> b2 is b1 -> b2): 2 of 3 right in each tree, 4 of 6 overall; membership is the same: ARI 1.
SWAPPED = {
    "edges": [["a", "a1"], ["a", "a2"], ["a", "a11"], ["b", "b1"], ["b1", "b2"], ["b2", "b21"]],
    "roots": ["a", "b"],
}
# Here b21 is a tree of its own: tree a is 3/3, tree b 2/2, tree b21 has no edge (0/0, accuracy 1).
# Recovered {a a1 a2 a11} {b b1 b2 b21} against true {a a1 a2 a11} {b b1 b2} {b21}: agreeing
# pairs 6 + 3 = 9; pairs per recovered tree 6 + 6 = 12, per true tree 6 + 3 + 0 = 9; expected
# 12 * 9 / 28 = 27/7, maximum 21/2, ARI = (9 - 27/7) / (21/2 - 27/7) = 24/31.
SPLIT = {"edges": [["a", "a1"], ["a", "a2"], ["a1", "a11"], ["b", "b1"], ["b", "b2"]], "roots": ["a", "b", "b21"]}


def test_hand_computed_scores(zoo):
    g = mt.recover(zoo)
    s = g.evaluate(SWAPPED)
    assert (s.correct, s.total, s.accuracy) == (4, 6, pytest.approx(4 / 6))
    assert [(t.root, t.correct, t.total) for t in s.trees] == [("a", 2, 3), ("b", 2, 3)]
    assert s.ari == 1.0
    s = g.evaluate(SPLIT)
    assert (s.correct, s.total) == (5, 5)
    assert [(t.root, t.correct, t.total, t.accuracy) for t in s.trees] == [("a", 3, 3, 1.0), ("b", 2, 2, 1.0), ("b21", 0, 0, 1.0)]
    assert s.ari == pytest.approx(24 / 31, rel=1e-12)
    perfect = g.evaluate(truth_of_tree())
    assert (perfect.accuracy, perfect.ari) == (1.0, 1.0)


@pytest.mark.parametrize("truth", [SWAPPED, SPLIT], ids=["swapped", "split"])
def test_evaluate_matches_the_cli(zoo, tmp_path, truth):
    path = tmp_path / "truth.json"
    path.write_text(json.dumps(truth))
    expected = json.loads(cli_json(zoo, "--truth", str(path)))["score"]
    s = mt.recover(zoo).evaluate(str(path))
    assert (s.correct, s.total) == (expected["correct"], expected["total"])
    assert s.accuracy == pytest.approx(expected["accuracy"], rel=1e-12)
    assert s.ari == pytest.approx(expected["ari"], rel=1e-12)
    assert [(t.root, t.correct, t.total) for t in s.trees] == [(t["root"], t["correct"], t["total"]) for t in expected["trees"]]
    # The same truth as a dict: the same score.
    assert mt.recover(zoo).evaluate(truth) == s


@pytest.mark.parametrize("index", [0, 1], ids=["zoo", "zoo2"])
def test_example_zoo_scores_match_the_cli(index):
    zoo = example_zoo(index)
    truth = os.path.join(zoo, "truth.json")
    expected = json.loads(cli_json(zoo, "--truth", truth))["score"]
    s = mt.recover(zoo).evaluate(truth)
    assert (s.correct, s.total, s.ari) == (expected["correct"], expected["total"], pytest.approx(expected["ari"]))


def test_bad_truths(zoo, tmp_path):
    g = mt.recover(zoo)
    with pytest.raises(mt.FileError):
        g.evaluate(str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(mt.FormatError):
        g.evaluate(bad)
    with pytest.raises(mt.InvalidArgumentError, match="not among the models: zz"):
        g.evaluate({"edges": [["a", "zz"]]})
    with pytest.raises(mt.InvalidArgumentError, match="two parents"):
        g.evaluate({"edges": [["a", "a1"], ["b", "a1"]]})
    with pytest.raises(mt.InvalidArgumentError, match="cycle"):
        g.evaluate({"edges": [["a", "a1"], ["a1", "a"]]})
    with pytest.raises(mt.InvalidArgumentError, match="unknown key"):
        g.evaluate({"edges": [], "root": ["a"]})
    with pytest.raises(mt.InvalidArgumentError, match="edges\\[0\\]"):
        g.evaluate({"edges": [["a"]]})


def test_adjusted_rand_index_against_a_plain_pair_count(zoo):
    g = mt.recover(zoo)

    def true_labels(truth):
        parent = {c: p for p, c in truth["edges"]}

        def root(m):
            while m in parent:
                m = parent[m]
            return m
        return [root(m) for m in g.ids]

    def same(labels):
        return [labels[i] == labels[j] for i, j in itertools.combinations(range(len(labels)), 2)]

    cross = {"edges": [["a", "b"], ["a1", "b1"], ["a2", "a11"]], "roots": []}
    for truth in (SWAPPED, SPLIT, cross):
        pa, pb = same([g.tree_of(m) for m in g.ids]), same(true_labels(truth))
        n = len(pa)
        index = sum(x and y for x, y in zip(pa, pb))
        expected = sum(pa) * sum(pb) / n
        ari = (index - expected) / ((sum(pa) + sum(pb)) / 2 - expected)
        assert g.evaluate(truth).ari == pytest.approx(ari, rel=1e-12), truth


def test_truth_errors_are_the_librarys(zoo, tmp_path):
    g = mt.recover(zoo)
    missing = tmp_path / "missing.json"
    with pytest.raises(mt.FileError, match=f"truth file {missing}: No such file or directory"):
        g.evaluate(missing)
    bad = tmp_path / "bad.json"
    bad.write_text('{"edges": 3}')
    with pytest.raises(mt.FormatError, match=f"{bad}: truth: \"edges\" must be an array"):
        g.evaluate(str(bad))
    with pytest.raises(mt.InvalidArgumentError, match="cannot be written as JSON"):
        g.evaluate({"edges": [[object(), "a"]]})
    with pytest.raises(mt.InvalidArgumentError, match="must be a path or a mapping"):
        g.evaluate(3)
