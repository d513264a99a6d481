"""The README promises that every script of tools/ and examples/ says in one line what is missing
— a Python package or an input — instead of printing a traceback. Each case runs a script the way
a reader would get it wrong and checks the exit status and that stderr is that one line.
A missing package is simulated with `python -S` (no site-packages: only the standard library)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MISSING = "/nonexistent/folder"


def run(script: str, *args: str, no_packages: bool = False) -> subprocess.CompletedProcess:
    flags = ["-S"] if no_packages else []
    return subprocess.run([sys.executable, *flags, os.path.join(ROOT, script), *args], capture_output=True,
                          text=True, timeout=300, cwd=ROOT)


def assert_one_line(proc: subprocess.CompletedProcess, *words: str) -> None:
    lines = proc.stderr.splitlines()
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


@pytest.mark.parametrize("script, package", [
    ("tools/reference_recover.py", "pip install numpy scipy networkx"),
    ("bench/baseline.py", "pip install numpy scipy networkx"),
    ("tools/reference_typed.py", "pip install numpy scipy networkx"),
    ("tools/to_safetensors.py", "pip install numpy"),
    ("examples/make_zoo.py", "tools/requirements-zoo.txt"),
    ("examples/python/draw_zoo.py", "pip install ./bindings/python"),
    ("examples/python/training_hook.py", "pip install ./bindings/python"),
])
def test_a_missing_package_is_named(script, package):
    assert_one_line(run(script, "--help", no_packages=True), "needs", package)


def test_reference_recover_missing_inputs(tmp_path):
    assert_one_line(run("tools/reference_recover.py", MISSING), MISSING, "not a folder")
    assert_one_line(run("tools/reference_recover.py", str(tmp_path)), "no models under")
    assert_one_line(run("tools/reference_recover.py", "examples/zoo", "--truth", MISSING + ".json"),
                    MISSING, "No such file")
    bad = tmp_path / "truth.json"
    bad.write_text('{"roots": []}')
    assert_one_line(run("tools/reference_recover.py", "examples/zoo", "--truth", str(bad)), str(bad), '"edges"')


def test_reference_recover_reads_typed_truth_edges(tmp_path):
    """A typed edge ({"parent", "child", "type"}) of the shared truth contract scores as its pair:
    the same score as the untyped file it was written from (examples/zoo/truth.json)."""
    import json

    with open(os.path.join(ROOT, "examples", "zoo", "truth.json")) as f:
        truth = json.load(f)
    typed = dict(truth, edges=[{"parent": p, "child": c, "type": "finetune"} for p, c in truth["edges"]])
    (tmp_path / "typed.json").write_text(json.dumps(typed))
    scores = []
    for path in (os.path.join(ROOT, "examples", "zoo", "truth.json"), str(tmp_path / "typed.json")):
        proc = run("tools/reference_recover.py", "examples/zoo", "--truth", path)
        assert proc.returncode == 0, proc.stderr
        scores.append(json.loads(proc.stdout)["score"])
    assert scores[0] == scores[1] and scores[0]["total"] == len(truth["edges"])


def test_reference_typed_missing_inputs(tmp_path):
    pytest.importorskip("scipy")
    assert_one_line(run("tools/reference_typed.py", MISSING), "reference_typed.py", MISSING)
    assert_one_line(run("tools/reference_typed.py", str(tmp_path)), "reference_typed.py", "truth.json")
    assert_one_line(run("tools/to_safetensors.py", MISSING, str(tmp_path / "out")), "to_safetensors.py", MISSING)


def test_examples_missing_inputs(tmp_path):
    pytest.importorskip("modeltree")
    assert_one_line(run("examples/python/draw_zoo.py", MISSING), "draw_zoo.py", MISSING)
    assert_one_line(run("examples/python/draw_zoo.py", "examples/zoo", "--out", MISSING + "/graph.png"),
                    "draw_zoo.py", "--out")
    assert_one_line(run("examples/python/training_hook.py", "--known", MISSING), "training_hook.py", MISSING)
    assert_one_line(run("examples/python/training_hook.py", "--known", str(tmp_path)), "no model folders")
    assert_one_line(run("examples/python/training_hook.py", "--start", "nobody"), "--start nobody")
