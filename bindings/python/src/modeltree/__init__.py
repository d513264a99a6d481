"""modeltree: recover the Model Graph (which network was fine-tuned from which) from weights.

    import modeltree as mt
    g = mt.recover("checkpoints/")                           # a folder of model folders
    g = mt.recover({"base": base_state, "ft": model.state_dict()})  # in memory, no copies
    g.parent("ft"), g.roots, g.trees, g.edges, g.distances
    print(g)                       # the trees, drawn as modeltree-cli draws them
    g.evaluate("truth.json")
    with mt.Index("hub.mtindex") as index:                # a hub's index: parents in milliseconds
        index.add("checkpoints/"); index.parent("ft"); index.graph()

Three layers: ``modeltree._modeltree`` (the C extension, one call per function of
include/modeltree.h), ``Collection`` (owns the models, lends arrays without copying) and the
functions here.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Iterable, Mapping, Sequence, Union

from . import _modeltree
from ._collection import Collection
from ._errors import (
    CancelledError,
    FileError,
    FormatError,
    IncompatibleModelsError,
    InternalError,
    InvalidArgumentError,
    ModelTreeError,
    OutOfMemoryError,
)
from ._graph import AuditEntry, Edge, Graph, Score, TreeScore
from ._index import Candidate, Index, IndexEntry, Parent, Signature, signature

__all__ = [
    "recover", "Graph", "Edge", "AuditEntry", "Score", "TreeScore", "Collection",
    "Index", "Signature", "signature", "Parent", "Candidate", "IndexEntry",
    "ModelTreeError", "InvalidArgumentError", "FileError", "FormatError", "IncompatibleModelsError",
    "OutOfMemoryError", "CancelledError", "InternalError", "__version__", "library_version", "kernel_name",
]

#: The version of include/modeltree.h the package was built with (MODELTREE_VERSION_STRING).
__version__ = _modeltree.HEADER_VERSION_STRING


def _check_library() -> str:
    """The loaded library's version; refuses one that does not serve the header the package was
    built with (the header's compatibility rule, applied by the library)."""
    if not _modeltree.version_compatible(_modeltree.HEADER_VERSION_NUMBER):
        raise ImportError(
            f"modeltree was built against libmodeltree {_modeltree.HEADER_VERSION_STRING} but loaded "
            f"{_modeltree.version_string()}; reinstall the package after building the library"
        )
    return _modeltree.version_string()


#: The version of the bundled libmodeltree.so.
library_version = _check_library()


def kernel_name() -> str:
    """The instruction set of the vector kernels this process runs ("avx512", "avx2", "sse2",
    "neon" or "portable"): the best the CPU supports, unless the environment variable
    MODELTREE_KERNEL named another when the library first needed one (it is read once, so set it
    before the first recovery). The graph does not depend on it."""
    return _modeltree.kernel_name()

PathLike = Union[str, "os.PathLike[str]"]
Models = Union[PathLike, Sequence[PathLike], Mapping[str, Any]]


def recover(
    models: Models,
    *,
    metric: str | None = None,
    direction: str | None = None,
    lam: float | None = None,
    trees: int | None = None,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    progress: bool | Callable[[float, str], Any] | None = None,
    threads: int | None = None,
    max_models: int | None = None,
    memory_budget: int | None = None,
) -> Graph:
    """Recovers the Model Graph of ``models``.

    models     a folder of models, one model (a folder, a ``.safetensors``, ``.gguf``, ``.bin``/
               ``.pt`` or ``.onnx`` file, a shard index, a PEFT adapter folder), a list of those, or a dict id → path, id → state dict (tensor name → numpy
               array or CPU torch tensor, float16/bfloat16/float32/float64, lent without a copy)
               or id → torch module (its ``state_dict()``).

    Every option left at None keeps the library's default (modeltree_options_init):
    metric     "auto" (RANK for LoRA families, else RMS; the default), "rms", "max" or "rank".
    direction  "auto" (per tree; the default), "finetune" (the parent has the higher kurtosis)
               or "generalization".
    lam        weight λ of the kurtosis penalty (default: the library's, Horwitz et al.'s value).
    trees      number of model families (default: found from the data).
    include, exclude
               glob patterns on tensor names (fnmatch); with include, only matching tensors are used.
    progress   True for a tqdm bar (quiet when tqdm is not installed), or a callable
               ``progress(fraction, stage)``; raising in it (CancelledError, say) cancels.
    threads    worker threads (default: one per processor); results do not depend on it.
    max_models the most models accepted (default: no limit).
    memory_budget
               bytes of working memory the recovery may plan for (default: no budget); threads
               are dropped to fit it, and a recovery that cannot fit raises OutOfMemoryError.

    Ctrl-C cancels cleanly (KeyboardInterrupt). Raises a ModelTreeError subclass on failure:
    FileError (missing or unreadable path, or a file changed while it was read), FormatError
    (malformed checkpoint), InvalidArgumentError (bad option, wrong dtype, shape mismatch, a
    folder that is neither one model nor a folder of models), IncompatibleModelsError (no tensor
    shared by all models), OutOfMemoryError (past max_models or memory_budget).
    """
    with Collection() as collection:
        _add(collection, models)
        callback, done = _progress(progress)
        try:
            return collection.recover(metric=metric, direction=direction, lam=lam, trees=trees, include=include,
                                      exclude=exclude, progress=callback, threads=threads, max_models=max_models,
                                      memory_budget=memory_budget)
        finally:
            done()


def _add(collection: Collection, models: Models) -> None:
    if isinstance(models, (str, os.PathLike)):
        collection.add_path(models)
    elif isinstance(models, Mapping):
        if not models:
            raise InvalidArgumentError("no models given: the dict is empty")
        for model_id, value in models.items():
            if not isinstance(model_id, str):
                raise InvalidArgumentError(f"model ids must be str, not {type(model_id).__name__} ({model_id!r})")
            if isinstance(value, (str, os.PathLike)):
                collection.add_path(value, model_id)
            elif isinstance(value, Mapping):
                collection.add_state_dict(model_id, value)
            elif callable(getattr(value, "state_dict", None)):  # a torch.nn.Module
                collection.add_state_dict(model_id, value.state_dict())
            else:
                raise InvalidArgumentError(
                    f"model {model_id!r}: expected a path, a state dict or a module, not {type(value).__name__}"
                )
    elif isinstance(models, Sequence) and not isinstance(models, (bytes, bytearray)):
        if not models:
            raise InvalidArgumentError("no models given: the list is empty")
        for path in models:
            if not isinstance(path, (str, os.PathLike)):
                raise InvalidArgumentError(f"a list of models must hold paths, not {type(path).__name__}")
            collection.add_path(path)
    else:
        raise InvalidArgumentError(
            f"models must be a path, a list of paths or a dict of id → path/state dict, not {type(models).__name__}"
        )


def _progress(progress: bool | Callable[[float, str], Any] | None) -> tuple[Any, Callable[[], None]]:
    """The callback to pass down and a function that closes whatever it opened."""
    if progress is None or progress is False:
        return None, lambda: None
    if callable(progress) and progress is not True:
        return progress, lambda: None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None, lambda: None
    bar = tqdm(total=100, unit="%", bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed}")

    def update(fraction: float, stage: str) -> None:
        bar.set_description_str(stage, refresh=False)
        bar.update(round(100 * fraction) - bar.n)

    return update, bar.close
