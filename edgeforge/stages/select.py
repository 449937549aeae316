"""Stage `select@T`: the target's best feasible candidate → build/targets/T/selected.json, what
export@T exports (it, then the next selectable ones) → export_plan.json, and its Pareto fronts →
pareto.json and pareto.png beside it, and candidates.json, the rows `dvc plots` draws (written even
when nothing is feasible, with the relaxations that would make the target feasible)."""

from __future__ import annotations

import os

from edgeforge.atomic import write_json
from edgeforge.errors import ConstraintsUnmetError
from edgeforge.layout import BUILD
from edgeforge.outputs import TargetSearch, read_output, write_output


def run(target: str, params: str = "params.yaml") -> None:
    """`params` is unused: the target's objective and constraints come with its search results."""
    from edgeforge.search.select import export_plan, select_candidate, selection_of

    out = BUILD.selected(target)
    for stale in (out, BUILD.export_plan(target)):
        stale.unlink(missing_ok=True)  # never leave a stale choice behind a failed selection
    result = read_output(TargetSearch, BUILD.search_target(target))
    try:
        chosen = select_candidate(result)
    except ConstraintsUnmetError:
        write_pareto(result, None, target)
        raise
    write_pareto(result, chosen.id, target)
    # the same bytes whenever an edit keeps the choice and the fallbacks: export@T is then skipped
    write_output(BUILD.export_plan(target), export_plan(result, chosen))
    write_output(out, selection_of(result, chosen))
    print(f"{target}: selected {chosen.id} ({result.objective})")


def write_pareto(result: TargetSearch, chosen_id: str | None, target: str) -> None:
    """pareto.json (fronts, points, and for an infeasible target its relaxations) and pareto.png."""
    from edgeforge.report.plotdata import pareto_rows
    from edgeforge.search.pareto import target_fronts
    from edgeforge.search.relax import relaxations

    fronts = target_fronts(result, chosen_id)
    fronts["feasible"] = chosen_id is not None
    if chosen_id is None:
        fronts["relaxations"] = [relaxation.as_dict() for relaxation in relaxations(result)]
    write_json(BUILD.pareto_json(target), fronts)
    write_json(BUILD.candidates_json(target), pareto_rows(fronts))  # what `dvc plots` draws
    png = BUILD.pareto_png(target)
    staging = png.with_name(f".{png.name}.tmp")
    write_plot(fronts, staging)
    os.replace(staging, png)


# -- the plot, drawn once per picture ----------------------------------------------------------------
# Drawing pareto.png costs matplotlib's import and a render (about a second, most of select@T). A
# constraint edit that moves no point across the line, changes no front and picks the same candidate
# draws the same picture, so the PNG comes back from a memo beside the export memo, keyed by exactly
# what the plot is drawn from (`drawn`) plus the plotting code and matplotlib's version.
PLOT_CODE = ("search/pareto.py", "stages/select.py")


def drawn(fronts: dict) -> dict:
    """The part of `fronts` the plot shows: `plot_fronts` is given only this, so the key is complete."""
    from edgeforge.outputs import CONSTRAINT_METRICS
    from edgeforge.search.pareto import RESOURCE_KEYS, front_metrics

    metrics = front_metrics(fronts["binding"]["metric"])
    keys = {key for key in RESOURCE_KEYS if CONSTRAINT_METRICS[key][0] in metrics}
    return {
        "target": fronts["target"],
        "objective": fronts["objective"],
        "chosen": fronts["chosen"],
        "binding": {"metric": fronts["binding"]["metric"]},
        "limits": {key: limit for key, limit in fronts["limits"].items() if key in keys},
        "fronts": fronts["fronts"],
        "points": [{k: p[k] for k in ("id", "feasible", "accuracy", *metrics)} for p in fronts["points"]],
    }


def write_plot(fronts: dict, path) -> None:
    import shutil

    from edgeforge.search.codeversion import code_version
    from edgeforge.search.memo import Memo, hash_of
    from edgeforge.search.pareto import plot_fronts

    picture = drawn(fronts)
    memo = Memo(BUILD.export_memo_dir())
    key = hash_of("pareto.png", code_version(PLOT_CODE, ("matplotlib", "pillow", "numpy")), picture)
    folder = memo.entry("plot", key)
    if folder is not None:
        shutil.copyfile(folder / "pareto.png", path)
        return
    plot_fronts(picture, path)

    def remember(entry) -> None:
        shutil.copyfile(path, entry / "pareto.png")

    memo.store("plot", key, remember)
