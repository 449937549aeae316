"""Does a model fit? Its metrics checked against a target's constraints, or the device's own limits."""

from __future__ import annotations

from edgeforge.outputs import CONSTRAINT_METRICS, Check
from edgeforge.spec.device import Device
from edgeforge.spec.models import Constraints


def check_constraints(metrics: dict, constraints: Constraints) -> list[Check]:
    """One check per limit set in `constraints` (inference_hz is a setting, not a limit)."""
    checks = []
    for key, limit in constraints.model_dump(exclude_none=True).items():
        if key not in CONSTRAINT_METRICS:
            continue
        metric, scale, kind = CONSTRAINT_METRICS[key]
        value = metrics[metric] * scale
        ok = value <= limit if kind == "max" else value >= limit
        checks.append(Check(constraint=key, limit=float(limit), value=round(float(value), 6), ok=bool(ok)))
    return checks


def check_fits(profile: dict, device: Device, constraints: Constraints | None = None) -> dict:
    """{constraint: {limit, value, ok}}; accuracy constraints need data and are left out."""
    if constraints is None:
        constraints = Constraints(ram_kb=device.ram_kb, flash_kb=device.flash_kb)
    measurable = constraints.model_copy(update={"min_accuracy": None, "max_accuracy_drop": None})
    if profile.get("avg_power_mw") is None:
        measurable = measurable.model_copy(update={"avg_power_mw": None})
    return {
        check.constraint: {"limit": check.limit, "value": check.value, "ok": check.ok}
        for check in check_constraints(profile, measurable)
    }
