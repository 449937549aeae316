"""build/metrics.json: a few headline figures per target, the columns `dvc exp show` lists.

Each target's selected.json is a metric too, with every field (about 40 columns per target); this
file is the short view. Keys are by figure, then target (`accuracy.mcu`), so their column names
never collide with selected.json's or the params' and one `--keep` pattern selects them all (see
docs/sweeps.md).
"""

from __future__ import annotations

from edgeforge.outputs import CONSTRAINT_METRICS

FIGURES = ("chosen", "accuracy", "auc", "latency_ms", "ram_kb", "flash_kb")  # auc: anomaly_detection's quality


def headline_metrics(report: dict) -> dict:
    """{"chosen": {target: id}, "accuracy": {...}, "latency_ms", "ram_kb", "flash_kb", "trainings": n}."""
    figures: dict[str, dict] = {figure: {} for figure in FIGURES}
    for name, target in report["targets"].items():
        chosen = target["metrics"]
        if chosen is None:
            figures["chosen"][name] = "none feasible"
            continue
        figures["chosen"][name] = target["candidate"]["id"]
        figures[chosen.get("metric", "accuracy")][name] = chosen.get("accuracy")  # the task's quality, by its name
        figures["latency_ms"][name] = chosen.get("latency_ms")
        figures["ram_kb"][name] = _in_unit(chosen, "ram_kb")
        figures["flash_kb"][name] = _in_unit(chosen, "flash_kb")
    return {**{figure: values for figure, values in figures.items() if values}, "trainings": report["search"].get("trained")}


def _in_unit(metrics: dict, key: str):
    """The metric constraint `key` limits, in the constraint's unit (what `key` is compared with)."""
    metric, scale, _ = CONSTRAINT_METRICS[key]
    value = metrics.get(metric)
    return None if value is None else round(value * scale, 3)
