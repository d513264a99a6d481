#!/usr/bin/env python3
"""The paper's method (tools/reference_recover.py, defaults) on typed zoos as published, scored as
libmodeltree's own graphs are: each zoo is converted to safetensors in a temporary folder by
tools/to_safetensors.py (GGUF, ONNX, .bin read by their own libraries; an un-merged adapter merged
into the base its config claims, or left out when that base is not in the zoo), recovered, and its
edges — all of type "finetune", the only relation the method makes — scored against the zoo's
truth.json by tools/typed_score.py (typed F1, recall per type, ARI, untyped edge recall).

    /work/venv/h-data/bin/python tools/reference_typed.py examples/formats_zoo examples/typed_zoo examples/typed_zoo2

Prints a Markdown table (one row per zoo) and, with --json, the graphs and scores. The temporary
copies (links, and converted files of a few MB) are deleted at the end. Needs numpy, scipy,
networkx, torch, safetensors, and gguf and onnx for zoos holding those formats:
    pip install numpy scipy networkx torch safetensors gguf onnx
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile

PACKAGES = "pip install numpy scipy networkx torch safetensors gguf onnx"
for _package in ("numpy", "scipy", "networkx"):
    if importlib.util.find_spec(_package) is None:
        sys.exit(f"reference_typed.py needs {_package}: {PACKAGES}")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_recover  # noqa: E402
import to_safetensors  # noqa: E402
import typed_score  # noqa: E402


def run(zoo: str, workdir: str, adapters: str = "claimed") -> dict:
    """The reference's graph of ZOO (converted under WORKDIR) and its score against truth.json."""
    truth_path = os.path.join(zoo, "truth.json")
    if not os.path.isfile(truth_path):
        raise ValueError(f"no truth.json in {zoo}")
    with open(truth_path) as f:
        truth = json.load(f)
    out = os.path.join(workdir, os.path.basename(os.path.normpath(zoo)))
    conversion = to_safetensors.convert(zoo, out, adapters)
    res = reference_recover.recover(out)
    # Every model of the zoo is in the graph, a left-out adapter as a model with no edge.
    doc = {"models": [{"id": m} for m in sorted(conversion)],
           "edges": [{"parent": p, "child": c, "type": "finetune"} for p, c in res["edges"]],
           "duplicates": []}
    return {"zoo": zoo, "conversion": conversion, "graph": doc, "tensors_used": len(res["tensors_used"]),
            "score": typed_score.score(truth, doc)}


def row(result: dict) -> str:
    s, t = result["score"], result["score"]["typed"]
    kinds = ", ".join(f"{k} {c}/{n}" for k, (c, n) in t["types"].items())
    return (f"| {os.path.basename(os.path.normpath(result['zoo']))} | {t['f1']:.3f} ({t['correct']}/{t['true']}, "
            f"{t['reported']} reported) | {kinds} | {s['ari']:.3f} | {s['correct']}/{s['total']} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("zoos", nargs="+", help="folders holding a truth.json")
    ap.add_argument("--adapters", choices=("claimed", "omit"), default="claimed",
                    help="merge each adapter into the base its config claims (default), or leave adapters out")
    ap.add_argument("--json", action="store_true", help="also print every graph and score as JSON")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="reference_typed-") as workdir:
        for zoo in args.zoos:
            try:
                results.append(run(zoo, workdir, args.adapters))
            except (OSError, ValueError, KeyError) as e:      # to_safetensors.MissingPackage too
                sys.exit(f"reference_typed.py: {zoo}: {e}")
    print("| zoo | typed F1 (right/true, reported) | recall by type | ARI | untyped edge recall |")
    print("|---|---|---|---|---|")
    for r in results:
        print(row(r))
    for r in results:
        changed = {m: how for m, how in r["conversion"].items() if not how.startswith("safetensors")}
        print(f"\n{r['zoo']}: {r['tensors_used']} tensors used; " + "; ".join(f"{m}: {h}" for m, h in changed.items()))
    if args.json:
        print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
