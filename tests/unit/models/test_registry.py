"""The architecture registry (edgeforge/models): every architecture builds at any width from the
input's rank (Conv1D for (T, C), Conv2D for (H, W, C)), and the train stage's output is read back
with a clear error when it is missing."""

from __future__ import annotations

import numpy as np
import pytest

from edgeforge.errors import BuildError, UserError
from edgeforge.models import ARCHITECTURES, build_model, scaled
from edgeforge.models.registry import INPUT_RANKS, input_problem
from edgeforge.models.training import load_base_model

DIGITS_SHAPE = (8, 8, 1)
DIGITS_CLASSES = 10
MOTION_SHAPE = (128, 3)  # 128 steps of a 3-axis accelerometer


def test_architectures_are_the_ones_the_spec_accepts():
    from typing import get_args

    from edgeforge.spec.models import ModelName

    assert set(ARCHITECTURES) == set(get_args(ModelName))


def buildable(classifiers_only: bool = False) -> list:
    """(name, shape) pairs the registry builds: every architecture at each shape it takes (the
    MLPerf models at their reference shapes are in test_mlperf.py)."""
    regressors = {"fc_autoencoder"} if classifiers_only else set()
    return [
        pytest.param(name, shape, id=f"{name}-{kind}")
        for name in sorted(set(ARCHITECTURES) - regressors)
        for kind, shape in (("image", DIGITS_SHAPE), ("time_series", MOTION_SHAPE))
        if not input_problem(name, shape)
    ]


@pytest.mark.parametrize(("name", "shape"), buildable(classifiers_only=True))
def test_build_model_gives_class_probabilities(name, shape):
    model = build_model(name, shape, DIGITS_CLASSES)
    assert model.name == name
    scores = model.predict(np.zeros((2, *shape), np.float32), verbose=0)
    assert scores.shape == (2, DIGITS_CLASSES)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize(("name", "shape"), buildable())
def test_build_model_has_fewer_params_at_half_width(name, shape):
    full = build_model(name, shape, DIGITS_CLASSES, width=1.0).count_params()
    half = build_model(name, shape, DIGITS_CLASSES, width=0.5).count_params()
    assert half < full


@pytest.mark.parametrize(
    ("name", "shape", "layers"),
    [
        ("tiny_cnn", DIGITS_SHAPE, ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dropout", "Dense", "Softmax"]),
        ("tiny_cnn", MOTION_SHAPE, ["Conv1D", "MaxPooling1D", "Conv1D", "MaxPooling1D", "Flatten", "Dropout", "Dense", "Softmax"]),
        ("ds_cnn", DIGITS_SHAPE, ["Conv2D", "DepthwiseConv2D", "Conv2D", "DepthwiseConv2D", "Conv2D", "GlobalAveragePooling2D",
                                  "Dropout", "Dense", "Softmax"]),
        ("ds_cnn", MOTION_SHAPE, ["Conv1D", "SeparableConv1D", "SeparableConv1D", "GlobalAveragePooling1D", "Dropout",
                                  "Dense", "Softmax"]),
    ],
)
def test_build_model_picks_convolutions_by_the_input_rank(name, shape, layers):
    assert [type(layer).__name__ for layer in build_model(name, shape, DIGITS_CLASSES).layers] == layers


def test_build_model_keeps_the_digits_models_weights():
    """The 2-D architectures are what they were before 1-D support: same seed, same weights."""
    import hashlib

    from edgeforge.tfcompat import seed_everything

    digests = {}
    for name in ("tiny_cnn", "ds_cnn", "mlp"):
        seed_everything(0)
        digest = hashlib.sha256()
        for array in build_model(name, DIGITS_SHAPE, DIGITS_CLASSES).get_weights():
            digest.update(array.tobytes())
        digests[name] = digest.hexdigest()[:16]
    assert digests == {"tiny_cnn": "77b75ca88abbf409", "ds_cnn": "3f39b85f7885d911", "mlp": "2afc8908eb0f1f00"}


def test_build_model_refuses_a_shape_its_convolutions_cannot_take():
    with pytest.raises(UserError, match=r"model\.name: model 'tiny_cnn' takes samples shaped \(T, C\) or \(H, W, C\), the data's are \(64,\); use model=mlp"):
        build_model("tiny_cnn", (64,), 3)
    assert input_problem("mlp", (64,)) is None and input_problem("ds_cnn", (128, 3)) is None
    assert set(INPUT_RANKS) == set(ARCHITECTURES)


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
