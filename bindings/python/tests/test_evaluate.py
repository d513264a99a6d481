"""Graph.evaluate against hand-computed scores and against modeltree-cli --truth."""
from __future__ import annotations

import json
import os

import pytest

import modeltree as mt
from modeltree._graph import score
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


def test_score_of_a_small_forest_by_hand():
    # Recovered: b <- a, c <- b, e <- a; d a root. True: a -> b, a -> c, d -> e.
    ids = ["a", "b", "c", "d", "e"]
    s = score(ids, [-1, 0, 1, -1, 0], {"edges": [("a", "b"), ("a", "c"), ("d", "e")], "roots": ["a", "d"]})
    assert [(t.root, t.correct, t.total) for t in s.trees] == [("a", 1, 2), ("d", 0, 1)]
    assert (s.correct, s.total) == (1, 3)
    # Recovered {a b c e} {d}, true {a b c} {d e}: index 3, rows 6, columns 4, expected 2.4, max 5.
    assert s.ari == pytest.approx((3 - 2.4) / (5 - 2.4), rel=1e-12)


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


def test_adjusted_rand_index_against_a_plain_pair_count():
    import itertools

    a, b = [0, 0, 1, 1, 1, 2], [0, 0, 0, 1, 1, 1]
    same = lambda lab: [lab[i] == lab[j] for i, j in itertools.combinations(range(len(lab)), 2)]  # noqa: E731
    pa, pb = same(a), same(b)
    n = len(pa)
    index = sum(x and y for x, y in zip(pa, pb))
    expected = sum(pa) * sum(pb) / n
    assert mt.adjusted_rand_index(a, b) == pytest.approx((index - expected) / ((sum(pa) + sum(pb)) / 2 - expected))
    assert mt.adjusted_rand_index([0, 0, 0], [1, 1, 1]) == 1.0
