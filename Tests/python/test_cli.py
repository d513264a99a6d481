"""modeltree-cli against independent computations: scipy's kurtosis, numpy's distances,
known graphs (the example zoos and synthetic families), and its error handling."""
from __future__ import annotations

import json
import os
import platform
import re
import subprocess

import numpy as np
import pytest
import scipy.stats

from conftest import ROOT, ZOOS, Family, model_folders, recover_json, run_cli, st
from mt_support import cli_path


def parents(doc):
    return {e["child"]: e["parent"] for e in doc["edges"]}


@pytest.mark.parametrize("zoo", ZOOS, ids=["zoo", "zoo2"])
def test_zoo_recovers_every_edge(zoo):
    doc = recover_json(zoo, "--truth", os.path.join(zoo, "truth.json"))
    with open(os.path.join(zoo, "truth.json")) as f:
        truth = json.load(f)
    expected = {c: p for p, c in truth["edges"]}
    assert parents(doc) == expected
    assert sorted(doc["roots"]) == sorted(truth["roots"])
    assert doc["score"]["accuracy"] == 1.0
    assert doc["score"]["ari"] == 1.0


@pytest.mark.parametrize("zoo", ZOOS, ids=["zoo", "zoo2"])
def test_kurtosis_and_distances_match_scipy_and_numpy(zoo):
    doc = recover_json(zoo)
    weights = {m["id"]: st.load_model(m["path"]) for m in doc["models"]}
    used = doc["tensors"]
    assert used, "no tensors used"
    for m in doc["models"]:
        expected = np.mean([scipy.stats.kurtosis(weights[m["id"]][t].astype(np.float64).ravel()) for t in used])
        assert m["kurtosis"] == pytest.approx(expected, rel=1e-6, abs=1e-9), m["id"]
    for e in doc["edges"]:
        a, b = weights[e["parent"]], weights[e["child"]]
        rms = np.mean([np.sqrt(np.mean((a[t].astype(np.float64) - b[t].astype(np.float64)) ** 2)) for t in used])
        assert e["distance"] == pytest.approx(rms, rel=1e-6), (e["parent"], e["child"])
        assert 0.0 <= e["confidence"] <= 1.0


def test_default_tensor_selection_is_the_shared_square_matrices():
    zoo = ZOOS[0]
    doc = recover_json(zoo)
    models = [st.load_model(m["path"]) for m in doc["models"]]
    shared = set(models[0])
    for w in models[1:]:
        shared &= {n for n in w if n in models[0] and w[n].shape == models[0][n].shape}
    square = sorted(n for n in shared if models[0][n].ndim == 2 and models[0][n].shape[0] == models[0][n].shape[1])
    assert sorted(doc["tensors"]) == square


def test_json_schema():
    doc = recover_json(ZOOS[0])
    assert {"models", "edges", "roots", "trees", "tensors"} <= set(doc)
    for m in doc["models"]:
        assert set(m) >= {"id", "path", "kurtosis"}
    for e in doc["edges"]:
        assert set(e) >= {"parent", "child", "distance", "confidence"}
    ids = {m["id"] for m in doc["models"]}
    assert set(doc["roots"]) <= ids
    assert sorted(i for t in doc["trees"] for i in t) == sorted(ids)
    assert len(doc["edges"]) == len(ids) - len(doc["roots"])


def test_text_and_dot_formats():
    text = run_cli("recover", ZOOS[0], "--quiet").stdout
    dot = run_cli("recover", ZOOS[0], "--format", "dot").stdout
    doc = recover_json(ZOOS[0])
    for m in doc["models"]:
        assert m["id"] in text
    assert dot.startswith("digraph")
    assert dot.count("->") == len(doc["edges"])


def test_explicit_models_and_single_files(tmp_path, family):
    f = family(1)
    r = f.root("base")
    f.full("ft", r)
    f.full("ft2", "ft")
    path = f.write()
    # One folder, one .safetensors file given directly, and one more folder.
    single = str(tmp_path / "ft2.safetensors")
    os.rename(os.path.join(path, "ft2", "model.safetensors"), single)
    doc = recover_json(os.path.join(path, "base"), os.path.join(path, "ft"), single)
    assert parents(doc) == {"ft": "base", "ft2": "ft"}


def test_lora_family_is_detected_and_recovered(family):
    f = family(2)
    r = f.root("r")
    c1, c2 = f.lora("c1", r), f.lora("c2", r)
    f.lora("g1", c1), f.lora("g2", c1), f.lora("g3", c2)
    path = f.write()
    doc = recover_json(path, "--truth", os.path.join(path, "truth.json"))
    assert doc["metric"] == "rank"
    assert doc["score"]["accuracy"] == 1.0
    # Ranks: each edge differs by rank 2 in each of the 4 tensors (numpy's matrix_rank agrees).
    w = {m["id"]: st.load_model(m["path"]) for m in doc["models"]}
    for e in doc["edges"]:
        ranks = sum(np.linalg.matrix_rank(w[e["parent"]][t].astype(np.float64) - w[e["child"]][t].astype(np.float64),
                                          tol=1e-4) for t in doc["tensors"])
        assert int(e["distance"]) == ranks == 8


def test_two_families_make_two_trees_and_trees_option_forces(family):
    f = family(3)
    a, b = f.root("a"), f.root("b")
    f.full("a1", a), f.full("a2", a), f.full("b1", b)
    path = f.write()
    doc = recover_json(path, "--truth", os.path.join(path, "truth.json"))
    assert sorted(map(sorted, doc["trees"])) == [["a", "a1", "a2"], ["b", "b1"]]
    assert doc["score"]["accuracy"] == 1.0
    forced = recover_json(path, "--trees", "1")
    assert len(forced["trees"]) == 1 and len(forced["roots"]) == 1


def test_score_counts_a_wrong_edge(tmp_path, family):
    f = family(4)
    r = f.root("r")
    f.full("c1", r), f.full("c2", r), f.full("g", "c1")
    path = f.write()
    # A truth that says g came from c2: the recovered edge c1 -> g is then wrong, the other two right.
    truth = {"edges": [["r", "c1"], ["r", "c2"], ["c2", "g"]], "roots": ["r"]}
    tf = tmp_path / "wrong.json"
    tf.write_text(json.dumps(truth))
    doc = recover_json(path, "--truth", str(tf))
    assert doc["score"]["correct"] == 2 and doc["score"]["total"] == 3
    assert doc["score"]["accuracy"] == pytest.approx(2 / 3)


@pytest.mark.parametrize("args, fragment", [
    (["/nonexistent/models"], "/nonexistent/models"),
    (["--trees", "0", "x"], "--trees must be at least 1, got 0"),
    (["--lambda", "-1", "x"], "--lambda must be a finite number ≥ 0, got -1.0"),
    (["--lambda", "nan", "x"], "--lambda must be a finite number"),
    (["--threads", "0", "x"], "--threads must be at least 1"),
    (["--max-models", "0", "x"], "--max-models must be at least 1"),
])
def test_errors_are_one_line_and_nonzero(args, fragment):
    proc = run_cli("recover", *args, check=False)
    assert proc.returncode != 0
    assert fragment in proc.stderr
    assert proc.stdout == ""


def test_truncated_and_empty_inputs(tmp_path, family):
    f = family(5)
    f.full("c", f.root("r"))
    path = f.write()
    victim = os.path.join(path, "c", "model.safetensors")
    with open(victim, "rb") as fh:
        data = fh.read()
    with open(victim, "wb") as fh:
        fh.write(data[: len(data) // 2])
    proc = run_cli("recover", path, check=False)
    assert proc.returncode == 2
    assert "model.safetensors" in proc.stderr and proc.stderr.count("\n") == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run_cli("recover", str(empty), check=False)
    assert proc.returncode == 2 and "no models" in proc.stderr


def test_version_is_the_headers():
    with open(os.path.join(ROOT, "include", "modeltree.h")) as f:
        header = f.read()
    parts = [re.search(rf"^#define MODELTREE_VERSION_{p} (\d+)$", header, re.M).group(1) for p in ("MAJOR", "MINOR", "PATCH")]
    version = run_cli("--version").stdout.strip()
    assert re.fullmatch(re.escape(".".join(parts)) + r" \(kernels: (avx512|avx2|sse2|neon|portable)\)", version), version


def test_version_names_the_kernels_the_environment_forces():
    for name in ["portable"] + (["sse2"] if platform.machine() == "x86_64" else []):
        proc = subprocess.run([cli_path(), "--version"], capture_output=True, text=True, check=True,
                              env={**os.environ, "MODELTREE_KERNEL": name})
        assert proc.stdout.strip().endswith(f"(kernels: {name})")


def test_truth_file_errors_say_why(tmp_path):
    missing = tmp_path / "missing.json"
    proc = run_cli("recover", ZOOS[0], "--truth", str(missing), check=False)
    assert proc.returncode == 2 and f"truth file {missing}: No such file or directory" in proc.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{\"edges\"")
    proc = run_cli("recover", ZOOS[0], "--truth", str(bad), check=False)
    assert proc.returncode == 2 and f"{bad}: JSON" in proc.stderr and proc.stderr.count("\n") == 1


def test_limits_are_refused_with_the_flag_named(family):
    f = family(6)
    f.full("c", f.root("r"))
    path = f.write()
    proc = run_cli("recover", path, "--max-models", "1", check=False)
    assert proc.returncode == 2 and "--max-models is 1, and 2 models were given" in proc.stderr
    proc = run_cli("recover", path, "--memory-budget", "1000", check=False)
    assert proc.returncode == 2 and "--memory-budget is 1000 bytes" in proc.stderr


def test_a_non_safetensors_file_says_so(tmp_path):
    zip_file = tmp_path / "model.safetensors"
    zip_file.write_bytes(b"PK\x03\x04\x00\x00\x08\x08" + bytes(100))
    proc = run_cli("recover", str(zip_file), check=False)
    assert proc.returncode == 2
    assert "not a safetensors file (it is a ZIP archive, as a PyTorch checkpoint written by torch.save is)" in proc.stderr


def test_only_1d_tensors_suggest_include(tmp_path):
    for m in ("a", "b"):
        st.write(str(tmp_path / f"{m}.safetensors"), {"bias": np.arange(8, dtype=np.float32) * (1 if m == "a" else 2)})
    proc = run_cli("recover", str(tmp_path), check=False)
    assert proc.returncode == 2 and "fewer than 2 dimensions" in proc.stderr and "include patterns" in proc.stderr
    doc = recover_json(str(tmp_path), "--include", "*")
    assert doc["tensors"] == ["bias"]


def test_weights_beside_model_subfolders_are_refused(tmp_path, family):
    f = family(7)
    f.full("c", f.root("r"))
    path = f.write()
    st.write(os.path.join(path, "loose.safetensors"), st.load_model(os.path.join(path, "r")))
    proc = run_cli("recover", path, check=False)
    assert proc.returncode == 2 and "pass the models one by one" in proc.stderr
    assert os.path.join(path, "r") in proc.stderr and os.path.join(path, "loose.safetensors") in proc.stderr


FORMATS = os.path.join(ROOT, "Tests", "fixtures", "formats")
TYPED_ZOO2 = os.path.join(ROOT, "examples", "typed_zoo2")


def test_inspect_shows_a_gguf_under_its_source_names():
    proc = run_cli("inspect", "--json", os.path.join(FORMATS, "gguf", "llama_qk.gguf"))
    doc = json.loads(proc.stdout)
    source = st.load_model(os.path.join(FORMATS, "gguf", "llama_qk.hf.safetensors"))
    assert doc["format"] == "gguf"
    assert {t["name"]: t["shape"] for t in doc["tensors"]} == {n: list(a.shape) for n, a in source.items()}
    froms = {t["name"]: t["from"] for t in doc["tensors"]}
    permuted = {n for n, f in froms.items() if f and "un-permuted" in f}
    assert permuted == {n for n in source if n.endswith(("q_proj.weight", "k_proj.weight", "q_proj.bias", "k_proj.bias"))}
    assert doc["metadata"]["general.architecture"] == "llama"
    text = run_cli("inspect", os.path.join(FORMATS, "gguf", "llama_qk.gguf")).stdout
    assert text.startswith("llama_qk.gguf: gguf") and "rotary rows un-permuted" in text


def test_inspect_shows_an_adapters_claim_and_quant_types():
    doc = json.loads(run_cli("inspect", "--json", os.path.join(TYPED_ZOO2, "fx-adapter-pets")).stdout)
    with open(os.path.join(TYPED_ZOO2, "fx-adapter-pets", "adapter_config.json")) as f:
        config = json.load(f)
    assert doc["format"] == "peft"
    assert doc["claims"] == [{"key": "base_model_name_or_path", "value": config["base_model_name_or_path"]}]
    assert len(doc["tensors"]) == 2 * 3     # q_proj and v_proj of 3 layers
    doc = json.loads(run_cli("inspect", "--json", os.path.join(TYPED_ZOO2, "fx-Q4_K_M.gguf")).stdout)
    types = {t["type"] for t in doc["tensors"]}
    assert {"Q4_K", "Q6_K", "F32"} <= types


def test_inspect_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF\x03\x00\x00\x00" + bytes(4))
    proc = run_cli("inspect", str(bad), check=False)
    assert proc.returncode == 2 and "bad.gguf" in proc.stderr and proc.stderr.count("\n") == 1 and proc.stdout == ""
    proc = run_cli("inspect", TYPED_ZOO2, check=False)
    assert proc.returncode == 2 and "holds 32 models" in proc.stderr


def test_recover_reports_tensors_matched_by_content():
    doc = recover_json(*(os.path.join(TYPED_ZOO2, m) for m in ("fx", "fx-light", "fx-light.onnx")))
    matched = [m for m in doc["tensor_matching"] if m["model"] == "fx-light.onnx"]
    by_content = {m["as"] for m in matched if m["by"] == "content"}
    weights = st.load_model(os.path.join(TYPED_ZOO2, "fx-light", "model.safetensors"))
    assert by_content == {n for n, a in weights.items() if a.ndim == 2 and n != "model.embed_tokens.weight"}
    assert all(m["transposed"] and m["correlation"] > 0.99 for m in matched if m["by"] == "content")
    assert {m["as"] for m in matched if m["by"] == "name"} == {n for n, a in weights.items() if a.ndim == 1} | {"model.embed_tokens.weight"}
    parents = {e["child"]: e["parent"] for e in doc["edges"]}
    # The F32 export holds fx-light's values exactly: a duplicate group, not an edge.
    assert doc["duplicates"] == [["fx-light", "fx-light.onnx"]] and "fx-light.onnx" not in parents
