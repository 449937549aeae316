"""Pick each target's candidate: the best by its objective among those meeting every constraint."""

from __future__ import annotations

from edgeforge.errors import ConstraintsUnmetError
from edgeforge.outputs import (
    BUNDLE_METRICS, CandidateResult, ChosenCandidate, ConstraintResult, ExportCandidate, ExportPlan, Selection, TargetSearch,
)
from edgeforge.search.candidates import simplicity
from edgeforge.search.constraints import OBJECTIVES, passed_over, rank, timed_faster
from edgeforge.search.relax import closest_candidate, describe_relaxations, relaxations


def select_candidate(result: TargetSearch) -> CandidateResult:
    """The chosen candidate of a target's search result, or ConstraintsUnmetError explaining why none."""
    ranked = ranked_candidates(result)
    if ranked:
        return ranked[0]
    raise ConstraintsUnmetError(explain_infeasible(result))


def ranked_candidates(result: TargetSearch) -> list[CandidateResult]:
    """The selectable candidates, best first by the target's objective (export falls back along it)."""
    return rank(result.selectable(), result.objective, lambda entry: entry.metrics, lambda entry: simplicity(entry.config))


def tie_break(result: TargetSearch, chosen: CandidateResult) -> dict | None:
    """Why candidates that tie `chosen` on the objective were not chosen (`constraints.choose`):
    more accurate ones (the one-standard-error rule) and ones timed faster doing the same work (the
    timer's noise). {note, candidates: id -> reason}, or None when there are none."""
    selectable, metrics = result.selectable(), (lambda e: e.metrics)
    found = passed_over(selectable, chosen, result.objective, metrics, lambda e: simplicity(e.config))
    faster = timed_faster(selectable, chosen, result.objective, metrics)
    if found is None and not faster:
        return None
    reasons, notes = {}, []
    if found is not None:
        better, why = found
        accuracy = chosen.metrics["accuracy"]
        reasons |= {entry.id: f"{entry.metrics['accuracy'] - accuracy:.2%} more accurate than {chosen.id} and as good on "
                              f"{result.objective}, {simplicity(entry.config)[0]} training passes: {why}" for entry in better}
        notes.append(f"{chosen.id} ({accuracy:.2%}) is chosen over {len(better)} more accurate candidate(s) as good on "
                     f"{result.objective}, such as {better[0].id} ({better[0].metrics['accuracy']:.2%}): {why}")
    if faster:
        metric, _ = OBJECTIVES[result.objective]
        mine = chosen.metrics[metric]
        for entry in faster:
            reasons.setdefault(entry.id, (
                f"{metric} measured {mine - entry.metrics[metric]:.3g} lower than {chosen.id}'s, doing the same work "
                f"(predicted {chosen.metrics['latency_predicted_ms']:.4g} ms): timer noise, not a faster model"))
        notes.append(f"{len(faster)} candidate(s) doing the same work as {chosen.id} were timed faster on this machine, "
                     f"such as {faster[0].id}; equal work ties on measured {metric} (timer noise), and the tie goes to "
                     "the simplest candidate within one standard error of the most accurate")
    return {"note": "; ".join(notes), "candidates": reasons}


def selection_of(result: TargetSearch, chosen: CandidateResult) -> Selection:
    """What selected.json records of a chosen candidate: its metrics, checks and verified files."""
    return Selection(
        target=result.target,
        device=result.device,
        runtime=result.runtime,
        objective=result.objective,
        base_accuracy=result.base_accuracy,
        candidate=ChosenCandidate(id=chosen.id, config=chosen.config),
        metrics=chosen.metrics,
        constraints={c.constraint: ConstraintResult(limit=c.limit, value=c.value, ok=c.ok) for c in chosen.checks},
        artifact=chosen.artifact,
        sha256=chosen.sha256,
        tflite_artifact=chosen.tflite_artifact,
        trained_key=chosen.trained_key,
    )


def export_plan(result: TargetSearch, chosen: CandidateResult) -> ExportPlan:
    """What export@T exports: `chosen`, then the other selectable candidates in the objective's order."""
    ranked = [chosen] + [entry for entry in ranked_candidates(result) if entry.id != chosen.id]
    return ExportPlan(target=result.target, candidates=[export_candidate_of(result, entry) for entry in ranked],
                      target_build_sha256=result.target_build_sha256)


def export_candidate_of(result: TargetSearch, entry: CandidateResult) -> ExportCandidate:
    return ExportCandidate(
        target=result.target,
        device=result.device,
        runtime=result.runtime,
        candidate=ChosenCandidate(id=entry.id, config=entry.config),
        metrics={key: value for key, value in entry.metrics.items() if key not in BUNDLE_METRICS},
        artifact=entry.artifact,
        sha256=entry.sha256,
        tflite_artifact=entry.tflite_artifact,
        trained_key=entry.trained_key,
    )


def explain_infeasible(result: TargetSearch) -> str:
    name = result.target
    measured = result.measured()
    if not measured:
        reasons = sorted({entry.failure for entry in result.candidates if entry.failure})
        unevaluated = result.unevaluated
        if unevaluated and not reasons:
            return (
                f"target '{name}': the search stopped before evaluating any of the {len(unevaluated)} combinations "
                f"that may fit it ({', '.join(unevaluated[:4])}{', ...' if len(unevaluated) > 4 else ''}); "
                "raise search.budget.max_trainings or use search.strategy: exhaustive"
            )
        return f"target '{name}': no candidate could be built: {'; '.join(reasons) or 'the search space is empty'}"
    probes = [entry.id for entry in result.candidates if entry.feasible and entry.probe]
    if probes:
        return (
            f"target '{name}': only short probes ({', '.join(probes[:4])}) meet every constraint, and the search "
            "stopped before training them in full; raise search.budget.max_trainings or use search.strategy: exhaustive"
        )
    lines = [f"target '{name}': no candidate meets every constraint ({len(measured)} measured)."]
    for constraint in sorted({c.constraint for e in measured for c in e.checks if not c.ok}):
        failing = sum(1 for e in measured if any(c.constraint == constraint and not c.ok for c in e.checks))
        lines.append(f"  {constraint}: violated by {failing} of {len(measured)} candidates")
    closest = closest_candidate(measured)
    lines.append(f"  closest candidate: {closest.id}, which misses by:")
    lines += [f"    {check.describe('.1%')}" for check in closest.checks if not check.ok]
    found = relaxations(result)
    if found:
        lines.append(f"  to make it feasible: {describe_relaxations(found)}")
    if result.pruned_analytically:
        pruned = result.pruned_analytically
        keys = sorted({exclusion.constraint for exclusions in pruned.values() for exclusion in exclusions})
        lines.append(f"  {len(pruned)} more combinations were dropped before training by {', '.join(keys)} (predicted)")
    return "\n".join(lines)
