"""Gather a build's results from build/ into one report dict (what `edgeforge report --json` prints).

A partial build (a stage failed or has not run) still gives a report: each target lists what is
missing and the stage that makes it, under `missing`; only a build without search results at all
is an error.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from edgeforge.errors import EdgeforgeError, UserError
from edgeforge.layout import BUILD, Layout
from edgeforge.outputs import CONSTRAINT_METRICS, Exports, Manifest, Selection, TargetSearch, read_output


def _read(path: Path):
    from edgeforge.atomic import read_json

    return read_json(path, dict) if path.is_file() else None  # a corrupt file: one line, exit 2


def _read_typed(model, path: Path):
    return read_output(model, path) if path.is_file() else None


def build_report(root: str | Path = ".", params: str | Path | None = None) -> dict:
    """The report of the build under `root`; `params` is its composed spec (default root/params.yaml)."""
    root = Path(root)
    layout = Layout(root)
    spec = _load_spec(Path(params) if params is not None else root / "params.yaml")
    summary = _read(layout.search_summary)
    if summary is None:
        raise UserError(f"{layout.search_summary}: no build results here; run `dvc repro` first")
    names = sorted(path.stem for path in layout.search_target("*").parent.glob("*.json"))
    missing = [
        f"target '{name}': no search results ({BUILD.search_target(name).as_posix()}); run `dvc repro search`"
        for name in (spec.targets if spec else ()) if name not in names
    ]
    targets: dict[str, dict] = {}
    candidates: dict[str, dict] = {}
    parity: dict[str, dict] = {}
    for name in names:
        result = read_output(TargetSearch, layout.search_target(name))
        targets[name] = _target_entry(root, result, spec, summary)
        parity[name] = _read(layout.parity(name)) or {}
        for candidate in result.candidates:
            record = candidates.setdefault(candidate.id, {
                "id": candidate.id, "config": candidate.config, "metrics": candidate.metrics,
                "artifact": candidate.artifact, "failure": candidate.failure, "by_target": {},
                "epochs": (candidate.metrics or {}).get("epochs"),  # fidelity: fine-tune epochs trained
            })
            record["by_target"][name] = {"metrics": candidate.metrics, "feasible": candidate.feasible}
    summary.setdefault("strategy", "exhaustive")
    summary.setdefault("pruned_analytically", 0)
    summary["failed"] = len({c["id"] for c in candidates.values() if c["failure"]})
    summary["budget"] = spec.search.budget.model_dump(mode="json") if spec else None
    return {
        "project": spec.project.name if spec else None,
        "targets": targets,
        "search": summary,
        "parity": parity,
        "candidates": sorted(candidates.values(), key=lambda c: c["id"]),
        "missing": missing,
    }


def _metric_label(spec) -> str:
    """What the task's quality is called in the report: accuracy, or ROC AUC (`model.task`)."""
    from edgeforge.evaluate import get_task

    return get_task(spec.model.task).metric_label if spec else "accuracy"


def _target_entry(root: Path, result: TargetSearch, spec, summary: dict) -> dict:
    from edgeforge.report.candidates import candidate_rows
    from edgeforge.report.classes import class_rows, read_class_names
    from edgeforge.search.relax import relaxations
    from edgeforge.search.select import explain_infeasible

    layout, name = Layout(root), result.target
    selection = _read_typed(Selection, layout.selected(name))
    exports = _read_typed(Exports, layout.exports(name))
    # what ships: the selected candidate, or the next one when an export of it failed (its checks
    # against the constraints as they are now: the search result's, as selected.json's are)
    selected = _exported(result, exports) or selection
    missing: list[str] = []
    entry = {
        "device": result.device,
        "runtime": result.runtime,
        "objective": result.objective,
        "feasible": selected is not None,
        "candidate": selected.candidate.model_dump() if selected else None,
        "metrics": selected.metrics if selected else None,
        "constraints": {key: c.model_dump() for key, c in selected.constraints.items()} if selected else {
            key: {"limit": limit, "value": None, "ok": False} for key, limit in result.constraints.items()
            if key in CONSTRAINT_METRICS  # not the settings beside them (inference_hz)
        },
        "artifacts": {fmt: _one_path(paths) for fmt, paths in exports.formats.items()} if exports else {},
        "base_accuracy": result.base_accuracy,  # the task's quality (ROC AUC for anomaly_detection)
        "metric_label": _metric_label(spec),
        "pareto": _pareto(layout, result, selected),
        "ops": None,
    }
    entry["per_class"] = class_rows(selected.metrics if selected else None, read_class_names(layout.data_dir))
    entry["fallbacks"] = [fallback.model_dump() for fallback in exports.fallbacks] if exports else []
    entry["failed"] = {c.id: c.failure for c in result.candidates if c.failure}  # candidate -> why it failed
    entry["unevaluated"] = len(result.unevaluated)
    ties = _tie_break(result, selected)
    entry["choice_note"] = ties["note"] if ties else None
    entry["candidates"] = candidate_rows(result, selected.candidate.id if selected else None, spec, summary,
                                         ties["candidates"] if ties else {})
    if selected is None:
        if result.selectable():
            missing.append(_missing(BUILD.selected(name), f"select@{name}"))
        else:
            entry["explanation"] = explain_infeasible(result)
            entry["relaxations"] = [relaxation.as_dict() for relaxation in relaxations(result)]
    else:
        from edgeforge.search.lineage import pass_effects

        # what each pass of the chosen candidate changed, from the search's own measurements
        entry["passes"] = pass_effects(result, selected.candidate.id) if selected.candidate.id in {
            c.id for c in result.measured()} else []
        if selected.metrics.get("ram_bytes", 0) > selected.metrics.get("arena_bytes", 0):  # the runtime adds a margin
            entry["ram_note"] = (
                f"the application reserves {selected.metrics['ram_bytes']:,} bytes (the C header's kTensorArenaSize): "
                f"the arena the runtime measured ({selected.metrics['arena_bytes']:,} bytes on the 64-bit host) plus "
                "a margin for the 32-bit build and other runtime versions; ram_kb was judged on it"
            )
        layers, problem = _layers(root, selected, spec)
        if layers:
            entry["ops"], entry["arena"] = layers["ops"], layers["arena"]
        elif problem:
            missing.append(problem)
        if exports is None:
            missing.append(_missing(BUILD.exports(name), f"export@{name}"))
        elif not layout.parity(name).is_file():
            missing.append(_missing(BUILD.parity(name), f"export@{name}"))
        manifest = _read_typed(Manifest, layout.manifest(name)) if exports else None
        if exports is not None and manifest is None:
            missing.append(_missing(BUILD.manifest(name), f"package@{name}"))
        entry["files"] = {
            "exports": _export_files(root, exports),
            "bundle": [{"name": n, "bytes": f["bytes"], "sha256": f["sha256"]} for n, f in sorted(manifest.files.items())]
            if manifest else [],
        }
    entry["missing"] = missing
    return entry


def _tie_break(result: TargetSearch, selected: Selection | None) -> dict | None:
    """The one-standard-error rule's note on the selected candidate (`search.select.tie_break`);
    None for a fallback shipped after an export failed, which the rule did not pick."""
    from edgeforge.search.select import ranked_candidates, tie_break

    ranked = ranked_candidates(result)
    if selected is None or not ranked or ranked[0].id != selected.candidate.id:
        return None
    return tie_break(result, ranked[0])


def _exported(result: TargetSearch, exports: Exports | None) -> Selection | None:
    from edgeforge.search.select import selection_of

    if exports is None:
        return None
    entry = next((c for c in result.candidates if c.id == exports.candidate and c.metrics is not None), None)
    return selection_of(result, entry) if entry is not None else None


def _missing(path: Path | str, stage: str) -> str:
    """`path` relative to the project, as the user would type it."""
    return f"{Path(path).as_posix()} is missing: run `dvc repro {stage}` (or see why it failed)"


def _pareto(layout: Layout, result: TargetSearch, selected: Selection | None) -> dict | None:
    """pareto.json as select@T wrote it, or the same fronts computed here when it has not run."""
    from edgeforge.search.pareto import target_fronts

    name = result.target
    fronts = _read(layout.pareto_json(name))
    if fronts is not None:
        return {**fronts, "json": BUILD.pareto_json(name).as_posix(), "png": BUILD.pareto_png(name).as_posix()}
    if not result.measured():
        return None
    return {**target_fronts(result, selected.candidate.id if selected else None), "json": None, "png": None}


def _one_path(paths: list[str]) -> str:
    """A format's artifact: its file, or the folder holding its files (tflm_c: .h + .cc)."""
    return paths[0] if len(paths) == 1 else os.path.commonpath(paths)


def _export_files(root: Path, exports: Exports | None) -> list[dict]:
    files = []
    for fmt, paths in sorted((exports.formats if exports else {}).items()):
        for path in sorted(paths):
            data = (root / path).read_bytes() if (root / path).is_file() else None
            files.append({
                "format": fmt, "path": path, "bytes": len(data) if data is not None else None,
                "sha256": hashlib.sha256(data).hexdigest() if data is not None else None,
            })
    return files


def _load_spec(path: Path):
    from edgeforge.spec import load_params

    return load_params(path) if path.is_file() else None


def _layers(root: Path, selected: Selection, spec) -> tuple[dict | None, str | None]:
    """Per-operator costs and the arena over time of the chosen model, or why they are unavailable."""
    from edgeforge.report.layers import chosen_model_layers

    model = root / selected.tflite_artifact
    if spec is None or selected.target not in spec.targets:
        return None, None  # a report without params.yaml: nothing says which device to cost it on
    if not model.is_file():
        return None, _missing(selected.tflite_artifact, "search")
    target = spec.targets[selected.target]
    try:
        return chosen_model_layers(model, target.device, target.runtime, Layout(root).export_memo_dir()), None
    except EdgeforgeError as error:
        return None, f"per-layer costs of {selected.candidate.id} unavailable: {error}"
