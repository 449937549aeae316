"""Search strategies: which training recipes to train, at which fidelity, in which order.

Every strategy starts cheap: the base model's PTQ variants need no training, so they are scored
first and become each target's incumbent. What follows differs:

- `exhaustive`: train every recipe the pre-filter kept, in full, parents first.
- `multi_fidelity`: an Optuna study whose trials are recipes. A trial first trains its last pass
  briefly (`PROBE_EPOCHS`; the parent is always complete), scores it in one PTQ mode per target
  and reports that. Optuna's `ThresholdPruner` stops the trial there unless, granted
  `PROBE_TOLERANCE` more accuracy, it would beat some target's best so far (for a target with
  nothing feasible: come closer to feasible than anything so far). Survivors are trained in full
  and scored in every mode. A distilled student is never probed (see `is_student`).
- `tpe`: the same study without probes, Optuna's multi-objective TPE (one objective per target;
  constraint: feasible on some target); every trial is trained in full.
- `auto` (the default): `exhaustive` when the pre-filter keeps at most
  `AUTO_EXHAUSTIVE_MAX_RECIPES` recipes to train, `multi_fidelity` above.

Who picks the next recipe (`prediction_picks`): first, recipes the analytic prediction says beat
a target's incumbent (for a target with nothing feasible, its cheapest recipe per width; for one
ranked by a resource, recipes predicted to use less of it); then recipes predicted to tie an
incumbent (only accuracy can differ, and a tie goes to the simpler recipe unless the longer one is
more than a standard error more accurate: `constraints.choose`; fewest trainings needed first) and
the TPE sampler's proposals take turns.

`search.budget.max_trainings` caps the trainings (a probe counts as one, and so does each
untrained parent a recipe needs), `search.budget.max_seconds` stops starting new ones after that
long. Decisions count the trainings the search used, memo hits included, so a warm memo leads to
the same choices. Without a cap, the Optuna strategies stop after `DEFAULT_TRAINING_SHARE` of
the recipes (the solver issue's goal: a quarter of exhaustive's trainings), or when the sampler
proposes nothing new `PATIENCE` times in a row.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from edgeforge.search.candidates import TrainingRecipe, recipe_depth
from edgeforge.search.constraints import OBJECTIVES
from edgeforge.search.candidates import parent_recipe
from edgeforge.search.session import Evaluated, Session, best_by_objective

AUTO_EXHAUSTIVE_MAX_RECIPES = 4  # recipes to train (besides the base); above this, multi-fidelity
DEFAULT_TRAINING_SHARE = 0.25  # Optuna strategies' default cap, as a share of the recipes kept (rounded down)
PROBE_EPOCHS = 1  # fine-tune epochs of a probe (the full fidelity is search.finetune_epochs)
PROBE_TOLERANCE = 0.01  # accuracy a full fine-tune may add to its probe's (digits: -0.5 to +0.8 points)
PATIENCE = 20  # proposals of already-tried recipes in a row before an Optuna search stops
TIE_WEIGHT = 0.1  # weight of accuracy when a resource objective ties
MIN_GAIN = 1e-6  # a probe must beat the best so far by more than this (a tie is not promising)
STARTUP_TRIALS = 2  # TPE models after this many trials (Optuna's default, 10, exceeds most budgets)


def resolve_strategy(name: str, session: Session) -> str:
    """`auto` → exhaustive for small spaces, multi_fidelity for large ones (see the module doc)."""
    if name != "auto":
        return name
    trainable = [recipe for recipe in session.recipes if not recipe.is_base]
    return "exhaustive" if len(trainable) <= AUTO_EXHAUSTIVE_MAX_RECIPES else "multi_fidelity"


def run_strategy(name: str, session: Session, explored: list | None = None) -> dict[str, str]:
    """Run the strategy; first replay `explored` (an earlier search's `session.history` for the same
    space, data and targets) when given. Returns, per target, why the search had to go beyond the
    explored region ({} when the replay served every target, or there was nothing to replay)."""
    session.evaluate([TrainingRecipe()])  # cheap first: the base model's PTQ variants
    if explored:
        for recipes, epochs in explored:
            session.evaluate(recipes, epochs)  # memo hits: the same trainings as before
        unserved = {target: _why_unserved(session, target) for target in session.spec.targets
                    if session.best_selectable(target) is None}
        if not unserved:
            return {}
    else:
        unserved = {}
    STRATEGIES[name](session)
    return unserved


def _why_unserved(session: Session, target: str) -> str:
    tried = [e for e in session.per_target[target].values() if e.epochs is None]
    failing = sorted({check.constraint for e in tried for check in e.checks if not check.ok})
    return (f"none of the {len(tried)} candidates explored before is feasible"
            + (f" (they miss {', '.join(failing)})" if failing else "") + "; searching a new region")


def exhaustive(session: Session) -> None:
    """Every kept recipe in full, parents first (the budget, if set, still applies)."""
    session.evaluate(session.recipes)


def multi_fidelity(session: Session) -> None:
    full = session.evaluator.fidelity(None)
    _optuna_search(session, probe_epochs=PROBE_EPOCHS if PROBE_EPOCHS < full else None)


def tpe(session: Session) -> None:
    _optuna_search(session, probe_epochs=None)


STRATEGIES: dict[str, Callable[[Session], None]] = {
    "exhaustive": exhaustive,
    "multi_fidelity": multi_fidelity,
    "tpe": tpe,
}


# -- the Optuna study --------------------------------------------------------------------------

def _optuna_search(session: Session, probe_epochs: int | None) -> None:
    """Ask recipes of an Optuna study, train them (probe first if `probe_epochs`), tell scores."""
    optuna = _import_optuna()
    from optuna.trial import TrialState

    recipes = [recipe for recipe in session.recipes if not recipe.is_base]
    if session.max_trainings is None:
        session.max_trainings = max(1, math.floor(DEFAULT_TRAINING_SHARE * len(recipes)))
    distributions = _distributions(session)
    targets = list(session.spec.targets)
    seed = session.spec.project.seed
    if probe_epochs:
        study = optuna.create_study(
            direction="maximize",
            sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=STARTUP_TRIALS),
            pruner=optuna.pruners.ThresholdPruner(lower=MIN_GAIN),
        )
    else:
        study = optuna.create_study(
            directions=["maximize"] * len(targets),
            sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=STARTUP_TRIALS),
        )
    pruned: set[TrainingRecipe] = set()
    idle = 0  # proposals in a row that trained nothing
    ties_turn = True  # tie-breaking picks and the sampler's take turns
    while idle < PATIENCE and session.untried() and _budget_left(session, probe_epochs):
        # recipes predicted to beat a target's incumbent first; then the prediction's ties (only
        # accuracy can differ) and the sampler's proposals take turns
        better, ties = (
            [r for r in picks if r not in pruned and session.affordable(r, None if is_student(r) else probe_epochs)]
            for picks in prediction_picks(session)
        )
        pick = better[0] if better else (ties[0] if ties and ties_turn else None)
        if pick is not None:
            study.enqueue_trial(_params(pick), skip_if_exists=True)
        trial = study.ask(distributions)
        recipe = TrainingRecipe(**trial.params)
        epochs = None if is_student(recipe) else probe_epochs
        idle += 1
        if recipe not in session.candidates_by_recipe:  # the pre-filter dropped all its candidates
            study.tell(trial, state=TrialState.FAIL)
        elif recipe in pruned:
            study.tell(trial, state=TrialState.PRUNED)
        elif session.is_complete(recipe):  # known already: the sampler learns it for free
            trial.set_constraint("infeasible", _infeasibility(session, recipe))
            study.tell(trial, _score(session, recipe, targets, probe_epochs))
        elif not session.affordable(recipe, epochs):  # needs more trainings than are left
            study.tell(trial, state=TrialState.FAIL)
        elif epochs:
            idle, ties_turn = 0, ties_turn if better else not ties_turn
            if not _run_probed(session, study, trial, recipe, epochs):
                pruned.add(recipe)
        else:
            idle, ties_turn = 0, ties_turn if better else not ties_turn
            _run_full(session, study, trial, recipe, targets, probe_epochs)
    if session.untried() and not _budget_left(session, probe_epochs):
        session.budget_exhausted = True


def is_student(recipe: TrainingRecipe) -> bool:
    """A distilled student (the recipe's only pass is distill): trained in full, never probed, since
    a student trained briefly from scratch says little, and every recipe of its width builds on it."""
    return recipe.width < 1.0 and parent_recipe(recipe).is_base


def _run_probed(session: Session, study, trial, recipe: TrainingRecipe, probe_epochs: int) -> bool:
    """Probe, let the pruner decide, then train in full; tell the study. False when pruned."""
    from optuna.trial import TrialState

    if not session.evaluate([recipe], epochs=probe_epochs):
        study.tell(trial, state=TrialState.FAIL)  # over budget
        return True
    trial.report(gain(session, recipe, optimism=PROBE_TOLERANCE), step=probe_epochs)
    trial.set_constraint("infeasible", _infeasibility(session, recipe))
    if trial.should_prune() or not session.evaluate([recipe]):
        study.tell(trial, state=TrialState.PRUNED)
        return False
    study.tell(trial, gain(session, recipe))
    return True


def _run_full(session: Session, study, trial, recipe: TrainingRecipe, targets: list[str], probe_epochs: int | None) -> None:
    from optuna.trial import TrialState

    if not session.evaluate([recipe]):
        study.tell(trial, state=TrialState.FAIL)  # over budget
        return
    trial.set_constraint("infeasible", _infeasibility(session, recipe))
    study.tell(trial, _score(session, recipe, targets, probe_epochs))


def _score(session: Session, recipe: TrainingRecipe, targets: list[str], probe_epochs: int | None):
    """What the study is told for a fully trained recipe: its gain, or one utility per target."""
    if probe_epochs:
        return gain(session, recipe)
    return [utility(session, target, _best_of(session, target, recipe)) for target in targets]


def _budget_left(session: Session, probe_epochs: int | None) -> bool:
    return any(session.affordable(recipe, probe_epochs) for recipe in session.untried())


def _distributions(session: Session) -> dict:
    """One Optuna distribution per training pass's search setting (a trial is a training recipe)."""
    space = session.spec.search.space
    return {setting.key: setting.distribution(getattr(space, setting.key)) for setting in TrainingRecipe.settings}


def _params(recipe: TrainingRecipe) -> dict:
    return recipe.config()


def _infeasibility(session: Session, recipe: TrainingRecipe) -> float:
    """Optuna's constraint (<= 0 is feasible): 0 when a candidate of the recipe fits some target."""
    best = [_best_of(session, target, recipe) for target in session.spec.targets]
    return 0.0 if any(entry is not None and entry.feasible for entry in best) else 1.0


# -- scores ------------------------------------------------------------------------------------

def promising_by_prediction(session: Session) -> list[TrainingRecipe]:
    """Untried recipes the analytic prediction says could help a target, most promising first:
    `prediction_picks`' better ones, then its ties."""
    better, ties = prediction_picks(session)
    return list(dict.fromkeys(better + ties))


def prediction_picks(session: Session) -> tuple[list[TrainingRecipe], list[TrainingRecipe]]:
    """(better, ties): untried recipes the analytic prediction says could help a target.

    A target with nothing feasible yet may be helped by any recipe it kept. A target ranked by a
    resource, by recipes predicted to use less of it than its incumbent, then by those predicted
    to tie it (same width and mode: only their accuracy, the tie-break, can differ). A target
    ranked by accuracy, by a wider model than its incumbent's (more capacity), of a width with
    nothing feasible yet and predicted to fit. The shallowest recipe of a width comes first.
    """
    better: list[TrainingRecipe] = []
    ties: set[TrainingRecipe] = set()
    for target, spec_target in session.spec.targets.items():
        metric, larger_is_better = OBJECTIVES[spec_target.objective]
        incumbent = session.best(target)
        untried = [c for c in session.kept_candidates(target) if c.training not in session.fidelity]
        if incumbent is not None and larger_is_better:
            # more capacity: a wider model than the incumbent's, of a width with nothing feasible
            # measured yet, predicted within every resource limit (not just the pre-filter's margin)
            served = {e.candidate.width for e in session.per_target[target].values() if e.feasible}
            wider = [c.training for c in untried if c.width > incumbent.candidate.width and c.width not in served
                     and _fits_strictly(session.predictions[c.id][target], spec_target.constraints)]
            better += _shallowest_per_width(wider)[-1:]  # the widest first
            continue
        bound = None if incumbent is None else session.predictions[incumbent.candidate.id][target][metric]
        # accuracy is never predicted: an accuracy objective with nothing feasible needs no bound
        predicted = {} if bound is None else {c: session.predictions[c.id][target][metric] for c in untried}
        better += _shallowest_per_width([c.training for c in untried if bound is None or predicted[c] < bound])
        ties |= {c.training for c in untried if bound is not None and predicted[c] == bound}
    # ties: the cheapest first, by the trainings they still need (ancestors this search has not trained)
    ordered_ties = sorted(ties, key=lambda recipe: (len(session.trainings_needed(recipe)), _cost_order(recipe)))
    better = list(dict.fromkeys(better))
    return better, [recipe for recipe in ordered_ties if recipe not in better]


def _fits_strictly(predicted: dict, constraints) -> bool:
    """The prediction is within every resource limit it covers (the pre-filter allows a margin)."""
    from edgeforge.cost.fits import judged_value
    from edgeforge.outputs import CONSTRAINT_METRICS
    from edgeforge.search.prefilter import RESOURCE_CONSTRAINTS

    for key in RESOURCE_CONSTRAINTS:
        limit = getattr(constraints, key)
        metric, scale, _ = CONSTRAINT_METRICS[key]
        if limit is not None and metric in predicted and judged_value(key, predicted, constraints) > limit:
            return False
    return True


def _shallowest_per_width(recipes: list[TrainingRecipe]) -> list[TrainingRecipe]:
    by_width: dict[float, TrainingRecipe] = {}
    for recipe in sorted(set(recipes), key=_cost_order):
        by_width.setdefault(recipe.width, recipe)
    return list(by_width.values())


def _cost_order(recipe: TrainingRecipe) -> tuple:
    return recipe_depth(recipe), recipe


def utility(session: Session, target: str, evaluated: Evaluated | None) -> float:
    """A number that orders a target's candidates as its objective does (higher is better).

    Feasible, accuracy objectives: the accuracy. Feasible, resource objectives: minus the
    resource relative to the largest predicted for the target, plus TIE_WEIGHT x accuracy (the
    objective's tie-break). Infeasible: below every feasible one, the closer to feasible the
    higher (-2 minus the relative excess over each limit missed). None (nothing measured): -3.
    """
    if evaluated is None or evaluated.metrics is None:
        return -3.0
    if not evaluated.feasible:
        return -2.0 - sum(check.excess for check in evaluated.checks)
    metric, larger_is_better = OBJECTIVES[session.spec.targets[target].objective]
    if larger_is_better:
        return evaluated.metrics[metric]
    reference = session.reference_value(target, metric)
    return -evaluated.metrics[metric] / reference + TIE_WEIGHT * evaluated.metrics["accuracy"]


def gain(session: Session, recipe: TrainingRecipe, optimism: float = 0.0) -> float:
    """How much the recipe improves the best of any target (negative: how far it is behind).

    `optimism` is added to the recipe's accuracies first: what a full training may still add.
    """
    gains = []
    for target in session.spec.targets:
        mine = _best_of(session, target, recipe, optimism)
        others = _best_excluding(session, target, recipe)
        gains.append(utility(session, target, mine) - utility(session, target, others))
    return max(gains, default=-1.0)


def _best_of(session: Session, target: str, recipe: TrainingRecipe, optimism: float = 0.0) -> Evaluated | None:
    entries = [e for e in session.per_target[target].values() if e.candidate.training == recipe]
    return _best(session, target, [session.with_optimism(e, target, optimism) for e in entries])


def _best_excluding(session: Session, target: str, recipe: TrainingRecipe) -> Evaluated | None:
    return _best(session, target, [e for e in session.per_target[target].values() if e.candidate.training != recipe])


def _best(session: Session, target: str, entries: list[Evaluated]) -> Evaluated | None:
    """The best feasible entry by the target's objective; else the closest to feasible."""
    objective = session.spec.targets[target].objective
    feasible = [e for e in entries if e.feasible]
    if feasible:
        return best_by_objective(feasible, objective)
    measured = [e for e in entries if e.metrics is not None]
    return max(measured, key=lambda e: utility(session, target, e), default=None)


def _import_optuna():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna
