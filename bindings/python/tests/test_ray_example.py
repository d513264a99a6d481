"""examples/ray/index_with_ray.py: signatures computed by Ray tasks on a local cluster, added by
one writer; the index's graph is recover's."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

import modeltree as mt
from mt_support import ROOT, example_zoo

pytest.importorskip("ray", reason="the ray package is not installed (Tests/python/requirements.txt has it)")


def test_ray_signs_the_example_zoos_and_the_graph_is_recovers(tmp_path):
    zoos = [example_zoo(0), example_zoo(1)]
    index = str(tmp_path / "hub.mtindex")
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "ray", "index_with_ray.py"), index, *zoos,
                           "--cpus", "2"], capture_output=True, text=True, timeout=600, cwd=str(tmp_path))
    assert proc.returncode == 0, f"index_with_ray.py failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    assert "26 models signed by Ray tasks" in proc.stdout
    want = mt.recover(zoos)
    with mt.Index(index) as ix:
        assert len(ix) == len(want)
        g = ix.graph()
    # the index lists models by id, recover in the order given: compare as sets
    assert sorted(g.ids) == sorted(want.ids) and g.metric == want.metric
    assert {frozenset(t) for t in g.trees} == {frozenset(t) for t in want.trees}
    assert {m: g.parent(m) for m in g.ids} == {m: want.parent(m) for m in want.ids}
    assert g.render("text") in proc.stdout
