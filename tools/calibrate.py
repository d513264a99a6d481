#!/usr/bin/env python3
"""Calibrates the confidences modeltree-cli reports, from the development zoos, and derives the
unsure threshold from the same measurement (issue 12: "confidence means what it says").

    python3 tools/calibrate.py [--cli build/c/bin/modeltree-cli]            # writes the table
    python3 tools/calibrate.py --check                                       # fails when stale
    make calibrate

1. Runs the CLI on the development zoos (DEVELOPMENT_ZOOS; never examples/typed_zoo2, which is
   held out) and judges every reported relation by the typed truth contract (`reliability.py`).
2. Per relation family (`family`: each family's confidence is computed its own way by the
   engine, so each needs its own map) fits the share right as a non-decreasing function of the
   engine's raw confidence: isotonic regression by pool-adjacent-violators (`pav`).
3. Sets each bin to the Wilson lower bound of its share right (one-sided 95 %, `wilson_lower`),
   so that a bin of 3 edges, all right, says 0.53 and not 1.0: a small bin is never more
   confident than its data. Where that makes a bin's level not below the next one's, the two
   are pooled and measured together (`fit`), so the levels rise.
4. The map is piecewise linear: each bin is flat from its lowest to its highest raw confidence,
   with straight lines between bins and from (0, 0) to the first; above the last bin, its level
   (no more than was measured). Raw 0 means an equally good alternative — no evidence — and maps
   to 0 whatever share of such edges was right (a prior's luck, as the tie rule's pick among
   near-copies): those edges are left out of the fit.
5. The unsure threshold is the lowest calibrated confidence t of a development edge from which
   every cut keeps what "sure" must mean: among the development edges with calibrated
   confidence >= t' the share right is at least SURE_SHARE, for every t' >= t; and t >= 1/2,
   since a calibrated edge below 1/2 is more likely wrong than right. An edge below it is unsure.
6. Writes Sources/ModelTree/Graph/CalibrationTable.swift (generated: never edit it by hand).

The raw confidence is read from the JSON's `raw_confidence` (the engine's own value, before the
map), so the fit never feeds on its own output. Needs numpy.
"""
from __future__ import annotations

import argparse
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reliability  # noqa: E402  (tools/ is not a package)

ROOT = reliability.ROOT
DEVELOPMENT_ZOOS = ["examples/typed_zoo", "examples/zoo", "examples/zoo2", "examples/formats_zoo"]
HELD_OUT_ZOOS = ["examples/typed_zoo2"]
TABLE = os.path.join(ROOT, "Sources", "ModelTree", "Graph", "CalibrationTable.swift")
# The engine's families, in the order of the Swift enum `Calibration.Family`.
FAMILIES = ["finetune", "latent", "adapter", "quantized", "merge", "layer-subset"]
# One-sided 95 % normal quantile: a bin's level is the share right it supports at that confidence.
WILSON_Z = 1.6448536269514722
# What "sure" must mean: among the edges called sure, at least this share right.
SURE_SHARE = 0.9
# Digits the table keeps; the check compares within TOLERANCE (sums in another order on another
# machine move raw confidences in their last bits, never by this much).
DIGITS = 6
TOLERANCE = 1e-4


def pav(x: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> list[dict]:
    """Isotonic (non-decreasing) least-squares fit of y on x by pool-adjacent-violators.

    Points of equal x are pooled first (one x, one fitted value), and so are adjacent bins of
    equal mean, so each bin is a maximal run of one fitted value. Returns the bins in order of x,
    each {lo, hi, weight, mean}: the fit is `mean` for every point with lo <= x <= hi."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.ones_like(y) if w is None else np.asarray(w, dtype=float)
    # Every point of one x first (a later point of the same x would change a bin already pooled).
    values, group = np.unique(x, return_inverse=True)
    sums = np.bincount(group, weights=w * y, minlength=len(values))
    weights = np.bincount(group, weights=w, minlength=len(values))
    bins: list[dict] = []
    for v, total, weight in zip(values, sums, weights):
        bins.append({"lo": v, "hi": v, "sum": total, "weight": weight})
        # Pool backwards while the last two bins violate the order, or tie: the fit is the same
        # either way, and one bin of equal shares is measured on all its edges (`fit`'s floor).
        while len(bins) > 1 and bins[-2]["sum"] / bins[-2]["weight"] >= bins[-1]["sum"] / bins[-1]["weight"]:
            b = bins.pop()
            a = bins[-1]
            a["hi"] = b["hi"]
            a["sum"] += b["sum"]
            a["weight"] += b["weight"]
    return [{"lo": float(b["lo"]), "hi": float(b["hi"]), "weight": float(b["weight"]),
             "mean": float(b["sum"] / b["weight"])} for b in bins]


def wilson_lower(right: float, n: float, z: float = WILSON_Z) -> float:
    """The Wilson score interval's lower end for `right` successes in `n` trials."""
    if n <= 0:
        return 0.0
    p = right / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, (centre - spread) / (1 + z * z / n))


def fit(raw: list[float], right: list[bool]) -> list[tuple[float, float]]:
    """The knots (raw, calibrated) of one family's map; [] for a family without data.

    The isotonic fit's bins (`pav`), each at the Wilson lower bound of its share right; where a
    bin's bound is not below the next one's (a small bin's bound is low however right it is),
    the two are pooled and measured together, until the bounds rise."""
    if not raw:
        return []
    bins = []
    for b in pav(np.array(raw), np.array(right, dtype=float)):
        bins.append(dict(b, right=b["mean"] * b["weight"]))
        while len(bins) > 1 and floor(bins[-2]) >= floor(bins[-1]):
            b = bins.pop()
            a = bins[-1]
            a["hi"] = b["hi"]
            a["right"] += b["right"]
            a["weight"] += b["weight"]
    knots: list[tuple[float, float]] = []
    for b in bins:
        knots.append((b["lo"], floor(b)))
        if b["hi"] > b["lo"]:
            knots.append((b["hi"], floor(b)))
    return knots


def floor(b: dict) -> float:
    """A bin's calibrated level: the Wilson lower bound of its share right."""
    return wilson_lower(b["right"], b["weight"])


def apply(knots: list[tuple[float, float]], raw: float) -> float:
    """The map of `knots` at `raw` (what `Calibration.calibrated` computes in the engine)."""
    if not knots:
        return 0.0
    if math.isnan(raw):
        return raw
    if raw <= 0:
        return 0.0                        # an equally good alternative: no evidence
    if knots[0][0] > 0:
        knots = [(0.0, 0.0)] + knots      # raw 0: an equally good alternative, no evidence
    return float(np.interp(raw, [k[0] for k in knots], [k[1] for k in knots], left=0.0))


def unsure_threshold(calibrated: list[float], right: list[bool], share: float = SURE_SHARE) -> float:
    """The lowest calibrated confidence t >= 1/2 such that, for every t' >= t among the values,
    the edges at >= t' are right at least `share` of the time; 1 when no cut is (nothing is
    sure). Below 1/2 a calibrated edge is more likely wrong than right: never sure."""
    threshold = 1.0
    for t in sorted({c for c in calibrated if c >= 0.5}, reverse=True):
        kept = [r for c, r in zip(calibrated, right) if c >= t]
        if sum(kept) < share * len(kept):
            break
        threshold = t
    return threshold


def measure(cli: str, zoos: list[str]) -> list[dict]:
    """The judged relations of `zoos` (`reliability.judged`), each with its family."""
    return reliability.judged(cli, [os.path.join(ROOT, z) if not os.path.isabs(z) else z for z in zoos])


def calibration(edges: list[dict]) -> dict:
    """Knots per family and the unsure threshold, from judged edges."""
    knots = {}
    for f in FAMILIES:
        mine = [e for e in edges if e["family"] == f and e["raw_confidence"] > 0]
        knots[f] = fit([e["raw_confidence"] for e in mine], [e["right"] for e in mine])
    calibrated = [apply(knots[e["family"]], e["raw_confidence"]) for e in edges]
    counts = {f: (sum(e["family"] == f for e in edges), sum(e["family"] == f and e["right"] for e in edges)) for f in FAMILIES}
    return {"knots": knots, "threshold": unsure_threshold(calibrated, [e["right"] for e in edges]), "counts": counts}


def number(x: float, rounding=round) -> str:
    """x to DIGITS decimals, by `rounding` (round, math.floor or math.ceil on x · 10^DIGITS)."""
    scaled = rounding(x * 10 ** DIGITS) if rounding is not round else round(x * 10 ** DIGITS)
    text = f"{scaled / 10 ** DIGITS:.{DIGITS}f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def knot_text(knots: list[tuple[float, float]]) -> str:
    """A family's knots for the table. A bin's first raw confidence is rounded down and its last
    up, so every measured edge still lands on its bin's level; levels to the nearest."""
    out, previous = [], "0"
    for k, (x, y) in enumerate(knots):
        first = k == 0 or knots[k - 1][1] != y
        text = number(x, math.floor if first else math.ceil)
        # Bins closer than the rounding: never out of order (a step instead of a line).
        text = max(text, previous, key=float)
        out.append(f"({text}, {number(y)})")
        previous = text
    return ", ".join(out)


def render(cal: dict) -> str:
    """The Swift source of the table."""
    swift_case = {"layer-subset": "layerSubset"}
    lines = [
        "// Generated by tools/calibrate.py from the development zoos ("
        + ", ".join(DEVELOPMENT_ZOOS) + ") — do not edit:",
        "// run `make calibrate` (or `python3 tools/calibrate.py --cli CLI`) after a change of the engine's confidences.",
        "",
        "extension Calibration {",
        "    /// The confidence below which an edge is unsure: the lowest calibrated confidence (at least 1/2) from",
        f"    /// which on the development edges at or above any cut are right at least {SURE_SHARE:g} of the time",
        "    /// (rounded down, so the edges at the level it was measured at stay sure).",
        f"    static let unsureThreshold = {number(cal['threshold'], math.floor)}",
        "",
        "    /// Per family, the knots (raw confidence, calibrated confidence) of its non-decreasing",
        "    /// piecewise-linear map, and how many development edges (right) it was fitted on.",
        "    static let table: [Family: (knots: [(raw: Double, calibrated: Double)], edges: Int, right: Int)] = [",
    ]
    for f in FAMILIES:
        n, k = cal["counts"][f]
        lines.append(f"        .{swift_case.get(f, f)}: (knots: [{knot_text(cal['knots'][f])}], edges: {n}, right: {k}),")
    lines += ["    ]", "}", ""]
    return "\n".join(lines)


def parse(text: str) -> dict:
    """The knots and threshold of a rendered table (for `--check`)."""
    import re
    threshold = float(re.search(r"unsureThreshold = ([0-9.eE+-]+)", text).group(1))
    knots = {}
    names = {"layerSubset": "layer-subset"}
    for m in re.finditer(r"^\s*\.(\w+): \(knots: \[(.*?)\], edges: (\d+), right: (\d+)\)", text, re.M):
        pairs = re.findall(r"\(([0-9.eE+-]+), ([0-9.eE+-]+)\)", m.group(2))
        knots[names.get(m.group(1), m.group(1))] = ([(float(a), float(b)) for a, b in pairs], int(m.group(3)), int(m.group(4)))
    return {"threshold": threshold, "knots": knots}


def stale(cal: dict, committed: str) -> str | None:
    """Why the committed table is not what `cal` renders (within TOLERANCE); None when it is."""
    try:
        old = parse(committed)
    except (AttributeError, ValueError):
        return "the table cannot be read"
    if abs(old["threshold"] - cal["threshold"]) > TOLERANCE:
        return f"unsure threshold {old['threshold']} committed, {cal['threshold']:.6f} measured"
    for f in FAMILIES:
        if f not in old["knots"]:
            return f"family {f} missing"
        knots, n, k = old["knots"][f]
        if (n, k) != cal["counts"][f]:
            return f"family {f}: {k}/{n} edges right committed, {cal['counts'][f][1]}/{cal['counts'][f][0]} measured"
        new = cal["knots"][f]
        if len(knots) != len(new) or any(abs(a - c) > TOLERANCE or abs(b - d) > TOLERANCE for (a, b), (c, d) in zip(knots, new)):
            return f"family {f}: knots {knots} committed, {[(round(a, DIGITS), round(b, DIGITS)) for a, b in new]} measured"
    return None


def print_tables(edges: list[dict], cal: dict, title: str) -> None:
    """The reliability table of `edges` before and after the map, as the engine applies it (the
    rendered table's rounded knots and threshold)."""
    cal = parse(render(cal))
    after = [dict(e, confidence=apply(cal["knots"][e["family"]][0], e["raw_confidence"])) for e in edges]
    before = [dict(e, confidence=e["raw_confidence"]) for e in edges]
    print(f"## {title}\n")
    print("| confidence ≥ | raw: edges, share right | calibrated: edges, share right |")
    print("|---|---|---|")
    for a, b in zip(reliability.table(before), reliability.table(after)):
        cell = lambda r: f"{r['edges']}, " + ("—" if r["share"] is None else f"{r['share']:.2f}"
                                                + ("" if r["share"] >= r["threshold"] else " **below**"))
        print(f"| {a['threshold']:.2f} | {cell(a)} | {cell(b)} |")
    unsure = [e for e in after if not e["confidence"] >= cal["threshold"]]
    sure = [e for e in after if e["confidence"] >= cal["threshold"]]
    print(f"\nunsure threshold {cal['threshold']:.3f}: {len(sure)} sure ({sum(e['right'] for e in sure)} right), "
          f"{len(unsure)} unsure ({sum(e['right'] for e in unsure)} right)\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", default=os.environ.get("MODELTREE_CLI", os.path.join(ROOT, "build", "c", "bin", "modeltree-cli")))
    ap.add_argument("--check", action="store_true", help="fail when the committed table is not what the zoos give")
    ap.add_argument("--report", action="store_true", help="print the reliability tables of the development zoos, raw and calibrated")
    ap.add_argument("--held-out", action="store_true", help="with --report, also the held-out zoo's (to report, never to tune)")
    args = ap.parse_args()
    edges = measure(args.cli, DEVELOPMENT_ZOOS)
    cal = calibration(edges)
    if args.check:
        with open(TABLE) as f:
            why = stale(cal, f.read())
        if why:
            sys.exit(f"{os.path.relpath(TABLE, ROOT)} is stale ({why}): rerun tools/calibrate.py")
        print(f"{os.path.relpath(TABLE, ROOT)} matches the development zoos")
        return
    if args.report:
        print_tables(edges, cal, "development zoos (" + ", ".join(DEVELOPMENT_ZOOS) + ")")
        if args.held_out:
            print_tables(measure(args.cli, HELD_OUT_ZOOS), cal, "held out (" + ", ".join(HELD_OUT_ZOOS) + ")")
        return
    text = render(cal)
    with open(TABLE + ".tmp", "w") as f:
        f.write(text)
    os.replace(TABLE + ".tmp", TABLE)
    print(f"wrote {os.path.relpath(TABLE, ROOT)}: unsure threshold {cal['threshold']:.3f}")


if __name__ == "__main__":
    main()
