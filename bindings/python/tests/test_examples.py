"""The examples in examples/python run and do what they say."""
from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from mt_support import ROOT, TREE, example_zoo
from mt_support import weights, zoo  # noqa: F401  (fixtures; zoo needs weights)

EXAMPLES = os.path.join(ROOT, "examples", "python")


def run(script: str, *args: str, cwd: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, os.path.join(EXAMPLES, script), *args], capture_output=True,
                          text=True, timeout=600, cwd=cwd)
    assert proc.returncode == 0, f"{script} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


def has_module(name: str) -> bool:
    try:
        __import__(name)
        return True
    except ImportError:
        return False


def check_image(path: str, models: int) -> None:
    assert os.path.getsize(path) > 0
    if path.endswith(".png"):
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    else:
        svg = ET.parse(path).getroot()
        assert svg.tag.endswith("svg")
        boxes = [g for g in svg.iter("{http://www.w3.org/2000/svg}g") if "mt-node" in (g.get("class") or "").split()]
        assert len(boxes) == models


def test_draw_zoo_auto(zoo, tmp_path):
    out = run("draw_zoo.py", zoo, "--out", str(tmp_path / "graph.png"), cwd=str(tmp_path)).stdout
    assert "edge accuracy 6/6" in out
    image = tmp_path / "graph.png" if (tmp_path / "graph.png").exists() else tmp_path / "graph.svg"
    check_image(str(image), len(TREE))
    assert (tmp_path / "graph.dot").read_text().count("->") == 6


@pytest.mark.parametrize("backend", ["svg", "matplotlib", "dot"])
def test_draw_zoo_each_backend(zoo, tmp_path, backend):
    if backend == "matplotlib" and not has_module("matplotlib"):
        pytest.skip("matplotlib is not installed")
    if backend == "dot" and not any(os.access(os.path.join(p, "dot"), os.X_OK) for p in os.environ["PATH"].split(os.pathsep)):
        pytest.skip("Graphviz's dot is not installed")
    run("draw_zoo.py", zoo, "--out", str(tmp_path / "g.png"), "--backend", backend, cwd=str(tmp_path))
    check_image(str(tmp_path / ("g.svg" if backend == "svg" else "g.png")), len(TREE))


def test_draw_the_example_zoo(tmp_path):
    zoo = example_zoo(0)
    run("draw_zoo.py", "--out", str(tmp_path / "zoo.png"), cwd=str(tmp_path))  # the default zoo
    assert (tmp_path / "zoo.png").exists() or (tmp_path / "zoo.svg").exists()
    assert os.path.isdir(zoo)


def test_training_hook_reports_the_parent(tmp_path):
    out = run("training_hook.py", cwd=str(tmp_path)).stdout
    assert "fine-tuned from: a-chat" in out and "started from a-chat" in out
    out = run("training_hook.py", "--start", "b-math", cwd=str(tmp_path)).stdout
    assert "fine-tuned from: b-math" in out


@pytest.mark.parametrize("start", ["a", "a11", "b2"])
def test_training_hook_with_known_models_on_disk(zoo, tmp_path, start):
    out = run("training_hook.py", "--known", zoo, "--start", start, cwd=str(tmp_path)).stdout
    assert f"fine-tuned from: {start} " in out


def test_training_hook_with_the_example_zoo(tmp_path):
    zoo = example_zoo(0)
    out = run("training_hook.py", "--known", zoo, cwd=str(tmp_path)).stdout  # exits 1 on a wrong parent
    assert "the new checkpoint was fine-tuned from" in out
