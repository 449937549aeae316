"""Does a model fit? Its metrics checked against a target's constraints, or the device's own limits."""

from __future__ import annotations

from edgeforge.outputs import CONSTRAINT_METRICS, Check
from edgeforge.spec.device import Device
from edgeforge.spec.models import Constraints


# Constraints on predicted figures that carry the latency model's error bar; with
# `confidence: conservative` they are judged on the upper bound.
UNCERTAIN_CONSTRAINTS = ("latency_ms", "energy_mj", "avg_power_mw")


def judged_value(key: str, metrics: dict, constraints: Constraints) -> float:
    """The value of `metrics` that constraint `key` is judged on: the metric in the constraint's
    unit, or under `confidence: conservative` its upper bound (× (1 + latency_error))."""
    metric, scale, _ = CONSTRAINT_METRICS[key]
    value = metrics[metric] * scale
    if getattr(constraints, "confidence", "nominal") == "conservative" and key in UNCERTAIN_CONSTRAINTS:
        error = metrics.get("energy_error" if key == "energy_mj" else "latency_error") or 0.0
        value *= 1 + error
    return value


def check_constraints(metrics: dict, constraints: Constraints) -> list[Check]:
    """One check per limit set in `constraints` (inference_hz and confidence are settings, not limits)."""
    checks = []
    for key, limit in constraints.model_dump(exclude_none=True).items():
        if key not in CONSTRAINT_METRICS:
            continue
        _, _, kind = CONSTRAINT_METRICS[key]
        value = judged_value(key, metrics, constraints)
        ok = value <= limit if kind == "max" else value >= limit
        checks.append(Check(constraint=key, limit=float(limit), value=round(float(value), 6), ok=bool(ok)))
    return checks


def check_fits(profile: dict, device: Device, constraints: Constraints | None = None) -> dict:
    """{constraint: {limit, value, ok}}; accuracy constraints need data and are left out."""
    if constraints is None:
        constraints = Constraints(ram_kb=device.ram_kb, flash_kb=device.flash_kb)
    measurable = constraints.model_copy(update={"min_accuracy": None, "max_accuracy_drop": None, "min_auc": None, "max_auc_drop": None})
    if profile.get("avg_power_mw") is None:
        measurable = measurable.model_copy(update={"avg_power_mw": None})
    return {
        check.constraint: {"limit": check.limit, "value": check.value, "ok": check.ok}
        for check in check_constraints(profile, measurable)
    }
