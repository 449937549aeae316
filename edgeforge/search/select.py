"""Pick each target's candidate: the best by its objective among those meeting every constraint."""

from __future__ import annotations

from edgeforge.errors import ConstraintsUnmetError
from edgeforge.search.constraints import CONSTRAINT_METRICS, ranking_key
from edgeforge.search.relax import describe_relaxations, relaxations


def select_candidate(target_result: dict) -> dict:
    """The chosen entry of build/search/targets/<T>.json, or ConstraintsUnmetError explaining why none."""
    entries = target_result["candidates"]
    feasible = [entry for entry in entries if entry["feasible"]]
    if feasible:
        return min(feasible, key=lambda entry: ranking_key(entry["metrics"], target_result["objective"]))
    raise ConstraintsUnmetError(explain_infeasible(target_result))


def explain_infeasible(target_result: dict) -> str:
    name = target_result["target"]
    measured = [entry for entry in target_result["candidates"] if entry["metrics"]]
    if not measured:
        reasons = sorted({entry["failure"] for entry in target_result["candidates"] if entry["failure"]})
        unevaluated = target_result.get("unevaluated") or []
        if unevaluated and not reasons:
            return (
                f"target '{name}': the search stopped before evaluating any of the {len(unevaluated)} combinations "
                f"that may fit it ({', '.join(unevaluated[:4])}{', ...' if len(unevaluated) > 4 else ''}); "
                "raise search.budget.max_trainings or use search.strategy: exhaustive"
            )
        return f"target '{name}': no candidate could be built: {'; '.join(reasons) or 'the search space is empty'}"
    closest = min(measured, key=lambda entry: sum(_excess(check) for check in entry["checks"]))
    lines = [f"target '{name}': no candidate meets every constraint ({len(measured)} measured)."]
    for constraint in sorted({c["constraint"] for e in measured for c in e["checks"] if not c["ok"]}):
        failing = sum(1 for e in measured if any(c["constraint"] == constraint and not c["ok"] for c in e["checks"]))
        lines.append(f"  {constraint}: violated by {failing} of {len(measured)} candidates")
    violated = [check for check in closest["checks"] if not check["ok"]]
    lines.append(f"  closest candidate: {closest['id']}, which misses by:")
    lines += [f"    {_describe(check)}" for check in violated]
    found = relaxations(target_result)
    if found:
        lines.append(f"  to make it feasible: {describe_relaxations(found)}")
    pruned = target_result.get("pruned_analytically") or {}
    if pruned:
        keys = sorted({exclusion["constraint"] for exclusions in pruned.values() for exclusion in exclusions})
        lines.append(f"  {len(pruned)} more combinations were dropped before training by {', '.join(keys)} (predicted)")
    return "\n".join(lines)


def _excess(check: dict) -> float:
    return 0.0 if check["ok"] else abs(check["value"] - check["limit"]) / (abs(check["limit"]) or 1.0)


def _describe(check: dict) -> str:
    bound = "at most" if CONSTRAINT_METRICS[check["constraint"]][2] == "max" else "at least"
    return (
        f"{check['constraint']} = {check['value']:.4g}, needs {bound} {check['limit']:g} "
        f"(off by {_excess(check):.1%})"
    )
