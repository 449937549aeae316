"""Does a profiled model fit? Against a target's constraints, or else the device's own limits."""

from __future__ import annotations

from edgeforge.search.constraints import check_constraints
from edgeforge.spec.device import Device
from edgeforge.spec.models import Constraints


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
