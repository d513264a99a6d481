"""The owning layer: a Collection that lends arrays and paths to libmodeltree and recovers a Graph.

    with modeltree.Collection() as c:
        c.add_path("checkpoints/")                 # a folder of models, a model, a file
        c.add_state_dict("ft", model.state_dict())  # lent, not copied
        g = c.recover(metric="rms")

Lent arrays must not change until the collection is closed (the library reads them in
recover, with the GIL released).
"""
from __future__ import annotations

import os
from typing import Any, Callable, Iterable, Mapping

from . import _modeltree
from ._errors import InvalidArgumentError
from ._graph import DIRECTIONS, METRICS, Graph
from ._tensors import Skip, lend

Progress = Callable[[float, str], Any]


class Collection:
    """A set of models to recover the graph of. Close it (or use ``with``) to release its hold on
    the files and the arrays it borrows; graphs recovered from it stay valid."""

    def __init__(self) -> None:
        self._raw = _modeltree.Collection()

    # -- adding models -------------------------------------------------------------------------

    def add_path(self, path: str | os.PathLike[str], model_id: str | None = None) -> None:
        """Adds the model(s) at ``path``: a ``.safetensors``, ``.gguf``, ``.bin``/``.pt`` or
        ``.onnx`` file, a model folder (single file or sharded, safetensors or pytorch_model.bin),
        a PEFT adapter folder, or, without ``model_id``, a folder of models. All or nothing.
        A torch.save file is read without running its pickle."""
        if model_id is not None and not isinstance(model_id, str):
            raise InvalidArgumentError(f"model id must be str, not {type(model_id).__name__}")
        self._raw.add_path(model_id, os.fspath(path))

    def add_tensor(self, model_id: str, name: str, array: Any) -> None:
        """Lends one tensor (numpy array, CPU torch tensor, DLPack or buffer object) to model
        ``model_id`` without copying it. Integer and bool tensors are rejected here (a state dict
        may hold them: add_state_dict skips them)."""
        try:
            lent = lend(name, array)
        except Skip:
            raise InvalidArgumentError(
                f"tensor {name!r} has an integer or bool dtype; supported: float16, bfloat16, float32, float64"
            ) from None
        self._raw.add_tensor(model_id, name, lent.dtype, lent.shape, lent.buffer)

    def add_state_dict(self, model_id: str, state: Mapping[str, Any]) -> int:
        """Lends every floating-point tensor of ``state`` (name → array; a torch module's
        ``state_dict()``, a dict of numpy arrays …) to the model ``model_id``; integer and bool
        entries (step counters, position ids) are skipped. Returns the number of tensors lent.
        Everything is checked before anything is lent, so a bad tensor adds nothing."""
        if not isinstance(model_id, str) or not model_id:
            raise InvalidArgumentError(f"model id must be a non-empty str, not {model_id!r}")
        if not isinstance(state, Mapping):
            raise InvalidArgumentError(f"the state dict of {model_id!r} must be a mapping of tensor name → array, "
                                       f"not {type(state).__name__}")
        lent = []
        for name, value in state.items():
            if not isinstance(name, str):
                raise InvalidArgumentError(f"tensor names must be str; {model_id!r} has {name!r}")
            try:
                lent.append((name, lend(name, value)))
            except Skip:
                continue
        if not lent:
            raise InvalidArgumentError(f"the state dict of {model_id!r} has no floating-point tensor")
        for name, t in lent:
            self._raw.add_tensor(model_id, name, t.dtype, t.shape, t.buffer)
        return len(lent)

    def __len__(self) -> int:
        """The number of models."""
        return self._raw.model_count()

    # -- recovering -----------------------------------------------------------------------------

    def recover(
        self,
        *,
        metric: str | None = None,
        direction: str | None = None,
        lam: float | None = None,
        trees: int | None = None,
        include: Iterable[str] = (),
        exclude: Iterable[str] = (),
        progress: Progress | None = None,
        threads: int | None = None,
        max_models: int | None = None,
        memory_budget: int | None = None,
    ) -> Graph:
        """Recovers the Model Graph; see ``modeltree.recover`` for the options. An option left at
        None keeps the library's default; the library checks the values. ``progress`` is called
        as ``progress(fraction, stage)``; an exception it raises (CancelledError, say) cancels
        the recovery and is re-raised. Ctrl-C cancels and raises KeyboardInterrupt."""
        if metric is not None and metric not in METRICS:
            raise InvalidArgumentError(f"metric must be one of {', '.join(METRICS)}, not {metric!r}")
        if direction is not None and direction not in DIRECTIONS:
            raise InvalidArgumentError(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
        counts = {"trees": trees, "threads": threads, "max_models": max_models, "memory_budget": memory_budget}
        for name, value in counts.items():
            # The C struct spells "unset" 0: a 0 here would silently mean the default.
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise InvalidArgumentError(f"{name} must be at least 1 (or None for the default), got {value!r}")
        if lam is not None and (isinstance(lam, bool) or not isinstance(lam, (int, float))):
            raise InvalidArgumentError(f"lambda must be a number, not {type(lam).__name__}")
        include, exclude = _patterns(include, "include"), _patterns(exclude, "exclude")
        raw = _modeltree.recover(
            self._raw, metric=None if metric is None else METRICS[metric],
            direction=None if direction is None else DIRECTIONS[direction],
            lam=None if lam is None else float(lam), include=include, exclude=exclude, progress=progress, **counts,
        )
        return Graph(raw)

    # -- lifetime -------------------------------------------------------------------------------

    def close(self) -> None:
        """Frees the collection and releases what it borrowed. Idempotent."""
        self._raw.close()

    @property
    def closed(self) -> bool:
        return self._raw.closed

    def __enter__(self) -> "Collection":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<modeltree.Collection: {'closed' if self.closed else f'{len(self)} models'}>"


def _patterns(patterns: Iterable[str], what: str) -> list[str]:
    if isinstance(patterns, str):
        return [patterns]
    out = list(patterns)
    for p in out:
        if not isinstance(p, str):
            raise InvalidArgumentError(f"{what} patterns must be str, not {type(p).__name__}")
    return out
