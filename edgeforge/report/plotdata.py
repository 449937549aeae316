"""The data of `dvc plots`: one flat row per measured candidate of a target (candidates.json).

DVC draws a file of rows with a fixed x and y field, so every row carries its cost under the same
name, `cost`, in the unit of the target's binding constraint (`cost_unit`, e.g. `flash_kb`), and
its accuracy; `status` says chosen, front (Pareto-optimal, feasible or not), feasible or infeasible,
and `feasible` whether it meets every constraint. `dvc plots diff` then overlays the rows of two
revisions or experiments.
"""

from __future__ import annotations

from edgeforge.outputs import CONSTRAINT_METRICS


def pareto_rows(fronts: dict) -> list[dict]:
    """Rows of a target's pareto.json content (`search.pareto.target_fronts`), sorted by cost."""
    binding = fronts["binding"]
    front = set(fronts["fronts"].get(binding["metric"], []))
    rows = []
    for point in fronts["points"]:
        if point["id"] == fronts["chosen"]:
            status = "chosen"
        elif point["id"] in front:
            status = "front"
        else:
            status = "feasible" if point["feasible"] else "infeasible"
        rows.append({
            "candidate": point["id"],
            "accuracy": point["accuracy"],
            "cost": _scaled(point.get(binding["metric"]), binding["scale"]),
            "cost_unit": binding["constraint"],
            "latency_ms": point.get("latency_ms"),
            "ram_kb": _in_unit(point, "ram_kb"),
            "flash_kb": _in_unit(point, "flash_kb"),
            "status": status,
            "feasible": point["feasible"],
        })
    return sorted(rows, key=lambda row: (row["cost"] is None, row["cost"] or 0.0, row["candidate"]))


def _scaled(value, scale: float):
    return None if value is None else round(value * scale, 6)


def _in_unit(point: dict, key: str):
    """The metric constraint `key` limits, in its unit (`ram_kb`: the RAM reserved, in KiB)."""
    metric, scale, _ = CONSTRAINT_METRICS[key]
    return _scaled(point.get(metric), scale)
