"""Check a candidate's metrics against a target's constraints; rank feasible ones by objective."""

from __future__ import annotations

from dataclasses import dataclass

from edgeforge.spec.models import Constraints

# constraint key -> (metric, scale from metric to the constraint's unit, "max" or "min")
CONSTRAINT_METRICS: dict[str, tuple[str, float, str]] = {
    "ram_kb": ("arena_bytes", 1 / 1024, "max"),
    "flash_kb": ("flash_bytes", 1 / 1024, "max"),
    "latency_ms": ("latency_ms", 1.0, "max"),
    "energy_mj": ("energy_mj", 1.0, "max"),
    "avg_power_mw": ("avg_power_mw", 1.0, "max"),
    "min_accuracy": ("accuracy", 1.0, "min"),
    "max_accuracy_drop": ("accuracy_drop", 1.0, "max"),
}

# objective -> (metric, True when larger is better)
OBJECTIVES: dict[str, tuple[str, bool]] = {
    "max_accuracy": ("accuracy", True),
    "min_latency": ("latency_ms", False),
    "min_flash": ("flash_bytes", False),
    "min_ram": ("arena_bytes", False),
    "min_energy": ("energy_mj", False),
    "min_model_size": ("model_bytes", False),
}


@dataclass(frozen=True)
class Check:
    constraint: str
    limit: float
    value: float
    ok: bool

    @property
    def excess(self) -> float:
        """How far past the limit, relative to it (0 when met)."""
        if self.ok:
            return 0.0
        return abs(self.value - self.limit) / (abs(self.limit) or 1.0)

    def describe(self) -> str:
        bound = "at most" if CONSTRAINT_METRICS[self.constraint][2] == "max" else "at least"
        return f"{self.constraint} = {self.value:.4g}, needs {bound} {self.limit:g} (off by {self.excess:.0%})"


def check_constraints(metrics: dict, constraints: Constraints) -> list[Check]:
    checks = []
    for key, limit in constraints.model_dump(exclude_none=True).items():
        if key not in CONSTRAINT_METRICS:
            continue  # inference_hz is a setting, not a limit
        metric, scale, kind = CONSTRAINT_METRICS[key]
        value = metrics[metric] * scale
        ok = value <= limit if kind == "max" else value >= limit
        checks.append(Check(key, float(limit), round(float(value), 6), bool(ok)))
    return checks


def ranking_key(metrics: dict, objective: str):
    """Sort key: the objective first, then accuracy, latency and size as tie-breakers."""
    metric, larger_is_better = OBJECTIVES[objective]
    primary = -metrics[metric] if larger_is_better else metrics[metric]
    return (primary, -metrics["accuracy"], metrics["latency_ms"], metrics["model_bytes"])
