"""The confidence calibration (tools/calibrate.py, Sources/ModelTree/Graph/CalibrationTable.swift):
the committed table is what the script measures on the committed development zoos with this
CLI; its isotonic fit, Wilson bounds and threshold rule agree with independent brute-force
computations; and the engine reports what the table says (calibrated confidence, raw one kept,
unsure below the threshold), so that on the development zoos confidence means what it says."""
from __future__ import annotations

import itertools
import math
import os
import sys

import numpy as np
import pytest

from conftest import ROOT, recover_json
from mt_support import cli_path

sys.path.insert(0, os.path.join(ROOT, "tools"))
import calibrate  # noqa: E402
import reliability  # noqa: E402


@pytest.fixture(scope="module")
def development() -> list[dict]:
    cli = cli_path()
    if cli is None:
        pytest.fail("modeltree-cli is missing: build it first (make build) or set MODELTREE_CLI")
    return calibrate.measure(cli, calibrate.DEVELOPMENT_ZOOS)


@pytest.fixture(scope="module")
def committed() -> dict:
    with open(calibrate.TABLE, encoding="utf-8") as f:
        return calibrate.parse(f.read())


def test_committed_table_is_what_the_zoos_give(development):
    """A change of the engine's confidences (or of the zoos) without a new table fails here."""
    why = calibrate.stale(calibrate.calibration(development), open(calibrate.TABLE, encoding="utf-8").read())
    assert why is None, f"{os.path.relpath(calibrate.TABLE, ROOT)} is stale ({why}): rerun tools/calibrate.py (make calibrate)"


def test_the_held_out_zoo_is_not_measured():
    assert not set(calibrate.DEVELOPMENT_ZOOS) & set(calibrate.HELD_OUT_ZOOS)
    assert all(os.path.isfile(os.path.join(ROOT, z, "truth.json")) for z in calibrate.DEVELOPMENT_ZOOS)


def test_engine_reports_the_tables_map_and_threshold(committed):
    """Every relation of every development zoo: the confidence is the committed map of its raw
    confidence (recomputed here with numpy's interpolation), and below the threshold it is unsure."""
    for zoo in calibrate.DEVELOPMENT_ZOOS:
        doc = recover_json(zoo)
        latent = {m["id"] for m in doc["models"] if m.get("latent")}
        for e in doc["edges"]:
            knots = committed["knots"][reliability.family(e, latent)][0]
            raw = e["raw_confidence"]
            xs, ys = [0.0] + [k[0] for k in knots], [0.0] + [k[1] for k in knots]
            # Raw 0 is no evidence (0); a family without knots was never measured above it (0).
            expected = float(np.interp(raw, xs, ys)) if knots and raw > 0 else 0.0
            assert e["confidence"] == pytest.approx(expected, abs=1e-12), (zoo, e)
            if e["confidence"] < committed["threshold"]:
                assert e["unsure"], (zoo, e)


def test_confidence_means_what_it_says_on_the_development_zoos(development, committed):
    """Issue 12: among the development edges reported with confidence >= c, at least c right."""
    edges = [dict(e, confidence=calibrate.apply(committed["knots"][e["family"]][0], e["raw_confidence"])) for e in development]
    for row in reliability.table(edges):
        assert row["share"] is None or row["share"] >= row["threshold"], row
    sure = [e for e in edges if e["confidence"] >= committed["threshold"]]
    assert sure and sum(e["right"] for e in sure) >= calibrate.SURE_SHARE * len(sure)


def test_judged_edges_agree_with_the_clis_typed_score():
    """reliability.py's right/wrong (what the calibration is fitted on) counts as many right
    relations as the CLI's own --truth scoring on every development zoo (which also counts the
    duplicate groups it found)."""
    import json
    for zoo in calibrate.DEVELOPMENT_ZOOS:
        with open(os.path.join(ROOT, zoo, "truth.json"), encoding="utf-8") as f:
            truth = json.load(f)
        doc = recover_json(zoo, "--truth", os.path.join(zoo, "truth.json"))
        judged = reliability.judged_edges(doc, truth)
        typed = doc["score"]["typed"]
        duplicates = sum(t["correct"] for t in typed["types"] if t["type"] == "duplicate")   # groups, not edges
        assert sum(e["right"] for e in judged) == typed["correct"] - duplicates, zoo


def brute_isotonic(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The least-squares non-decreasing fit by the min-max formula over the distinct x values:
    f(i) = max over j <= i of min over k >= i of the mean of the points with x in [x_j, x_k]."""
    values = np.unique(x)
    fit = {}
    for i, v in enumerate(values):
        fit[v] = max(min(y[(x >= values[j]) & (x <= values[k])].mean() for k in range(i, len(values))) for j in range(i + 1))
    return np.array([fit[v] for v in x])


@pytest.mark.parametrize("seed", range(40))
def test_pav_is_the_least_squares_isotonic_fit(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 14))
    x = rng.integers(0, 8, n).astype(float) / 8          # ties on purpose
    y = (rng.random(n) < 0.3 + 0.5 * x).astype(float) if seed % 2 else rng.random(n)
    bins = calibrate.pav(x, y)
    fitted = np.array([next(b["mean"] for b in bins if b["lo"] <= v <= b["hi"]) for v in x])
    assert np.allclose(fitted, brute_isotonic(x, y))
    # Bins are disjoint runs, in order, with rising means, and cover every point.
    assert all(a["hi"] < b["lo"] and a["mean"] < b["mean"] for a, b in zip(bins, bins[1:]))
    assert sum(b["weight"] for b in bins) == n


def test_pav_is_no_worse_than_any_monotone_candidate():
    """On a small grid of non-decreasing step vectors, none has a smaller squared error."""
    x = np.array([0.1, 0.2, 0.2, 0.4, 0.5, 0.7])
    y = np.array([1, 0, 1, 0, 1, 1], dtype=float)
    bins = calibrate.pav(x, y)
    fitted = np.array([next(b["mean"] for b in bins if b["lo"] <= v <= b["hi"]) for v in x])
    best = ((fitted - y) ** 2).sum()
    levels = np.linspace(0, 1, 7)
    distinct = np.unique(x)
    for combo in itertools.combinations_with_replacement(levels, len(distinct)):
        candidate = np.array([combo[int(np.searchsorted(distinct, v))] for v in x])
        assert ((candidate - y) ** 2).sum() >= best - 1e-12


@pytest.mark.parametrize("right,n", [(0, 1), (1, 1), (3, 3), (2, 4), (23, 25), (12, 12), (0, 9), (50, 51)])
def test_wilson_lower_bound_solves_its_quadratic(right, n):
    """The lower end p of the Wilson interval solves (p̂ − p)² = z² p (1 − p) / n (numpy's roots)."""
    z, phat = calibrate.WILSON_Z, right / n
    roots = np.roots([1 + z * z / n, -(2 * phat + z * z / n), phat * phat]).real
    assert calibrate.wilson_lower(right, n) == pytest.approx(max(0.0, roots.min()), abs=1e-12)


def test_fit_levels_rise_and_never_exceed_their_bins_share():
    rng = np.random.default_rng(7)
    raw = list(rng.random(60))
    right = [bool(rng.random() < r) for r in raw]
    knots = calibrate.fit(raw, right)
    ys = [k[1] for k in knots]
    assert all(a <= b for a, b in zip(ys, ys[1:]))
    for (lo, level), (hi, level2) in zip(knots, knots[1:]):
        if level == level2:
            inside = [r for x, r in zip(raw, right) if lo <= x <= hi]
            assert level <= sum(inside) / len(inside)
    assert calibrate.fit([], []) == []
    # A family of a few right edges says no more than its Wilson bound.
    assert calibrate.fit([0.9, 0.95, 1.0], [True] * 3) == [(0.9, calibrate.wilson_lower(3, 3)), (1.0, calibrate.wilson_lower(3, 3))]


def test_apply_interpolates_from_zero_and_holds_the_last_level():
    knots = [(0.2, 0.3), (0.4, 0.3), (0.6, 0.9)]
    assert calibrate.apply(knots, 0.0) == 0.0
    assert calibrate.apply(knots, 0.1) == pytest.approx(0.15)
    assert calibrate.apply(knots, 0.3) == pytest.approx(0.3)
    assert calibrate.apply(knots, 0.5) == pytest.approx(0.6)
    assert calibrate.apply(knots, 1.0) == pytest.approx(0.9)
    assert math.isnan(calibrate.apply(knots, float("nan")))
    assert calibrate.apply([], 0.7) == 0.0
    # Raw 0 (an equally good alternative) is no evidence, even where a bin starts at 0.
    assert calibrate.apply([(0.0, 0.5), (0.4, 0.5)], 0.0) == 0.0
    assert calibrate.apply([(0.0, 0.5), (0.4, 0.5)], 1e-9) == pytest.approx(0.5)


def test_raw_zero_edges_are_left_out_of_the_fit():
    """Edges of raw confidence 0 were right or wrong by a prior's luck: a family of them, all
    right, must not lift the map above 0 at raw 0, nor pool with the edges that have evidence."""
    edges = [dict(family="adapter", raw_confidence=0.0, right=True)] * 5 + [dict(family="adapter", raw_confidence=0.5, right=True)]
    cal = calibrate.calibration(edges)
    assert cal["knots"]["adapter"] == calibrate.fit([0.5], [True])
    assert calibrate.apply(cal["knots"]["adapter"], 0.0) == 0.0


@pytest.mark.parametrize("seed", range(20))
def test_unsure_threshold_by_brute_force(seed):
    """The threshold is the smallest value t >= 1/2 such that every cut t' >= t keeps at least the
    sure share right: checked against every candidate threshold."""
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(1, 30))
    conf = list(np.round(rng.random(n), 1))
    right = [bool(rng.random() < c + 0.1) for c in conf]

    def ok(t):
        return all(sum(r for c, r in zip(conf, right) if c >= u) >= 0.9 * sum(c >= u for c in conf)
                   for u in set(conf) if u >= t)
    candidates = sorted({c for c in conf if c >= 0.5})
    expected = next((t for t in candidates if ok(t)), 1.0)
    assert calibrate.unsure_threshold(conf, right) == expected


def test_rendered_table_reads_back():
    cal = {"knots": {f: [(0.1234567, 0.2), (0.5, 0.2), (0.9, 0.8)] for f in calibrate.FAMILIES},
           "threshold": 0.61234567, "counts": {f: (5, 4) for f in calibrate.FAMILIES}}
    text = calibrate.render(cal)
    back = calibrate.parse(text)
    assert calibrate.stale(cal, text) is None
    assert back["threshold"] <= cal["threshold"]                 # rounded down: edges at it stay sure
    assert back["knots"]["finetune"][0][0][0] <= 0.1234567       # a bin's first raw rounded down
    cal["counts"]["merge"] = (6, 4)
    assert "merge" in calibrate.stale(cal, text)
