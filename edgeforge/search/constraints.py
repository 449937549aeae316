"""Rank a target's feasible candidates by its objective (constraints are checked in `cost.fits`)."""

from __future__ import annotations

# objective -> (metric, True when larger is better)
OBJECTIVES: dict[str, tuple[str, bool]] = {
    "max_accuracy": ("accuracy", True),
    "max_auc": ("accuracy", True),  # anomaly_detection's quality, kept under `accuracy` (evaluate/task.py)
    "min_latency": ("latency_ms", False),
    "min_flash": ("flash_bytes", False),
    "min_ram": ("ram_bytes", False),
    "min_energy": ("energy_mj", False),
    "min_model_size": ("model_bytes", False),
}


def ranking_key(metrics: dict, objective: str):
    """Sort key: the objective first, then accuracy, latency and size as tie-breakers."""
    metric, larger_is_better = OBJECTIVES[objective]
    primary = -metrics[metric] if larger_is_better else metrics[metric]
    return (primary, -metrics["accuracy"], metrics["latency_ms"], metrics["model_bytes"])
