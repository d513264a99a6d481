"""The one test-support module of the Python tests, the package's (bindings/python/tests) and the
CLI's (Tests/python, whose conftest imports it): a synthetic zoo written with the repository's
tools/st.py (its true graph known by construction), synthetic families, the example zoos when
present, and the CLI to compare with. Imported by name: a module called conftest would clash
when both folders are collected at once."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import st  # noqa: E402  (the repository's numpy safetensors reader/writer: an independent reader)

EXAMPLE_ZOOS = [os.path.join(ROOT, "examples", name) for name in ("zoo", "zoo2")]

#: The SwiftPM scratch folders whose release CLI the tests use when MODELTREE_CLI is not set, in
#: order: `make build`'s (.build-dist, beside the library), then a plain `swift build -c release`'s.
CLI_SCRATCHES = [".build-dist", ".build"]


def cli_path() -> str | None:
    candidates = [os.environ.get("MODELTREE_CLI")] + [
        os.path.join(ROOT, scratch, "release", "modeltree-cli") for scratch in CLI_SCRATCHES
    ]
    return next((c for c in candidates if c and os.path.exists(c)), None)


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Runs modeltree-cli from the repository's root; with check, a failure fails the test."""
    cli = cli_path()
    if cli is None:
        pytest.fail("modeltree-cli is missing: build it first (make build) or set MODELTREE_CLI")
    proc = subprocess.run([cli, *args], capture_output=True, text=True, timeout=600, cwd=ROOT)
    if check and proc.returncode != 0:
        raise AssertionError(f"modeltree-cli {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc


def cli_output(*args: str) -> str:
    """What modeltree-cli prints for `args` (which must succeed)."""
    return run_cli(*args).stdout


def cli_json(*args: str) -> str:
    return cli_output("recover", *args, "--format", "json", "--quiet")


def recover_json(*args: str) -> dict:
    return json.loads(cli_json(*args))


def artifacts(name: str) -> str:
    """A folder for what a test leaves for people to look at (pictures, screenshots):
    $MODELTREE_ARTIFACTS/NAME, else .build/test-artifacts/NAME."""
    folder = os.path.join(os.environ.get("MODELTREE_ARTIFACTS") or os.path.join(ROOT, ".build", "test-artifacts"), name)
    os.makedirs(folder, exist_ok=True)
    return folder


def browser_check(*args: str) -> dict:
    """Runs tools/browser_check.py (headless Chromium over the DevTools pipe) with `args` and
    returns its report. Without Chromium the calling test is skipped, unless
    MODELTREE_REQUIRE_BROWSER=1 (CI sets it), where it fails."""
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "browser_check.py"), *args],
                          capture_output=True, text=True, timeout=300)
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(f"browser_check.py gave no report ({proc.returncode}): {proc.stderr[-2000:]}") from None
    if report.get("fatal") and any("no Chromium" in p for p in report["problems"]):
        if os.environ.get("MODELTREE_REQUIRE_BROWSER") == "1":
            pytest.fail("MODELTREE_REQUIRE_BROWSER=1 but no Chromium was found: apt-get install chromium")
        pytest.skip("Chromium is not installed (apt-get install chromium); the browser check is skipped")
    assert proc.returncode == 0 and report["problems"] == [], json.dumps(report["problems"], ensure_ascii=False)[:4000]
    return report


def model_folders(zoo: str) -> list[str]:
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


# The synthetic zoo: two families of four square matrices each (plus a head that is not square
# and an integer step counter, which recovery must ignore). Fine-tuning adds Gaussian noise to a
# heavy-tailed (Laplace) parent, so kurtosis falls from parent to child.
TREE = {"a": None, "a1": "a", "a2": "a", "a11": "a1", "b": None, "b1": "b", "b2": "b", "b21": "b2"}
NAMES = [f"layers.{k}.{p}.weight" for k in range(2) for p in ("q", "v")]


def make_weights(seed: int = 7, side: int = 32) -> dict[str, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    weights: dict[str, dict[str, np.ndarray]] = {}
    for model, parent in TREE.items():
        if parent is None:
            w = {n: rng.laplace(0, 0.05, (side, side)) for n in NAMES}
        else:
            w = {n: weights[parent][n] + rng.normal(0, 0.02, (side, side)) for n in NAMES}
        w = {n: a.astype(np.float32) for n, a in w.items()}
        w["head.weight"] = rng.normal(0, 0.1, (10, side)).astype(np.float32)
        w["step"] = np.array([1000], dtype=np.int64)
        weights[model] = w
    return weights


def truth_of_tree() -> dict:
    return {"edges": [[p, c] for c, p in TREE.items() if p is not None], "roots": [m for m, p in TREE.items() if p is None]}


@pytest.fixture(scope="session")
def weights() -> dict[str, dict[str, np.ndarray]]:
    return make_weights()


@pytest.fixture(scope="session")
def zoo(tmp_path_factory, weights) -> str:
    """A folder of model folders (model.safetensors each) and truth.json."""
    root = tmp_path_factory.mktemp("zoo")
    for model, w in weights.items():
        os.makedirs(root / model)
        st.write(str(root / model / "model.safetensors"), w)
    with open(root / "truth.json", "w") as f:
        json.dump(truth_of_tree(), f)
    return str(root)


def example_zoo(index: int) -> str:
    path = EXAMPLE_ZOOS[index]
    if not os.path.isfile(os.path.join(path, "truth.json")):
        pytest.skip(f"{path} is not there yet (generated by examples/make_zoo.py)")
    return path


def rms_distance(a: dict[str, np.ndarray], b: dict[str, np.ndarray], tensors: list[str]) -> float:
    """The paper's distance, computed plainly: mean over tensors of the RMS of the difference."""
    return float(np.mean([np.sqrt(np.mean((a[t].astype(np.float64) - b[t].astype(np.float64)) ** 2)) for t in tensors]))


def crowd(models: int, side: int, tensors: int = 2, seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    """Many models of a few large tensors around one base."""
    rng = np.random.default_rng(seed)
    base = {f"t{k}": rng.standard_normal((side, side), dtype=np.float32) for k in range(tensors)}
    out = {}
    for i in range(models):
        out[f"m{i:03d}"] = {}
        for k, a in base.items():
            b = rng.standard_normal(a.shape, dtype=np.float32)
            b *= 0.01 * (i + 1)
            b += a
            out[f"m{i:03d}"][k] = b
    return out


def longest_silence(models, **options) -> float:
    """The longest time the library computes between two progress reports."""
    import time

    import modeltree as mt

    stamps = [time.perf_counter()]
    mt.recover(models, progress=lambda f, s: stamps.append(time.perf_counter()), **options)
    stamps.append(time.perf_counter())
    return max(b - a for a, b in zip(stamps, stamps[1:]))


def slow_crowd(min_silence: float = 0.2, max_bytes: float = 1.5e9) -> tuple[int, float]:
    """How many models `crowd(models, 512)` needs for its recovery (metric rms) to compute at
    least min_silence seconds between two progress reports. The library keeps getting faster, so
    the size is found by doubling the number of models (the pairwise work grows as its square).
    Returns (models, silence); skips the calling test when even max_bytes of weights is too quick."""
    models, side, tensors = 16, 512, 2
    while True:
        silence = longest_silence(crowd(models, side, tensors), metric="rms")
        if silence >= min_silence:
            return models, silence
        if 2 * models * tensors * side * side * 4 > max_bytes:
            pytest.skip(f"the library computes {max_bytes / 1e9:.1f} GB of weights with pauses under {min_silence} s")
        models *= 2


@pytest.fixture(scope="session")
def slow() -> tuple[int, float]:
    """slow_crowd(), measured once per session."""
    return slow_crowd()
