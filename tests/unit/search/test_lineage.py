"""Per-pass effects of a chosen candidate, from the search's measurements."""

from __future__ import annotations

from edgeforge.search.candidates import Candidate
from edgeforge.search.lineage import pass_effects

CANDIDATES = {
    c.id: c for c in (
        Candidate(), Candidate(quantization="int8"), Candidate(sparsity=0.5, quantization="int8"),
        Candidate(sparsity=0.5), Candidate(width=0.5, clusters=16, quantization="int8"),
    )
}


def with_configs(result):
    """Each candidate's config, as the search writes it (the fixture leaves it empty)."""
    entries = [entry.model_copy(update={"config": CANDIDATES[entry.id].config()}) for entry in result.candidates]
    return result.model_copy(update={"candidates": entries})


def test_each_pass_of_the_chosen_candidate_is_a_measured_before_and_after(target_result):
    result = target_result({"ram_kb": 64}, {
        "w1-s0-c0-float32": {"accuracy": 0.97, "model_bytes": 40_000, "weight_sparsity": 0.0},
        "w1-s0-c0-int8": {"accuracy": 0.965, "model_bytes": 12_000},
        "w1-s0.5-c0-int8": {"accuracy": 0.96, "model_bytes": 12_000, "weight_sparsity": 0.5},
        "w1-s0.5-c0-float32": {"accuracy": 0.962, "model_bytes": 40_000, "weight_sparsity": 0.5},
    })
    rows = pass_effects(with_configs(result), "w1-s0.5-c0-int8")
    assert [row["pass"] for row in rows] == ["prune", "ptq"]
    prune, ptq = rows
    assert (prune["before"]["id"], prune["after"]["id"]) == ("w1-s0-c0-int8", "w1-s0.5-c0-int8")
    assert prune["after"]["metrics"]["weight_sparsity"] == 0.5
    assert (ptq["before"]["metrics"]["model_bytes"], ptq["after"]["metrics"]["model_bytes"]) == (40_000, 12_000)


def test_a_step_the_search_did_not_measure_says_so(target_result):
    result = target_result({"ram_kb": 64}, {"w0.5-s0-c16-int8": {"accuracy": 0.95}})
    rows = pass_effects(with_configs(result), "w0.5-s0-c16-int8")
    assert [row["pass"] for row in rows] == ["distill", "cluster", "ptq"]
    assert rows[0]["before"] == {"id": "w1-s0-c0-int8", "metrics": None}
    assert rows[1]["after"]["metrics"]["accuracy"] == 0.95
