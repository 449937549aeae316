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
    replayed: int = 0  # evaluations replayed from an earlier search of the same space (no training)
    new_region: dict[str, str] = field(default_factory=dict)  # target -> why the search went beyond them
    retried_tasks: int = 0  # executor jobs run again because their Dask worker died running them


def run_search(spec: Spec, splits, base_model, memo, progress=None, bundle_data=None) -> tuple[SearchResult, Evaluator]:
    """Run the configured strategy; returns the result and the evaluator (for its stats and models).
    `bundle_data` (bundle/download.py `BundleData`): what the bundles carry from the prepared data,
    for an exact `download_bytes` (estimated from the splits without it)."""
    from edgeforge.search.strategies import resolve_strategy, run_strategy

    evaluator = Evaluator(spec, splits, base_model, memo)
    evaluator.bundle_data = bundle_data
    executor = make_executor(spec.search, evaluator)  # first: a Dask scheduler that is not there fails before any work
    try:
        space = enumerate_space(spec.search.space)
        prefilter = run_prefilter(evaluator, space, lambda candidate: targets_for(spec, candidate))
        check_some_fit(prefilter)
        session = Session(evaluator, prefilter, executor, progress)
        strategy = resolve_strategy(spec.search.strategy, session)
        explored = load_explored(memo, explored_key(evaluator))
        new_region = run_strategy(strategy, session, explored)
    finally:
        executor.close()
    store_explored(memo, explored_key(evaluator), session.history)
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
        replayed=len(explored or ()),
        new_region=new_region,
        retried_tasks=executor.retried,
    )
    return result, evaluator


# -- the explored region -------------------------------------------------------------------------
# The evaluations a search made are stored in the memo under the hash of everything that decides
# them but the constraints and objectives. A later search with other constraints replays them
# first (memo hits, no training) and goes beyond them only for a target none of them serves, so a
# constraint edit inside the explored region never trains. The same spec replays to the same state.

def explored_key(evaluator: Evaluator) -> str:
    from edgeforge.search.memo import hash_of

    spec = evaluator.spec
    targets = {name: [t.device.name, t.runtime, t.quantization] for name, t in sorted(spec.targets.items())}
    return hash_of("explored", evaluator.trainer.base_key, spec.search.model_dump(mode="json"), targets)


def load_explored(memo, key: str) -> list[tuple[tuple, int | None]] | None:
    import json

    from edgeforge.search.candidates import TrainingRecipe

    folder = memo.entry("explored", key)
    if folder is None:
        return None
    try:
        calls = json.loads((folder / "record.json").read_text())["calls"]
        return [(tuple(TrainingRecipe(**config) for config in recipes), epochs) for recipes, epochs in calls]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a damaged record only costs the replay: the search explores afresh


def store_explored(memo, key: str, history) -> None:
    calls = [[[recipe.config() for recipe in recipes], epochs] for recipes, epochs in history]
    # The region grows with each search of the same spec family: the newest one replaces the entry.
    memo.store("explored", key, lambda out: {"calls": calls}, replace=True)
