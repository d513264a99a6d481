#!/usr/bin/env python3
"""A hub index fed by a Ray cluster: signatures are computed where the weights are (Ray tasks,
each with the modeltree package), and one writer adds them to the index.

    python examples/ray/index_with_ray.py INDEX FOLDER [FOLDER ...] [--address auto] [--cpus 2]

Reading weights is the expensive part of indexing, and it runs as tasks: a task reads one model
and returns its signature as bytes (a few hundred kB, portable across machines). The driver is
the index's only writer: it adds each signature as it arrives (one SQLite transaction each), then
prints the Model Graph recovered from the index. Without --address a local cluster is started
with --cpus workers; on a real cluster, paths must be readable by the workers (a shared file
system or object store mount).
"""
from __future__ import annotations

import argparse
import os
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("index", help="the index file (made when missing)")
    ap.add_argument("folders", nargs="+", help="model folders, or folders of model folders")
    ap.add_argument("--address", default=None, help="a Ray cluster to join (default: start a local one)")
    ap.add_argument("--cpus", type=int, default=2, help="workers of the local cluster")
    ap.add_argument("--truth", default=None, help="score the graph against this truth file")
    args = ap.parse_args()
    try:
        import ray
    except ImportError:
        print("index_with_ray.py: needs the ray package (pip install ray)", file=sys.stderr)
        return 2
    import modeltree as mt

    models = []
    for folder in args.folders:
        if not os.path.isdir(folder):
            print(f"index_with_ray.py: {folder}: not a folder", file=sys.stderr)
            return 2
        own = [e for e in os.listdir(folder) if e.endswith(".safetensors") or e.endswith(".safetensors.index.json")]
        if own:
            models.append(folder)
        else:
            models += [os.path.join(folder, d) for d in sorted(os.listdir(folder))
                       if not d.startswith(".") and os.path.isdir(os.path.join(folder, d))]

    @ray.remote
    def sign(path: str, sketch: dict) -> bytes:
        """One model's signature, computed on a worker: one read of its weights."""
        import modeltree

        return bytes(modeltree.signature(path, sketch=sketch, threads=1))

    if args.address:
        ray.init(address=args.address, log_to_driver=False)
    else:
        ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    try:
        with mt.Index(args.index) as index:
            sketch = index.sketch            # sign with the index's own sketch sizes
            pending = [sign.remote(os.path.abspath(p), sketch) for p in models]
            while pending:                   # add in the order signatures arrive: one writer
                done, pending = ray.wait(pending)
                for data in ray.get(done):
                    index.add(data)
            graph = index.graph()
        print(f"{len(models)} models signed by Ray tasks, added by one writer")
        print(graph.render("text", graph.evaluate(args.truth) if args.truth else None))
    finally:
        ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
