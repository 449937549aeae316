"""How a target's feasible candidates are ranked: the objective, then the one-standard-error rule."""

from __future__ import annotations

import pytest

from edgeforge.search.candidates import simplicity
from edgeforge.search.constraints import accuracy_stderr, choose, rank

SAMPLES = 360  # the digits test split


def candidate(id_: str, accuracy: float, latency_ms: float = 4.0, model_bytes: int = 9496, **metrics) -> dict:
    width, sparsity, clusters, *rest = id_.split("-")
    config = {"width": float(width[1:]), "sparsity": float(sparsity[1:]), "clusters": int(clusters[1:]),
              "qat": "qat" in rest, "quantization": rest[-1]}
    return {"id": id_, "config": config,
            "metrics": {"accuracy": accuracy, "samples": SAMPLES, "latency_ms": latency_ms, "model_bytes": model_bytes,
                        **metrics}}


def ranked_ids(entries: list[dict], objective: str) -> list[str]:
    return [entry["id"] for entry in rank(entries, objective, lambda e: e["metrics"], lambda e: simplicity(e["config"]))]


def chosen_id(entries: list[dict], objective: str) -> str:
    return choose(entries, objective, lambda e: e["metrics"], lambda e: simplicity(e["config"]))["id"]


def target_result(metrics_by_id: dict[str, dict]):
    """A target's search result (min_latency, min_accuracy 0.9) whose candidates carry these metrics
    and the configs their ids name."""
    from tests.unit.search.conftest import make_target_result

    result = make_target_result({"min_accuracy": 0.9}, metrics_by_id)
    return result.model_copy(update={"candidates": [
        entry.model_copy(update={"config": candidate(entry.id, 0.0)["config"]}) for entry in result.candidates
    ]})


def test_a_tie_on_the_objective_goes_to_the_simplest_recipe_when_accuracy_cannot_tell_them_apart():
    # 96.1% and 95.6% of 360 samples: two samples apart, within one standard error (about 1 point)
    plain = candidate("w0.25-s0-c0-int8", 0.955556)
    clustered = candidate("w0.25-s0-c16-int8", 0.961111)
    qat = candidate("w0.25-s0-c0-qat-int8", 0.958333)
    assert chosen_id([clustered, qat, plain], "min_latency") == "w0.25-s0-c0-int8"
    assert chosen_id([clustered, qat, plain], "min_model_size") == "w0.25-s0-c0-int8"


def test_beyond_one_standard_error_the_more_accurate_candidate_wins_the_tie():
    plain = candidate("w0.25-s0-c0-int8", 0.930556)
    clustered = candidate("w0.25-s0-c16-int8", 0.961111)
    assert chosen_id([plain, clustered], "min_latency") == "w0.25-s0-c16-int8"


def test_the_objective_decides_before_accuracy():
    slow = candidate("w0.5-s0-c0-int8", 0.98, latency_ms=12.8)
    fast = candidate("w0.25-s0-c0-int8", 0.90, latency_ms=3.9)
    assert chosen_id([slow, fast], "min_latency") == "w0.25-s0-c0-int8"
    assert chosen_id([slow, fast], "max_accuracy") == "w0.5-s0-c0-int8"


def test_max_accuracy_keeps_the_simplest_then_cheapest_candidate_within_one_standard_error():
    best = candidate("w0.5-s0.5-c16-qat-int8", 0.969444, latency_ms=12.8)
    student = candidate("w0.5-s0-c0-int8", 0.966667, latency_ms=12.8)
    smaller = candidate("w0.25-s0-c0-int8", 0.961111, latency_ms=3.9)  # 3 samples below: within 0.9 points
    assert ranked_ids([best, student, smaller], "max_accuracy") == [
        "w0.25-s0-c0-int8", "w0.5-s0-c0-int8", "w0.5-s0.5-c16-qat-int8",
    ]


def test_equal_candidates_are_ordered_by_id_whatever_order_they_arrive_in():
    first = candidate("w0.25-s0-c16-int8", 0.961111)
    second = candidate("w0.25-s0-c8-int8", 0.961111)
    assert chosen_id([first, second], "min_latency") == chosen_id([second, first], "min_latency") == "w0.25-s0-c16-int8"


def test_the_ranking_is_the_fallback_order_and_holds_every_entry():
    entries = [candidate(f"w0.25-s0-c{c}-int8", 0.95 + c / 1000, latency_ms=float(c)) for c in (0, 8, 16)]
    assert ranked_ids(entries, "min_latency") == ["w0.25-s0-c0-int8", "w0.25-s0-c8-int8", "w0.25-s0-c16-int8"]
    assert rank([], "min_latency", dict, dict) == []


def test_standard_error_of_an_accuracy():
    assert accuracy_stderr({"accuracy": 0.96, "samples": 360}) == pytest.approx(0.0109, abs=1e-4)  # 96% +- 1.1 points
    assert accuracy_stderr({"accuracy": 1.0, "samples": 20}) > 0.05  # a perfect score on few samples is not certain
    assert accuracy_stderr({"accuracy": 0.93, "samples": 112, "metric": "auc"}) == 0.0
    assert accuracy_stderr({"accuracy": 0.96}) == 0.0  # no count: accuracy decides as measured


def test_select_says_why_a_more_accurate_tied_candidate_was_passed_over():
    from edgeforge.search.select import select_candidate, tie_break

    plain, clustered, slow = "w0.25-s0-c0-int8", "w0.25-s0-c16-int8", "w0.5-s0-c0-int8"
    result = target_result({
        plain: {"accuracy": 0.955556, "samples": SAMPLES, "latency_ms": 3.9},
        clustered: {"accuracy": 0.961111, "samples": SAMPLES, "latency_ms": 3.9},
        slow: {"accuracy": 0.98, "samples": SAMPLES, "latency_ms": 12.8},  # slower: the objective ranks it lower
    })
    chosen = select_candidate(result)
    assert chosen.id == plain
    ties = tie_break(result, chosen)
    assert set(ties["candidates"]) == {clustered}
    assert ties["candidates"][clustered].startswith(f"0.56% more accurate than {plain} and as good on min_latency, 2 ")
    assert ties["note"].startswith(f"{plain} (95.56%) is chosen over 1 more accurate candidate(s)")
    assert ties["note"].endswith("within one standard error of the most accurate (96.11% ± 1.07 points on 360 test "
                                 "samples), the candidate with the fewest training passes (1), then the cheapest, is kept")
    assert tie_break(result, next(e for e in result.candidates if e.id == clustered)) is None


def measured(id_: str, accuracy: float, latency_ms: float, predicted_ms: float) -> dict:
    """A candidate of the x86_host preset: its latency timed on this machine, beside the prediction."""
    return candidate(id_, accuracy, latency_ms=latency_ms, latency_source="measured", latency_predicted_ms=predicted_ms,
                     energy_mj=latency_ms * 0.015)


def test_candidates_doing_the_same_work_tie_on_a_latency_timed_here():
    # the MLPerf Tiny KWS model timed four times in a row here: 0.0547, 0.0554, 0.0555 and 0.0437 ms
    plain = measured("w0.25-s0-c0-int8", 0.955556, latency_ms=0.0547, predicted_ms=0.0322)
    qat = measured("w0.25-s0-c0-qat-int8", 0.955556, latency_ms=0.0437, predicted_ms=0.0322)  # same ops, timed luckier
    assert chosen_id([qat, plain], "min_latency") == chosen_id([plain, qat], "min_latency") == "w0.25-s0-c0-int8"
    assert chosen_id([qat, plain], "min_energy") == "w0.25-s0-c0-int8"
    # a predicted latency has no timer noise: the faster figure decides, as before
    plain_predicted, qat_predicted = (dict(entry, metrics={**entry["metrics"], "latency_source": "predicted"}) for entry in (plain, qat))
    assert chosen_id([plain_predicted, qat_predicted], "min_latency") == "w0.25-s0-c0-qat-int8"


def test_the_timer_still_ranks_candidates_doing_different_work():
    narrow = measured("w0.25-s0-c0-int8", 0.93, latency_ms=0.0437, predicted_ms=0.0322)
    wide = measured("w0.5-s0-c0-int8", 0.96, latency_ms=0.0547, predicted_ms=0.0575)
    wide_qat = measured("w0.5-s0-c0-qat-int8", 0.96, latency_ms=0.0401, predicted_ms=0.0575)
    # the wide model's work was timed at 0.0401 ms once: its group is the fastest, and within it the plain recipe
    assert ranked_ids([narrow, wide, wide_qat], "min_latency") == ["w0.5-s0-c0-int8", "w0.5-s0-c0-qat-int8", "w0.25-s0-c0-int8"]
    assert chosen_id([narrow, wide], "min_latency") == "w0.25-s0-c0-int8"


def test_select_says_why_a_candidate_timed_faster_doing_the_same_work_was_not_chosen():
    from edgeforge.search.select import select_candidate, tie_break

    plain, qat = "w0.25-s0-c0-int8", "w0.25-s0-c0-qat-int8"
    result = target_result({
        plain: measured(plain, 0.955556, latency_ms=0.0547, predicted_ms=0.0322)["metrics"],
        qat: measured(qat, 0.955556, latency_ms=0.0437, predicted_ms=0.0322)["metrics"],
    })
    chosen = select_candidate(result)
    assert chosen.id == plain
    ties = tie_break(result, chosen)
    assert ties["candidates"][qat] == (f"latency_ms measured 0.011 lower than {plain}'s, doing the same work (predicted "
                                       "0.0322 ms): timer noise, not a faster model")
    assert ties["note"].startswith(f"1 candidate(s) doing the same work as {plain} were timed faster on this machine")
