"""Stage `select@T`: the target's best feasible candidate → build/targets/T/selected.json, and
its Pareto fronts → pareto.json and pareto.png beside it (written even when nothing is feasible,
with the relaxations that would make the target feasible)."""

from __future__ import annotations

from pathlib import Path

from edgeforge.atomic import read_json, write_json
from edgeforge.errors import ConstraintsUnmetError


def run(target: str, params: str = "params.yaml") -> None:
    """`params` is unused: the target's objective and constraints come with its search results."""
    from edgeforge.search.select import select_candidate

    folder = Path("build/targets") / target
    out = folder / "selected.json"
    out.unlink(missing_ok=True)  # never leave a stale choice behind a failed selection
    target_result = read_json(Path("build/search/targets") / f"{target}.json")
    try:
        chosen = select_candidate(target_result)
    except ConstraintsUnmetError:
        write_pareto(target_result, None, folder)
        raise
    write_pareto(target_result, chosen["id"], folder)
    write_json(out, {
        "target": target,
        "device": target_result["device"],
        "runtime": target_result["runtime"],
        "objective": target_result["objective"],
        "base_accuracy": target_result["base_accuracy"],
        "candidate": {"id": chosen["id"], "config": chosen["config"]},
        "metrics": chosen["metrics"],
        "constraints": {c["constraint"]: {"limit": c["limit"], "value": c["value"], "ok": c["ok"]} for c in chosen["checks"]},
        "artifact": chosen["artifact"],
        "sha256": chosen["sha256"],
        "tflite_artifact": chosen["tflite_artifact"],
    })
    print(f"{target}: selected {chosen['id']} ({target_result['objective']})")


def write_pareto(target_result: dict, chosen_id: str | None, folder: Path) -> None:
    """pareto.json (fronts, points, and for an infeasible target its relaxations) and pareto.png."""
    import os

    from edgeforge.search.pareto import plot_fronts, target_fronts
    from edgeforge.search.relax import relaxations

    fronts = target_fronts(target_result, chosen_id)
    fronts["feasible"] = chosen_id is not None
    if chosen_id is None:
        fronts["relaxations"] = [relaxation.as_dict() for relaxation in relaxations(target_result)]
    write_json(folder / "pareto.json", fronts)
    staging = folder / ".pareto.png.tmp"
    plot_fronts(fronts, staging)
    os.replace(staging, folder / "pareto.png")
