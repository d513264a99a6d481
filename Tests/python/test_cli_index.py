"""modeltree-cli index …: against `recover` on the same models, and its error handling."""
from __future__ import annotations

import json
import os

import pytest

from conftest import ROOT, ZOOS, recover_json, run_cli


def parents(doc):
    return {e["child"]: e["parent"] for e in doc["edges"]}


@pytest.mark.parametrize("zoo", ZOOS, ids=["zoo", "zoo2"])
def test_index_graph_equals_recover(tmp_path, zoo):
    db = str(tmp_path / "hub.mtindex")
    added = run_cli("index", "add", db, zoo).stdout
    assert added.count("added ") == len(recover_json(zoo)["models"])
    want = recover_json(zoo)
    got = json.loads(run_cli("index", "graph", db, "--format", "json", "--quiet").stdout)
    assert parents(got) == parents(want)
    assert got["metric"] == want["metric"] and got["trees"] == want["trees"]
    scored = run_cli("index", "graph", db, "--truth", os.path.join(zoo, "truth.json"), "--quiet").stdout
    assert "Edge accuracy" in scored
    for child, parent in parents(want).items():
        answer = json.loads(run_cli("index", "parent", db, child, "--format", "json").stdout)
        assert answer["indexed"] and answer["parents"][0]["id"] == parent


def test_candidate_signature_files_list_verify_remove(tmp_path):
    zoo = ZOOS[0]
    want = parents(recover_json(zoo))
    leaf = "vit-a-parity-hflip-lora"
    db = str(tmp_path / "hub.mtindex")
    for name in sorted(os.listdir(zoo)):
        if os.path.isdir(os.path.join(zoo, name)) and name != leaf:
            run_cli("index", "add", db, os.path.join(zoo, name))
    # a candidate by path and by signature file: not added
    by_path = run_cli("index", "parent", db, os.path.join(zoo, leaf)).stdout
    assert f"{leaf} (not in the index) <- {want[leaf]}" in by_path
    sig = str(tmp_path / f"{leaf}.mtsig")
    assert "wrote" in run_cli("index", "signature", os.path.join(zoo, leaf), "-o", sig, "--index", db).stdout
    by_file = json.loads(run_cli("index", "parent", db, sig, "--format", "json").stdout)
    assert not by_file["indexed"] and by_file["parents"][0]["id"] == want[leaf]
    listing = run_cli("index", "list", db).stdout
    assert leaf not in listing and "13 models in 2 families" in listing
    # then added from the signature file
    run_cli("index", "add", db, sig)
    assert "14 models in 2 families" in run_cli("index", "list", db).stdout
    assert "0 with changed or missing files" in run_cli("index", "verify", db).stdout
    run_cli("index", "remove", db, leaf, "vit-b")
    assert "12 models" in run_cli("index", "list", db).stdout


def test_errors_are_one_line_with_status_2(tmp_path):
    db = str(tmp_path / "hub.mtindex")
    run_cli("index", "add", db, os.path.join(ZOOS[0], "vit-a"))
    for args, fragment in [
        (("index", "parent", db, "nobody"), "no model 'nobody' in the index"),
        (("index", "remove", db, "nobody"), "no model 'nobody' in the index"),
        (("index", "add", db, os.path.join(ZOOS[0], "vit-a")), "already in the index"),
        (("index", "add", str(tmp_path / "no" / "such" / "dir" / "x.db"), ZOOS[0]), "cannot open"),
        (("index", "list", os.path.join(ROOT, "README.md")), "not a database"),
    ]:
        proc = run_cli(*args, check=False)
        assert proc.returncode == 2, (args, proc.stderr)
        assert fragment in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    bad = tmp_path / "bad.mtsig"
    bad.write_bytes(b"MTSIGNAT\x07\x00\x00\x00")
    proc = run_cli("index", "add", db, str(bad), check=False)
    assert proc.returncode == 2 and "newer than this library reads" in proc.stderr
    proc = run_cli("index", "add", db, "--id", "x", ZOOS[0], ZOOS[1], check=False)
    assert proc.returncode == 64
