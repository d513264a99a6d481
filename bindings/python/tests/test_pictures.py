"""The pictures in Python: to_svg, to_html and a notebook's _repr_svg_ / _repr_html_ (the page in a
sandboxed iframe, checked in headless Chromium), and the evidence the page carries, checked
against the weights with scipy and numpy. That they are the CLI's bytes is test_recover's."""
from __future__ import annotations

import html.parser
import json
import os
import re

import numpy as np
import pytest
import scipy.stats

import modeltree as mt
from mt_support import ROOT, artifacts, browser_check, example_zoo, st


class Elements(html.parser.HTMLParser):
    """The start tags of a document with their attributes, unescaped as a browser reads them."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def page_data(page: str) -> dict:
    """The JSON the page's script reads (`<script type="application/json" id="mt-data">`)."""
    found = re.search(r'<script type="application/json" id="mt-data">(.*?)</script>', page, re.S)
    assert found, "no data in the page"
    return json.loads(found.group(1))


@pytest.fixture(scope="module")
def zoo_graph():
    return mt.recover(example_zoo(0))


def test_repr_html_is_the_page_in_a_sandboxed_frame(zoo_graph):
    frame = zoo_graph._repr_html_()
    tags = Elements(frame).tags
    assert [t for t, _ in tags] == ["iframe"]
    attrs = tags[0][1]
    assert attrs["srcdoc"] == zoo_graph.to_html()
    assert attrs["sandbox"] == "allow-scripts"   # scripts, but not the notebook's origin
    height = int(re.search(r"height: (\d+)px", attrs["style"]).group(1))
    assert 240 <= height <= 720 and "width: 100%" in attrs["style"]
    assert zoo_graph._repr_svg_() == zoo_graph.to_svg() and zoo_graph.to_svg().startswith("<svg xmlns=")


def test_to_svg_and_to_html_write_files(zoo_graph, tmp_path):
    for method, name in ((zoo_graph.to_svg, "g.svg"), (zoo_graph.to_html, "g.html")):
        assert method(tmp_path / name) is None
        with open(tmp_path / name, encoding="utf-8", newline="") as f:
            assert f.read() == method()
    score = zoo_graph.evaluate(os.path.join(example_zoo(0), "truth.json"))
    assert f"edges right {score.correct}/{score.total}" in zoo_graph.to_svg(score=score)
    with pytest.raises(mt.InvalidArgumentError, match="svg, html"):
        zoo_graph.render("png")


def test_the_page_carries_every_model_and_the_evidence_of_every_edge(zoo_graph):
    """Each edge's direction votes, counted here from the weights (scipy's kurtosis, numpy's
    norms over every 2-D tensor the models share), its runner-up, and its distance and confidence."""
    g = zoo_graph
    data = page_data(g.to_html())
    assert [n["id"] for n in data["nodes"]] == list(g.ids)
    weights = {m: st.load_model(g.paths[m]) for m in g.ids}
    first = weights[g.ids[0]]
    tensors = [t for t in first if first[t].ndim == 2 and all(w[t].shape == first[t].shape for w in weights.values())]
    assert len(data["edges"]) == len(g.edges)
    for drawn, e in zip(data["edges"], g.edges):
        assert (g.ids[drawn["parent"]], g.ids[drawn["child"]]) == (e.parent, e.child)
        facts = dict(drawn["evidence"])
        assert float(facts["distance (rms)"]) == pytest.approx(e.distance, rel=1e-5)
        assert float(facts["confidence"]) == pytest.approx(e.confidence, abs=5e-4)
        runner_up = facts["runner-up parent"]
        assert runner_up in g.trees[g.tree_of(e.child)] and runner_up not in (e.parent, e.child) \
            or runner_up.startswith("none: ")
        fine_tuning = g.directions[g.tree_of(e.child)] == "finetune"
        p, c = weights[e.parent], weights[e.child]
        kurtosis = votes([(scipy.stats.kurtosis(p[t].astype(np.float64).ravel()), scipy.stats.kurtosis(c[t].astype(np.float64).ravel()))
                          if fine_tuning else (scipy.stats.kurtosis(c[t].astype(np.float64).ravel()), scipy.stats.kurtosis(p[t].astype(np.float64).ravel()))
                          for t in tensors])
        norm = votes([(np.sum(c[t].astype(np.float64) ** 2), np.sum(p[t].astype(np.float64) ** 2)) for t in tensors])
        assert facts["kurtosis votes"].startswith(f"{kurtosis} of {len(tensors)} tensors agree"), facts["kurtosis votes"]
        assert facts["norm votes (the child's larger)"].startswith(f"{norm} of {len(tensors)} tensors agree")


def votes(pairs: list[tuple[float, float]]) -> str:
    """How many (expected larger, expected smaller) pairs agree, a tie counting half (an adapter
    leaves most tensors as they were): "10" or "10.5"."""
    count = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a, b in pairs)
    return f"{count:g}"


def test_notebook_frame_in_headless_chromium(zoo_graph):
    """A notebook's output: the frame between two cells loads with no error and no request."""
    host = os.path.join(artifacts("pictures"), "notebook-frame.html")
    with open(host, "w", encoding="utf-8") as f:
        f.write('<!DOCTYPE html><html><head><meta charset="utf-8"><title>notebook</title>'
                "<style>iframe { filter: none; } svg text { fill: red; }</style></head>"
                f"<body><p>In [1]: g</p>{zoo_graph._repr_html_()}<p>In [2]:</p></body></html>\n")
    report = browser_check("--frame", host, "--screenshots", artifacts("pictures"))
    assert report["frames"][0]["child_frames"] == 1
    assert os.path.getsize(report["frames"][0]["screenshot"]) > 10_000
