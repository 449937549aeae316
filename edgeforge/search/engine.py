"""The search: evaluate candidates for every target they can run on, and record what was done."""

from __future__ import annotations

from dataclasses import dataclass, field

from edgeforge.search.candidates import Candidate, enumerate_space
from edgeforge.search.constraints import check_constraints
from edgeforge.search.evaluator import Evaluator, check_for_failure
from edgeforge.spec.models import Spec

REFERENCE = Candidate()  # the base model as float32 TFLite: what accuracy_drop is measured against


@dataclass
class Evaluated:
    """One candidate on one target: its metrics and constraint checks, or why it failed."""

    candidate: Candidate
    metrics: dict | None
    checks: list = field(default_factory=list)
    failure: str | None = None

    @property
    def feasible(self) -> bool:
        return self.failure is None and all(check.ok for check in self.checks)


@dataclass
class SearchResult:
    space: list[Candidate]
    base_accuracy: float
    per_target: dict[str, dict[str, Evaluated]]  # target -> candidate id -> evaluation
    strategy: str = "exhaustive"
    pruned_analytically: int = 0


def targets_for(spec: Spec, candidate: Candidate) -> list[str]:
    return [name for name in spec.targets if candidate.quantization in spec.modes_for(name)]


def evaluate_for_target(evaluator: Evaluator, candidate: Candidate, target_name: str, base_accuracy: float) -> Evaluated:
    target = evaluator.spec.targets[target_name]
    metrics, failure = check_for_failure(lambda: evaluator.target_metrics(candidate, target, base_accuracy))
    if failure:
        return Evaluated(candidate, None, failure=failure)
    return Evaluated(candidate, metrics, check_constraints(metrics, target.constraints))


def reference_accuracy(evaluator: Evaluator) -> float:
    model_bytes, _ = evaluator.converted(REFERENCE)
    return evaluator.measured(model_bytes, "tflite")["accuracy"]


def run_exhaustive(evaluator: Evaluator, progress=None) -> SearchResult:
    """Evaluate every candidate of the space on every target that can run it."""
    spec = evaluator.spec
    space = enumerate_space(spec.search.space)
    base_accuracy = reference_accuracy(evaluator)
    per_target: dict[str, dict[str, Evaluated]] = {name: {} for name in spec.targets}
    for candidate in space:
        for name in targets_for(spec, candidate):
            per_target[name][candidate.id] = evaluate_for_target(evaluator, candidate, name, base_accuracy)
        if progress:
            progress(candidate)
    return SearchResult(space=space, base_accuracy=base_accuracy, per_target=per_target)


def run_search(spec: Spec, splits, base_model, memo, progress=None) -> tuple[SearchResult, Evaluator]:
    """Run the configured strategy; returns the result and the evaluator (for its stats and models)."""
    evaluator = Evaluator(spec, splits, base_model, memo)
    space = enumerate_space(spec.search.space)
    done = 0

    def step(candidate: Candidate) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(f"evaluated {candidate.id}", done, len(space))

    return run_exhaustive(evaluator, step), evaluator
