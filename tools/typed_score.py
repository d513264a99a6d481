#!/usr/bin/env python3
"""The typed score of a Model Graph against a typed truth file, in plain Python, from the team's
truth contract: a relation is right when its parent, child and type are; a model stands for
either copy of its true duplicate group; a latent node is known by its children. Also the
untyped edge recall (a true edge counts when its child's primary parent is its parent, as in
Horwitz et al.) and the adjusted Rand index of the families.

`modeltree-cli recover --truth` scores libmodeltree's own graphs in Swift (Graph/Scoring.swift);
this scores graphs made elsewhere (tools/reference_typed.py: the paper's method), and
Tests/python/test_typed_score.py checks that the two agree on the CLI's graphs and many truths.

A graph is the CLI's JSON document or its shape: {"models": [{"id", "latent"?}], "edges":
[{"parent", "child", "type"}], "duplicates": [[id, ...]]}; a child's first edge is its primary one.
Needs only the standard library.
"""
from __future__ import annotations

import itertools

TYPES = ["finetune", "adapter", "quantized", "merge", "layer-subset"]


def relations(truth: dict, doc: dict) -> dict:
    """Typed relations: how many of the truth's were reported with parent, child and type right,
    how many the truth holds and the graph reports, and (correct, total) per type; by
    enumeration, every true relation looked for among every reported one."""
    group = {}                                    # model -> the set of models it stands for
    for g in truth.get("duplicates", []):
        for m in g:
            group[m] = frozenset(g)

    def same(a, b):
        return a == b or b in group.get(a, ())

    true_items = []
    for e in truth["edges"]:
        p, c, t = (e[0], e[1], "finetune") if isinstance(e, list) else (e["parent"], e["child"], e.get("type", "finetune"))
        true_items.append(("edge", t, ("model", p), ("model", c)))
    for node in truth.get("latent", []):
        latent = ("latent", frozenset(node["children"]))
        for c in node["children"]:
            true_items.append(("edge", "finetune", latent, ("model", c)))
        if node.get("parent"):
            true_items.append(("edge", "finetune", ("model", node["parent"]), latent))
    for g in truth.get("duplicates", []):
        for a, b in itertools.combinations(g, 2):
            true_items.append(("pair", "duplicate", a, b))

    reported_groups = [set(g) for g in doc.get("duplicates", [])]
    in_one_group = lambda a, b: any(a in g and b in g for g in reported_groups)
    # A recovered latent node (models[].latent) is known by its children, as a true one is.
    latent_ids = {m["id"] for m in doc["models"] if m.get("latent")}
    latent_children: dict[str, set] = {}
    for e in doc["edges"]:
        if e["parent"] in latent_ids and e["child"] not in latent_ids:
            latent_children.setdefault(e["parent"], set()).add(e["child"])

    def reported_end(m):
        return ("latent", frozenset(latent_children.get(m, ()))) if m in latent_ids else ("model", m)

    reported = []
    for e in doc["edges"]:
        if in_one_group(e["parent"], e["child"]):
            continue
        reported.append(("edge", e["type"], reported_end(e["parent"]), reported_end(e["child"])))
    for g in reported_groups:
        for a, b in itertools.combinations(sorted(g), 2):
            reported.append(("pair", "duplicate", a, b))

    def end_matches(true_end, got_end):
        if true_end[0] == "latent" or got_end[0] == "latent":
            return false_if_mixed(true_end, got_end)
        return same(true_end[1], got_end[1])

    def false_if_mixed(a, b):
        if a[0] != b[0]:
            return False
        return {frozenset(group.get(m, {m})) for m in a[1]} == {frozenset(group.get(m, {m})) for m in b[1]}

    def matches(t, r):
        if t[0] != r[0] or t[1] != r[1]:
            return False
        if t[0] == "pair":
            return {t[2], t[3]} == {r[2], r[3]}
        return end_matches(t[2], r[2]) and end_matches(t[3], r[3])

    # Relations are sets: equal ones (two copies standing for one group) count once on each side.
    def distinct(items):
        kept = []
        for x in items:
            if not any(matches_same(x, y) for y in kept):
                kept.append(x)
        return kept

    def matches_same(x, y):
        return matches(x, y) and matches(y, x)

    true_items, reported_distinct = distinct(true_items), distinct(reported)
    # An edge joining two copies of one true group is reported but can match no relation.
    self_loops = [r for r in reported_distinct if r[0] == "edge" and r[2][0] == "model" and same(r[2][1], r[3][1])]
    found = [t for t in true_items if any(matches(t, r) for r in reported_distinct)]
    types = {}
    for kind in TYPES + ["duplicate"]:
        of_kind = [t for t in true_items if t[1] == kind]
        if of_kind:
            types[kind] = (sum(1 for t in found if t[1] == kind), len(of_kind))
    return {"correct": len(found), "true": len(true_items), "reported": len(reported_distinct),
            "types": types, "self_loops": len(self_loops)}


def _primary(doc: dict) -> dict:
    """Each child's primary parent: its first edge's."""
    primary = {}
    for e in doc["edges"]:
        primary.setdefault(e["child"], e["parent"])
    return primary


def _true_pairs(truth: dict) -> list:
    return [(e[0], e[1]) if isinstance(e, list) else (e["parent"], e["child"]) for e in truth["edges"]]


def _families(pairs, ids):
    """Component label of every id, the components of `pairs` (union-find)."""
    parent = {m: m for m in ids}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        parent[find(a)] = find(b)
    return {m: find(m) for m in ids}


def adjusted_rand_index(a: list, b: list) -> float:
    """Hubert and Arabie's adjusted Rand index of two labelings of the same items; 1 when both
    are the trivial one that leaves nothing to adjust (as Clustering.adjustedRandIndex)."""
    pairs = lambda m: m * (m - 1) / 2
    count = lambda labels: {x: labels.count(x) for x in set(labels)}
    index = sum(pairs(v) for v in count(list(zip(a, b))).values())
    rows, columns = sum(pairs(v) for v in count(a).values()), sum(pairs(v) for v in count(b).values())
    expected = rows * columns / pairs(len(a)) if len(a) >= 2 else 0
    maximum = (rows + columns) / 2
    return 1.0 if maximum == expected else (index - expected) / (maximum - expected)


def untyped(truth: dict, doc: dict) -> tuple[int, int]:
    """(right, total) true edges whose child's primary parent (its first edge) is the true parent."""
    primary, pairs = _primary(doc), _true_pairs(truth)
    return sum(primary.get(c) == p for p, c in pairs), len(pairs)


def ari(truth: dict, doc: dict) -> float:
    """Adjusted Rand index of the recovered families (components of the primary edges and the
    duplicate groups, through latent nodes) against the true ones (components of the truth's
    edges, duplicate groups and latent nodes), over the models that are not latent nodes; models
    the truth does not name are families of one."""
    latent = {m["id"] for m in doc["models"] if m.get("latent")}
    ids = [m["id"] for m in doc["models"]]
    models = [m for m in ids if m not in latent]
    got_pairs = [(p, c) for c, p in _primary(doc).items()]
    got_pairs += [(g[0], m) for g in doc.get("duplicates", []) for m in g[1:]]
    true_pairs = _true_pairs(truth)
    true_pairs += [(g[0], m) for g in truth.get("duplicates", []) for m in g[1:]]
    for node in truth.get("latent", []):
        true_pairs += [(node["children"][0], c) for c in node["children"][1:]]
        if node.get("parent"):
            true_pairs.append((node["parent"], node["children"][0]))
    got, want = _families(got_pairs, ids), _families(true_pairs, ids)
    return adjusted_rand_index([got[m] for m in models], [want[m] for m in models])


def score(truth: dict, doc: dict) -> dict:
    """Everything above, as `score` of the CLI's JSON names it (typed: f1, precision, recall,
    types {type: (correct, total)})."""
    r = relations(truth, doc)
    p = r["correct"] / r["reported"] if r["reported"] else 1.0
    rc = r["correct"] / r["true"] if r["true"] else 1.0
    right, total = untyped(truth, doc)
    return {"typed": dict(r, precision=p, recall=rc, f1=0.0 if p + rc == 0 else 2 * p * rc / (p + rc)),
            "correct": right, "total": total, "ari": ari(truth, doc)}
