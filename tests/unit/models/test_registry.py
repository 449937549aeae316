"""The architecture registry (edgeforge/models): every architecture builds at any width, and the
train stage's output is read back with a clear error when it is missing."""

from __future__ import annotations

import numpy as np
import pytest

from edgeforge.errors import BuildError
from edgeforge.models import ARCHITECTURES, build_model, scaled
from edgeforge.models.training import load_base_model

DIGITS_SHAPE = (8, 8, 1)
DIGITS_CLASSES = 10


def test_architectures_are_the_ones_the_spec_accepts():
    from typing import get_args

    from edgeforge.spec.models import ModelSpec

    assert set(ARCHITECTURES) == set(get_args(ModelSpec.model_fields["name"].annotation))


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_build_model_gives_class_probabilities_for_digits(name):
    model = build_model(name, DIGITS_SHAPE, DIGITS_CLASSES)
    assert model.name == name
    scores = model.predict(np.zeros((2, *DIGITS_SHAPE), np.float32), verbose=0)
    assert scores.shape == (2, DIGITS_CLASSES)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_build_model_has_fewer_params_at_half_width(name):
    full = build_model(name, DIGITS_SHAPE, DIGITS_CLASSES, width=1.0).count_params()
    half = build_model(name, DIGITS_SHAPE, DIGITS_CLASSES, width=0.5).count_params()
    assert half < full


def test_build_model_is_deterministic_when_seeded():
    from edgeforge.tfcompat import seed_everything

    weights = []
    for _ in range(2):
        seed_everything(0)
        weights.append(build_model("tiny_cnn", DIGITS_SHAPE, DIGITS_CLASSES).get_weights())
    for first, second in zip(*weights):
        np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize(("channels", "width", "expected"), [(16, 1.0, 16), (16, 0.5, 8), (32, 0.3, 10), (16, 0.01, 2)])
def test_scaled_rounds_up_and_keeps_at_least_two_channels(channels, width, expected):
    assert scaled(channels, width) == expected


def test_load_base_model_says_to_run_train_when_missing(tmp_path):
    with pytest.raises(BuildError, match=r"model\.h5: base model missing; run `dvc repro train`"):
        load_base_model(tmp_path / "build" / "base" / "model.h5")


@pytest.mark.filterwarnings("ignore:You are saving your model as an HDF5 file")
def test_load_base_model_reads_what_the_train_stage_saves(tmp_path):
    from edgeforge.tfcompat import seed_everything

    seed_everything(0)
    model = build_model("mlp", DIGITS_SHAPE, DIGITS_CLASSES, width=0.25)
    model.save(tmp_path / "model.h5")
    loaded = load_base_model(tmp_path / "model.h5")
    x = np.random.default_rng(0).random((3, *DIGITS_SHAPE), dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
