#!/usr/bin/env python3
"""Reliability of the confidences modeltree-cli reports, measured on the example zoos.

For every relation the CLI reports (edges outside duplicate groups), this says whether it is
right by the typed truth contract (parent, child and type right; a model stands for any copy of
its true duplicate group; a latent node is known by its children), and tabulates, for each
threshold c, how many edges were reported with confidence >= c and what share of them is right.
Confidence means what it says when that share is at least c (issue 12).

    python3 tools/reliability.py [--cli build/c/bin/modeltree-cli] [--json] [ZOO ...]

Without ZOO it reads every zoo of examples/ that has a truth.json. Needs only the standard library.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
THRESHOLDS = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99]


def zoos() -> list[str]:
    base = os.path.join(ROOT, "examples")
    return sorted(os.path.join(base, z) for z in os.listdir(base) if os.path.isfile(os.path.join(base, z, "truth.json")))


def true_relations(truth: dict) -> tuple[set, dict]:
    """(type, parent, child) of the truth, with latent ends as ('latent', children) and every
    model replaced by its duplicate group's smallest id; and the group map."""
    group = {}
    for g in truth.get("duplicates", []):
        for m in g:
            group[m] = min(g)
    canon = lambda m: group.get(m, m)
    rels = set()
    for e in truth["edges"]:
        p, c, t = (e[0], e[1], "finetune") if isinstance(e, list) else (e["parent"], e["child"], e.get("type", "finetune"))
        rels.add((t, canon(p), canon(c)))
    for node in truth.get("latent", []):
        latent = ("latent", frozenset(canon(c) for c in node["children"]))
        for c in node["children"]:
            rels.add(("finetune", latent, canon(c)))
        if node.get("parent"):
            rels.add(("finetune", canon(node["parent"]), latent))
    return rels, group


def judged_edges(doc: dict, truth: dict) -> list[dict]:
    """Each reported relation with its confidence and whether it is right."""
    rels, group = true_relations(truth)
    canon = lambda m: group.get(m, m)
    latent_ids = {m["id"] for m in doc["models"] if m.get("latent")}
    children = {}
    for e in doc["edges"]:
        children.setdefault(e["parent"], set()).add(canon(e["child"]))
    end = lambda m: ("latent", frozenset(children.get(m, ()))) if m in latent_ids else canon(m)
    in_group = lambda a, b: any(a in g and b in g for g in doc.get("duplicates", []))
    out = []
    for e in doc["edges"]:
        if in_group(e["parent"], e["child"]):
            continue
        right = (e["type"], end(e["parent"]), end(e["child"])) in rels
        out.append({"parent": e["parent"], "child": e["child"], "type": e["type"],
                    "family": family(e, latent_ids), "confidence": e["confidence"],
                    "raw_confidence": e.get("raw_confidence", e["confidence"]), "right": right})
    return out


def family(edge: dict, latent_ids: set) -> str:
    """The engine's way of computing the edge's confidence (`Calibration.Family`): its type, but
    an edge to or from a latent node (`LatentParents`, from angles) is a `latent` one."""
    return "latent" if edge["parent"] in latent_ids or edge["child"] in latent_ids else edge["type"]


def judged(cli: str, zoos: list[str]) -> list[dict]:
    """The judged relations of every zoo (`judged_edges`), each with its zoo's name."""
    edges = []
    for zoo in zoos:
        with open(os.path.join(zoo, "truth.json")) as f:
            truth = json.load(f)
        doc = json.loads(subprocess.run([cli, "recover", zoo, "--format", "json", "--quiet"],
                                        check=True, capture_output=True, text=True).stdout)
        edges += [dict(e, zoo=os.path.basename(zoo.rstrip("/"))) for e in judged_edges(doc, truth)]
    return edges


def table(edges: list[dict]) -> list[dict]:
    rows = []
    for c in THRESHOLDS:
        kept = [e for e in edges if e["confidence"] >= c]
        right = sum(e["right"] for e in kept)
        rows.append({"threshold": c, "edges": len(kept), "right": right,
                     "share": right / len(kept) if kept else None})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("zoos", nargs="*")
    ap.add_argument("--cli", default=os.environ.get("MODELTREE_CLI", os.path.join(ROOT, "build", "c", "bin", "modeltree-cli")))
    ap.add_argument("--json", action="store_true", help="print the judged edges and the table as JSON")
    args = ap.parse_args()
    edges = judged(args.cli, args.zoos or zoos())
    rows = table(edges)
    if args.json:
        json.dump({"edges": edges, "table": rows}, sys.stdout, indent=1)
        print()
        return
    print("| confidence ≥ | edges | right | share right |")
    print("|---|---|---|---|")
    for r in rows:
        share = "—" if r["share"] is None else f"{r['share']:.2f}"
        flag = "" if r["share"] is None or r["share"] >= r["threshold"] else " **below**"
        print(f"| {r['threshold']:.2f} | {r['edges']} | {r['right']} | {share}{flag} |")


if __name__ == "__main__":
    main()
