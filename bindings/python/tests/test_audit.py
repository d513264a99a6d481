"""The audit through the package: every claim of the audit fixture (Tests/fixtures/audit, made by
its committed script) judged as the fixture's truth says, the unclaimed models, the records'
fields, the score, and the same verdicts as the CLI's JSON."""
from __future__ import annotations

import json
import math
import os

import modeltree as mt
from mt_support import ROOT, run_cli

FIXTURE = os.path.join(ROOT, "Tests", "fixtures", "audit")
ZOO = os.path.join(FIXTURE, "zoo")
TRUTH = os.path.join(FIXTURE, "truth.json")


def truth():
    with open(TRUTH) as f:
        return json.load(f)


def test_every_claim_has_the_truths_verdict():
    g = mt.recover(ZOO)
    t = truth()
    want = {(c["model"], c["source"], c["claimed"]): c["verdict"] for c in t["claims"]}
    got = {(a.model, a.source, a.claimed): a.verdict for a in g.audit}
    assert got == want
    assert list(g.unclaimed) == t["unclaimed"]
    assert all(isinstance(a, mt.AuditEntry) for a in g.audit)


def test_records_carry_the_evidence():
    g = mt.recover(ZOO)
    by_key = {(a.model, a.source): a for a in g.audit}
    grand = by_key[("ft-b-F16.gguf", "gguf")]
    assert grand.verdict == "contradicts" and grand.recovered == "ft-b" and "grandparent" in grand.evidence
    assert 0 <= grand.confidence <= 1
    assert by_key[("ft-a", "readme")].relation == "finetune" and by_key[("ft-a", "config")].relation is None
    outside = by_key[("ft-b", "config")]
    assert outside.verdict == "unsupported" and outside.recovered == g.parent("ft-b")
    copy = by_key[("ft-a-child", "config")]
    assert copy.verdict == "agrees" and copy.claimed == "org/ft-a-copy" and "identical copy" in copy.evidence


def test_score_and_json_agree():
    g = mt.recover(ZOO)
    score = g.evaluate(TRUTH)
    n = len(truth()["claims"])
    assert score.audit() == (n, n)
    assert score.audit_unclaimed() == (1, 1)
    doc = json.loads(g.render("json", score))
    assert doc["score"]["audit"]["correct"] == n
    assert [(a["model"], a["source"], a["claimed"], a["verdict"]) for a in doc["audit"]] == \
        [(a.model, a.source, a.claimed, a.verdict) for a in g.audit]
    assert doc["unclaimed"] == list(g.unclaimed)


def test_models_from_memory_have_no_audit():
    import numpy as np
    rng = np.random.default_rng(3)
    base = rng.standard_normal((8, 8)).astype(np.float32)
    g = mt.recover({"a": {"w": base}, "b": {"w": base + 0.01 * rng.standard_normal((8, 8)).astype(np.float32)}})
    assert g.audit == () and g.unclaimed == ()
    assert math.isnan(g.evaluate({"edges": [["a", "b"]]})._raw.audit()[4])


def test_cli_audit_json_is_the_graphs():
    doc = json.loads(run_cli("audit", ZOO, "--json", "--quiet", "--truth", TRUTH).stdout)
    g = mt.recover(ZOO)
    assert [(a["model"], a["verdict"], a["recovered"]) for a in doc["audit"]] == \
        [(a.model, a.verdict, a.recovered) for a in g.audit]
    assert doc["unclaimed"] == list(g.unclaimed)
    assert doc["score"]["correct"] == doc["score"]["total"] == len(truth()["claims"])


def test_cli_audit_text_and_edges_from_truth():
    text = run_cli("audit", ZOO, "--quiet", "--truth", TRUTH).stdout
    n = len(truth()["claims"])
    assert text.startswith("Audit of what the models' files claim")
    assert "ft-b-F16.gguf  gguf says https://huggingface.co/org/base: CONTRADICTS" in text
    assert "claiming nothing: base\n" in text
    assert f"Audit: {n}/{n} claims with the true verdict (100.0%)" in text
    # Judged against the truth's edges, no weight compared: the same verdicts.
    doc = json.loads(run_cli("audit", ZOO, "--json", "--truth", TRUTH, "--edges-from-truth").stdout)
    assert doc["score"]["correct"] == n and doc["warnings"] == []
    assert all("distance" not in a["evidence"] for a in doc["audit"])
    bad = run_cli("audit", ZOO, "--edges-from-truth", check=False)
    assert bad.returncode != 0 and "--edges-from-truth needs --truth" in bad.stderr
