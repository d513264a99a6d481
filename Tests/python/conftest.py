"""Shared fixtures: the built CLI, the example zoos, and synthetic families written with tools/st.py."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import st  # noqa: E402  (the repo's own numpy safetensors reader/writer)

CLI = os.environ.get("MODELTREE_CLI", os.path.join(ROOT, ".build", "release", "modeltree-cli"))
ZOOS = [os.path.join(ROOT, "examples", "zoo"), os.path.join(ROOT, "examples", "zoo2")]


def run_cli(*args, check=True):
    """Runs modeltree-cli; returns the CompletedProcess (text mode)."""
    if not os.path.exists(CLI):
        pytest.fail(f"{CLI} is missing: build it first (make build)")
    proc = subprocess.run([CLI, *args], capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"modeltree-cli {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc


def recover_json(*args):
    return json.loads(run_cli("recover", *args, "--format", "json", "--quiet").stdout)


def model_folders(zoo):
    return sorted(d for d in os.listdir(zoo) if os.path.isdir(os.path.join(zoo, d)))


class Family:
    """Writes a synthetic family of models (numpy) whose true graph is known by construction."""

    def __init__(self, root, seed, names=("layers.0.q", "layers.0.v", "layers.1.q", "layers.1.v"), side=32):
        self.dir = root
        self.rng = np.random.default_rng(seed)
        self.names, self.side = names, side
        self.weights, self.edges = {}, []

    def root(self, mid):
        self.weights[mid] = {n: self.rng.laplace(0, 0.05, (self.side, self.side)) for n in self.names}
        return mid

    def full(self, mid, parent, std=0.02):
        self.weights[mid] = {n: w + self.rng.normal(0, std, w.shape) for n, w in self.weights[parent].items()}
        self.edges.append([parent, mid])
        return mid

    def lora(self, mid, parent, rank=2, scale=0.03):
        out = {}
        for n, w in self.weights[parent].items():
            b = self.rng.normal(0, scale, (self.side, rank))
            a = self.rng.normal(0, 1, (rank, self.side))
            out[n] = w + b @ a
        self.weights[mid] = out
        self.edges.append([parent, mid])
        return mid

    def write(self, dtype=np.float32):
        for mid, ws in self.weights.items():
            os.makedirs(os.path.join(self.dir, mid), exist_ok=True)
            st.write(os.path.join(self.dir, mid, "model.safetensors"), {n: w.astype(dtype) for n, w in ws.items()})
        children = {c for _, c in self.edges}
        truth = {"edges": self.edges, "roots": sorted(m for m in self.weights if m not in children)}
        with open(os.path.join(self.dir, "truth.json"), "w") as f:
            json.dump(truth, f)
        return self.dir


@pytest.fixture
def family(tmp_path):
    def make(seed=0):
        return Family(str(tmp_path / f"family{seed}"), seed)
    return make
