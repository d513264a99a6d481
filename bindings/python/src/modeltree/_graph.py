"""The friendly result: an immutable Model Graph read out of a modeltree_graph_t, and its score
against a known graph."""
from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence, Union

import numpy as np

from . import _modeltree
from ._errors import FileError, FormatError, InvalidArgumentError

METRICS = {"auto": _modeltree.METRIC_AUTO, "rms": _modeltree.METRIC_RMS, "max": _modeltree.METRIC_MAX,
           "rank": _modeltree.METRIC_RANK}
DIRECTIONS = {"auto": _modeltree.DIRECTION_AUTO, "finetune": _modeltree.DIRECTION_FINETUNE,
              "generalization": _modeltree.DIRECTION_GENERALIZATION}
_METRIC_NAMES = {v: k for k, v in METRICS.items()}
_DIRECTION_NAMES = {v: k for k, v in DIRECTIONS.items()}

Truth = Union[Mapping[str, Any], str, "os.PathLike[str]"]


@dataclass(frozen=True)
class Edge:
    """An edge of the Model Graph: ``child`` was trained from ``parent``.

    ``distance`` is in the graph's metric; ``confidence`` in [0, 1]; ``unsure`` marks an edge
    whose confidence is too low to trust without a look."""

    parent: str
    child: str
    distance: float
    confidence: float
    unsure: bool = False


@dataclass(frozen=True)
class TreeScore:
    """Edge accuracy within one true tree, named by its true root."""

    root: str
    correct: int
    total: int

    @property
    def accuracy(self) -> float:
        return 1.0 if self.total == 0 else self.correct / self.total


@dataclass(frozen=True)
class Score:
    """How a recovered graph compares with the truth: edge accuracy (an edge counts when the
    recovered parent of a true child is its true parent, so a reversed edge is wrong), per true
    tree and overall, and the adjusted Rand index of tree membership."""

    trees: tuple[TreeScore, ...]
    correct: int
    total: int
    ari: float

    @property
    def accuracy(self) -> float:
        return 1.0 if self.total == 0 else self.correct / self.total


class Graph:
    """A recovered Model Graph: a forest over the models, immutable.

    ``ids`` orders everything that is indexed (``distances`` rows and columns)."""

    ids: list[str]
    paths: dict[str, str | None]
    kurtosis: dict[str, float]
    edges: list[Edge]
    roots: list[str]
    trees: list[list[str]]
    distances: np.ndarray
    metric: str
    directions: list[str]
    direction_unsure: list[bool]
    tensors: list[str]
    warnings: list[str]

    def __init__(self, raw: _modeltree.Graph) -> None:
        """Reads everything out of ``raw`` (which stays owned by the caller)."""
        n = raw.model_count()
        self.ids = [raw.model_id(i) for i in range(n)]
        self._index = {m: i for i, m in enumerate(self.ids)}
        self.paths = {m: raw.model_path(i) for i, m in enumerate(self.ids)}
        self.kurtosis = {m: raw.model_kurtosis(i) for i, m in enumerate(self.ids)}
        self._parent = [raw.parent(i) for i in range(n)]
        self.edges = [
            Edge(self.ids[p], self.ids[i], raw.edge_distance(i), raw.edge_confidence(i), raw.edge_unsure(i))
            for i, p in enumerate(self._parent)
            if p >= 0
        ]
        self._edge = {e.child: e for e in self.edges}
        tree_of = [raw.tree_of(i) for i in range(n)]
        t_count = raw.tree_count()
        self.roots = [self.ids[raw.tree_root(t)] for t in range(t_count)]
        self.trees = [[self.ids[i] for i in range(n) if tree_of[i] == t] for t in range(t_count)]
        self._tree_of = {m: tree_of[i] for i, m in enumerate(self.ids)}
        matrix = np.empty(raw.distances(), dtype=np.float64)
        raw.distances(matrix)
        self.distances = matrix.reshape(n, n)
        self.distances.flags.writeable = False
        self.metric = _METRIC_NAMES.get(raw.metric(), str(raw.metric()))
        self.directions = [_DIRECTION_NAMES.get(raw.tree_direction(t), "?") for t in range(t_count)]
        self.direction_unsure = [raw.tree_direction_unsure(t) for t in range(t_count)]
        self.tensors = [raw.tensor_name(k) for k in range(raw.tensor_count())]
        self.warnings = [raw.warning(k) for k in range(raw.warning_count())]
        self._json = raw.to_json()

    # -- lookups ------------------------------------------------------------------------------

    def _check(self, model_id: str) -> int:
        try:
            return self._index[model_id]
        except KeyError:
            raise KeyError(f"no model {model_id!r} in the graph (ids: {', '.join(self.ids[:10])}"
                           f"{' …' if len(self.ids) > 10 else ''})") from None

    def parent(self, model_id: str) -> str | None:
        """The id of the model ``model_id`` was trained from, or None for a root."""
        p = self._parent[self._check(model_id)]
        return None if p < 0 else self.ids[p]

    def children(self, model_id: str) -> list[str]:
        """The ids of the models trained from ``model_id``."""
        self._check(model_id)
        return [e.child for e in self.edges if e.parent == model_id]

    def edge(self, model_id: str) -> Edge | None:
        """The edge into ``model_id``, or None for a root."""
        self._check(model_id)
        return self._edge.get(model_id)

    def tree_of(self, model_id: str) -> int:
        """The index in ``trees`` (and ``roots``) of the tree holding ``model_id``."""
        self._check(model_id)
        return self._tree_of[model_id]

    def distance(self, a: str, b: str) -> float:
        """The distance between two models in the graph's metric."""
        return float(self.distances[self._check(a), self._check(b)])

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._index

    def __repr__(self) -> str:
        return f"<modeltree.Graph: {len(self.ids)} models, {len(self.trees)} trees, metric {self.metric}>"

    # -- exports ------------------------------------------------------------------------------

    def to_json(self) -> str:
        """The JSON document of ``modeltree-cli recover --format json`` (byte for byte)."""
        return self._json

    def to_dict(self) -> dict[str, Any]:
        """``to_json()`` parsed."""
        return json.loads(self._json)

    def to_dot(self) -> str:
        """A Graphviz digraph: one cluster per tree, unsure edges dashed, edges labelled with
        distance and confidence."""

        def q(s: str) -> str:
            return json.dumps(s)

        lines = ["digraph modeltree {", "  rankdir=TB;", '  node [shape=box, fontname="Helvetica"];']
        for t, members in enumerate(self.trees):
            lines.append(f"  subgraph cluster_{t} {{")
            lines.append(f"    label={q(f'tree {t + 1} ({self.directions[t]})')};")
            for m in members:
                lines.append(f"    {q(m)} [label={q(f'{m}{chr(10)}kurtosis {self.kurtosis[m]:.3g}')}];")
            lines.append("  }")
        for e in self.edges:
            style = ", style=dashed" if e.unsure else ""
            lines.append(f"  {q(e.parent)} -> {q(e.child)} [label={q(f'{e.distance:.4g} ({e.confidence:.2f})')}{style}];")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def to_networkx(self) -> Any:
        """A ``networkx.DiGraph`` (parent → child) with node attributes ``kurtosis``, ``path``,
        ``tree`` and edge attributes ``distance``, ``confidence``, ``unsure``. Needs networkx."""
        try:
            import networkx as nx
        except ImportError:
            raise ImportError("to_networkx needs networkx: pip install networkx (or modeltree[networkx])") from None
        g = nx.DiGraph()
        for m in self.ids:
            g.add_node(m, kurtosis=self.kurtosis[m], path=self.paths[m], tree=self._tree_of[m])
        for e in self.edges:
            g.add_edge(e.parent, e.child, distance=e.distance, confidence=e.confidence, unsure=e.unsure)
        return g

    # -- scoring ------------------------------------------------------------------------------

    def evaluate(self, truth: Truth) -> Score:
        """Scores the graph against a known one, as ``modeltree-cli --truth`` does.

        ``truth`` is ``{"edges": [[parent, child], ...], "roots": [...]}`` (roots optional, needed
        only for trees of one model) or the path of a JSON file holding it."""
        return score(self.ids, self._parent, _load_truth(truth))


def _load_truth(truth: Truth) -> Mapping[str, Any]:
    if isinstance(truth, (str, os.PathLike)):
        try:
            with open(truth, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise FileError(f"{os.fspath(truth)}: cannot read the truth file: {e.strerror}") from None
        try:
            truth = json.loads(text)
        except ValueError as e:
            raise FormatError(f"{os.fspath(truth)}: invalid JSON: {e}") from None
    if not isinstance(truth, Mapping):
        raise InvalidArgumentError('truth: expected {"edges": [[parent, child], ...], "roots": [...]}')
    unknown = set(truth) - {"edges", "roots"}
    if unknown:
        raise InvalidArgumentError(f'truth: unknown key(s) {sorted(unknown)} (expected "edges" and "roots")')
    if "edges" not in truth:
        raise InvalidArgumentError('truth: missing "edges"')
    for k, e in enumerate(truth["edges"]):
        if isinstance(e, (str, bytes)) or len(e) != 2 or not all(isinstance(x, str) for x in e):
            raise InvalidArgumentError(f'truth: edges[{k}] must be a pair of str ["parent", "child"]')
    roots = truth.get("roots", [])
    if isinstance(roots, str) or not all(isinstance(r, str) for r in roots):
        raise InvalidArgumentError('truth: "roots" must be a list of str')
    return {"edges": [tuple(e) for e in truth["edges"]], "roots": list(roots)}


def adjusted_rand_index(a: Sequence[int], b: Sequence[int]) -> float:
    """Hubert & Arabie's adjusted Rand index of two labelings (1.0 when both are trivial)."""
    if len(a) != len(b):
        raise InvalidArgumentError("adjusted_rand_index: labelings of different lengths")

    def pairs(m: int) -> float:
        return m * (m - 1) / 2

    index = sum(pairs(c) for c in Counter(zip(a, b)).values())
    rows = sum(pairs(c) for c in Counter(a).values())
    cols = sum(pairs(c) for c in Counter(b).values())
    expected = 0.0 if len(a) < 2 else rows * cols / pairs(len(a))
    maximum = (rows + cols) / 2
    if maximum == expected:
        return 1.0
    return (index - expected) / (maximum - expected)


def score(ids: Sequence[str], parent: Sequence[int], truth: Mapping[str, Any]) -> Score:
    """Edge accuracy per true tree and overall, and the ARI of tree membership, of a recovered
    forest (``parent[i]`` the index of model i's parent, -1 for a root) against ``truth``."""
    index = {m: i for i, m in enumerate(ids)}
    named = [x for e in truth["edges"] for x in e] + list(truth["roots"])
    unknown = list(dict.fromkeys(m for m in named if m not in index))
    if unknown:
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise InvalidArgumentError(f"truth names ids that are not among the models: {', '.join(unknown[:10])}{more}")
    true_parent: dict[str, str] = {}
    for p, c in truth["edges"]:
        if c in true_parent:
            raise InvalidArgumentError(f"truth: {c} has two parents, {true_parent[c]} and {p}"
                                       if true_parent[c] != p else f"truth: edge {p} -> {c} is listed twice")
        true_parent[c] = p
    for r in truth["roots"]:
        if r in true_parent:
            raise InvalidArgumentError(f"truth: root {r} has a parent, {true_parent[r]}")

    def true_root(m: str) -> str:
        seen = set()
        while m in true_parent:
            if m in seen:
                raise InvalidArgumentError(f"truth: cycle through {m}")
            seen.add(m)
            m = true_parent[m]
        return m

    per_root: dict[str, list[int]] = {r: [0, 0] for r in truth["roots"]}
    for p, c in truth["edges"]:
        counts = per_root.setdefault(true_root(c), [0, 0])
        counts[1] += 1
        counts[0] += parent[index[c]] == index[p]
    trees = tuple(TreeScore(r, c, t) for r, (c, t) in sorted(per_root.items()))

    def recovered_root(i: int) -> int:
        while parent[i] >= 0:
            i = parent[i]
        return i

    ari = adjusted_rand_index([recovered_root(i) for i in range(len(ids))], [index[true_root(m)] for m in ids])
    return Score(trees, sum(t.correct for t in trees), sum(t.total for t in trees), ari)
