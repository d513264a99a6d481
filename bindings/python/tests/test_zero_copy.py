"""Arrays are lent, not copied: the library reads the caller's own memory."""
from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import weakref

import numpy as np
import pytest

import modeltree as mt


def address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def test_the_library_gets_the_arrays_own_memory():
    rng = np.random.default_rng(0)
    arrays = {n: rng.normal(size=(16, 16)).astype(dt) for n, dt in [("a", np.float32), ("b", np.float64), ("c", np.float16)]}
    with mt.Collection() as c:
        for name, a in arrays.items():
            c.add_tensor("m", name, a)
        assert c._raw._lent() == [(address(a), a.nbytes) for a in arrays.values()]


def test_a_lent_array_stays_alive_until_close():
    a = np.random.default_rng(0).normal(size=(16, 16)).astype(np.float32)
    b = a + 0.01
    ref = weakref.ref(a)
    c = mt.Collection()
    c.add_tensor("a", "w", a)
    c.add_tensor("b", "w", b)
    del a
    gc.collect()
    assert ref() is not None  # the collection holds the buffer, so the array lives
    assert c.recover().parent("b") in ("a", None)
    c.close()
    gc.collect()
    assert ref() is None  # released on close


def test_torch_tensors_are_lent_in_place():
    torch = pytest.importorskip("torch")
    tensors = {
        "f32": torch.randn(16, 16),
        "f16": torch.randn(16, 16).half(),
        "bf16": torch.randn(16, 16).bfloat16(),
        "param": torch.nn.Parameter(torch.randn(16, 16)),  # requires grad: detached, not copied
        "slice": torch.randn(32, 16)[8:24],                 # a contiguous view with an offset
    }
    with mt.Collection() as c:
        for name, t in tensors.items():
            c.add_tensor("m", name, t)
        assert c._raw._lent() == [(t.data_ptr(), t.numel() * t.element_size()) for t in tensors.values()]


def test_numpy_views_are_lent_in_place():
    base = np.zeros((64, 16), np.float32)
    view = base[16:32]  # C-contiguous view into a bigger buffer
    ro = np.frombuffer(np.ones(256, np.float32).tobytes(), dtype=np.float32).reshape(16, 16)  # read-only
    with mt.Collection() as c:
        c.add_tensor("m", "view", view)
        c.add_tensor("m", "ro", ro)
        assert c._raw._lent() == [(address(view), view.nbytes), (address(ro), ro.nbytes)]


# Peak memory: recovering 2 models of 24 tensors of 4 MiB (192 MiB lent) must not grow the
# process's peak by anything near the size of the weights, as a copy would.
_RSS_SCRIPT = textwrap.dedent(
    """
    import resource, sys
    import numpy as np
    import modeltree as mt

    def peak_mib():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    rng = np.random.default_rng(0)
    base = {f"t{k}": rng.standard_normal((1024, 1024), dtype=np.float32) for k in range(24)}
    child = {}
    for k, a in base.items():
        b = rng.standard_normal((1024, 1024), dtype=np.float32)
        b *= 0.01
        b += a
        child[k] = b
    lent = sum(a.nbytes for a in base.values()) * 2 / 2**20
    mt.recover({"warm-a": {"w": np.ones((8, 8), np.float32)}, "warm-b": {"w": np.zeros((8, 8), np.float32)}})
    before = peak_mib()
    g = mt.recover({"base": base, "child": child}, metric="rms")
    after = peak_mib()
    assert g.parent("child") in ("base", None)
    print(lent, after - before)
    """
)


def test_peak_memory_does_not_grow_with_the_lent_weights():
    proc = subprocess.run([sys.executable, "-c", _RSS_SCRIPT], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lent, growth = (float(x) for x in proc.stdout.split())
    assert lent == pytest.approx(192)
    # The library's working memory is about n x the largest tensor (a few MiB); a copy of the
    # weights would add 192 MiB (or 384 MiB converted to double).
    assert growth < 0.25 * lent, f"peak memory grew by {growth:.0f} MiB while recovering {lent:.0f} MiB of lent weights"


def test_dlpack_objects_are_lent_in_place():
    class Foreign:  # an array from another library that speaks only DLPack
        def __init__(self, a):
            self._a = a

        def __dlpack__(self, **kwargs):
            return self._a.__dlpack__(**kwargs)

        def __dlpack_device__(self):
            return self._a.__dlpack_device__()

    a = np.random.default_rng(0).normal(size=(16, 16)).astype(np.float32)
    with mt.Collection() as c:
        c.add_tensor("m", "w", Foreign(a))
        assert c._raw._lent() == [(address(a), a.nbytes)]


def test_lent_memory_is_never_written():
    # The library only reads lent memory (a reader that released pages with madvise(MADV_DONTNEED)
    # would zero it). Arrays of many pages, compared before and after.
    rng = np.random.default_rng(1)
    models = {m: {f"t{k}": rng.standard_normal((1024, 1024), dtype=np.float32) for k in range(3)} for m in "abc"}
    before = {m: {k: a.copy() for k, a in w.items()} for m, w in models.items()}
    mt.recover(models, metric="rms")
    mt.recover(models, metric="auto")
    for m, w in models.items():
        for k, a in w.items():
            np.testing.assert_array_equal(a, before[m][k], err_msg=f"{m}.{k} changed")
