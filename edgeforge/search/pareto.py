"""Pareto fronts per target: accuracy against the binding resource, and against latency.

A point is on the front when no other point is at least as accurate and at most as costly, and
strictly better in one of the two. Fronts are drawn from every candidate measured on the target,
feasible or not, so the plot shows what each constraint costs in accuracy.
"""

from __future__ import annotations

from edgeforge.outputs import CONSTRAINT_METRICS, TargetSearch
from edgeforge.search.constraints import OBJECTIVES

RESOURCE_KEYS = ("ram_kb", "flash_kb", "latency_ms", "energy_mj", "avg_power_mw")
# When no resource constraint is set, the front is drawn against the model's flash footprint.
DEFAULT_RESOURCE = "flash_kb"
POINT_METRICS = ("accuracy", "latency_ms", "arena_bytes", "ram_bytes", "flash_bytes", "model_bytes", "energy_mj", "epochs")


def binding_resource(result: TargetSearch) -> str:
    """The resource constraint that rules out the most measured candidates.

    Ties go to the one the chosen (or closest) candidate uses the largest share of; a target
    without resource limits uses its objective's resource, else flash.
    """
    constraints = result.constraints
    keys = [key for key in RESOURCE_KEYS if key in constraints]
    if not keys:
        metric = OBJECTIVES[result.objective][0]
        by_metric = {CONSTRAINT_METRICS[key][0]: key for key in RESOURCE_KEYS}
        return by_metric.get(metric, DEFAULT_RESOURCE)
    measured = result.measured()

    def pressure(key: str) -> tuple[int, float]:
        failing = sum(1 for entry in measured if not _meets(entry.metrics, key, constraints[key]))
        usage = max((_value(entry.metrics, key) / constraints[key] for entry in measured if entry.feasible), default=0.0)
        return failing, usage

    return max(keys, key=pressure)


def pareto_front(points: list[dict], cost: str) -> list[dict]:
    """Points not dominated in (accuracy up, `cost` down), sorted by cost."""
    ordered = sorted(points, key=lambda p: (p[cost], -p["accuracy"], p["id"]))
    front, best_accuracy = [], float("-inf")
    for point in ordered:
        if point["accuracy"] > best_accuracy:
            front.append(point)
            best_accuracy = point["accuracy"]
    return front


def target_fronts(result: TargetSearch, chosen_id: str | None) -> dict:
    """The pareto.json content of one target (see `edgeforge.stages.select`)."""
    binding = binding_resource(result)
    binding_metric = CONSTRAINT_METRICS[binding][0]
    points = [
        {"id": entry.id, "feasible": entry.feasible, **{m: entry.metrics.get(m) for m in POINT_METRICS}}
        for entry in result.measured()
    ]
    return {
        "target": result.target,
        "objective": result.objective,
        "chosen": chosen_id,
        "binding": {
            "constraint": binding,
            "metric": binding_metric,
            "limit": result.constraints.get(binding),
            "scale": CONSTRAINT_METRICS[binding][1],
        },
        "limits": {key: limit for key, limit in result.constraints.items() if key in CONSTRAINT_METRICS},
        "fronts": {metric: [p["id"] for p in pareto_front(points, metric)] for metric in front_metrics(binding_metric)},
        "points": sorted(points, key=lambda p: p["id"]),
    }


def front_metrics(binding_metric: str) -> list[str]:
    """The x axes: the binding resource and latency (flash too, when latency is the binding one)."""
    return [binding_metric, "latency_ms"] if binding_metric != "latency_ms" else ["latency_ms", "flash_bytes"]


def plot_fronts(fronts: dict, path) -> None:
    """Two panels (accuracy vs the binding resource, accuracy vs latency) as a PNG."""
    # matplotlib's Figure without pyplot: the same Agg render, without pyplot's import (a good part of select@T)
    from matplotlib.figure import Figure

    points = {p["id"]: p for p in fronts["points"]}
    by_metric = {CONSTRAINT_METRICS[key][0]: key for key in RESOURCE_KEYS}
    figure = Figure(figsize=(5.5 * len(fronts["fronts"]), 4.2))
    axes = figure.subplots(1, len(fronts["fronts"]), squeeze=False)
    for axis, metric in zip(axes[0], front_metrics(fronts["binding"]["metric"])):
        key = by_metric[metric]
        _draw_panel(
            axis, points, fronts["fronts"][metric], metric, key, CONSTRAINT_METRICS[key][1], fronts["limits"].get(key),
            fronts["chosen"],
        )
    figure.suptitle(f"{fronts['target']}: accuracy vs cost ({fronts['objective']})")
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=90, metadata={"Software": None})


def _draw_panel(axis, points: dict, front_ids: list[str], metric: str, label: str, scale: float, limit, chosen) -> None:
    for feasible, color, name in ((True, "tab:green", "feasible"), (False, "tab:gray", "infeasible")):
        group = [p for p in points.values() if p["feasible"] == feasible]
        if group:
            axis.scatter([p[metric] * scale for p in group], [p["accuracy"] for p in group], c=color, s=18, label=name)
    front = [points[i] for i in front_ids]
    axis.step([p[metric] * scale for p in front], [p["accuracy"] for p in front], where="post", c="tab:blue", lw=1, label="Pareto front")
    if limit is not None:
        axis.axvline(limit, c="tab:red", ls="--", lw=1, label=f"{label} limit")
    if chosen in points:
        p = points[chosen]
        axis.scatter([p[metric] * scale], [p["accuracy"]], marker="*", s=160, c="tab:orange", label=f"chosen: {chosen}")
    axis.set_xlabel(label)
    axis.set_ylabel("accuracy")
    axis.legend(fontsize=7, loc="lower right")


def _value(metrics: dict, key: str) -> float:
    metric, scale, _ = CONSTRAINT_METRICS[key]
    return metrics[metric] * scale


def _meets(metrics: dict, key: str, limit: float) -> bool:
    return _value(metrics, key) <= limit
