"""The hub index: models kept as signatures in one SQLite file, their parents in milliseconds.

    with modeltree.Index("hub.mtindex") as index:
        index.add("uploads/")                      # every model of a folder, each read once
        index.add({"ft": model.state_dict()})      # weights in memory, lent
        print(index.parent("ft"))                  # an indexed model
        print(index.parent("incoming/model/"))     # a candidate, not added: "who is this?"
        g = index.graph()                          # the whole Model Graph, from signatures

A signature can be computed where the weights are (another machine, a Ray worker) and added
later: ``sig = modeltree.signature(path, sketch=index.sketch)``, ``bytes(sig)``,
``index.add(modeltree.Signature.from_bytes(data))``.
"""
from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence, Union

from . import _modeltree
from ._collection import Collection
from ._errors import InvalidArgumentError
from ._graph import _DIRECTION_NAMES, _EDGE_TYPE_NAMES, _METRIC_NAMES, DIRECTIONS, METRICS, Graph

PathLike = Union[str, "os.PathLike[str]"]
#: The sketch sizes of a signature (``Index.sketch``): distance_buckets, coarse_buckets, rank_rows,
#: rank_columns, rank_hits.
Sketch = Mapping[str, int]
_SKETCH_KEYS = ("distance_buckets", "coarse_buckets", "rank_rows", "rank_columns", "rank_hits")
_FILE_STATES = {_modeltree.FILES_UNCHANGED: "unchanged", _modeltree.FILES_CHANGED: "changed",
                _modeltree.FILES_MISSING: "missing", _modeltree.FILES_MEMORY: "memory"}


class Signature:
    """What an index keeps of a model after one read of its weights: moments, linear sketches and
    content hashes (see the README's "Index"). Portable: ``bytes(sig)`` on one machine,
    ``Signature.from_bytes(data)`` on another."""

    __slots__ = ("_raw",)

    def __init__(self, raw: _modeltree.Signature) -> None:
        self._raw = raw

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> "Signature":
        """Reads the bytes ``bytes(signature)`` gave; FormatError for anything else (another
        format version, truncated or corrupt bytes)."""
        return cls(_modeltree.signature_deserialize(data))

    @property
    def id(self) -> str:
        """The id of the model it was computed for."""
        return self._raw.model_id()

    @property
    def hash(self) -> int:
        """The content hash of the weights (equal for duplicates)."""
        return self._raw.hash()

    def __bytes__(self) -> bytes:
        return self._raw.serialize()

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> "Signature":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return "<modeltree.Signature: closed>" if self._raw.closed else f"<modeltree.Signature of {self.id!r}>"


def _model_id(path: PathLike) -> str:
    """The id the library gives the one model at ``path`` (folder or file name)."""
    p = os.fspath(path).rstrip("/") or "/"
    name = os.path.basename(p)
    if name.endswith(".safetensors.index.json"):
        return os.path.basename(os.path.dirname(os.path.abspath(p)))
    return name[: -len(".safetensors")] if name.endswith(".safetensors") else name


def signature(model: Any, *, id: str | None = None, sketch: Sketch | None = None, threads: int | None = None) -> Signature:
    """The signature of one model: a path (a model folder, a ``.safetensors`` file or a shard
    index), a state dict (name → array, lent) or a torch module. ``id`` defaults to the folder or
    file name (required for weights in memory). ``sketch``: the sketch sizes of the index it is
    meant for (``Index.sketch``; default: the library's). Reads the weights once."""
    with Collection() as collection:
        if isinstance(model, (str, os.PathLike)):
            id = id if id is not None else _model_id(model)
            collection.add_path(model, id)
        elif isinstance(model, Mapping) or callable(getattr(model, "state_dict", None)):
            if not isinstance(id, str) or not id:
                raise InvalidArgumentError("a model given in memory needs an id: signature(state, id='name')")
            collection.add_state_dict(id, model if isinstance(model, Mapping) else model.state_dict())
        else:
            raise InvalidArgumentError(f"a model is a path, a state dict or a module, not {type(model).__name__}")
        return Signature(_modeltree.signature_compute(collection._raw, id, threads=threads, **_sketch(sketch)))


def _sketch(sketch: Sketch | None) -> dict[str, int | None]:
    if sketch is None:
        return {}
    unknown = set(sketch) - set(_SKETCH_KEYS)
    if unknown:
        raise InvalidArgumentError(f"unknown sketch sizes {sorted(unknown)}; known: {', '.join(_SKETCH_KEYS)}")
    return {k: sketch.get(k) for k in _SKETCH_KEYS}


@dataclass(frozen=True)
class Candidate:
    """A candidate parent: its id, the relation, the distance (in ``Parent.metric``) and, for the
    chosen parent, the confidence in [0, 1] (NaN for the alternatives after it)."""

    id: str
    type: str
    distance: float
    confidence: float
    unsure: bool = False


@dataclass(frozen=True)
class Parent:
    """The answer to "who is this model's parent?".

    ``candidates[0]`` is the chosen parent, then the nearest other relatives of its tree; none for
    a root (no parent among its relatives, or no relative indexed). ``indexed`` is False for a
    candidate upload (compared, not added). ``relatives``: how many indexed models it was compared
    with; ``duplicates``: indexed models with the same weights."""

    model: str
    indexed: bool
    candidates: tuple[Candidate, ...]
    relatives: int
    metric: str
    duplicates: tuple[str, ...]

    @property
    def parent(self) -> str | None:
        """The chosen parent's id; None for a root."""
        return self.candidates[0].id if self.candidates else None

    @property
    def confidence(self) -> float:
        """The chosen edge's confidence; NaN for a root."""
        return self.candidates[0].confidence if self.candidates else math.nan

    def __str__(self) -> str:
        what = "" if self.indexed else " (not in the index)"
        if not self.candidates:
            told = f"{self.model}{what}: no parent among {self.relatives} relatives" if self.relatives else \
                f"{self.model}{what}: no relative in the index"
        else:
            c = self.candidates[0]
            told = (f"{self.model}{what} <- {c.id}  ({c.type}, distance {c.distance:.4g} {self.metric}, "
                    f"confidence {c.confidence:.2f}{', UNSURE' if c.unsure else ''})")
            if len(self.candidates) > 1:
                told += "; next: " + ", ".join(f"{a.id} ({a.distance:.4g})" for a in self.candidates[1:])
        if self.duplicates:
            told += "; same weights as " + ", ".join(self.duplicates)
        return told

    @classmethod
    def _read(cls, raw: _modeltree.Parents) -> "Parent":
        with raw:
            candidates = tuple(
                Candidate(raw.id(k), _EDGE_TYPE_NAMES.get(raw.type(k), str(raw.type(k))), raw.distance(k),
                          raw.confidence(k), raw.unsure(k)) for k in range(raw.count()))
            return cls(raw.model_id(), raw.indexed(), candidates, raw.relatives(), _METRIC_NAMES.get(raw.metric(), "?"),
                       tuple(raw.duplicate(k) for k in range(raw.duplicate_count())))


@dataclass(frozen=True)
class IndexEntry:
    """An indexed model: where it was read from (None: memory), its reader, its family's number
    and, from ``Index.verify()``, the state of its files ("unchanged", "changed", "missing",
    "memory") with what changed."""

    id: str
    path: str | None
    format: str
    family: int
    state: str = "unchanged"
    detail: str = ""


class Index:
    """A hub's index of models in one SQLite file (made when missing; ``":memory:"`` keeps one in
    memory). Any number of processes may use one file at once; one ``Index`` object is used by one
    thread at a time. Close it, or use ``with``.

    Options of a new index (an existing one keeps its own): ``distance_buckets``,
    ``coarse_buckets``, ``rank_rows``, ``rank_columns``, ``rank_hits`` (the sketch sizes;
    defaults: the library's). ``busy_timeout``: seconds a write waits for another process's.
    ``threads``: threads that compute signatures."""

    def __init__(self, path: PathLike, *, busy_timeout: float | None = None, threads: int | None = None,
                 **sketch: int) -> None:
        timeout = None if busy_timeout is None else int(round(busy_timeout * 1000))
        self._raw = _modeltree.Index(os.fspath(path), busy_timeout_ms=timeout, threads=threads, **_sketch(sketch))

    @property
    def sketch(self) -> dict[str, int]:
        """The index's sketch sizes: sign models for it with ``signature(..., sketch=index.sketch)``."""
        options = self._raw.options()
        return {k: options[k] for k in _SKETCH_KEYS}

    # -- adding and removing ------------------------------------------------------------------

    def add(self, models: Any, *, id: str | None = None) -> None:
        """Adds models, reading each once: a path (a model, or a folder of models), a list of
        paths, a dict id → path / state dict / torch module, or a ``Signature`` (computed here or
        elsewhere; ``id`` renames it). Each model goes in by itself: on failure, the ones before
        stay added. What a folder holds but is not read (weights of other frameworks, a file that
        lost its extension, …) is never added: each such entry is a ``UserWarning``."""
        if isinstance(models, Signature):
            self._raw.add_signature(models._raw, id)
        elif isinstance(models, (bytes, bytearray, memoryview)):
            with Signature.from_bytes(models) as sig:
                self._raw.add_signature(sig._raw, id)
        elif isinstance(models, (str, os.PathLike)):
            _warn_unread(self._raw.add_path(id, os.fspath(models)))
        elif isinstance(models, Mapping):
            for model_id, value in models.items():
                if isinstance(value, (str, os.PathLike)):
                    _warn_unread(self._raw.add_path(model_id, os.fspath(value)))
                else:
                    with Collection() as collection:
                        collection.add_state_dict(model_id, value if isinstance(value, Mapping) else value.state_dict())
                        self._raw.add_collection(collection._raw)
        elif isinstance(models, Sequence):
            for path in models:
                self.add(path)
        else:
            raise InvalidArgumentError(f"add takes a path, a list of paths, a dict or a Signature, not {type(models).__name__}")

    def remove(self, *ids: str) -> None:
        """Removes indexed models by id."""
        for model_id in ids:
            self._raw.remove(model_id)

    # -- questions ----------------------------------------------------------------------------

    def parent(self, model: Any, *, id: str | None = None, alternatives: int = 3, metric: str | None = None,
               direction: str | None = None, lam: float | None = None) -> Parent:
        """The parent of ``model``: an indexed id, or a model not in the index (a path, a state
        dict with ``id``, or a ``Signature``), which is compared with its relatives and not added.
        A str that is both an indexed id and a path is taken as the id."""
        options = _query_options(metric, direction, lam)
        if isinstance(model, str):
            try:
                return Parent._read(self._raw.parent(model, alternatives, **options))
            except InvalidArgumentError:
                if not os.path.exists(model):
                    raise
        if isinstance(model, Signature):
            return Parent._read(self._raw.parent(model._raw, alternatives, **options))
        with signature(model, id=id, sketch=self.sketch) as sig:
            return Parent._read(self._raw.parent(sig._raw, alternatives, **options))

    def graph(self, *, metric: str | None = None, direction: str | None = None, lam: float | None = None,
              progress: Callable[[float, str], Any] | None = None) -> Graph:
        """The Model Graph of every indexed model, from signatures only (see ``modeltree.recover``
        for the options). Models of different families are at infinite distance."""
        return Graph(self._raw.graph(progress=progress, **_query_options(metric, direction, lam)))

    def signature(self, model_id: str) -> Signature:
        """The signature of an indexed model (to add it elsewhere)."""
        return Signature(self._raw.signature(model_id))

    def list(self) -> list[IndexEntry]:
        """Every indexed model, by id."""
        with self._raw.list() as raw:
            return [IndexEntry(raw.id(i), raw.path(i), raw.format(i), raw.family(i),
                               _FILE_STATES.get(raw.state(i), "?"), raw.detail(i)) for i in range(raw.count())]

    def verify(self) -> list[IndexEntry]:
        """Every indexed model with the state of its files now: "changed" or "missing" when its
        weights may no longer be what its signature says. FormatError when the index file itself
        is damaged."""
        with self._raw.verify() as raw:
            return [IndexEntry(raw.id(i), raw.path(i), raw.format(i), raw.family(i),
                               _FILE_STATES.get(raw.state(i), "?"), raw.detail(i)) for i in range(raw.count())]

    def __len__(self) -> int:
        return self._raw.model_count()

    def __contains__(self, model_id: object) -> bool:
        return isinstance(model_id, str) and any(e.id == model_id for e in self.list())

    # -- lifetime -------------------------------------------------------------------------------

    def close(self) -> None:
        """Closes the file. Idempotent."""
        self._raw.close()

    @property
    def closed(self) -> bool:
        return self._raw.closed

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return "<modeltree.Index: closed>" if self.closed else f"<modeltree.Index: {len(self)} models>"


def _query_options(metric: str | None, direction: str | None, lam: float | None) -> dict[str, Any]:
    if metric is not None and metric not in METRICS:
        raise InvalidArgumentError(f"metric must be one of {', '.join(METRICS)}, not {metric!r}")
    if direction is not None and direction not in DIRECTIONS:
        raise InvalidArgumentError(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
    return {"metric": None if metric is None else METRICS[metric],
            "direction": None if direction is None else DIRECTIONS[direction],
            "lam": None if lam is None else float(lam)}


def _warn_unread(notes: str | None) -> None:
    """One warning per entry of a folder that ``Index.add`` left unread (the library's notes)."""
    for note in (notes or "").splitlines():
        warnings.warn(note, UserWarning, stacklevel=3)
