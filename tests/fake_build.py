"""Typed build outputs written by hand: a target's search results, its selection and its exports,
as the search, select and export stages would leave them under build/ (no training)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from edgeforge.layout import BUILD, Layout
from edgeforge.outputs import CandidateResult, ChosenCandidate, ConstraintResult, Exports, Selection, TargetSearch, write_output
from edgeforge.search.select import export_candidate_of, export_plan

# A candidate's metrics as the search measures them; each candidate overrides some of them.
BASE_METRICS = {
    "accuracy": 0.95, "accuracy_drop": 0.01, "latency_ms": 2.0, "arena_bytes": 40 * 1024, "flash_bytes": 120 * 1024,
    "model_bytes": 30 * 1024, "energy_mj": 0.5, "epochs": 1,
}


def candidate_result(candidate_id: str, constraints: dict[str, float], **metrics) -> CandidateResult:
    """A measured candidate whose constraint checks are computed for real from its metrics."""
    from edgeforge.cost.fits import check_constraints
    from edgeforge.spec.models import Constraints

    metrics = {**BASE_METRICS, **metrics}
    metrics.setdefault("ram_bytes", metrics["arena_bytes"])  # a runtime that reserves the arena as it is
    checks = check_constraints(metrics, Constraints(**constraints))
    artifact = (BUILD.search_dir / "models" / f"{candidate_id}.tflite").as_posix()
    return CandidateResult(
        id=candidate_id, config={"quantization": "int8"}, metrics=metrics, checks=checks,
        feasible=all(check.ok for check in checks), failure=None, epochs=metrics["epochs"],
        artifact=artifact, tflite_artifact=artifact, sha256=hashlib.sha256(candidate_id.encode()).hexdigest(),
        trained_key=hashlib.sha256(f"trained {candidate_id}".encode()).hexdigest()[:32],
    )


def target_search(
    candidates: dict[str, dict], constraints: dict[str, float], target: str = "mcu", objective: str = "min_latency"
) -> TargetSearch:
    """build/search/targets/<target>.json with these candidates ({id: metric overrides})."""
    return TargetSearch(
        target=target, device="stm32f746_disco", runtime="tflite-micro", objective=objective,
        constraints=constraints, base_accuracy=0.96,
        candidates=[candidate_result(cid, constraints, **metrics) for cid, metrics in candidates.items()],
        pruned_analytically={}, unevaluated=[],
    )


def selection_of(result: TargetSearch, candidate_id: str) -> Selection:
    """What select@T writes when it chooses `candidate_id`."""
    chosen = next(entry for entry in result.candidates if entry.id == candidate_id)
    return Selection(
        target=result.target, device=result.device, runtime=result.runtime, objective=result.objective,
        base_accuracy=result.base_accuracy, candidate=ChosenCandidate(id=chosen.id, config=chosen.config),
        metrics=chosen.metrics,
        constraints={c.constraint: ConstraintResult(limit=c.limit, value=c.value, ok=c.ok) for c in chosen.checks},
        artifact=chosen.artifact, sha256=chosen.sha256, tflite_artifact=chosen.tflite_artifact,
        trained_key=chosen.trained_key,
    )


def write_target(
    root: Path, result: TargetSearch, chosen: str | None = None, formats: dict[str, list[str]] | None = None
) -> None:
    """Write a target's search result, and when given its selection and exports, under root/build/."""
    layout = Layout(root)
    write_output(layout.search_target(result.target), result)
    if chosen is not None:
        write_output(layout.selected(result.target), selection_of(result, chosen))
        write_output(layout.export_plan(result.target), export_plan(result, entry_of(result, chosen)))
    if formats is not None:
        write_output(layout.exports(result.target), Exports(
            target=result.target, candidate=chosen, formats=formats,
            selection=export_candidate_of(result, entry_of(result, chosen)),
        ))


def entry_of(result: TargetSearch, candidate_id: str) -> CandidateResult:
    return next(entry for entry in result.candidates if entry.id == candidate_id)
