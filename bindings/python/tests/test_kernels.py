"""The vector kernels through Python: kernel_name() names the set the library runs, the
environment variable MODELTREE_KERNEL (read once, before the first use) forces one, and a forced
set recovers the same graph."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import modeltree as mt
from mt_support import EXAMPLE_ZOOS

SETS = {"avx512", "avx2", "sse2", "neon", "portable"}

# Prints the kernel a fresh process runs under the environment given, and the graph of a zoo.
CHILD = """
import json, sys
import modeltree as mt
g = mt.recover(sys.argv[1])
print(json.dumps({"kernel": mt.kernel_name(), "edges": [[e.parent, e.child] for e in g.edges],
                  "distances": [e.distance for e in g.edges]}))
"""


def child(env_kernel: str | None, zoo: str) -> dict:
    env = dict(os.environ)
    env.pop("MODELTREE_KERNEL", None)
    if env_kernel is not None:
        env["MODELTREE_KERNEL"] = env_kernel
    out = subprocess.run([sys.executable, "-c", CHILD, zoo], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout)


def test_kernel_name_is_a_known_set_and_stable():
    assert mt.kernel_name() in SETS
    assert mt.kernel_name() == mt.kernel_name()


def test_the_environment_forces_a_set_and_the_graph_stays():
    zoo = EXAMPLE_ZOOS[0]
    best = child(None, zoo)
    forced = ["portable"] + (["sse2"] if platform.machine() in ("x86_64", "AMD64") else [])
    for name in forced:
        other = child(name, zoo)
        assert other["kernel"] == name
        assert other["edges"] == best["edges"], name
        for a, b in zip(other["distances"], best["distances"]):
            assert abs(a - b) <= 1e-5 * abs(b), name
    # An unknown name gives the best set.
    assert child("no-such-set", zoo)["kernel"] == best["kernel"]
