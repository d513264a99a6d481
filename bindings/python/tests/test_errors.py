"""Bad input raises the right class of the one hierarchy, with the library's message."""
from __future__ import annotations


import os

import numpy as np
import pytest

import modeltree as mt
from modeltree import _modeltree
from mt_support import make_weights, st


def square(seed: int, dtype=np.float32, side: int = 8) -> dict[str, np.ndarray]:
    return {"w": np.random.default_rng(seed).normal(size=(side, side)).astype(dtype)}


def test_hierarchy_and_builtin_bases():
    for cls, builtin in [
        (mt.InvalidArgumentError, ValueError), (mt.FileError, OSError), (mt.FormatError, ValueError),
        (mt.IncompatibleModelsError, ValueError), (mt.OutOfMemoryError, MemoryError),
    ]:
        assert issubclass(cls, mt.ModelTreeError) and issubclass(cls, builtin)
    assert issubclass(mt.CancelledError, mt.ModelTreeError) and issubclass(mt.InternalError, mt.ModelTreeError)
    assert mt.FileError.__module__ == "modeltree"


def test_missing_path_is_a_file_error(tmp_path):
    missing = str(tmp_path / "no-such-model")
    with pytest.raises(mt.FileError, match="no-such-model") as info:
        mt.recover(missing)
    assert info.value.status == _modeltree.IO
    assert isinstance(info.value, OSError)
    with pytest.raises(mt.FileError):
        mt.recover({"x": missing})


def test_malformed_checkpoint_is_a_format_error(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(mt.FormatError) as info:
        mt.recover(str(bad))
    assert info.value.status == _modeltree.FORMAT and "bad.safetensors" in str(info.value)


def test_the_message_is_the_librarys():
    with pytest.raises(mt.InvalidArgumentError) as info:
        mt.recover({"a": square(0), "b": square(1)}, lam=float("nan"))
    assert str(info.value) == _modeltree.last_error_message() == info.value.message
    assert "lambda" in str(info.value)


@pytest.mark.parametrize("dtype", [np.int32, np.uint8, np.bool_])
def test_integer_tensor_is_rejected_by_add_tensor(dtype):
    with mt.Collection() as c, pytest.raises(mt.InvalidArgumentError, match="integer or bool"):
        c.add_tensor("m", "w", np.zeros((4, 4), dtype=dtype))


@pytest.mark.parametrize("dtype", [np.complex64, np.float128 if hasattr(np, "float128") else np.complex128, object])
def test_unsupported_dtype_is_an_invalid_argument(dtype):
    with pytest.raises(mt.InvalidArgumentError, match="dtype"):
        mt.recover({"a": {"w": np.zeros((4, 4), dtype=dtype)}, "b": square(1)})


def test_state_dict_without_a_float_tensor():
    with pytest.raises(mt.InvalidArgumentError, match="no floating-point tensor"):
        mt.recover({"a": {"step": np.array([3])}, "b": square(1)})


def test_mismatched_shapes_make_separate_trees_or_an_error():
    # Models that share no tensor are different architectures: recovered apart, with a warning.
    models = {"a": square(0, side=8), "b": {"w": np.zeros((8, 4), np.float32)}}
    g = mt.recover(models)
    assert g.roots == ("a", "b") and g.edges == ()
    assert any("architectures" in w for w in g.warnings)
    # Asked for fewer trees than there are architectures: the library says so.
    with pytest.raises(mt.InvalidArgumentError, match="architectures"):
        mt.recover(models, trees=1)


def test_size_that_disagrees_with_the_shape_raw_layer():
    with _modeltree.Collection() as c:
        with pytest.raises(mt.InvalidArgumentError, match="needs 64 bytes"):
            c.add_tensor("m", "w", _modeltree.DTYPE_F32, (4, 4), bytes(60))
        with pytest.raises(mt.InvalidArgumentError, match="unknown dtype"):
            c.add_tensor("m", "w", 99, (4, 4), bytes(64))
        with pytest.raises(mt.InvalidArgumentError, match="negative"):
            c.add_tensor("m", "w", _modeltree.DTYPE_F32, (-1, 4), bytes(0))
        with pytest.raises(ValueError, match="at most"):
            c.add_tensor("m", "w", _modeltree.DTYPE_F32, (1,) * 65, bytes(4))
        assert c.model_count() == 0  # failures add nothing
        assert c._lent() == []       # and hold no buffer


def test_duplicate_tensor_and_duplicate_model(tmp_path):
    with mt.Collection() as c:
        c.add_tensor("m", "w", np.zeros((4, 4), np.float32))
        with pytest.raises(mt.InvalidArgumentError, match="already has a tensor"):
            c.add_tensor("m", "w", np.zeros((4, 4), np.float32))


@pytest.mark.parametrize("models", [{}, [], ()], ids=["dict", "list", "tuple"])
def test_empty_input(models):
    with pytest.raises(mt.InvalidArgumentError, match="no models"):
        mt.recover(models)


def test_empty_collection_is_the_librarys_invalid_argument():
    with mt.Collection() as c, pytest.raises(mt.InvalidArgumentError, match="empty"):
        c.recover()


def test_non_contiguous_arrays_are_rejected_with_the_fix():
    a = np.zeros((8, 8), np.float32)
    for view in (a.T, a[:, ::2], a[::2]):
        if view.flags.c_contiguous:
            continue
        with pytest.raises(mt.InvalidArgumentError, match="ascontiguousarray"):
            mt.recover({"a": {"w": view}, "b": square(1)})
    big_endian = np.zeros((8, 8), ">f4")
    with pytest.raises(mt.InvalidArgumentError, match="big-endian"):
        mt.recover({"a": {"w": big_endian}, "b": square(1)})


def test_bad_options():
    models = {"a": square(0), "b": square(1)}
    with pytest.raises(mt.InvalidArgumentError, match="metric"):
        mt.recover(models, metric="cosine")
    with pytest.raises(mt.InvalidArgumentError, match="direction"):
        mt.recover(models, direction="up")
    with pytest.raises(mt.InvalidArgumentError, match="trees"):
        mt.recover(models, trees=0)
    with pytest.raises(mt.InvalidArgumentError, match="lambda must be a finite number ≥ 0, got -1.0"):
        mt.recover(models, lam=-1)  # the library's check and message
    for name in ("threads", "max_models", "memory_budget"):
        with pytest.raises(mt.InvalidArgumentError, match=name):
            mt.recover(models, **{name: 0})
    with pytest.raises(mt.InvalidArgumentError, match="include"):
        mt.recover(models, include=[3])
    with pytest.raises(mt.InvalidArgumentError):
        mt.recover(42)
    with pytest.raises(mt.InvalidArgumentError, match="model ids must be str"):
        mt.recover({1: square(0)})
    with pytest.raises(mt.InvalidArgumentError, match="expected a path, a state dict"):
        mt.recover({"a": 3.5})


def test_include_that_matches_nothing():
    with pytest.raises(mt.IncompatibleModelsError, match="include"):
        mt.recover({"a": square(0), "b": square(1)}, include=["nothing.*"])


def test_torch_errors():
    torch = pytest.importorskip("torch")
    ok = {"w": torch.zeros(8, 8)}
    with pytest.raises(mt.InvalidArgumentError, match="not contiguous"):
        mt.recover({"a": {"w": torch.zeros(8, 8).t()[:, :4]}, "b": ok})
    with pytest.raises(mt.InvalidArgumentError, match="dtype"):
        mt.recover({"a": {"w": torch.zeros(8, 8, dtype=torch.complex64)}, "b": ok})
    with pytest.raises(mt.InvalidArgumentError, match="dense"):
        mt.recover({"a": {"w": torch.zeros(8, 8).to_sparse()}, "b": ok})
    if hasattr(torch, "float8_e4m3fn"):
        with pytest.raises(mt.InvalidArgumentError, match="dtype"):
            mt.recover({"a": {"w": torch.zeros(8, 8, dtype=torch.float8_e4m3fn)}, "b": ok})


def test_raw_graph_accessors_check_their_arguments(tmp_path):
    with _modeltree.Collection() as c:
        c.add_tensor("m", "w", _modeltree.DTYPE_F32, (4, 4), np.ones((4, 4), np.float32))
        c.add_tensor("n", "w", _modeltree.DTYPE_F32, (4, 4), np.zeros((4, 4), np.float32))
        g = _modeltree.recover(c)
    with g:
        assert g.model_count() == 2 and g.find("n") == 1 and g.find("zz") == -1
        with pytest.raises(IndexError):
            g.model_id(2)
        with pytest.raises(IndexError):
            g.tree_root(-1)
        with pytest.raises(ValueError, match="needs"):
            g.distances(bytearray(8))
    assert g.closed
    with pytest.raises(ValueError, match="closed"):
        g.model_count()


def test_file_truncated_after_adding_is_a_file_error_not_a_crash(tmp_path):
    # An mmap reader dies of SIGBUS here (the whole Python process, no exception to catch); the
    # library reads with pread and checks the file is the one it validated.
    paths = {}
    for model, w in make_weights(side=64).items():
        paths[model] = str(tmp_path / f"{model}.safetensors")
        st.write(paths[model], w)
    with mt.Collection() as c:
        for p in paths.values():
            c.add_path(p)
        size = os.path.getsize(paths["a1"])
        c.recover()                                   # as added, they recover
        os.truncate(paths["a1"], 64)
        with pytest.raises(mt.FileError, match=f"a1.safetensors: was truncated from {size} to 64 bytes") as info:
            c.recover()
        assert info.value.status == _modeltree.IO
        os.remove(paths["a1"])
        with pytest.raises(mt.FileError, match="No such file.*it was there when the model was opened"):
            c.recover()


def test_folder_with_weights_and_model_subfolders_is_refused(tmp_path):
    # Taking it as one model would drop the sub-folders; taking it as a collection would misname
    # the loose file's model: the library says so and what to pass instead.
    zoo = tmp_path / "zoo"
    (zoo / "ft").mkdir(parents=True)
    st.write(str(zoo / "base.safetensors"), square(0))
    st.write(str(zoo / "ft" / "model.safetensors"), square(1))
    with pytest.raises(mt.InvalidArgumentError, match="pass the models one by one"):
        mt.recover(str(zoo))
    g = mt.recover([str(zoo / "base.safetensors"), str(zoo / "ft")])
    assert g.ids == ("base", "ft")


def test_not_a_safetensors_file_says_so(tmp_path):
    text = tmp_path / "notes.safetensors"
    text.write_text("hello world, this is no checkpoint")
    with pytest.raises(mt.FormatError, match="not a safetensors file \\(it starts with text"):
        mt.recover(str(text))
