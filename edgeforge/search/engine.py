"""The search: pre-filter the space, let a strategy decide what to train, score candidates per target.

    run_search(spec, splits, base_model, memo)
      1. enumerate the space; predict each combination's resources (`prefilter`) and drop, per
         target, what cannot fit; fail before any training when a target keeps nothing;
      2. pick the strategy (`strategies`) and run it on a `Session` (`session`), which trains and
         converts through the executor (`executors`) and scores every kept candidate on every
         target that can run it: one trained model serves all targets;
      3. return the per-target evaluations (`SearchResult`) for `results.write_search_outputs`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edgeforge.search.candidates import Candidate, enumerate_space
from edgeforge.search.evaluator import Evaluator
from edgeforge.search.executors import make_executor
from edgeforge.search.prefilter import check_some_fit, run_prefilter
from edgeforge.search.session import Evaluated, Session, evaluate_for_target, reference_accuracy, targets_for
from edgeforge.spec.models import Spec

__all__ = ["Evaluated", "SearchResult", "evaluate_for_target", "reference_accuracy", "run_search", "targets_for"]


@dataclass
class SearchResult:
    space: list[Candidate]
    base_accuracy: float
    per_target: dict[str, dict[str, Evaluated]]  # target -> candidate id -> evaluation
    strategy: str = "exhaustive"
    pruned_analytically: int = 0  # (combination, target) evaluations the pre-filter dropped
    pruned_everywhere: int = 0  # combinations no target keeps: never trained nor evaluated
    dropped: dict[str, dict[str, list]] = field(default_factory=dict)  # target -> id -> exclusions
    kept: dict[str, list[str]] = field(default_factory=dict)  # target -> ids the pre-filter kept
    budget_exhausted: bool = False


def run_search(spec: Spec, splits, base_model, memo, progress=None) -> tuple[SearchResult, Evaluator]:
    """Run the configured strategy; returns the result and the evaluator (for its stats and models)."""
    from edgeforge.search.strategies import resolve_strategy, run_strategy

    evaluator = Evaluator(spec, splits, base_model, memo)
    space = enumerate_space(spec.search.space)
    prefilter = run_prefilter(evaluator, space, lambda candidate: targets_for(spec, candidate))
    check_some_fit(prefilter)
    executor = make_executor(spec.search, evaluator)
    try:
        session = Session(evaluator, prefilter, executor, progress)
        strategy = resolve_strategy(spec.search.strategy, session)
        run_strategy(strategy, session)
    finally:
        executor.close()
    result = SearchResult(
        space=space,
        base_accuracy=session.base_accuracy,
        per_target=session.per_target,
        strategy=strategy,
        pruned_analytically=sum(len(dropped) for dropped in prefilter.dropped.values()),
        pruned_everywhere=len(prefilter.pruned_everywhere(space)),
        dropped=prefilter.dropped,
        kept={name: sorted(ids) for name, ids in session.kept.items()},
        budget_exhausted=session.budget_exhausted,
    )
    return result, evaluator
