"""One exception hierarchy for every failure of libmodeltree.

Each status of ``include/modeltree.h`` has its class; the message is the library's own
(``modeltree_last_error_message``). Each class also derives from the built-in exception a Python
user would expect (``ValueError`` for bad input, ``OSError`` for the file system, ``MemoryError``),
so existing ``except ValueError`` code keeps working.
"""
from __future__ import annotations


class ModelTreeError(Exception):
    """Base class of every error raised by modeltree. ``status`` is the C status code."""

    status: int = -1

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class InvalidArgumentError(ModelTreeError, ValueError):
    """Something that can never work: an unknown option, a wrong dtype, a size that disagrees
    with a shape, a model added twice, an empty collection (MODELTREE_INVALID_ARGUMENT)."""

    status = 1


class FileError(ModelTreeError, OSError):
    """The file system refused: a path that does not exist, a read that failed, or a model file
    that was truncated, replaced, rewritten or removed after it was added (MODELTREE_IO)."""

    status = 2


class FormatError(ModelTreeError, ValueError):
    """A checkpoint, index or truth file is malformed (MODELTREE_FORMAT)."""

    status = 3


class IncompatibleModelsError(ModelTreeError, ValueError):
    """The models cannot be compared, e.g. no tensor is shared by all of them with the same shape
    (MODELTREE_INCOMPATIBLE_MODELS)."""

    status = 4


class OutOfMemoryError(ModelTreeError, MemoryError):
    """An allocation the library needed was refused (MODELTREE_OUT_OF_MEMORY)."""

    status = 5


class CancelledError(ModelTreeError):
    """The recovery was cancelled (MODELTREE_CANCELLED). Raise it from a progress callback to
    stop a recovery; whatever the callback raises is re-raised as is, and Ctrl-C raises
    KeyboardInterrupt."""

    status = 6


class InternalError(ModelTreeError):
    """A bug in the library: please report it with the message (MODELTREE_INTERNAL)."""

    status = 7


#: The class of each status, indexed by its value (0, MODELTREE_OK, raises nothing). The C
#: extension reads this tuple when it is imported; a test checks it against include/modeltree.h.
STATUS_ERRORS = (
    None,
    InvalidArgumentError,
    FileError,
    FormatError,
    IncompatibleModelsError,
    OutOfMemoryError,
    CancelledError,
    InternalError,
)

for _cls in (ModelTreeError, *STATUS_ERRORS[1:]):
    _cls.__module__ = "modeltree"  # tracebacks say modeltree.FileError, as users import it
del _cls
