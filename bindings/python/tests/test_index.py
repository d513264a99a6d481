"""The hub index through the package: against recover, against plain numpy, signatures as bytes,
candidate uploads, verify, several processes at once."""
from __future__ import annotations

import math
import multiprocessing
import os
import shutil
import sqlite3
import struct

import numpy as np
import pytest

import modeltree as mt
from mt_support import NAMES, TREE, Family, example_zoo, rms_distance
from mt_support import weights, zoo  # noqa: F401  (fixtures)


@pytest.mark.parametrize("which", [0, 1], ids=["zoo", "zoo2"])
def test_the_index_graph_is_recovers(tmp_path, which):
    zoo_dir = example_zoo(which)
    want = mt.recover(zoo_dir)
    with mt.Index(tmp_path / "hub.mtindex") as index:
        index.add(zoo_dir)
        assert len(index) == len(want)
        g = index.graph()
        assert g.ids == want.ids and g.metric == want.metric and g.trees == want.trees
        for e in want.edges:
            f = g.edge(e.child)
            assert (f.parent, f.type) == (e.parent, e.type)
            assert f.distance == pytest.approx(e.distance, rel=1e-6)
            assert f.confidence == pytest.approx(e.confidence, abs=1e-6)
        for m in want.ids:
            answer = index.parent(m)
            assert answer.indexed and answer.parent == want.parent(m)
            if answer.parent is not None:
                assert answer.confidence == pytest.approx(want.edge(m).confidence, abs=1e-6)


def test_unread_entries_of_a_folder_are_warned_not_dropped(tmp_path):
    # A folder of models beside Keras weights and a GGUF that lost its extension: the models are
    # added, and each unread entry is one warning naming its path.
    folder = tmp_path / "zoo"
    shutil.copytree(example_zoo(0), folder)
    (folder / "keras.h5").write_bytes(b"\x89HDF\r\n\x1a\n")
    (folder / "renamed").write_bytes(b"GGUF" + struct.pack("<I", 3) + bytes(8))
    want = mt.recover(example_zoo(0))
    with mt.Index(tmp_path / "hub.mtindex") as index:
        with pytest.warns(UserWarning) as caught:
            index.add(folder)
        messages = sorted(str(w.message) for w in caught)
        assert len(messages) == 2
        assert messages[0].startswith(f"{folder}/keras.h5: ") and "HDF5" in messages[0]
        assert messages[1].startswith(f"{folder}/renamed: ") and ".gguf" in messages[1]
        assert sorted(index.graph().ids) == sorted(want.ids)


def test_graph_distances_match_numpy_within_the_sketch_error(tmp_path):
    # 96 x 96 tensors are sketched (more than 2 x 2048 elements): distances are estimates.
    fam = Family(str(tmp_path / "fam"), seed=3, side=96)
    a = fam.root("a")
    a1, a2 = fam.full("a1", a), fam.full("a2", a)
    fam.full("a11", a1)
    fam.full("a21", a2)
    with mt.Index(":memory:") as index:
        index.add({m: {n: w.astype(np.float32) for n, w in ws.items()} for m, ws in fam.weights.items()})
        g = index.graph()
        names = list(fam.names)
        for child, parent in [("a1", "a"), ("a2", "a"), ("a11", "a1"), ("a21", "a2")]:
            assert g.parent(child) == parent
            exact = rms_distance(fam.weights[child], fam.weights[parent], names)
            # relative standard deviation about sqrt(1 / (2k)) per tensor, k = 2048 buckets
            assert g.edge(child).distance == pytest.approx(exact, rel=0.05)
        # models never compared (other families) would be at +inf; here one family: all finite
        assert np.isfinite(g.distances).all()


def test_memory_models_and_candidates(tmp_path, weights):
    models = {m: w for m, w in weights.items()}
    want = mt.recover(models)
    leaves = [m for m in TREE if m not in TREE.values()]
    with mt.Index(tmp_path / "hub.mtindex") as index:
        index.add({m: w for m, w in models.items() if m not in leaves})
        for leaf in leaves:
            answer = index.parent(models[leaf], id=leaf)           # a state dict, not added
            assert not answer.indexed and answer.parent == want.parent(leaf)
            assert answer.relatives == 2                            # its indexed family: a, a1 or b, b2
            assert answer.candidates[0].confidence == pytest.approx(
                mt.recover({**{m: w for m, w in models.items() if m not in leaves}, leaf: models[leaf]}).edge(leaf).confidence,
                abs=1e-6)
            assert all(math.isnan(c.confidence) for c in answer.candidates[1:])
        assert len(index) == len(models) - len(leaves)
        # a model of no indexed family
        stranger = {n: np.random.default_rng(9).laplace(0, 0.05, (32, 32)).astype(np.float32) for n in NAMES}
        answer = index.parent(stranger, id="stranger")
        assert answer.parent is None and answer.relatives == 0 and "no relative" in str(answer)
        # a copy of an indexed model
        copy = index.parent(models["a1"], id="a1-copy")
        assert copy.duplicates == ("a1",) and copy.parent == "a"


def test_signatures_travel_as_bytes(tmp_path, zoo):
    sig = mt.signature(os.path.join(zoo, "a1"))
    data = bytes(sig)
    assert data[:8] == b"MTSIGNAT"
    back = mt.Signature.from_bytes(data)
    assert back.id == "a1" and back.hash == sig.hash and bytes(back) == data
    with mt.Index(tmp_path / "one.mtindex") as index:
        index.add(mt.Signature.from_bytes(data))
        index.add(data, id="a1-again")                     # bytes too, renamed
        assert sorted(e.id for e in index.list()) == ["a1", "a1-again"]
        assert index.parent("a1-again").duplicates == ("a1",)
        assert bytes(index.signature("a1")) == data
    # the same weights from memory hash alike; other weights do not
    w = mt.signature({n: a for n, a in _read(os.path.join(zoo, "a1")).items()}, id="a1")
    assert w.hash == sig.hash
    assert mt.signature(os.path.join(zoo, "a2")).hash != sig.hash


def _read(folder):
    from mt_support import st
    return st.read(os.path.join(folder, "model.safetensors"))


def test_corrupt_and_foreign_signatures_are_refused(zoo):
    data = bytearray(bytes(mt.signature(os.path.join(zoo, "a"))))
    for at in range(0, len(data), 131):
        bad = bytearray(data)
        bad[at] ^= 0x20
        with pytest.raises(mt.FormatError):
            mt.Signature.from_bytes(bad)
    with pytest.raises(mt.FormatError, match="truncated"):
        mt.Signature.from_bytes(data[:-3])
    newer = bytearray(data)
    newer[8] = 9
    with pytest.raises(mt.FormatError, match="newer than this library reads"):
        mt.Signature.from_bytes(newer)
    small = mt.signature(os.path.join(zoo, "a"), sketch={"distance_buckets": 256})
    with mt.Index(":memory:") as index, pytest.raises(mt.InvalidArgumentError, match="sketch sizes"):
        index.add(small)


class _LittleEndian:
    """A reader of the documented signature format (SignatureFormat.swift), written apart from
    the library with struct's explicit little-endian codes."""

    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def take(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def string(self) -> str:
        n = self.take("I")
        self.at += n
        return self.data[self.at - n:self.at].decode()


def test_signature_bytes_are_the_documented_little_endian_format():
    """What makes an index portable between machines: a signature's bytes are the documented
    format in little-endian, whatever the machine — read here by struct, checked against numpy."""
    folder = os.path.join(example_zoo(0), "vit-a")
    weights = _read(folder)
    r = _LittleEndian(bytes(mt.signature(folder)))
    assert r.take("8s") == b"MTSIGNAT" and r.take("I") == 1 and r.take("I") == 3
    sections = {}
    for tag in ("META", "DIST", "RANK"):
        assert r.take("4s") == tag.encode()
        length, _checksum = r.take("QQ")
        sections[tag] = _LittleEndian(r.data[r.at:r.at + length])
        r.at += length
    assert r.at == len(r.data)
    meta = sections["META"]
    buckets, _coarse, _rows, _columns, _hits = meta.take("IIIII")
    assert buckets == 2048
    assert meta.string() == "vit-a"
    if meta.take("B"):
        assert meta.string().endswith("vit-a")
    meta.string()                                                   # format
    for _ in range(meta.take("I")):                                 # files
        meta.string()
        meta.take("QqQQ")
    meta.take("Q")                                                  # model hash
    names, kept = [], []
    for _ in range(meta.take("I")):
        name = meta.string()
        shape = [meta.take("Q") for _ in range(meta.take("B"))]
        meta.string()
        meta.take("d")                                              # unit roundoff
        finite, nonfinite = meta.take("QQ")
        lo, hi = meta.take("ff")
        shift = meta.take("d")
        sums = meta.take("dddd")
        meta.take("Q")                                              # content hash
        kind = meta.take("B")
        w = weights[name].astype(np.float64)
        assert shape == list(weights[name].shape) and (finite, nonfinite) == (w.size, 0), name
        assert (lo, hi) == (w.min(), w.max()), name
        for p, got in enumerate(sums, start=1):   # to Float32 rounding of x − shift, scaled by Σ|·|^p (the first sum is near 0)
            assert got == pytest.approx(np.sum((w - shift) ** p), abs=1e-6 * np.sum(np.abs(w - shift) ** p)), (name, p)
        names.append(name)
        if kind == 1:
            kept.append(name)
    assert meta.at == len(meta.data) and names == sorted(names)
    # The square matrices, small enough to be kept as values: row-major f32 in DIST.
    assert kept == sorted(n for n, w in weights.items() if w.ndim == 2 and w.shape[0] == w.shape[1])
    dist = sections["DIST"]
    for name in kept:
        values = np.array(dist.take(f"{weights[name].size}f"), dtype=np.float32)
        assert np.array_equal(values, weights[name].ravel()), name
    assert dist.at == len(dist.data)


def test_a_corrupted_row_is_refused_clearly(tmp_path, zoo):
    path = tmp_path / "hub.mtindex"
    with mt.Index(path) as index:
        index.add(zoo)
    _sql(path, "UPDATE signatures SET meta = substr(meta, 1, 30) || x'5a' || substr(meta, 32) "
               "WHERE model = (SELECT id FROM models WHERE name = 'a1')")
    with mt.Index(path) as index:
        with pytest.raises(mt.FormatError, match="corrupt"):
            index.graph()
        assert index.parent("b1").parent == "b"          # other families are unaffected


def _sql(path, statement: str) -> None:
    """Runs one statement on an SQLite file with Python's own sqlite3 (no Index open meanwhile)."""
    db = sqlite3.connect(path)
    db.execute(statement)
    db.commit()
    db.close()


def test_not_an_index_and_a_newer_schema(tmp_path):
    other = tmp_path / "other.db"
    _sql(other, "CREATE TABLE t(x)")
    with pytest.raises(mt.FormatError, match="not a model index"):
        mt.Index(other)
    path = tmp_path / "hub.mtindex"
    mt.Index(path).close()
    _sql(path, "PRAGMA user_version = 99")
    with pytest.raises(mt.FormatError, match="newer than this library reads"):
        mt.Index(path)


def test_an_index_file_moves_to_another_place(tmp_path, zoo):
    with mt.Index(tmp_path / "a.mtindex") as index:
        index.add(zoo)
        want = index.graph()
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    shutil.copy(tmp_path / "a.mtindex", moved / "b.mtindex")
    with mt.Index(moved / "b.mtindex") as index:
        g = index.graph()
        assert g.ids == want.ids and [g.parent(m) for m in g.ids] == [want.parent(m) for m in want.ids]


def test_verify_and_remove(tmp_path, zoo):
    copy = tmp_path / "zoo"
    shutil.copytree(zoo, copy)
    with mt.Index(tmp_path / "hub.mtindex") as index:
        index.add(str(copy))
        assert {e.state for e in index.verify()} == {"unchanged"}
        with open(copy / "a2" / "model.safetensors", "ab") as f:
            f.write(b"\0")
        shutil.rmtree(copy / "b1")
        states = {e.id: (e.state, e.detail) for e in index.verify()}
        assert states["a2"][0] == "changed" and "size changed" in states["a2"][1]
        assert states["b1"][0] == "missing"
        assert states["a"] == ("unchanged", "")
        index.remove("b1", "a2")
        assert "b1" not in index and "a2" not in index and len(index) == len(TREE) - 2
        with pytest.raises(mt.InvalidArgumentError, match="no model 'b1'"):
            index.remove("b1")
        assert index.graph().parent("b21") == "b2"


def _add_some(path: str, zoo: str, names: list[str]) -> None:
    with mt.Index(path) as index:
        for name in names:
            index.add(os.path.join(zoo, name))


def test_processes_add_at_once(tmp_path, zoo):
    path = str(tmp_path / "hub.mtindex")
    models = sorted(TREE)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_add_some, args=(path, zoo, models[w::3])) for w in range(3)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(timeout=300)
        assert p.exitcode == 0
    with mt.Index(path) as index:
        assert sorted(e.id for e in index.list()) == models
        g = index.graph()
        assert {m: g.parent(m) for m in models} == TREE


def test_misuse_says_what_is_wrong(tmp_path):
    with pytest.raises(mt.InvalidArgumentError, match="coarse buckets"):
        mt.Index(":memory:", coarse_buckets=3)
    with pytest.raises(mt.InvalidArgumentError, match="unknown sketch sizes"):
        mt.Index(":memory:", buckets=3)
    with mt.Index(":memory:") as index:
        with pytest.raises(mt.InvalidArgumentError, match="holds no models"):
            index.graph()
        with pytest.raises(mt.InvalidArgumentError, match="no model 'x' in the index"):
            index.parent("x")
        with pytest.raises(mt.InvalidArgumentError, match="metric"):
            index.parent("x", metric="far")
    with pytest.raises(mt.InvalidArgumentError, match="needs an id"):
        mt.signature({"w": np.zeros((4, 4), np.float32)})
    index = mt.Index(":memory:")
    index.close()
    with pytest.raises(ValueError, match="closed"):
        len(index)
