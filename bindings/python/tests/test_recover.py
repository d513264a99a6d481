"""Recovery through the package against the CLI and against plain numpy."""
from __future__ import annotations

import json
import os
import pydoc

import numpy as np
import pytest

import modeltree as mt
from mt_support import NAMES, ROOT, TREE, cli_json, cli_output, example_zoo, rms_distance, st
from mt_support import weights, zoo  # noqa: F401  (fixtures)


def test_synthetic_zoo_json_is_the_clis(zoo):
    g = mt.recover(zoo)
    assert g.to_json() == cli_json(zoo)
    assert {c: g.parent(c) for c in g.ids} == TREE


@pytest.mark.parametrize("index", [0, 1], ids=["zoo", "zoo2"])
def test_example_zoo_json_is_the_clis(index):
    zoo = os.path.relpath(example_zoo(index), ROOT)  # the JSON holds paths as given
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        g = mt.recover(zoo)
    finally:
        os.chdir(cwd)
    assert g.to_json() == cli_json(zoo)  # how well it scores is the CLI tests' business


def test_graph_accessors_agree_with_the_json(zoo):
    g = mt.recover(zoo)
    doc = g.to_dict()
    assert list(g.ids) == [m["id"] for m in doc["models"]]
    assert g.paths == {m["id"]: m["path"] for m in doc["models"]}
    assert g.kurtosis == {m["id"]: m["kurtosis"] for m in doc["models"]}
    assert [(e.parent, e.child, e.type, e.distance, e.confidence, e.unsure) for e in g.edges] == [
        (e["parent"], e["child"], e["type"], e["distance"], e["confidence"], e["unsure"]) for e in doc["edges"]
    ]
    assert list(g.roots) == doc["roots"] and [list(t) for t in g.trees] == doc["trees"]
    assert list(g.tensors) == doc["tensors"] and g.metric == doc["metric"]
    assert list(g.directions) == doc["directions"] and list(g.warnings) == doc["warnings"]


def test_in_memory_arrays_give_the_same_graph_as_files(zoo):
    from_files = mt.recover(zoo)
    loaded = {m: st.load_model(os.path.join(zoo, m)) for m in sorted(TREE)}
    in_memory = mt.recover(loaded)
    assert in_memory.ids == from_files.ids
    assert in_memory.edges == from_files.edges
    assert in_memory.roots == from_files.roots and in_memory.trees == from_files.trees
    assert in_memory.kurtosis == from_files.kurtosis
    np.testing.assert_array_equal(in_memory.distances, from_files.distances)
    assert in_memory.paths == {m: None for m in TREE}
    # Same document apart from the paths (null for models lent from memory).
    a, b = in_memory.to_dict(), from_files.to_dict()
    for m in b["models"]:
        m["path"] = None
    assert a == b


def test_mixed_paths_and_state_dicts(zoo, weights):
    models = {m: (os.path.join(zoo, m) if m.startswith("a") else weights[m]) for m in sorted(TREE)}
    g = mt.recover(models)
    assert {c: g.parent(c) for c in g.ids} == TREE
    assert g.paths["a"] == os.path.join(zoo, "a") and g.paths["b"] is None


def test_distance_matrix_is_a_plain_numpy_computation(zoo, weights):
    g = mt.recover(zoo)
    assert sorted(g.tensors) == sorted(NAMES)  # the square matrices: not the head, not the counter
    expected = np.array([[rms_distance(weights[a], weights[b], g.tensors) for b in g.ids] for a in g.ids])
    np.testing.assert_allclose(g.distances, expected, rtol=1e-6, atol=1e-12)
    assert g.distances.shape == (len(g.ids), len(g.ids)) and not g.distances.flags.writeable
    for e in g.edges:
        assert e.distance == pytest.approx(g.distance(e.parent, e.child), rel=1e-12)


def test_kurtosis_is_the_mean_excess_kurtosis(zoo, weights):
    g = mt.recover(zoo)
    for m in g.ids:
        ks = []
        for t in g.tensors:
            x = weights[m][t].astype(np.float64).ravel()
            d = x - x.mean()
            ks.append(np.mean(d**4) / np.mean(d**2) ** 2 - 3)
        assert g.kurtosis[m] == pytest.approx(np.mean(ks), rel=1e-6)


def test_list_of_paths_and_dict_of_paths(zoo):
    paths = [os.path.join(zoo, m) for m in sorted(TREE)]
    by_list = mt.recover(paths)
    by_dict = mt.recover({f"model-{m}": p for m, p in zip(sorted(TREE), paths)})
    assert list(by_list.ids) == sorted(TREE)
    assert list(by_dict.ids) == [f"model-{m}" for m in sorted(TREE)]
    assert [(e.parent, e.child) for e in by_dict.edges] == [(f"model-{e.parent}", f"model-{e.child}") for e in by_list.edges]


@pytest.mark.parametrize(
    "kwargs, flags",
    [
        ({"metric": "max"}, ["--metric", "max"]),
        ({"direction": "generalization"}, ["--direction", "generalization"]),
        ({"lam": 0.0, "trees": 1}, ["--lambda", "0", "--trees", "1"]),
        ({"lam": 1e300, "threads": 1}, ["--lambda", "1e300", "--threads", "1"]),
        ({"include": ["layers.0.*"]}, ["--include", "layers.0.*"]),
        ({"exclude": ["*.v.weight", "*.q.weight"], "include": ["*"]},
         ["--include", "*", "--exclude", "*.v.weight", "--exclude", "*.q.weight"]),
    ],
)
def test_options_mean_what_the_cli_flags_mean(zoo, kwargs, flags):
    assert mt.recover(zoo, **kwargs).to_json() == cli_json(zoo, *flags)


def test_torch_module_and_state_dict(zoo, weights):
    torch = pytest.importorskip("torch")
    modules = {}
    for m, w in sorted(weights.items()):  # the folder's order, so that the matrices line up
        module = torch.nn.Module()
        for name, a in w.items():
            if a.dtype.kind == "f":
                module.register_parameter(name.replace(".", "_"), torch.nn.Parameter(torch.from_numpy(a.copy())))
            else:
                module.register_buffer(name.replace(".", "_"), torch.from_numpy(a.copy()))
        modules[m] = module
    g = mt.recover(modules)  # modules: their state_dict(), parameters requiring grad included
    assert {c: g.parent(c) for c in g.ids} == TREE
    np.testing.assert_array_equal(g.distances, mt.recover(zoo).distances)


def test_dtypes_float16_float64_bfloat16(weights):
    f64 = mt.recover({m: {n: a.astype(np.float64) for n, a in w.items()} for m, w in weights.items()})
    f16 = mt.recover({m: {n: a.astype(np.float16) for n, a in w.items()} for m, w in weights.items()})
    assert {c: f16.parent(c) for c in f16.ids} == TREE == {c: f64.parent(c) for c in f64.ids}
    expected = np.array([[rms_distance({t: weights[a][t].astype(np.float16) for t in NAMES},
                                       {t: weights[b][t].astype(np.float16) for t in NAMES}, NAMES)
                          for b in f16.ids] for a in f16.ids])
    np.testing.assert_allclose(f16.distances, expected, rtol=1e-6, atol=1e-12)
    torch = pytest.importorskip("torch")
    bf16 = {m: {n: torch.from_numpy(a).to(torch.bfloat16) for n, a in w.items() if a.dtype.kind == "f"}
            for m, w in weights.items()}
    g = mt.recover(bf16)
    assert {c: g.parent(c) for c in g.ids} == TREE
    widened = {m: {n: t.float().numpy() for n, t in w.items()} for m, w in bf16.items()}
    expected = np.array([[rms_distance(widened[a], widened[b], NAMES) for b in g.ids] for a in g.ids])
    np.testing.assert_allclose(g.distances, expected, rtol=1e-6, atol=1e-12)


def test_graph_helpers(zoo):
    g = mt.recover(zoo)
    assert len(g) == len(TREE) and "a1" in g and "zz" not in g and tuple(g) == g.ids
    assert sorted(g.children("a")) == ["a1", "a2"] and g.children("a11") == []
    assert g.edge("a") is None and g.edge("a1").parent == "a"
    assert g.tree_of("a11") == g.tree_of("a") != g.tree_of("b")
    assert g.roots[g.tree_of("b21")] == "b"
    with pytest.raises(KeyError, match="zz"):
        g.parent("zz")
    assert "8 models" in repr(g)


def test_to_dot_and_to_networkx(zoo):
    g = mt.recover(zoo)
    dot = g.to_dot()
    assert dot.startswith("digraph") and dot.count("->") == len(g.edges)
    assert all(f'"{m}"' in dot for m in g.ids)
    assert dot == cli_output("recover", zoo, "--format", "dot", "--quiet")
    nx = pytest.importorskip("networkx")
    h = g.to_networkx()
    assert isinstance(h, nx.DiGraph)
    assert set(h.edges) == {(e.parent, e.child) for e in g.edges}
    assert nx.is_forest(h) and h.nodes["a1"]["kurtosis"] == g.kurtosis["a1"]
    assert h.edges["a", "a1"]["distance"] == g.edge("a1").distance and h.edges["a", "a1"]["type"] == "finetune"
    assert {n for n in h if h.in_degree(n) == 0} == set(g.roots)


def test_collection_layer(zoo, weights):
    with mt.Collection() as c:
        c.add_path(zoo)
        assert len(c) == len(TREE)
        g1 = c.recover()
        g2 = c.recover(metric="rms")  # a collection may be recovered again
    assert c.closed and "closed" in repr(c)
    assert g1.edges == g2.edges  # graphs outlive their collection
    with pytest.raises(ValueError, match="closed"):
        c.add_path(zoo)
    with pytest.raises(ValueError, match="closed"):
        c.recover()


def test_relative_paths_survive_a_change_of_working_directory(tmp_path, weights, monkeypatch):
    # Tensors are read at recover time, not when added: a notebook that adds models by relative
    # path and then changes directory must still get those files — not an error, and not the
    # same-named files of the new directory.
    for place, seed in (("here", 0), ("elsewhere", 1)):
        os.makedirs(tmp_path / place)
        for model, w in weights.items():
            w = {k: v + np.float32(seed) * v[::-1] if v.ndim == 2 else v for k, v in w.items()}
            st.write(str(tmp_path / place / f"{model}.safetensors"), w)
    here, elsewhere = (mt.recover(str(tmp_path / p)).distances for p in ("here", "elsewhere"))
    assert not np.array_equal(here, elsewhere)
    monkeypatch.chdir(tmp_path / "here")
    with mt.Collection() as c:
        for model in sorted(weights):          # the order a folder expands to
            c.add_path(f"{model}.safetensors")
        monkeypatch.chdir(tmp_path / "elsewhere")
        g = c.recover()
    assert {m: g.parent(m) for m in g.ids} == TREE
    assert np.array_equal(g.distances, here)


@pytest.mark.parametrize("index", [0, 1], ids=["zoo", "zoo2"])
@pytest.mark.parametrize("fmt", ["json", "text", "dot", "svg", "html"])
@pytest.mark.parametrize("with_truth", [False, True], ids=["plain", "truth"])
def test_every_rendering_is_the_clis_byte_for_byte(index, fmt, with_truth):
    # The C suite checks the C and C++ renderings against the same CLI output: one renderer.
    zoo = os.path.relpath(example_zoo(index), ROOT)  # the JSON holds paths as given
    truth = os.path.join(zoo, "truth.json")
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        g = mt.recover(zoo)
        score = g.evaluate(truth) if with_truth else None
    finally:
        os.chdir(cwd)
    expected = cli_output("recover", zoo, "--format", fmt, "--quiet", *(["--truth", truth] if with_truth else []))
    assert g.render(fmt, score) == expected
    if fmt == "text" and not with_truth:
        assert str(g) == g.to_text() == expected
    if fmt == "svg":
        assert g.to_svg(score=score) == expected
        assert with_truth or g._repr_svg_() == expected
    if fmt == "html":
        assert g.to_html(score=score) == expected


def test_graph_is_immutable_and_documented(zoo):
    g = mt.recover(zoo)
    for name in ("ids", "edges", "roots", "trees", "tensors", "warnings", "metric", "unsure_threshold", "extra"):
        with pytest.raises(AttributeError):
            setattr(g, name, None)
    assert isinstance(g.ids, tuple) and isinstance(g.edges, tuple) and isinstance(g.trees[0], tuple)
    with pytest.raises(TypeError):
        g.paths["a"] = "elsewhere"  # a read-only mapping
    with pytest.raises(TypeError):
        g.kurtosis["a"] = 0.0
    with pytest.raises(ValueError):
        g.distances[0, 1] = 0.0
    with pytest.raises(AttributeError):
        g.edges[0].distance = 0.0  # frozen
    text = pydoc.render_doc(mt.Graph, renderer=pydoc.plaintext)
    for attribute in ("ids", "paths", "kurtosis", "edges", "roots", "trees", "distances", "metric", "directions",
                      "direction_unsure", "tensors", "warnings", "unsure_threshold"):
        assert f"{attribute}\n" in text or f"{attribute}:" in text, attribute
    assert 0 < g.unsure_threshold < 1
    assert all(e.unsure == (e.confidence < g.unsure_threshold or g.direction_unsure[g.tree_of(e.child)]) for e in g.edges)


def test_options_left_unset_keep_the_librarys_defaults(zoo):
    # Options left at None are not sent: the library's defaults apply, and limits that the
    # models fit in change nothing.
    assert mt.recover(zoo).to_json() == mt.recover(zoo, metric="auto", direction="auto").to_json()
    doc = json.loads(mt.recover(zoo, threads=2, max_models=len(TREE), memory_budget=1 << 40).to_json())
    assert doc == mt.recover(zoo).to_dict()
    with pytest.raises(mt.OutOfMemoryError, match="max_models is 3"):
        mt.recover(zoo, max_models=3)
    with pytest.raises(mt.OutOfMemoryError, match="memory_budget is 1000 bytes"):
        mt.recover(zoo, memory_budget=1000)


def test_other_formats_are_added_like_safetensors(tmp_path):
    """GGUF, torch.save and ONNX exports of typed zoo 2 (truth.json names their sources) through
    add_path: the same graph as the CLI's, and each export next to its source."""
    zoo = os.path.join(ROOT, "examples", "typed_zoo2")
    ids = ["fx", "fx-food", "fx-sports", "fx-food-love", "fx-food-Q8_0.gguf", "fx-sports-F16.gguf", "fx-food-love-int8.onnx"]
    c = mt.Collection()
    for i in ids:
        c.add_path(os.path.join(zoo, i))
    g = c.recover()
    assert g.to_json() == cli_json(*(os.path.join(zoo, i) for i in ids))
    with open(os.path.join(zoo, "truth.json")) as f:
        source = {e["child"]: e["parent"] for e in json.load(f)["edges"] if isinstance(e, dict) and e["type"] == "quantized"}
    for export in ("fx-food-Q8_0.gguf", "fx-sports-F16.gguf", "fx-food-love-int8.onnx"):
        assert g.parent(export) == source[export] or g.parent(source[export]) == export
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF\x03\x00\x00\x00\x00")
    with pytest.raises(mt.FormatError, match="bad.gguf"):
        mt.Collection().add_path(bad)


def test_entries_of_a_folder_left_unread_are_warnings(tmp_path):
    """A folder of models with a GGUF that lost its extension and a Keras file: neither is read,
    and both are named in the graph's warnings (Python's add_path and the CLI alike), never
    dropped without a word."""
    zoo = os.path.join(ROOT, "examples", "typed_zoo2")
    folder = tmp_path / "models"
    folder.mkdir()
    for i in ("fx", "fx-food"):
        os.symlink(os.path.join(zoo, i), folder / i)
    with open(os.path.join(zoo, "fx-food-Q8_0.gguf"), "rb") as f:
        (folder / "fx-food-Q8_0").write_bytes(f.read())
    (folder / "tf_model.h5").write_bytes(b"\x89HDF\r\n\x1a\n")
    g = mt.recover(str(folder))
    assert sorted(g.ids) == ["fx", "fx-food"]
    unread = [w for w in g.warnings if "left out" in w]
    assert len(unread) == 2
    assert any(w.startswith(str(folder / "fx-food-Q8_0")) and ".gguf" in w for w in unread)
    assert any(w.startswith(str(folder / "tf_model.h5")) and "HDF5" in w for w in unread)
    assert json.loads(cli_json(str(folder)))["warnings"][:2] == unread
