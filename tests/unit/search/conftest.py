"""Target results as build/search/targets/<T>.json holds them, made from (id, metrics) pairs."""

from __future__ import annotations

import pytest

from edgeforge.cost.fits import check_constraints
from edgeforge.outputs import TargetSearch
from edgeforge.spec.models import Constraints

BASE_METRICS = {"accuracy": 0.95, "accuracy_drop": 0.0, "latency_ms": 2.0, "arena_bytes": 40 * 1024, "ram_bytes": 40 * 1024,
                "flash_bytes": 120 * 1024, "model_bytes": 30 * 1024, "energy_mj": 0.5, "epochs": 4}


def make_target_result(constraints: dict, candidates: dict[str, dict], objective: str = "min_latency") -> TargetSearch:
    """A target's search result whose candidates have these metrics, with checks computed for real."""
    entries = []
    for candidate_id, overrides in candidates.items():
        metrics = {**BASE_METRICS, **overrides}
        metrics.setdefault("ram_bytes", metrics["arena_bytes"])
        if "arena_bytes" in overrides and "ram_bytes" not in overrides:
            metrics["ram_bytes"] = overrides["arena_bytes"]  # a runtime that reserves the arena as it is
        checks = check_constraints(metrics, Constraints(**constraints))
        entries.append({
            "id": candidate_id, "config": {}, "metrics": metrics, "checks": checks, "epochs": metrics["epochs"],
            "feasible": all(check.ok for check in checks), "failure": None, "artifact": None,
        })
    return TargetSearch(
        target="mcu", objective=objective, constraints=constraints, candidates=entries, base_accuracy=0.96,
        device="stm32f746_disco", runtime="tflite-micro", pruned_analytically={}, unevaluated=[],
    )


@pytest.fixture
def target_result():
    return make_target_result
