"""Gather a build's results from build/ into one report dict (what `edgeforge report --json` prints)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from edgeforge.errors import UserError
from edgeforge.layout import BUILD, Layout
from edgeforge.outputs import Exports, Selection, TargetSearch, read_output


def _read(path: Path):
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _read_typed(model, path: Path):
    return read_output(model, path) if path.is_file() else None


def build_report(root: str | Path = ".") -> dict:
    from edgeforge.search.relax import relaxations
    from edgeforge.search.select import explain_infeasible

    layout = Layout(Path(root))
    spec = _load_spec(Path(root) / "params.yaml")
    summary = _read(layout.search_summary)
    if summary is None:
        raise UserError(f"{layout.search_summary}: no build results here; run `dvc repro` first")
    targets: dict[str, dict] = {}
    candidates: dict[str, dict] = {}
    parity: dict[str, dict] = {}
    for path in sorted(layout.search_target("*").parent.glob("*.json")):
        result = read_output(TargetSearch, path)
        name = result.target
        selected = _read_typed(Selection, layout.selected(name))
        exports = _read_typed(Exports, layout.exports(name))
        parity[name] = _read(layout.parity(name)) or {}
        entry = {
            "device": result.device,
            "runtime": result.runtime,
            "objective": result.objective,
            "feasible": selected is not None,
            "candidate": selected.candidate.model_dump() if selected else None,
            "metrics": selected.metrics if selected else None,
            "constraints": {key: c.model_dump() for key, c in selected.constraints.items()} if selected else {
                key: {"limit": limit, "value": None, "ok": False} for key, limit in result.constraints.items()
            },
            "artifacts": {fmt: _one_path(paths) for fmt, paths in exports.formats.items()} if exports else {},
            "base_accuracy": result.base_accuracy,
        }
        pareto = _read(layout.pareto_json(name))
        if pareto is not None:
            entry["pareto"] = {
                "json": BUILD.pareto_json(name).as_posix(),
                "png": BUILD.pareto_png(name).as_posix(),
                "binding": pareto["binding"]["constraint"],
                "fronts": pareto["fronts"],
            }
        if selected is None:
            entry["explanation"] = explain_infeasible(result)
            entry["relaxations"] = [relaxation.as_dict() for relaxation in relaxations(result)]
        else:
            entry["ops"] = _op_breakdown(Path(root), selected, spec)
        targets[name] = entry
        for candidate in result.candidates:
            record = candidates.setdefault(candidate.id, {
                "id": candidate.id, "config": candidate.config, "metrics": candidate.metrics,
                "artifact": candidate.artifact, "failure": candidate.failure, "by_target": {},
                "epochs": (candidate.metrics or {}).get("epochs"),  # fidelity: fine-tune epochs trained
            })
            record["by_target"][name] = {"metrics": candidate.metrics, "feasible": candidate.feasible}
    summary.setdefault("strategy", "exhaustive")
    summary.setdefault("pruned_analytically", 0)
    return {
        "targets": targets,
        "search": summary,
        "parity": parity,
        "candidates": sorted(candidates.values(), key=lambda c: c["id"]),
    }


def _one_path(paths: list[str]) -> str:
    """A format's artifact: its file, or the folder holding its files (tflm_c: .h + .cc)."""
    return paths[0] if len(paths) == 1 else os.path.commonpath(paths)


def _load_spec(path: Path):
    from edgeforge.spec import load_params

    return load_params(path) if path.is_file() else None


def _op_breakdown(root: Path, selected: Selection, spec) -> list[dict] | None:
    """Per-operator costs of the chosen model on its device (same functions as the search)."""
    import warnings

    from edgeforge.cost.profile import profile_model

    model = root / selected.tflite_artifact
    if spec is None or selected.target not in spec.targets or not model.is_file():
        return None
    target = spec.targets[selected.target]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the search already reported unknown ops
        profile = profile_model(model, target.device, target.runtime)
    return profile["ops"]
