"""Stage `select@T`: the target's best feasible candidate → build/targets/T/selected.json, and
its Pareto fronts → pareto.json and pareto.png beside it, and candidates.json, the rows `dvc plots`
draws (written even when nothing is feasible, with the relaxations that would make the target
feasible)."""

from __future__ import annotations

import os

from edgeforge.atomic import write_json
from edgeforge.errors import ConstraintsUnmetError
from edgeforge.layout import BUILD
from edgeforge.outputs import TargetSearch, read_output, write_output


def run(target: str, params: str = "params.yaml") -> None:
    """`params` is unused: the target's objective and constraints come with its search results."""
    from edgeforge.search.select import select_candidate, selection_of

    out = BUILD.selected(target)
    out.unlink(missing_ok=True)  # never leave a stale choice behind a failed selection
    result = read_output(TargetSearch, BUILD.search_target(target))
    try:
        chosen = select_candidate(result)
    except ConstraintsUnmetError:
        write_pareto(result, None, target)
        raise
    write_pareto(result, chosen.id, target)
    write_output(out, selection_of(result, chosen))
    print(f"{target}: selected {chosen.id} ({result.objective})")


def write_pareto(result: TargetSearch, chosen_id: str | None, target: str) -> None:
    """pareto.json (fronts, points, and for an infeasible target its relaxations) and pareto.png."""
    from edgeforge.report.plotdata import pareto_rows
    from edgeforge.search.pareto import plot_fronts, target_fronts
    from edgeforge.search.relax import relaxations

    fronts = target_fronts(result, chosen_id)
    fronts["feasible"] = chosen_id is not None
    if chosen_id is None:
        fronts["relaxations"] = [relaxation.as_dict() for relaxation in relaxations(result)]
    write_json(BUILD.pareto_json(target), fronts)
    write_json(BUILD.candidates_json(target), pareto_rows(fronts))  # what `dvc plots` draws
    png = BUILD.pareto_png(target)
    staging = png.with_name(f".{png.name}.tmp")
    plot_fronts(fronts, staging)
    os.replace(staging, png)
