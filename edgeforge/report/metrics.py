"""build/metrics.json: a few headline figures per target, the columns `dvc exp show` lists.

Each target's selected.json is a metric too, with every field (about 40 columns per target); this
file is the short view, so a sweep's table reads at a glance (see docs/sweeps.md for `--drop`).
"""

from __future__ import annotations

from edgeforge.outputs import CONSTRAINT_METRICS


def headline_metrics(report: dict) -> dict:
    """{target: {candidate, accuracy, latency_ms, ram_kb, flash_kb}, search: {evaluated, trained}}."""
    metrics: dict[str, dict] = {}
    for name, target in report["targets"].items():
        chosen = target["metrics"]
        if chosen is None:
            metrics[name] = {"candidate": "none feasible"}
            continue
        metrics[name] = {
            "candidate": target["candidate"]["id"],
            "accuracy": chosen.get("accuracy"),
            "latency_ms": chosen.get("latency_ms"),
            "ram_kb": _kb(chosen.get("arena_bytes"), "ram_kb"),
            "flash_kb": _kb(chosen.get("flash_bytes"), "flash_kb"),
        }
    search = report["search"]
    metrics["search"] = {"evaluated": search.get("evaluated"), "trained": search.get("trained")}
    return metrics


def _kb(value, key: str):
    return None if value is None else round(value * CONSTRAINT_METRICS[key][1], 3)
