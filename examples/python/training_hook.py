"""A training-pipeline hook: after a fine-tuning run, report which known model the new
checkpoint was trained from — with the weights still in memory, lent to libmodeltree without a copy.

    python examples/python/training_hook.py                      # a self-contained numpy run
    python examples/python/training_hook.py --known examples/zoo --start MODEL
                                                                 # known models from a zoo on disk

The self-contained run "downloads" two pretrained bases (heavy-tailed weights, as pretrained
weights are), fine-tunes three known models from them with AdamW and weight decay on small
regression tasks, then runs the pipeline's own fine-tuning from one of them. The hook is
`report_parent`; everything else stands in for the pipeline. It exits non-zero if the reported
parent is not the model the run started from.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Mapping

try:
    import numpy as np

    import modeltree as mt
except ImportError as missing:
    sys.exit(f"training_hook.py needs {missing.name}: pip install ./bindings/python (README.md, From Python)")

SIDE, OUT = 32, 4


# --- the hook ----------------------------------------------------------------------------------

def report_parent(new_state: Mapping[str, np.ndarray], known: Mapping[str, object], new_id: str = "new-checkpoint"):
    """Recovers the Model Graph of the known models (paths or state dicts) plus the new state
    dict and returns (parent id or None, confidence, graph). The pipeline knows its run was a
    fine-tuning, so it says so instead of letting the direction be guessed."""
    graph = mt.recover({**known, new_id: new_state}, direction="finetune")
    edge = graph.edge(new_id)
    return (edge.parent, edge.confidence, graph) if edge else (None, math.nan, graph)


# --- a tiny numpy training loop (stands in for the pipeline's) ---------------------------------

def pretrained(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "layers.0.weight": rng.laplace(0, 0.08, (SIDE, SIDE)).astype(np.float32),
        "layers.1.weight": rng.laplace(0, 0.08, (SIDE, SIDE)).astype(np.float32),
        "head.weight": rng.normal(0, 0.1, (SIDE, OUT)).astype(np.float32),
        "step": np.array(0, dtype=np.int64),  # not a weight: recovery skips integer entries
    }


def fine_tune(start: Mapping[str, np.ndarray], task_seed: int, steps: int = 300, lr: float = 2e-4,
              weight_decay: float = 0.05) -> dict[str, np.ndarray]:
    """AdamW on a random teacher's regression task; a new head, as fine-tuning usually has."""
    rng = np.random.default_rng(task_seed)
    teacher = [rng.normal(0, 1 / math.sqrt(SIDE), (SIDE, SIDE)) for _ in range(2)] + [rng.normal(0, 1, (SIDE, OUT))]
    w = [start["layers.0.weight"].astype(np.float64), start["layers.1.weight"].astype(np.float64),
         rng.normal(0, 0.1, (SIDE, OUT))]
    m = [np.zeros_like(a) for a in w]
    v = [np.zeros_like(a) for a in w]
    for t in range(1, steps + 1):
        x = rng.normal(0, 1, (64, SIDE))
        y = np.tanh(np.tanh(x @ teacher[0]) @ teacher[1]) @ teacher[2]
        h1 = np.tanh(x @ w[0])
        h2 = np.tanh(h1 @ w[1])
        err = (h2 @ w[2] - y) / len(x)
        g2 = h2.T @ err
        d2 = (err @ w[2].T) * (1 - h2**2)
        g1 = h1.T @ d2
        d1 = (d2 @ w[1].T) * (1 - h1**2)
        g0 = x.T @ d1
        for k, g in enumerate((g0, g1, g2)):
            m[k] = 0.9 * m[k] + 0.1 * g
            v[k] = 0.999 * v[k] + 0.001 * g * g
            update = (m[k] / (1 - 0.9**t)) / (np.sqrt(v[k] / (1 - 0.999**t)) + 1e-8)
            w[k] -= lr * (update + weight_decay * w[k])
    return {"layers.0.weight": w[0].astype(np.float32), "layers.1.weight": w[1].astype(np.float32),
            "head.weight": w[2].astype(np.float32), "step": np.array(int(start["step"]) + steps, dtype=np.int64)}


def simulated_fine_tune(start: Mapping[str, np.ndarray], seed: int) -> dict[str, np.ndarray]:
    """For models we cannot run here (a zoo's): what a fine-tuning run does to the weights, in one
    step — an update nearly orthogonal to the weights (a tenth of their spread, Gaussian, which
    also thins the heavy tails) and a little weight decay pulling them in (a third of the update's
    energy, as measured on the example zoo's real fine-tunes)."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, a in start.items():
        if a.dtype.kind != "f":
            continue
        a = a.astype(np.float64)
        sigma = float(np.std(a)) if a.size else 0.0
        update = rng.normal(0, 0.1 * sigma, a.shape)
        decay = 0.3 * float(np.sum(update**2)) / max(float(np.sum(a**2)), 1e-30)
        out[name] = ((1 - decay) * a + update).astype(np.float32)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--known", help="a folder of model folders to use as the known models")
    parser.add_argument("--start", help="with --known: the model the new run starts from")
    args = parser.parse_args()
    try:
        return run(args)
    except (OSError, ValueError, mt.ModelTreeError) as e:  # a missing folder, an unreadable model
        sys.exit(f"training_hook.py: {e}")


def run(args: argparse.Namespace) -> int:
    if args.known:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
        import st  # the repository's numpy safetensors reader

        ids = sorted(d for d in os.listdir(args.known) if os.path.isdir(os.path.join(args.known, d)))
        if not ids:
            raise ValueError(f"--known {args.known}: no model folders in it")
        known: dict[str, object] = {m: os.path.join(args.known, m) for m in ids}  # paths: read by the library
        start_id = args.start or ids[-1]
        if start_id not in known:
            raise ValueError(f"--start {start_id} is not a model of {args.known} ({', '.join(ids)})")
        new_state = simulated_fine_tune(st.load_model(known[start_id]), seed=1)
    else:
        base_a, base_b = pretrained(1), pretrained(2)
        known = {"base-a": base_a, "base-b": base_b,
                 "a-chat": fine_tune(base_a, task_seed=10),
                 "a-code": fine_tune(base_a, task_seed=11),
                 "b-math": fine_tune(base_b, task_seed=12)}
        start_id = args.start or "a-chat"
        if start_id not in known:
            raise ValueError(f"--start {start_id} is not one of the known models ({', '.join(known)})")
        new_state = fine_tune(known[start_id], task_seed=13)  # the pipeline's run

    parent, confidence, graph = report_parent(new_state, known)
    print(f"known models: {', '.join(sorted(known))}")
    print(f"the new checkpoint was fine-tuned from: {parent} (confidence {confidence:.2f}); the run started from {start_id}")
    print(f"its family: {' / '.join(graph.trees[graph.tree_of('new-checkpoint')])}")
    return 0 if parent == start_id else 1


if __name__ == "__main__":
    sys.exit(main())
