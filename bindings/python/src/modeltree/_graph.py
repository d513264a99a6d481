"""The friendly result: an immutable Model Graph read out of a modeltree_graph_t, and its score
against a known graph. Scoring, truth files and the text forms are the library's
(modeltree_graph_evaluate*, modeltree_graph_render): this module only presents them."""
from __future__ import annotations

import html
import json
import os
import re
import types
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Union

import numpy as np

from . import _modeltree
from ._errors import InvalidArgumentError

METRICS = {"auto": _modeltree.METRIC_AUTO, "rms": _modeltree.METRIC_RMS, "max": _modeltree.METRIC_MAX,
           "rank": _modeltree.METRIC_RANK}
DIRECTIONS = {"auto": _modeltree.DIRECTION_AUTO, "finetune": _modeltree.DIRECTION_FINETUNE,
              "generalization": _modeltree.DIRECTION_GENERALIZATION}
FORMATS = {"json": _modeltree.FORMAT_JSON, "text": _modeltree.FORMAT_TEXT, "dot": _modeltree.FORMAT_DOT,
           "svg": _modeltree.FORMAT_SVG, "html": _modeltree.FORMAT_HTML}
EDGE_TYPES = {"finetune": _modeltree.EDGE_FINETUNE, "adapter": _modeltree.EDGE_ADAPTER,
              "quantized": _modeltree.EDGE_QUANTIZED, "merge": _modeltree.EDGE_MERGE,
              "layer-subset": _modeltree.EDGE_LAYER_SUBSET}
_METRIC_NAMES = {v: k for k, v in METRICS.items()}
_DIRECTION_NAMES = {v: k for k, v in DIRECTIONS.items()}
_EDGE_TYPE_NAMES = {v: k for k, v in EDGE_TYPES.items()}
_VERDICT_NAMES = {_modeltree.VERDICT_AGREES: "agrees", _modeltree.VERDICT_CONTRADICTS: "contradicts",
                  _modeltree.VERDICT_UNSUPPORTED: "unsupported"}

Truth = Union[Mapping[str, Any], str, "os.PathLike[str]"]


@dataclass(frozen=True)
class Edge:
    """An edge of the Model Graph: ``child`` was derived from ``parent``.

    ``distance`` is in the graph's metric; ``confidence`` in [0, 1]; ``unsure`` marks an edge
    whose confidence is too low to trust without a look (below ``Graph.unsure_threshold``, or in
    a tree whose direction could not be told); ``type`` is the relation ("finetune",
    "quantized" for a lower-precision copy of the parent, "merge" for one of several parents
    a merged model combines, "layer-subset" for a smaller model initialised from some of the
    parent's layers). A merge's edges carry ``coefficient`` (the parent's fitted weight; a
    merge's sum to 1) and ``residual_ratio`` (how much of the child the combination leaves
    unexplained, over its distance to its nearest model); None for other types. ``layers`` is a
    layer subset's map, ((child layer, parent layer), ...), None for other types. ``parent`` may
    be a latent node (``Graph.latent``). ``raw_confidence`` is the recovery's confidence before
    calibration (the JSON's ``raw_confidence``), for recalibrating on one's own collections;
    ``confidence`` is read off it by the relation family's calibration table. None only for an
    Edge made by hand."""

    parent: str
    child: str
    distance: float
    confidence: float
    unsure: bool = False
    type: str = "finetune"
    coefficient: float | None = None
    residual_ratio: float | None = None
    layers: tuple[tuple[int, int], ...] | None = None
    raw_confidence: float | None = None


@dataclass(frozen=True)
class AuditEntry:
    """One claim of a model's files about its origin, judged by the weights (claims never place
    an edge).

    ``source`` is where it was read ("readme": README.md front matter ``base_model:``, "config":
    config.json ``_name_or_path``, "adapter_config": ``base_model_name_or_path``, "gguf":
    ``general.base_model.*``); ``claimed`` is the text as written; ``relation`` the card's
    ``base_model_relation:`` (None when not given). ``verdict`` is "agrees" (the claimed model, or
    an identical copy of it, is a recovered parent), "contradicts" (it is in the collection and is
    not; ``evidence`` says where it sits) or "unsupported" (not in the collection). ``recovered``
    is the parent the verdict rests on (the claimed one when it agrees, else the parent the weights
    point to; None for a root) and ``confidence`` that edge's (NaN when none)."""

    model: str
    source: str
    claimed: str
    relation: str | None
    verdict: str
    recovered: str | None
    evidence: str
    confidence: float


@dataclass(frozen=True)
class TreeScore:
    """Edge accuracy within one true tree, named by its true root."""

    root: str
    correct: int
    total: int
    accuracy: float


@dataclass(frozen=True)
class Score:
    """How a recovered graph compares with the truth, as the library scores it: edge accuracy
    (an edge counts when the recovered parent of a true child is its true parent, so a reversed
    edge is wrong), per true tree (ordered by root) and overall, and the adjusted Rand index of
    tree membership. ``Graph.render(format, score)`` prints it as the CLI's ``--truth`` does."""

    trees: tuple[TreeScore, ...]
    correct: int
    total: int
    accuracy: float
    ari: float
    _raw: Any = field(default=None, repr=False, compare=False)

    def typed_f1(self) -> float:
        """The F1 of typed relations (parent, child and type right; either copy of a duplicate
        group; a latent parent known by its children), as ``--truth`` prints it."""
        return self._raw.typed()[3]

    def type_recall(self, type: str) -> tuple[int, int]:
        """(recovered, true) relations of one kind: "finetune", "quantized", "duplicate", ..."""
        correct, total, _ = self._raw.type_recall(type)
        return correct, total

    def audit(self) -> tuple[int, int]:
        """(right, listed) claims: the truth's claims the audit gave the true verdict; (0, 0) when
        the truth lists none. ``audit_unclaimed()`` does the same for models claiming nothing."""
        correct, total, _, _, _ = self._raw.audit()
        return correct, total

    def audit_unclaimed(self) -> tuple[int, int]:
        """(found, listed): the truth's unclaimed models the audit also found claiming nothing."""
        _, _, correct, total, _ = self._raw.audit()
        return correct, total

    @classmethod
    def _read(cls, raw: _modeltree.Score) -> "Score":
        trees = tuple(TreeScore(raw.tree_root(t), c, n, a) for t, (c, n, a) in enumerate(raw.trees()))
        return cls(trees, raw.correct(), raw.total(), raw.accuracy(), raw.ari(), raw)


class Graph:
    """A recovered Model Graph: models, the edges between them and the trees (families) they form.

    Immutable: every attribute is a tuple, a read-only mapping or a read-only array, and none can
    be set. ``ids`` orders everything that is indexed (the rows and columns of ``distances``).
    ``print(g)`` draws the trees as the CLI does; a notebook shows the picture (``to_html()``),
    ``to_svg()`` is the same picture as one SVG.

    Attributes:
        ids:              the model ids, in the order the models were given.
        paths:            id → the path the model was read from (None for one given in memory).
        kurtosis:         id → mean excess (Fisher) kurtosis over the tensors used.
        edges:            the edges (``Edge``), grouped by child in ``ids`` order.
        duplicates:       groups of value-identical models, each group's stand-in first.
        latent:           the ids of latent nodes: parents not in the collection that the
                          weights say their children share (they come after the models in
                          ``ids``, named "latent-1" …, with no path and NaN kurtosis).
        roots:            the root of each tree, in the order of ``trees``.
        trees:            the members of each tree (tuples of ids in ``ids`` order), ordered by
                          their first member.
        distances:        the n × n distance matrix (numpy, read-only) in ``metric``.
        metric:           "rms", "max" or "rank": the distance used.
        directions:       per tree, "finetune" (the parent has the higher kurtosis) or
                          "generalization".
        direction_unsure: per tree, whether the direction was a guess.
        tensors:          the names of the tensors compared.
        warnings:         notes from the recovery (skipped tensors, duplicates, guesses).
        unsure_threshold: the confidence below which an edge was judged unsure.
        audit:            every claim the models' files make about their origin, judged by the
                          weights (``AuditEntry``), in ``ids`` order; empty for models given in memory.
        unclaimed:        the models read from a path whose files claim nothing.
    """

    __slots__ = ("_raw", "_ids", "_index", "_paths", "_kurtosis", "_parent", "_edges", "_edge", "_roots",
                 "_trees", "_tree_of", "_distances", "_metric", "_directions", "_direction_unsure", "_tensors",
                 "_warnings", "_unsure_threshold", "_duplicates", "_latent", "_audit", "_unclaimed")

    def __init__(self, raw: _modeltree.Graph) -> None:
        """Reads everything out of ``raw``, which the graph then owns (it renders and scores)."""
        s = object.__setattr__
        n = raw.model_count()
        ids = tuple(raw.model_id(i) for i in range(n))
        parents, trees_of = raw.parents(), raw.model_trees()
        stand_in = tuple(raw.duplicate_of(i) for i in range(n))
        groups: dict[int, list[str]] = {}
        for i, d in enumerate(stand_in):
            if d >= 0:
                groups.setdefault(d, []).append(ids[i])
        # Every relation, a merge's several parents included (the library leaves out the edges
        # that only hang a value-identical copy from its group's stand-in).
        def number(x: float) -> float | None:
            return None if x != x else x

        def layers(i: int) -> tuple[tuple[int, int], ...] | None:
            flat = raw.edge_layers(i)     # the map of the child's primary edge
            return tuple(zip(flat[0::2], flat[1::2])) if flat else None
        edges = tuple(Edge(ids[p], ids[c], d, conf, u, _EDGE_TYPE_NAMES.get(k, str(k)), number(coef), number(ratio),
                           layers(c) if _EDGE_TYPE_NAMES.get(k) == "layer-subset" else None, rawconf)
                      for p, c, k, d, conf, u, coef, ratio, rawconf in raw.edges())
        t_count = raw.tree_count()
        s(self, "_raw", raw)
        s(self, "_ids", ids)
        s(self, "_index", {m: i for i, m in enumerate(ids)})
        s(self, "_paths", types.MappingProxyType({m: raw.model_path(i) for i, m in enumerate(ids)}))
        s(self, "_kurtosis", types.MappingProxyType({m: raw.model_kurtosis(i) for i, m in enumerate(ids)}))
        s(self, "_parent", parents)
        s(self, "_edges", edges)
        s(self, "_duplicates", tuple(tuple(g) for _, g in sorted(groups.items())))
        s(self, "_latent", tuple(m for i, m in enumerate(ids) if raw.model_latent(i)))
        s(self, "_edge", {e.child: e for e in reversed(edges)})   # a child's primary edge: its first
        s(self, "_roots", tuple(ids[raw.tree_root(t)] for t in range(t_count)))
        members: list[list[str]] = [[] for _ in range(t_count)]
        for i, t in enumerate(trees_of):
            members[t].append(ids[i])
        s(self, "_trees", tuple(tuple(m) for m in members))
        s(self, "_tree_of", {m: trees_of[i] for i, m in enumerate(ids)})
        s(self, "_distances", None)  # n x n: read on first use (an index's graph may be large)
        s(self, "_metric", _METRIC_NAMES.get(raw.metric(), str(raw.metric())))
        s(self, "_directions", tuple(_DIRECTION_NAMES.get(raw.tree_direction(t), "?") for t in range(t_count)))
        s(self, "_direction_unsure", tuple(raw.tree_direction_unsure(t) for t in range(t_count)))
        s(self, "_tensors", tuple(raw.tensor_name(k) for k in range(raw.tensor_count())))
        s(self, "_warnings", tuple(raw.warning(k) for k in range(raw.warning_count())))
        s(self, "_unsure_threshold", raw.unsure_threshold())
        s(self, "_audit", tuple(AuditEntry(ids[m], source, claimed, relation, _VERDICT_NAMES.get(v, str(v)),
                                           ids[r] if r >= 0 else None, evidence, confidence)
                                for m, source, claimed, relation, v, r, evidence, confidence in raw.audit()))
        s(self, "_unclaimed", tuple(m for i, m in enumerate(ids) if raw.model_unclaimed(i)))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"a Graph is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"a Graph is immutable; cannot delete {name!r}")

    # -- attributes ---------------------------------------------------------------------------

    @property
    def ids(self) -> tuple[str, ...]:
        """The model ids, in the order the models were given (the order of ``distances``)."""
        return self._ids

    @property
    def paths(self) -> Mapping[str, str | None]:
        """id → the path the model was read from; None for a model given in memory."""
        return self._paths

    @property
    def kurtosis(self) -> Mapping[str, float]:
        """id → mean excess (Fisher) kurtosis of the model over the tensors used."""
        return self._kurtosis

    @property
    def edges(self) -> tuple[Edge, ...]:
        """The edges parent → child, grouped by child in ``ids`` order, a child's primary edge
        first; a merge has one per parent, each with its ``coefficient`` (relations only: a
        value-identical copy is in ``duplicates``, not here)."""
        return self._edges

    @property
    def duplicates(self) -> tuple[tuple[str, ...], ...]:
        """Groups of value-identical models (every compared tensor equal), the stand-in that holds
        the group's place in the trees first; ordered by stand-in."""
        return self._duplicates

    @property
    def latent(self) -> tuple[str, ...]:
        """The ids of the latent nodes: parents that are not in the collection, inferred because
        their children's weights meet at a point none of them is. Each is the parent of its
        children in ``edges``, and the root of its tree or the child of its own inferred parent;
        its ``paths`` entry is None and its ``kurtosis`` NaN. A parent with a single child can
        never be told from a latent node, so none is made for a pair."""
        return self._latent

    def is_latent(self, model_id: str) -> bool:
        """Whether ``model_id`` names a latent node rather than a model of the collection."""
        self._check(model_id)
        return model_id in self._latent

    @property
    def roots(self) -> tuple[str, ...]:
        """The root of each tree, in the order of ``trees``."""
        return self._roots

    @property
    def trees(self) -> tuple[tuple[str, ...], ...]:
        """The members of each tree (family), in ``ids`` order; trees ordered by their first member."""
        return self._trees

    @property
    def distances(self) -> np.ndarray:
        """The n × n matrix of pairwise distances in ``metric`` (read-only; +inf between models
        never compared: of different architectures, or of different families in an index). Read
        from the library on first use."""
        if self._distances is None:
            n = len(self._ids)
            matrix = np.empty(self._raw.distances(), dtype=np.float64)
            self._raw.distances(matrix)
            matrix = matrix.reshape(n, n)
            matrix.flags.writeable = False
            object.__setattr__(self, "_distances", matrix)
        return self._distances

    @property
    def metric(self) -> str:
        """The distance used: "rms", "max" or "rank"."""
        return self._metric

    @property
    def directions(self) -> tuple[str, ...]:
        """Per tree: "finetune" (fine-tuning lowers kurtosis) or "generalization"."""
        return self._directions

    @property
    def direction_unsure(self) -> tuple[bool, ...]:
        """Per tree: whether the direction was a guess (the weights could not tell)."""
        return self._direction_unsure

    @property
    def tensors(self) -> tuple[str, ...]:
        """The names of the tensors the distances were computed over."""
        return self._tensors

    @property
    def warnings(self) -> tuple[str, ...]:
        """Notes from the recovery: skipped tensors, identical models, unsure decisions."""
        return self._warnings

    @property
    def audit(self) -> tuple[AuditEntry, ...]:
        """Every claim of the models' files, judged by the weights (``AuditEntry``)."""
        return self._audit

    @property
    def unclaimed(self) -> tuple[str, ...]:
        """The models read from a path whose files claim nothing about their origin."""
        return self._unclaimed

    @property
    def unsure_threshold(self) -> float:
        """The confidence below which an edge was judged unsure."""
        return self._unsure_threshold

    # -- lookups ------------------------------------------------------------------------------

    def _check(self, model_id: str) -> int:
        try:
            return self._index[model_id]
        except KeyError:
            raise KeyError(f"no model {model_id!r} in the graph (ids: {', '.join(self._ids[:10])}"
                           f"{' …' if len(self._ids) > 10 else ''})") from None

    def parent(self, model_id: str) -> str | None:
        """The id of the model ``model_id`` was derived from (a merge's primary parent: the
        largest coefficient), or None for a root."""
        p = self._parent[self._check(model_id)]
        return None if p < 0 else self._ids[p]

    def children(self, model_id: str) -> list[str]:
        """The ids of the models derived from ``model_id``."""
        self._check(model_id)
        return [e.child for e in self._edges if e.parent == model_id]

    def edge(self, model_id: str) -> Edge | None:
        """The (primary) edge into ``model_id``, or None for a root."""
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
        return len(self._ids)

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._index

    def __repr__(self) -> str:
        return f"<modeltree.Graph: {len(self._ids)} models, {len(self._trees)} trees, metric {self._metric}>"

    def __str__(self) -> str:
        """The trees drawn as ``modeltree-cli recover`` prints them."""
        return self.to_text()

    def _repr_svg_(self) -> str:
        """A notebook's static display (exports, viewers without HTML): the picture, ``to_svg()``."""
        return self.to_svg()

    def _repr_html_(self) -> str:
        """A notebook's display: the page of ``to_html()`` in a sandboxed ``<iframe srcdoc>``.
        Its script runs (pan, zoom, search, evidence on a click), but the frame can reach neither
        the notebook nor its styles, and the notebook's CSS cannot restyle the picture. As wide as
        the cell; as tall as the picture, between 240 and 720 pixels (it pans and zooms beyond)."""
        page = self.to_html()
        # The page's own picture says how tall it is (the first <svg> is ours, from the library).
        found = re.search(r'<svg [^>]*?\bheight="([0-9.]+)"', page)
        height = round(min(max(float(found.group(1)) + 80, 240), 720)) if found else 560
        return (f'<iframe title="Model graph" sandbox="allow-scripts" '
                f'style="width: 100%; height: {height}px; border: 1px solid #e2e8f0; border-radius: 6px;" '
                f'srcdoc="{html.escape(page, quote=True)}"></iframe>')

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's display: the text drawing."""
        printer.text(repr(self) if cycle else self.to_text())

    # -- exports ------------------------------------------------------------------------------

    def render(self, format: str = "text", score: Score | None = None) -> str:
        """The graph as ``modeltree-cli recover --format FORMAT [--truth …]`` prints it, byte for
        byte: ``format`` is "text", "json", "dot", "svg" or "html"; ``score`` (from ``evaluate``)
        adds the score."""
        if format not in FORMATS:
            raise InvalidArgumentError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
        return self._raw.render(FORMATS[format], None if score is None else score._raw)

    def to_text(self) -> str:
        """The trees drawn for people (``render("text")``)."""
        return self.render("text")

    def to_json(self) -> str:
        """The JSON document of ``modeltree-cli recover --format json`` (``render("json")``)."""
        return self.render("json")

    def to_dict(self) -> dict[str, Any]:
        """``to_json()`` parsed."""
        return json.loads(self.to_json())

    def to_dot(self) -> str:
        """A Graphviz digraph, as ``modeltree-cli recover --format dot`` prints it: one cluster
        per tree, edges labelled with distance and confidence, unsure edges dashed."""
        return self.render("dot")

    def to_svg(self, path: str | os.PathLike[str] | None = None, score: Score | None = None) -> str | None:
        """The picture as ``modeltree-cli recover --format svg`` draws it: one self-contained SVG
        (no script, font or link) with a box per model (id, kurtosis; roots marked), a band per
        tree, edges labelled with distance and confidence, unsure ones dashed, and a legend.
        Returned, or written to ``path`` (UTF-8; then None is returned)."""
        return _deliver(self.render("svg", score), path)

    def to_html(self, path: str | os.PathLike[str] | None = None, score: Score | None = None) -> str | None:
        """A page to explore the graph in a browser, as ``modeltree-cli recover --format html``
        writes it: the picture with pan and zoom, a search box for a model id, and the evidence of
        the model or edge clicked (distance, confidence, runner-up parent, direction votes), the
        warnings and the score. Self-contained: nothing is fetched. Returned, or written to
        ``path`` (UTF-8; then None is returned) to open or share."""
        return _deliver(self.render("html", score), path)

    def to_networkx(self) -> Any:
        """A ``networkx.DiGraph`` (parent → child) with node attributes ``kurtosis``, ``path``,
        ``tree``, ``latent`` and edge attributes ``distance``, ``confidence``, ``raw_confidence``,
        ``unsure``, ``type``, for a merge's edges ``coefficient`` and ``residual_ratio`` (a merge
        child has one in-edge per parent), and ``layers`` on a layer subset's edge. Needs networkx."""
        try:
            import networkx as nx
        except ImportError:
            raise ImportError("to_networkx needs networkx: pip install networkx (or libmodeltree[networkx])") from None
        g = nx.DiGraph()
        for m in self._ids:
            g.add_node(m, kurtosis=self._kurtosis[m], path=self._paths[m], tree=self._tree_of[m], latent=m in self._latent)
        for e in self._edges:
            extra = {} if e.coefficient is None else {"coefficient": e.coefficient, "residual_ratio": e.residual_ratio}
            if e.layers is not None:
                extra["layers"] = e.layers
            g.add_edge(e.parent, e.child, distance=e.distance, confidence=e.confidence, raw_confidence=e.raw_confidence,
                       unsure=e.unsure, type=e.type, **extra)
        return g

    # -- scoring ------------------------------------------------------------------------------

    def evaluate(self, truth: Truth) -> Score:
        """Scores the graph against a known one, as ``modeltree-cli --truth`` does.

        ``truth`` is the path of a truth file, or the document itself as a dict:
        ``{"edges": [[parent, child], ...], "roots": [...]}`` (roots optional, needed only for
        trees of one model). The library reads and checks it: a file that cannot be read raises
        FileError, a malformed file FormatError, and a dict it rejects InvalidArgumentError."""
        if isinstance(truth, (str, os.PathLike)):
            return Score._read(self._raw.evaluate_file(os.fspath(truth)))
        if not isinstance(truth, Mapping):
            raise InvalidArgumentError(f"truth must be a path or a mapping, not {type(truth).__name__}")
        try:
            document = json.dumps(truth)
        except (TypeError, ValueError) as e:
            raise InvalidArgumentError(f"truth cannot be written as JSON: {e}") from None
        return Score._read(self._raw.evaluate_json(document))


def _deliver(text: str, path: str | os.PathLike[str] | None) -> str | None:
    """``text``, or None once it is written to ``path``."""
    if path is None:
        return text
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    return None
