"""candidates.json, the rows `dvc plots` draws: cost in the binding constraint's unit, and a status."""

from __future__ import annotations

import pytest

from edgeforge.report.plotdata import pareto_rows
from edgeforge.search.pareto import target_fronts
from tests.fake_build import target_search

LIMITS = {"ram_kb": 64, "latency_ms": 3}


def test_pareto_rows_give_each_measured_candidate_its_cost_accuracy_and_status():
    result = target_search({
        "fp32_big": {"arena_bytes": 200 * 1024, "accuracy": 0.97},
        "int8_fast": {"arena_bytes": 40 * 1024, "accuracy": 0.95},
        "int8_small": {"arena_bytes": 20 * 1024, "accuracy": 0.93},
        "int8_dominated": {"arena_bytes": 50 * 1024, "accuracy": 0.92},
    }, LIMITS)
    rows = pareto_rows(target_fronts(result, "int8_fast"))
    assert [(r["candidate"], r["status"]) for r in rows] == [
        ("int8_small", "front"), ("int8_fast", "chosen"), ("int8_dominated", "feasible"), ("fp32_big", "front"),
    ]
    assert rows[0]["cost"] == pytest.approx(20.0) and rows[0]["cost_unit"] == "ram_kb"
    assert rows[3]["ram_kb"] == pytest.approx(200.0) and rows[3]["flash_kb"] == pytest.approx(120.0)
    assert rows[3]["feasible"] is False and rows[0]["feasible"] is True  # fp32_big: on the front, over the limit
    assert set(rows[0]) == {
        "candidate", "accuracy", "cost", "cost_unit", "latency_ms", "ram_kb", "flash_kb", "status", "feasible",
    }


def test_pareto_rows_mark_candidates_over_a_limit_infeasible_unless_on_the_front():
    result = target_search({
        "int8_fast": {"arena_bytes": 40 * 1024, "accuracy": 0.95},
        "fp32_worse": {"arena_bytes": 90 * 1024, "accuracy": 0.90},
    }, LIMITS)
    assert [r["status"] for r in pareto_rows(target_fronts(result, None))] == ["front", "infeasible"]


def test_pareto_rows_give_ram_as_the_ram_kb_constraint_measures_it():
    # ram_kb limits the RAM reserved (TFLite Micro: the arena plus a margin), not the bare arena
    result = target_search({"int8_fast": {"arena_bytes": 40 * 1024, "ram_bytes": 48 * 1024}}, LIMITS)
    (row,) = pareto_rows(target_fronts(result, "int8_fast"))
    assert row["ram_kb"] == pytest.approx(48.0) and row["cost"] == pytest.approx(48.0)
