"""Turns arrays into what modeltree_collection_add_tensor takes, without copying them.

Accepted: numpy arrays (float16/float32/float64, and ml_dtypes' bfloat16), torch tensors on the
CPU (float16/float32/float64/bfloat16, through ``Tensor.numpy()`` which shares the storage; a
bfloat16 tensor is viewed as int16 first, as numpy has no bfloat16), any object with
``__dlpack__`` on the CPU (``numpy.from_dlpack``), and anything ``numpy.asarray`` accepts.
The array must be C-contiguous and little-endian: anything else is rejected with a message that
says how to make the copy explicitly, rather than copied behind the caller's back.
"""
from __future__ import annotations

import sys
from typing import Any, NamedTuple

import numpy as np

from . import _modeltree
from ._errors import InvalidArgumentError

_NUMPY_DTYPES = {
    np.dtype("<f4"): _modeltree.DTYPE_F32,
    np.dtype("<f8"): _modeltree.DTYPE_F64,
    np.dtype("<f2"): _modeltree.DTYPE_F16,
}


class Lent(NamedTuple):
    """A tensor ready for the raw layer: its dtype code, shape and a buffer over its memory."""

    dtype: int
    shape: tuple[int, ...]
    buffer: Any


class Skip(Exception):
    """Raised for a tensor a state dict may hold but recovery never uses (integer, bool)."""


def _is_torch_tensor(value: Any) -> bool:
    torch = sys.modules.get("torch")  # never imported here: a torch tensor means torch is loaded
    return torch is not None and isinstance(value, torch.Tensor)


def _from_torch(name: str, t: Any) -> np.ndarray:
    import torch  # already imported by whoever made the tensor

    if t.device.type != "cpu":
        raise InvalidArgumentError(f"tensor {name!r} is on {t.device}; only CPU tensors can be lent (call .cpu())")
    if t.layout != torch.strided:
        raise InvalidArgumentError(f"tensor {name!r} has layout {t.layout}; only dense tensors are supported (call .to_dense())")
    if not t.dtype.is_floating_point:
        if t.dtype.is_complex:
            raise InvalidArgumentError(f"tensor {name!r} has dtype {t.dtype}; supported: float16, bfloat16, float32, float64")
        raise Skip(name)
    if t.dtype not in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
        raise InvalidArgumentError(f"tensor {name!r} has dtype {t.dtype}; supported: float16, bfloat16, float32, float64")
    if not t.is_contiguous():
        raise InvalidArgumentError(
            f"tensor {name!r} of shape {tuple(t.shape)} is not contiguous; pass t.contiguous() "
            "(a copy) if that is what you want"
        )
    t = t.detach()
    try:
        # Tensor.numpy() shares the storage; the array keeps the tensor alive (its .base).
        return t.view(torch.int16).numpy() if t.dtype == torch.bfloat16 else t.numpy()
    except (RuntimeError, TypeError) as e:  # a tensor with the negative bit set, a subclass …
        raise InvalidArgumentError(f"tensor {name!r} cannot be viewed without a copy: {e}") from None


def lend(name: str, value: Any) -> Lent:
    """The dtype, shape and buffer of ``value`` for ``add_tensor``; raises Skip for an integer or
    bool tensor and InvalidArgumentError for anything that cannot be lent as it is."""
    bf16 = False
    if _is_torch_tensor(value):
        bf16 = value.dtype == sys.modules["torch"].bfloat16
        array = _from_torch(name, value)
    elif isinstance(value, np.ndarray):
        array = value
    elif hasattr(value, "__dlpack__") and not isinstance(value, (bytes, bytearray, memoryview)):
        try:
            array = np.from_dlpack(value)
        except (BufferError, RuntimeError, TypeError, ValueError) as e:
            raise InvalidArgumentError(f"tensor {name!r} cannot be read through DLPack (CPU only): {e}") from None
    else:
        try:
            array = np.asarray(value)
        except (TypeError, ValueError) as e:
            raise InvalidArgumentError(f"tensor {name!r}: {type(value).__name__} is not an array: {e}") from None

    shape = tuple(int(s) for s in array.shape)
    if bf16:
        dtype = _modeltree.DTYPE_BF16
    elif array.dtype.name == "bfloat16" and array.dtype.itemsize == 2:  # ml_dtypes / jax
        dtype = _modeltree.DTYPE_BF16
    elif array.dtype.kind in "iub":
        raise Skip(name)
    elif array.dtype.kind == "f" and array.dtype.newbyteorder("<") in _NUMPY_DTYPES:
        if array.dtype.byteorder == ">" or (array.dtype.byteorder == "=" and sys.byteorder != "little"):
            raise InvalidArgumentError(
                f"tensor {name!r} is big-endian ({array.dtype.str}); pass array.astype(array.dtype.newbyteorder('<')) (a copy)"
            )
        dtype = _NUMPY_DTYPES[array.dtype.newbyteorder("<")]
    else:
        raise InvalidArgumentError(
            f"tensor {name!r} has dtype {array.dtype}; supported: float16, bfloat16, float32, float64"
        )
    if not array.flags.c_contiguous:
        raise InvalidArgumentError(
            f"tensor {name!r} of shape {shape} is not C-contiguous; pass numpy.ascontiguousarray(a) "
            "(a copy) if that is what you want"
        )
    # A memoryview over the array itself: the raw layer takes its buffer, no copy is made.
    # Viewed as bytes so that numpy dtypes without a buffer-protocol format (bfloat16) work too.
    return Lent(dtype, shape, array.reshape(-1).view(np.uint8))
