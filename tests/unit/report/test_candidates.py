"""Every candidate of a target as the report lists it: passes, fidelity, memo hit or trained, reason."""

from __future__ import annotations

from edgeforge.outputs import Exclusion
from edgeforge.report.candidates import candidate_rows, passes_label
from edgeforge.search.candidates import Candidate
from edgeforge.spec import load_params
from tests.conftest import REPO
from tests.fake_build import candidate_result, target_search

LIMITS = {"ram_kb": 64, "latency_ms": 3, "min_accuracy": 0.9}
DISTILLED = Candidate(width=0.5, quantization="int8")
PRUNED_QAT = Candidate(sparsity=0.5, qat=True, quantization="int8")
BASE = Candidate(quantization="int8")


def search_with(**entries):
    """A target search whose candidates carry real configs: {id: (Candidate, metric overrides, probe)}."""
    result = target_search({}, LIMITS)
    candidates = [
        candidate_result(candidate.id, LIMITS, **metrics).model_copy(
            update={"config": candidate.config(), "probe": probe, "epochs": metrics.get("epochs", 1)}
        )
        for candidate, metrics, probe in entries.values()
    ]
    return result.model_copy(update={"candidates": candidates})


def rows_by_id(result, chosen=None, spec=None, summary=None) -> dict[str, dict]:
    return {row["id"]: row for row in candidate_rows(result, chosen, spec, summary or {})}


def test_passes_label_lists_the_passes_in_order_with_their_options():
    assert passes_label(Candidate(width=0.5, sparsity=0.5, qat=True, quantization="int8").config()) == (
        "distill 0.5 › prune 0.5 › qat sparsity › ptq int8"
    )
    assert passes_label(BASE.config()) == "ptq int8"
    assert passes_label(None) == "-"


def test_rows_say_which_candidates_this_build_trained_and_which_came_from_the_memo():
    result = search_with(a=(DISTILLED, {}, False), b=(PRUNED_QAT, {}, False), c=(BASE, {}, False))
    rows = rows_by_id(result, summary={"trained_per_target": {"mcu": [DISTILLED.id]}})
    assert rows[DISTILLED.id]["training"] == "trained"
    assert rows[PRUNED_QAT.id]["training"] == "memo hit"
    assert rows[BASE.id]["training"] == "base model"
    assert rows_by_id(result)[DISTILLED.id]["training"] == "not recorded"  # a summary of an older build


def test_rows_give_the_fidelity_a_candidate_was_trained_at():
    result = search_with(a=(DISTILLED, {"epochs": 1}, True), b=(PRUNED_QAT, {"epochs": 4}, False), c=(BASE, {"epochs": 0}, False))
    rows = rows_by_id(result)
    assert rows[DISTILLED.id]["fidelity"] == "probe (1 ep)"
    assert rows[PRUNED_QAT.id]["fidelity"] == "full (4 ep)"
    assert rows[BASE.id]["fidelity"] == "base model"


def test_rows_say_why_each_candidate_was_not_chosen():
    result = search_with(
        a=(DISTILLED, {"arena_bytes": 100 * 1024}, False), b=(PRUNED_QAT, {}, False), c=(BASE, {}, False),
    )
    failed = candidate_result("w1-s0-c0-float16", LIMITS).model_copy(
        update={"metrics": None, "checks": [], "feasible": False, "failure": "TFLite Micro cannot run this model"}
    )
    result = result.model_copy(update={"candidates": [*result.candidates, failed]})
    rows = rows_by_id(result, chosen=BASE.id)
    assert rows[BASE.id]["status"] == "chosen" and rows[BASE.id]["reason"] == ""
    assert rows[DISTILLED.id]["status"] == "infeasible"
    assert rows[DISTILLED.id]["reason"] == "ram_kb = 100, needs at most 64 (off by 56%)"
    assert rows[PRUNED_QAT.id]["status"] == "feasible"
    assert rows[PRUNED_QAT.id]["reason"] == f"meets every constraint; min_latency ranks {BASE.id} first"
    assert rows["w1-s0-c0-float16"]["status"] == "failed"
    assert rows["w1-s0-c0-float16"]["reason"] == "TFLite Micro cannot run this model"


def test_a_feasible_probe_is_never_reported_as_a_choice():
    rows = rows_by_id(search_with(a=(DISTILLED, {"epochs": 1}, True)))
    assert rows[DISTILLED.id]["status"] == "probe"
    assert "not trained in full" in rows[DISTILLED.id]["reason"]


def test_rows_account_for_candidates_dropped_before_training_or_never_evaluated():
    spec = load_params(REPO / "params.yaml")
    dropped, never = sorted(c.id for c in [DISTILLED, PRUNED_QAT])
    result = search_with(c=(BASE, {}, False)).model_copy(update={
        "pruned_analytically": {dropped: [Exclusion(constraint="latency_ms", limit=3.0, predicted=9.75)]},
        "unevaluated": [never],
    })
    rows = rows_by_id(result, spec=spec)
    assert rows[dropped]["status"] == "pruned"
    assert rows[dropped]["reason"] == "predicted before training: latency_ms: predicted 9.75, limit 3"
    assert rows[dropped]["passes"] == passes_label(_config_of(dropped)) != "-"  # known from the spec's space
    assert rows[never]["status"] == "not evaluated" and rows[never]["training"] == "not trained"
    assert rows[never]["metrics"]["accuracy"] is None


def _config_of(candidate_id: str) -> dict:
    return next(c.config() for c in (DISTILLED, PRUNED_QAT) if c.id == candidate_id)
