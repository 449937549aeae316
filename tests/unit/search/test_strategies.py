"""Strategies on a synthetic landscape: a fake evaluator whose accuracies and costs are a table,
so what each strategy trains, at which fidelity and within which budget is checked in milliseconds."""

from __future__ import annotations

import pytest

from edgeforge.search.candidates import Candidate
from edgeforge.search.candidates import enumerate_space
from edgeforge.search.session import Session, targets_for
from edgeforge.search.candidates import parent_recipe
from edgeforge.search.evaluator import Stats
from edgeforge.search.executors import LocalExecutor
from edgeforge.search.prefilter import Prefilter
from edgeforge.search.strategies import (
    AUTO_EXHAUSTIVE_MAX_RECIPES,
    DEFAULT_TRAINING_SHARE,
    PROBE_EPOCHS,
    resolve_strategy,
    run_strategy,
)
from tests.unit.search.helpers import FULL_SPACE, quick_spec

FULL_EPOCHS = 4
LATENCY_MS = {"float32": 2.0, "float16": 2.0, "dynamic": 1.5, "int16x8": 1.0, "int8": 0.5}


class FakeEvaluator:
    """The Evaluator interface the search uses, over a table of accuracies."""

    def __init__(self, spec, accuracy_of):
        self.spec = spec
        self.accuracy_of = accuracy_of  # (recipe, fidelity) -> accuracy
        self.stats = Stats()
        self.trained_models: set = set()

    def fidelity(self, epochs):
        return epochs or FULL_EPOCHS

    def has_trained(self, recipe, epochs=None):
        return recipe.is_base or (recipe, self.fidelity(epochs)) in self.trained_models

    def _train(self, recipe, epochs):
        if recipe.is_base or (recipe, self.fidelity(epochs)) in self.trained_models:
            return
        self._train(parent_recipe(recipe), None)
        self.trained_models.add((recipe, self.fidelity(epochs)))
        self.stats.trained += 1
        self.stats.train_epochs[f"{recipe.id}@{self.fidelity(epochs)}"] = self.fidelity(epochs)

    def converted(self, candidate, epochs=None):
        self._train(candidate.training, epochs)
        return repr((candidate, self.fidelity(epochs))).encode(), {}

    def reference(self):
        return self.converted(Candidate())[0], "tflite"

    def measured(self, model_bytes, runtime):
        return {"accuracy": 0.96}

    def measured_for(self, candidate, runtime, epochs=None):
        self.converted(candidate, epochs)
        return {"accuracy": 0.96, "accuracy_runtime": runtime}

    def target_metrics(self, candidate, target, base_accuracy, epochs=None):
        self._train(candidate.training, epochs)
        level = 0 if candidate.training.is_base else self.fidelity(epochs)
        accuracy = self.accuracy_of(candidate, level)
        latency_ms = LATENCY_MS[candidate.quantization] * candidate.width
        return {
            "accuracy": accuracy, "accuracy_drop": round(base_accuracy - accuracy, 6), "latency_ms": latency_ms,
            "arena_bytes": 4096, "ram_bytes": 4096, "flash_bytes": 90_000, "model_bytes": 9000, "energy_mj": latency_ms / 10,
            "epochs": level,
        }


def planted(best_recipe_id: str, best_accuracy: float = 0.99):
    """Accuracy 0.96 everywhere (probes 0.005 lower), except one recipe that is better."""
    def accuracy_of(candidate, level):
        accuracy = best_accuracy if candidate.training.id == best_recipe_id else 0.96
        return accuracy - (0.005 if 0 < level < FULL_EPOCHS else 0.0)
    return accuracy_of


def make_session(accuracy_of, space=None, **search) -> Session:
    spec = quick_spec(space=space or FULL_SPACE, finetune_epochs=FULL_EPOCHS, **search)
    evaluator = FakeEvaluator(spec, accuracy_of)
    candidates = enumerate_space(spec.search.space)
    kept = {name: [c for c in candidates if name in targets_for(spec, c)] for name in spec.targets}
    predictions = {
        c.id: {name: {"latency_ms": LATENCY_MS[c.quantization] * c.width, "flash_bytes": 90_000, "arena_bytes": 4096, "ram_bytes": 4096,
                      "energy_mj": 0.1, "model_bytes": 9000} for name in spec.targets}
        for c in candidates
    }
    return Session(evaluator, Prefilter(predictions, kept, {}), LocalExecutor(evaluator))


def trained_fidelities(session: Session) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for recipe, level in session.evaluator.trained_models:
        found.setdefault(recipe.id, set()).add(level)
    return found


def test_exhaustive_trains_every_recipe_once_in_full_and_scores_every_candidate_on_every_target():
    session = make_session(planted("w1-s0-c16"))
    run_strategy("exhaustive", session)
    assert session.evaluator.stats.trained == 15  # 16 recipes, the base needs none
    assert all(levels == {FULL_EPOCHS} for levels in trained_fidelities(session).values())
    for name, kept in session.kept.items():
        assert set(session.per_target[name]) == kept
    assert session.best("sbc").candidate.training.id == "w1-s0-c16"


def test_multi_fidelity_stays_within_its_default_share_of_the_trainings():
    session = make_session(planted("w1-s0-c16"))
    run_strategy("multi_fidelity", session)
    assert session.evaluator.stats.trained <= -(-15 * DEFAULT_TRAINING_SHARE // 1)
    assert session.budget_exhausted


def test_multi_fidelity_probes_before_training_in_full_and_trains_in_full_only_what_survives():
    session = make_session(planted("w1-s0-c16"))
    run_strategy("multi_fidelity", session)
    fidelities = trained_fidelities(session)
    assert any(PROBE_EPOCHS in levels for levels in fidelities.values())
    for recipe_id, levels in fidelities.items():
        children_trained = any(parent_recipe(r).id == recipe_id for r, _ in session.evaluator.trained_models)
        assert PROBE_EPOCHS in levels or children_trained, recipe_id  # full only after a probe, or as a parent
    for name, evaluations in session.per_target.items():
        for evaluated in evaluations.values():
            assert evaluated.metrics["epochs"] in (0, PROBE_EPOCHS, FULL_EPOCHS)


def test_base_variants_are_scored_first_without_any_training():
    session = make_session(planted("w1-s0-c16"), budget={"max_trainings": 1})
    session.max_trainings = 0
    run_strategy("multi_fidelity", session)
    assert session.evaluator.stats.trained == 0
    assert {e.candidate.training.id for e in session.per_target["sbc"].values()} == {"w1-s0-c0"}


@pytest.mark.parametrize("strategy", ["exhaustive", "multi_fidelity", "tpe"])
def test_every_strategy_respects_max_trainings(strategy):
    session = make_session(planted("w0.5-s0.5-c16-qat"), budget={"max_trainings": 3})
    run_strategy(strategy, session)
    assert session.evaluator.stats.trained <= 3


@pytest.mark.parametrize("strategy", ["multi_fidelity", "tpe"])
def test_optuna_strategies_decide_the_same_with_a_warm_memo(strategy):
    first = make_session(planted("w1-s0-c16"))
    run_strategy(strategy, first)
    again = make_session(planted("w1-s0-c16"))
    again.evaluator.trained_models = set(first.evaluator.trained_models)  # everything is a memo hit
    run_strategy(strategy, again)
    assert again.evaluator.stats.trained == 0
    assert {n: set(e) for n, e in again.per_target.items()} == {n: set(e) for n, e in first.per_target.items()}


def test_a_resource_objective_tries_the_recipe_predicted_to_beat_it_first():
    session = make_session(planted("w1-s0-c16"), budget={"max_trainings": 1})
    run_strategy("multi_fidelity", session)
    assert [r.id for r, _ in session.evaluator.trained_models] == ["w0.5-s0-c0"]  # narrower: lower latency


def test_auto_is_exhaustive_for_small_spaces_and_multi_fidelity_above():
    small = make_session(planted("w1-s0.5-c0"), space={**FULL_SPACE, "width": [1.0], "clusters": [0], "qat": [False]})
    assert len(small.recipes) - 1 <= AUTO_EXHAUSTIVE_MAX_RECIPES
    assert resolve_strategy("auto", small) == "exhaustive"
    assert resolve_strategy("auto", make_session(planted("w1-s0.5-c0"))) == "multi_fidelity"
    assert resolve_strategy("tpe", small) == "tpe"


def test_candidates_the_prefilter_dropped_are_never_trained():
    session = make_session(planted("w1-s0-c16"))
    drop = {c.id for c in session.kept_candidates("mcu")} | {c.id for c in session.kept_candidates("sbc")}
    drop = {cid for cid in drop if "-s0.5-" in cid}
    for name in session.kept:
        session.kept[name] -= drop
    session.candidates_by_recipe = {
        r: cs for r, cs in session.candidates_by_recipe.items() if r.sparsity == 0.0
    }
    session.recipes = [r for r in session.recipes if r.sparsity == 0.0]
    run_strategy("exhaustive", session)
    assert all(recipe.sparsity == 0.0 for recipe, _ in session.evaluator.trained_models)
    assert Candidate(sparsity=0.5, quantization="int8").id not in session.per_target["mcu"]


def test_a_probe_is_scored_in_one_ptq_mode_per_target():
    session = make_session(planted("w1-s0-c16"), budget={"max_trainings": 5})  # room to prune a probe
    run_strategy("multi_fidelity", session)
    probed_only = {recipe for recipe, level in session.fidelity.items() if level == PROBE_EPOCHS}
    assert probed_only
    for name, evaluations in session.per_target.items():
        for recipe in probed_only:
            assert len([e for e in evaluations.values() if e.candidate.training == recipe]) <= 1


def test_a_deep_recipe_costs_its_untrained_ancestors_too():
    session = make_session(planted("w1-s0-c16"))
    deep = next(r for r in session.recipes if r.id == "w0.5-s0.5-c16-qat")
    assert len(session.trainings_needed(deep)) == 4  # distill, prune, cluster, qat
    assert len(session.trainings_needed(deep, PROBE_EPOCHS)) == 4  # ancestors in full, itself briefly
    session.evaluate([parent_recipe(deep)])
    assert session.trainings_needed(deep, PROBE_EPOCHS) == {(deep, PROBE_EPOCHS)}


def make_session_after(first: Session, **session) -> Session:
    """A new search over the same memo as `first` (its trained models are memo hits)."""
    second = make_session(planted("w1-s0-c16"), **session)
    second.evaluator.trained_models = set(first.evaluator.trained_models)
    return second


def test_a_constraint_edit_inside_the_explored_region_replays_it_and_trains_nothing():
    first = make_session(planted("w1-s0-c16"))
    run_strategy("multi_fidelity", first)
    assert first.evaluator.stats.trained > 0
    second = make_session_after(first, constraints={"sbc": {"latency_ms": 1.5}, "mcu": {"latency_ms": 1.9}})
    assert run_strategy("multi_fidelity", second, explored=first.history) == {}
    assert second.evaluator.stats.trained == 0
    assert second.best_selectable("sbc").metrics["latency_ms"] <= 1.5


def test_the_same_spec_replays_to_the_same_evaluations():
    first = make_session(planted("w1-s0-c16"))
    run_strategy("multi_fidelity", first)
    second = make_session_after(first)
    run_strategy("multi_fidelity", second, explored=first.history)
    assert second.evaluator.stats.trained == 0
    for name in first.per_target:
        assert {cid: e.metrics for cid, e in second.per_target[name].items()} == \
               {cid: e.metrics for cid, e in first.per_target[name].items()}


def test_a_constraint_no_explored_candidate_meets_searches_a_new_region_and_says_why():
    first = make_session(planted("w1-s0-c16"))
    run_strategy("multi_fidelity", first)
    second = make_session_after(first, constraints={"sbc": {"latency_ms": 0.01}})
    new_region = run_strategy("multi_fidelity", second, explored=first.history)
    assert set(new_region) == {"sbc"}
    assert "none of the" in new_region["sbc"] and "latency_ms" in new_region["sbc"] and "new region" in new_region["sbc"]
