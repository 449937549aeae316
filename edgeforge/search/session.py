"""A search session: the state a strategy works with, and the one way it evaluates recipes.

A strategy asks `session.evaluate(recipes, epochs)`: the session checks the budget, has the
executor train, convert and measure (memoized), then scores every kept candidate of each recipe
on every target that kept it (a probe: one PTQ mode per target). What it knows afterwards is
in `per_target` (target -> candidate id -> `Evaluated`) and `fidelity` (recipe -> epochs).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from edgeforge.cost.fits import check_constraints
from edgeforge.search.candidates import Candidate, TrainingRecipe, parent_recipe, recipe_depth, simplicity
from edgeforge.search.constraints import OBJECTIVES, choose
from edgeforge.search.evaluator import Evaluator, check_for_failure
from edgeforge.search.executors import Job
from edgeforge.search.prefilter import Prefilter
from edgeforge.spec.models import QUANT_MODES, Spec


@dataclass
class Evaluated:
    """One candidate on one target: its metrics and constraint checks, or why it failed."""

    candidate: Candidate
    metrics: dict | None
    checks: list = field(default_factory=list)
    failure: str | None = None
    epochs: int | None = None  # the fidelity it was trained at (None: full)

    @property
    def feasible(self) -> bool:
        return self.failure is None and all(check.ok for check in self.checks)


def targets_for(spec: Spec, candidate: Candidate) -> list[str]:
    return [name for name in spec.targets if candidate.quantization in spec.modes_for(name)]


def evaluate_for_target(
    evaluator: Evaluator, candidate: Candidate, target_name: str, base_accuracy: float, epochs: int | None = None
) -> Evaluated:
    target = evaluator.spec.targets[target_name]
    metrics, failure = check_for_failure(lambda: evaluator.target_metrics(candidate, target, base_accuracy, epochs))
    if failure:
        return Evaluated(candidate, None, failure=failure, epochs=epochs)
    return Evaluated(candidate, metrics, check_constraints(metrics, target.constraints), epochs=epochs)


def reference_accuracy(evaluator: Evaluator) -> float:
    """The base model's quality as float32, what accuracy_drop is measured against: its .tflite in
    LiteRT (an ONNX base with no TFLite twin: its graph in ONNX Runtime)."""
    model_bytes, runtime = evaluator.reference()
    return evaluator.measured(model_bytes, runtime)["accuracy"]


class Session:
    """What a strategy works with: the kept candidates, the budget, and `evaluate(recipes, epochs)`."""

    def __init__(self, evaluator: Evaluator, prefilter: Prefilter, executor, progress: Callable | None = None):
        self.evaluator = evaluator
        self.spec = evaluator.spec
        self.executor = executor
        self.progress = progress
        self.kept: dict[str, set[str]] = {name: {c.id for c in kept} for name, kept in prefilter.kept.items()}
        self.predictions = prefilter.predictions
        candidates = {c.id: c for kept in prefilter.kept.values() for c in kept}
        self.candidates_by_recipe: dict[TrainingRecipe, list[Candidate]] = {}
        for candidate in sorted(candidates.values()):
            self.candidates_by_recipe.setdefault(candidate.training, []).append(candidate)
        self.recipes = sorted(self.candidates_by_recipe, key=lambda r: (recipe_depth(r), r))
        self.per_target: dict[str, dict[str, Evaluated]] = {name: {} for name in self.spec.targets}
        self.fidelity: dict[TrainingRecipe, int] = {}  # recipe -> fine-tune epochs it was evaluated at
        self.history: list[tuple[tuple[TrainingRecipe, ...], int | None]] = []  # every evaluate() call, in order
        self.budget = self.spec.search.budget
        self.max_trainings = self.budget.max_trainings
        self.trainings_used: set[tuple[TrainingRecipe, int]] = set()
        self.started = time.monotonic()
        self.budget_exhausted = False
        self.base_accuracy = reference_accuracy(evaluator)

    # -- budget --------------------------------------------------------------------------------
    def trainings_needed(self, recipe: TrainingRecipe, epochs: int | None = None) -> set[tuple[TrainingRecipe, int]]:
        """(recipe, fine-tune epochs) trainings that `recipe` at `epochs` adds: its own, and its
        ancestors' (always in full) that this search has not used yet, memo or not, so a search
        makes the same decisions whether its memo is warm or cold."""
        needed, level = set(), self.evaluator.fidelity(epochs)
        while not recipe.is_base:
            if (recipe, level) not in self.trainings_used:
                needed.add((recipe, level))
            recipe, level = parent_recipe(recipe), self.evaluator.fidelity(None)
        return needed

    def affordable(self, recipe: TrainingRecipe, epochs: int | None = None) -> bool:
        """Whether the budget allows training `recipe` at `epochs` now."""
        return self._within_budget(len(self.trainings_needed(recipe, epochs)))

    def _within_budget(self, more_trainings: int) -> bool:
        if not more_trainings:
            return True
        if self.budget.max_seconds is not None and time.monotonic() - self.started > self.budget.max_seconds:
            return False
        return self.max_trainings is None or len(self.trainings_used) + more_trainings <= self.max_trainings

    # -- evaluation ----------------------------------------------------------------------------
    def evaluate(self, recipes: Iterable[TrainingRecipe], epochs: int | None = None) -> list[TrainingRecipe]:
        """Train (if needed), convert and score each recipe's kept candidates on every target.

        Ancestors trained on the way are scored too (they are candidates of the space as well).
        Recipes the budget cannot afford are skipped; returns the recipes scored.
        """
        recipes = [recipe for recipe in dict.fromkeys(recipes) if recipe in self.candidates_by_recipe]
        self.history.append((tuple(recipes), epochs))
        chosen, planned = [], set()
        for recipe in recipes:
            level = self._level(recipe, epochs)
            if level <= self.fidelity.get(recipe, 0):
                continue
            needed = self.trainings_needed(recipe, epochs) - planned
            if not self._within_budget(len(planned) + len(needed)):
                self.budget_exhausted = True
                continue
            planned |= needed
            chosen += [(r, e) for r, e in self._lineage(recipe, epochs) if self.fidelity.get(r, 0) < self._level(r, e)]
        chosen = list(dict.fromkeys(chosen))
        self.trainings_used |= planned
        finished: list[Job] = []

        def job_done(job: Job) -> None:  # progress while the batch runs: scoring comes after it
            finished.append(job)
            self._report(f"ran {job.recipe.id}", len(self.fidelity) + len(finished))

        jobs = [Job(recipe, None if recipe.is_base else e, self._work(recipe, e)) for recipe, e in chosen]
        self.executor.run(jobs, on_done=job_done)
        for recipe, e in chosen:
            self._score(recipe, e)
        return [recipe for recipe, _ in chosen]

    def _level(self, recipe: TrainingRecipe, epochs: int | None) -> int:
        """The fidelity a recipe is scored at; the base model is always complete."""
        return self.evaluator.fidelity(None if recipe.is_base else epochs)

    def _lineage(self, recipe: TrainingRecipe, epochs: int | None) -> list[tuple[TrainingRecipe, int | None]]:
        """(recipe, epochs) for the recipe and its kept ancestors (trained in full), parents first."""
        chain = []
        while True:
            if recipe in self.candidates_by_recipe:
                chain.append((recipe, epochs))
            if recipe.is_base:
                return chain[::-1]
            recipe, epochs = parent_recipe(recipe), None

    def _pairs(self, recipe: TrainingRecipe, epochs: int | None) -> list[tuple[Candidate, str]]:
        """(candidate, target) evaluations a recipe gets: every kept pair in full; a probe only one
        PTQ mode per target (`probe_candidate`), since the mode changes accuracy least."""
        if recipe.is_base or self._level(recipe, epochs) >= self.evaluator.fidelity(None):
            return [(c, name) for c in self.candidates_by_recipe[recipe] for name in self.targets_keeping(c)]
        picks = [(self.probe_candidate(recipe, name), name) for name in self.spec.targets]
        return [(candidate, name) for candidate, name in picks if candidate is not None]

    def probe_candidate(self, recipe: TrainingRecipe, target: str) -> Candidate | None:
        """The recipe's kept candidate for `target` in the mode of the target's incumbent, or else
        the one predicted best for its objective (float32 first for accuracy objectives)."""
        kept = [c for c in self.candidates_by_recipe[recipe] if c.id in self.kept[target]]
        incumbent = self.best(target)
        same_mode = [c for c in kept if incumbent and c.quantization == incumbent.candidate.quantization]
        if same_mode or not kept:
            return (same_mode or [None])[0]
        metric, larger_is_better = OBJECTIVES[self.spec.targets[target].objective]
        if larger_is_better:
            return min(kept, key=lambda c: QUANT_MODES.index(c.quantization))
        return min(kept, key=lambda c: self.predictions[c.id][target].get(metric, 0.0))

    def _work(self, recipe: TrainingRecipe, epochs: int | None) -> tuple:
        runtimes: dict[str, set[str]] = {}
        for candidate, name in self._pairs(recipe, epochs):
            runtimes.setdefault(candidate.quantization, set()).add(self.spec.targets[name].runtime)
        return tuple((mode, tuple(sorted(names))) for mode, names in runtimes.items())

    def _score(self, recipe: TrainingRecipe, epochs: int | None) -> None:
        if self.fidelity.get(recipe, 0) >= self._level(recipe, epochs):
            return  # never replace a fuller evaluation with a probe
        for candidate, name in self._pairs(recipe, epochs):
            self.per_target[name][candidate.id] = evaluate_for_target(
                self.evaluator, candidate, name, self.base_accuracy, None if recipe.is_base else epochs
            )
        self.fidelity[recipe] = self._level(recipe, epochs)
        self._report(f"evaluated {recipe.id} ({self.fidelity[recipe]} epochs)", len(self.fidelity))

    def _report(self, text: str, done: int) -> None:
        """progress(text, recipes done, recipes in all, trainings so far)."""
        if self.progress:
            self.progress(text, min(done, len(self.recipes)), len(self.recipes), self.evaluator.stats.trained)

    # -- what is known -------------------------------------------------------------------------
    def targets_keeping(self, candidate: Candidate) -> list[str]:
        return [name for name, kept in self.kept.items() if candidate.id in kept]

    def kept_candidates(self, target: str) -> list[Candidate]:
        return [c for candidates in self.candidates_by_recipe.values() for c in candidates if c.id in self.kept[target]]

    def best(self, target: str) -> Evaluated | None:
        """The target's best feasible candidate so far."""
        objective = self.spec.targets[target].objective
        feasible = [e for e in self.per_target[target].values() if e.feasible]
        return best_by_objective(feasible, objective)

    def best_selectable(self, target: str) -> Evaluated | None:
        """The target's best feasible candidate trained in full (probes are never selected)."""
        objective = self.spec.targets[target].objective
        selectable = [e for e in self.per_target[target].values() if e.feasible and e.epochs is None]
        return best_by_objective(selectable, objective)

    def untried(self) -> list[TrainingRecipe]:
        return [recipe for recipe in self.recipes if recipe not in self.fidelity]

    def is_complete(self, recipe: TrainingRecipe) -> bool:
        return self.fidelity.get(recipe, 0) >= self.evaluator.fidelity(None)

    def reference_value(self, target: str, metric: str) -> float:
        """The largest predicted `metric` of the target's kept candidates: a fixed scale for it."""
        values = [self.predictions[c.id][target].get(metric, 0.0) for c in self.kept_candidates(target)]
        return max(values, default=1.0) or 1.0

    def with_optimism(self, evaluated: Evaluated, target: str, optimism: float) -> Evaluated:
        """The evaluation as if the model were `optimism` more accurate (constraints rechecked)."""
        if not optimism or evaluated.metrics is None:
            return evaluated
        metrics = dict(evaluated.metrics)
        metrics["accuracy"] = min(1.0, metrics["accuracy"] + optimism)
        metrics["accuracy_drop"] = round(self.base_accuracy - metrics["accuracy"], 6)
        checks = check_constraints(metrics, self.spec.targets[target].constraints)
        return Evaluated(evaluated.candidate, metrics, checks, evaluated.failure, evaluated.epochs)


def best_by_objective(entries: list[Evaluated], objective: str) -> Evaluated | None:
    """The entry the target's objective ranks first, as selection does (`constraints.choose`)."""
    return choose(entries, objective, lambda e: e.metrics, lambda e: simplicity(e.candidate.config()))


