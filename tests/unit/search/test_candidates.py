"""Candidates and training recipes: ids and configs that name build files and memo keys, parents, passes."""

from __future__ import annotations

import dataclasses
import pickle
from types import SimpleNamespace

import pytest

from edgeforge.search.candidates import Candidate, TrainingRecipe, enumerate_space, parent_recipe, recipe_passes
from edgeforge.search.strategies import _distributions, _params
from edgeforge.spec.models import Space


@pytest.mark.parametrize(
    ("candidate", "expected_id"),
    [
        (Candidate(), "w1-s0-c0-float32"),
        (Candidate(width=0.5, qat=True, quantization="int8"), "w0.5-s0-c0-qat-int8"),
        (Candidate(sparsity=0.5, clusters=16, quantization="int8"), "w1-s0.5-c16-int8"),
        (Candidate(width=0.25, sparsity=0.8, clusters=256, quantization="int16x8"), "w0.25-s0.8-c256-int16x8"),
    ],
)
def test_candidate_id_is_stable(candidate, expected_id):
    assert candidate.id == expected_id


def test_recipe_id_and_config_are_the_candidate_without_its_conversion():
    candidate = Candidate(width=0.5, sparsity=0.5, clusters=16, qat=True, quantization="int8")
    assert candidate.training == TrainingRecipe(width=0.5, sparsity=0.5, clusters=16, qat=True)
    assert candidate.training.id == "w0.5-s0.5-c16-qat"
    assert candidate.config() == {"width": 0.5, "sparsity": 0.5, "clusters": 16, "qat": True, "quantization": "int8"}
    assert candidate.training.config() == {"width": 0.5, "sparsity": 0.5, "clusters": 16, "qat": True}


def test_candidate_is_a_frozen_hashable_ordered_value():
    candidate = Candidate(sparsity=0.5, quantization="int8")
    assert Candidate(**candidate.config()) == candidate
    assert {candidate, Candidate(sparsity=0.5, quantization="int8")} == {candidate}
    assert sorted([Candidate(width=0.5), Candidate(quantization="int8"), Candidate()]) == [
        Candidate(width=0.5), Candidate(), Candidate(quantization="int8")
    ]
    assert pickle.loads(pickle.dumps(candidate)) == candidate  # the Dask executor ships them
    with pytest.raises(dataclasses.FrozenInstanceError):
        candidate.width = 0.5  # type: ignore[misc]
    assert candidate != candidate.training


def test_only_the_all_off_recipe_is_base():
    assert TrainingRecipe().is_base
    assert not TrainingRecipe(width=0.5).is_base
    assert not TrainingRecipe(qat=True).is_base


def test_parent_recipe_drops_the_last_pass_that_runs():
    recipe = TrainingRecipe(width=0.5, sparsity=0.5, clusters=16, qat=True)
    chain = [recipe]
    while not chain[-1].is_base:
        chain.append(parent_recipe(chain[-1]))
    assert [r.id for r in chain] == ["w0.5-s0.5-c16-qat", "w0.5-s0.5-c16", "w0.5-s0.5-c0", "w0.5-s0-c0", "w1-s0-c0"]
    assert parent_recipe(TrainingRecipe()) == TrainingRecipe()


def test_recipe_passes_are_the_training_passes_with_distillation_settings():
    recipe = TrainingRecipe(width=0.5, clusters=16, qat=True)
    assert recipe_passes(recipe, {"temperature": 2.0, "soft_weight": 0.5}) == [
        ("distill", {"width": 0.5, "temperature": 2.0, "soft_weight": 0.5}),
        ("cluster", {"clusters": 16}),
        ("qat", {"preserve": "clusters"}),
    ]
    assert recipe_passes(TrainingRecipe()) == []


def test_enumerate_space_pairs_qat_only_with_int8_and_sorts_by_recipe():
    space = Space(width=[1.0, 0.5], qat=[False, True], quantization=["float32", "int8"])
    assert [c.id for c in enumerate_space(space)] == [
        "w0.5-s0-c0-float32",
        "w0.5-s0-c0-int8",
        "w0.5-s0-c0-qat-int8",
        "w1-s0-c0-float32",
        "w1-s0-c0-int8",
        "w1-s0-c0-qat-int8",
    ]


def test_distributions_cover_the_training_settings_and_params_round_trip():
    space = Space(width=[1.0, 0.5], sparsity=[0.5, 0.0], clusters=[16, 0], qat=[True, False], quantization=["int8"])
    distributions = _distributions(SimpleNamespace(spec=SimpleNamespace(search=SimpleNamespace(space=space))))
    assert {key: d.choices for key, d in distributions.items()} == {
        "width": (0.5, 1.0),
        "sparsity": (0.0, 0.5),
        "clusters": (0, 16),
        "qat": (False, True),
    }
    recipe = TrainingRecipe(width=0.5, qat=True)
    assert TrainingRecipe(**_params(recipe)) == recipe
