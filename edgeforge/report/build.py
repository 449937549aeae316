"""Gather a build's results from build/ into one report dict (what `edgeforge report --json` prints)."""

from __future__ import annotations

import json
from pathlib import Path

from edgeforge.errors import UserError


def _read(path: Path):
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def build_report(root: str | Path = ".") -> dict:
    from edgeforge.search.select import explain_infeasible

    build = Path(root) / "build"
    summary = _read(build / "search" / "summary.json")
    if summary is None:
        raise UserError(f"{build}/search/summary.json: no build results here; run `dvc repro` first")
    targets: dict[str, dict] = {}
    candidates: dict[str, dict] = {}
    for path in sorted((build / "search" / "targets").glob("*.json")):
        result = _read(path)
        name = result["target"]
        selected = _read(build / "targets" / name / "selected.json")
        exports = _read(build / "targets" / name / "export" / "exports.json") or {"formats": {}}
        entry = {
            "device": result["device"],
            "runtime": result["runtime"],
            "objective": result["objective"],
            "feasible": selected is not None,
            "candidate": selected["candidate"] if selected else None,
            "metrics": selected["metrics"] if selected else None,
            "constraints": selected["constraints"] if selected else {
                key: {"limit": limit, "value": None, "ok": False} for key, limit in result["constraints"].items()
            },
            "artifacts": {fmt: paths[0] if len(paths) == 1 else paths for fmt, paths in exports["formats"].items()},
            "base_accuracy": result["base_accuracy"],
        }
        if selected is None:
            entry["explanation"] = explain_infeasible(result)
        targets[name] = entry
        for candidate in result["candidates"]:
            record = candidates.setdefault(candidate["id"], {
                "id": candidate["id"], "config": candidate["config"], "metrics": candidate["metrics"],
                "artifact": candidate["artifact"], "failure": candidate["failure"], "by_target": {},
            })
            record["by_target"][name] = {"metrics": candidate["metrics"], "feasible": candidate["feasible"]}
    return {
        "targets": targets,
        "search": summary,
        "candidates": sorted(candidates.values(), key=lambda c: c["id"]),
    }

