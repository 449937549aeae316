"""Constraint checks: nominal judges the prediction, conservative its upper bound."""

from __future__ import annotations

import pytest

from edgeforge.cost.fits import check_constraints, judged_value
from edgeforge.spec.models import Constraints

METRICS = {"latency_ms": 10.0, "latency_error": 0.2, "energy_mj": 1.0, "energy_error": 0.2, "arena_bytes": 50 * 1024, "ram_bytes": 50 * 1024}


def test_nominal_confidence_judges_the_predicted_latency():
    (check,) = check_constraints(METRICS, Constraints(latency_ms=11))
    assert check.ok and check.value == pytest.approx(10.0)


def test_conservative_confidence_judges_the_upper_bound():
    (check,) = check_constraints(METRICS, Constraints(latency_ms=11, confidence="conservative"))
    assert not check.ok and check.value == pytest.approx(12.0)


def test_conservative_confidence_widens_energy_but_not_memory():
    constraints = Constraints(energy_mj=1.1, ram_kb=50, confidence="conservative")
    assert judged_value("energy_mj", METRICS, constraints) == pytest.approx(1.2)
    assert judged_value("ram_kb", METRICS, constraints) == pytest.approx(50.0)


def test_confidence_is_nominal_by_default_and_rejects_other_values():
    assert Constraints().confidence == "nominal"
    with pytest.raises(ValueError, match="conservative"):
        Constraints(confidence="pessimistic")
