"""The pictures as the CLI draws them (`recover … --format svg|html`) for both example zoos: loaded
in headless Chromium (no console error, no network request, every model id in the rendered DOM,
working controls, screenshots left in the artifacts folder), the layout's boxes apart as the SVG
places them, and the README's picture what the current CLI draws."""
from __future__ import annotations

import itertools
import json
import os
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT, ZOOS, recover_json, run_cli
from mt_support import artifacts, browser_check

SVG = "{http://www.w3.org/2000/svg}"
#: The README's picture, and the command that draws it (`make picture` runs the same).
README_PICTURE = os.path.join(ROOT, "docs", "zoo.svg")
README_COMMAND = ("recover", "examples/zoo", "--truth", "examples/zoo/truth.json", "--format", "svg", "--quiet")


@pytest.fixture(scope="module")
def pictures() -> list[dict]:
    """Per zoo: its ids (from the JSON document) and the SVG and HTML files the CLI wrote, with
    the score of its truth."""
    out, drawn = artifacts("pictures"), []
    for zoo in ZOOS:
        name, rel = os.path.basename(zoo), os.path.relpath(zoo, ROOT)
        truth = os.path.join(rel, "truth.json")
        entry = {"name": name, "ids": [m["id"] for m in recover_json(rel)["models"]]}
        for fmt in ("svg", "html"):
            path = os.path.join(out, f"{name}.{fmt}")
            with open(path, "w", encoding="utf-8") as f:
                f.write(run_cli("recover", rel, "--truth", truth, "--format", fmt, "--quiet").stdout)
            entry[fmt] = path
        with open(os.path.join(out, f"{name}.ids.json"), "w", encoding="utf-8") as f:
            json.dump(entry["ids"], f)
        entry["ids_file"] = f.name
        drawn.append(entry)
    return drawn


def test_zoo_pictures_in_headless_chromium(pictures):
    args = ["--screenshots", artifacts("pictures")]
    for p in pictures:
        args += ["--html", p["html"]]
    for p in pictures:
        args += ["--svg", p["svg"]]
    for p in pictures + pictures:   # the ids of each page, then of each SVG
        args += ["--ids", p["ids_file"]]
    report = browser_check(*args)
    assert [page["file"] for page in report["pages"]] == [p["html"] for p in pictures]
    for page, p in zip(report["pages"], pictures):
        assert page["missing_ids"] == [] and page["overlaps"] == [] and page["errors"] == [] and page["requests"] == []
        assert page["boxes"] == len(p["ids"])   # the zoos are small: one box per model, none collapsed
        for shot in (page["screenshot"], page["screenshot_details"]):
            assert os.path.getsize(shot) > 10_000, shot
    assert all(not s.get("problems") and not s.get("browser_errors") and not s.get("requests") for s in report["svgs"])


def boxes(svg_path: str) -> dict[str, tuple[float, float, float, float]]:
    """Each model's box as the SVG places it (the layout's coordinates): title → (x, y, w, h)."""
    root = ET.parse(svg_path).getroot()
    out = {}
    for g in root.iter(SVG + "g"):
        if "mt-node" in (g.get("class") or "").split():
            rect = g.findall(SVG + "rect")[-1]
            out[g.find(SVG + "title").text] = tuple(float(rect.get(k)) for k in ("x", "y", "width", "height"))
    return out


@pytest.mark.parametrize("index", [0, 1], ids=["zoo", "zoo2"])
def test_every_model_has_a_box_and_no_two_overlap(pictures, index):
    p = pictures[index]
    placed = boxes(p["svg"])
    assert sorted(placed) == sorted(p["ids"])
    for (a, (ax, ay, aw, ah)), (b, (bx, by, bw, bh)) in itertools.combinations(placed.items(), 2):
        assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, f"{a} and {b} overlap"
    edges = recover_json(os.path.relpath(ZOOS[index], ROOT))["edges"]
    drawn = [g for g in ET.parse(p["svg"]).getroot().iter(SVG + "g") if g.get("class") == "mt-edge"]
    assert sorted(g.find(SVG + "title").text.split(":")[0] for g in drawn) == sorted(f"{e['parent']} → {e['child']}" for e in edges)


def test_readme_picture_is_what_the_cli_draws():
    """docs/zoo.svg is the CLI's own drawing of examples/zoo: `make picture` redraws it."""
    with open(README_PICTURE, encoding="utf-8") as f:
        committed = f.read()
    assert committed == run_cli(*README_COMMAND).stdout, "docs/zoo.svg is not what the CLI draws today: run `make picture`"
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        assert "docs/zoo.svg" in f.read()
