"""Every candidate of one target as the report lists it: its passes, the fidelity it was trained at,
whether this build trained it or took it from the memo, and why it was not chosen.

Candidates the pre-filter dropped before training, and those the strategy never evaluated, are
listed too (status `pruned` and `not evaluated`), so the table accounts for the whole space.
"""

from __future__ import annotations

from edgeforge.errors import EdgeforgeError
from edgeforge.outputs import CandidateResult, TargetSearch

ROW_METRICS = ("accuracy", "latency_ms", "arena_bytes", "flash_bytes", "energy_mj")


def candidate_rows(result: TargetSearch, chosen_id: str | None, spec, summary: dict,
                   tie_reasons: dict[str, str] | None = None) -> list[dict]:
    """One row per candidate: id, passes, fidelity, training, status, reason, metrics.
    `tie_reasons`: why a more accurate candidate as good on the objective was not chosen."""
    configs = _space_configs(spec)
    trained = (summary.get("trained_per_target") or {}).get(result.target)  # absent in older builds
    rows = [_measured_row(entry, chosen_id, trained) for entry in result.candidates]
    for row in rows:
        if row["status"] == "feasible" and chosen_id is not None:
            row["reason"] = (tie_reasons or {}).get(row["id"]) or (
                f"meets every constraint; {result.objective} ranks {chosen_id} first")
    for candidate_id, exclusions in sorted(result.pruned_analytically.items()):
        rows.append(_row(candidate_id, configs.get(candidate_id), "pruned", "not trained", "-", (
            "predicted before training: " + "; ".join(exclusion.describe() for exclusion in exclusions)
        )))
    for candidate_id in result.unevaluated:
        rows.append(_row(candidate_id, configs.get(candidate_id), "not evaluated", "not trained", "-",
                         "fits the predictions, but the strategy (or its budget) never evaluated it"))
    return rows


def passes_label(config: dict | None) -> str:
    """The candidate's passes in order with their options, e.g. `distill 0.5 › prune 0.5 › ptq int8`."""
    if config is None:
        return "-"
    from edgeforge.passes.chain import passes_for
    from edgeforge.search.candidates import Candidate

    try:
        passes = passes_for(Candidate(**config).config())
    except (TypeError, EdgeforgeError):  # a config of another code version
        return ", ".join(f"{key}={value}" for key, value in sorted(config.items()))
    return " › ".join(" ".join([name, *(str(value) for value in options.values())]) for name, options in passes)


def _measured_row(entry: CandidateResult, chosen_id: str | None, trained: list[str] | None) -> dict:
    if entry.id == chosen_id:
        status = "chosen"
    elif entry.failure:
        status = "failed"
    elif entry.feasible and entry.probe:
        status = "probe"  # meets the constraints at probe fidelity; never selected
    else:
        status = "feasible" if entry.feasible else "infeasible"
    reason = entry.failure or "; ".join(check.describe() for check in entry.checks if not check.ok)
    if status == "probe":
        reason = "meets every constraint as a short probe; not trained in full"
    row = _row(entry.id, entry.config, status, _training(entry, trained), _fidelity(entry), reason)
    row["epochs"] = entry.epochs
    row["metrics"] = {key: (entry.metrics or {}).get(key) for key in ROW_METRICS}
    return row


def _row(candidate_id: str, config: dict | None, status: str, training: str, fidelity: str, reason: str) -> dict:
    return {
        "id": candidate_id, "passes": passes_label(config), "status": status, "training": training,
        "fidelity": fidelity, "reason": reason, "epochs": None, "metrics": dict.fromkeys(ROW_METRICS),
    }


def _is_base(config: dict) -> bool:
    from edgeforge.search.candidates import Candidate

    try:
        return Candidate(**config).training.is_base
    except TypeError:
        return False


def _fidelity(entry: CandidateResult) -> str:
    """`full (4 ep)` or `probe (1 ep)`: the epochs its last training pass ran."""
    if entry.metrics is None:
        return "-"
    if _is_base(entry.config):
        return "base model"
    return f"{'probe' if entry.probe else 'full'} ({entry.epochs} ep)"


def _training(entry: CandidateResult, trained: list[str] | None) -> str:
    """Whether this build trained the candidate's model, or found it in the memo."""
    if entry.metrics is None and entry.failure:
        return "-"
    if _is_base(entry.config):
        return "base model"
    if trained is None:
        return "not recorded"
    return "trained" if entry.id in trained else "memo hit"


def _space_configs(spec) -> dict[str, dict]:
    """id -> config of every combination of the spec's space (pruned ones have only their id)."""
    if spec is None:
        return {}
    from edgeforge.search.candidates import enumerate_space

    return {candidate.id: candidate.config() for candidate in enumerate_space(spec.search.space)}

