import pytest

from edgeforge.search.relax import Relaxation, describe_relaxations, relaxations
from edgeforge.search.select import explain_infeasible
from tests.unit.search.conftest import make_target_result


def test_relaxations_name_the_least_change_to_each_constraint_that_alone_suffices(target_result):
    result = target_result({"ram_kb": 64, "min_accuracy": 0.95}, {
        "big": {"arena_bytes": 71.3 * 1024, "accuracy": 0.97},
        "bigger": {"arena_bytes": 90 * 1024, "accuracy": 0.98},
        "small": {"arena_bytes": 20 * 1024, "accuracy": 0.9361},
    })
    found = relaxations(result)
    assert {r.constraints: r.limits for r in found} == {("ram_kb",): (72.0,), ("min_accuracy",): (0.93,)}
    assert describe_relaxations(found) in (
        "raise ram_kb to 72 or lower min_accuracy to 0.93", "lower min_accuracy to 0.93 or raise ram_kb to 72"
    )


def test_relaxations_combine_the_closest_candidates_misses_when_no_single_change_suffices(target_result):
    result = target_result({"ram_kb": 16, "latency_ms": 1.0}, {
        "a": {"arena_bytes": 20 * 1024, "latency_ms": 1.5},
        "b": {"arena_bytes": 40 * 1024, "latency_ms": 3.0},
    })
    (relaxation,) = relaxations(result)
    assert relaxation.candidate == "a"
    assert relaxation.describe() == "raise ram_kb to 20 and latency_ms to 1.5".replace(" and latency", " and raise latency")


def test_relaxed_limit_admits_the_candidate_it_names(target_result):
    result = target_result({"latency_ms": 1.0}, {"slow": {"latency_ms": 1.0123}})
    (relaxation,) = relaxations(result)
    assert relaxation.limits[0] >= 1.0123
    assert relaxation.as_dict() == {"set": {"latency_ms": 1.1}, "candidate": "slow", "text": "raise latency_ms to 1.1"}


def test_explanation_of_an_infeasible_target_ends_with_its_relaxation(target_result):
    result = target_result({"ram_kb": 64}, {"big": {"arena_bytes": 71.3 * 1024}})
    text = explain_infeasible(result)
    assert "closest candidate: big" in text
    assert text.splitlines()[-1] == "  to make it feasible: raise ram_kb to 72"


def test_no_relaxation_without_measured_candidates():
    assert relaxations(make_target_result({}, {})) == []
    assert describe_relaxations([Relaxation(("ram_kb",), (8.0,), "x")]) == "raise ram_kb to 8"


def test_a_target_the_budget_left_unevaluated_says_so():
    result = make_target_result({"ram_kb": 4}, {}).model_copy(update={"unevaluated": ["w0.5-s0-c0-int8"]})
    assert explain_infeasible(result) == (
        "target 'mcu': the search stopped before evaluating any of the 1 combinations that may fit it "
        "(w0.5-s0-c0-int8); raise search.budget.max_trainings or use search.strategy: exhaustive"
    )


def test_a_feasible_probe_is_never_selected(target_result):
    from edgeforge.errors import ConstraintsUnmetError
    from edgeforge.search.select import select_candidate

    result = target_result({"latency_ms": 2.5}, {"probe": {"latency_ms": 1.0}, "full": {"latency_ms": 2.0}})
    probe, full = result.candidates
    result = result.model_copy(update={"candidates": [probe.model_copy(update={"probe": True}), full]})
    assert select_candidate(result).id == "full"
    only_probe = result.model_copy(update={"candidates": [result.candidates[0]]})
    with pytest.raises(ConstraintsUnmetError, match="only short probes"):
        select_candidate(only_probe)
