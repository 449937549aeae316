"""Seeded augmentation of training batches: flips, shifts and noise, the same for the same seed,
checked against the samples' shape, and a base model trained with it bit-reproducible."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from edgeforge.errors import UserError
from edgeforge.models.augmentation import augment_batch, augmented_batches, check_augmentation, fit_data
from edgeforge.spec.models import Augmentation, ModelSpec, Train


def test_a_flip_mirrors_images_left_right():
    images = np.arange(2 * 2 * 3 * 1, dtype=np.float32).reshape(2, 2, 3, 1)
    flipped = augment_batch(images, Augmentation(flip=True), np.random.default_rng(1))
    for original, out in zip(images, flipped):
        assert np.array_equal(out, original) or np.array_equal(out, original[:, ::-1])
    many = augment_batch(np.repeat(images[:1], 64, axis=0), Augmentation(flip=True), np.random.default_rng(0))
    mirrored = sum(np.array_equal(out, images[0, :, ::-1]) for out in many)
    assert 16 < mirrored < 48  # about half


def test_a_shift_moves_a_time_series_and_fills_zeros():
    series = np.ones((32, 20, 2), np.float32)
    shifted = augment_batch(series, Augmentation(shift=0.2), np.random.default_rng(0))  # up to 4 steps
    zero_steps = (shifted == 0).all(axis=2).sum(axis=1)
    assert zero_steps.max() <= 4 and zero_steps.max() > 0
    assert ((shifted == 0) | (shifted == 1)).all()  # moved, never rescaled
    assert (shifted[:, :, 0] == shifted[:, :, 1]).all()  # the channels move together


def test_noise_changes_values_and_the_input_is_left_alone():
    x = np.zeros((4, 8, 8, 1), np.float32)
    noisy = augment_batch(x, Augmentation(noise=0.1), np.random.default_rng(0))
    assert 0.05 < noisy.std() < 0.15 and (x == 0).all()


def test_the_same_seed_gives_the_same_batches_and_another_seed_others():
    x = np.random.default_rng(0).normal(size=(10, 6, 6, 1)).astype(np.float32)
    y = np.arange(10)
    settings = Augmentation(flip=True, shift=0.2, noise=0.05)

    def first(seed: int, count: int = 7):
        stream = augmented_batches(x, y, 4, settings, seed)
        return [next(stream) for _ in range(count)]  # past one epoch (3 batches): the next epoch's order

    for (xa, ya), (xb, yb) in zip(first(3), first(3)):
        assert np.array_equal(xa, xb) and np.array_equal(ya, yb)
    assert not all(np.array_equal(xa, xb) for (xa, _), (xb, _) in zip(first(3), first(4)))
    epoch = first(3, 3)
    assert sorted(np.concatenate([labels for _, labels in epoch]).tolist()) == list(range(10))  # every sample once


def test_no_augmentation_fits_the_arrays_as_they_are():
    x, y = np.zeros((5, 3, 2), np.float32), np.zeros(5, int)
    for off in (None, Augmentation()):
        data = fit_data(x, y, 2, off, seed=0)
        assert data["x"] is x and data["y"] is y and data["batch_size"] == 2
    assert fit_data(x, y, 2, Augmentation(noise=0.1), seed=0)["steps_per_epoch"] == 3


def test_a_flip_of_a_time_series_is_a_one_line_error_naming_the_key():
    with pytest.raises(UserError, match=r"specs/config.yaml: train.augmentation.flip: .* the samples are \(128, 3\)"):
        check_augmentation(Augmentation(flip=True), (128, 3), "specs/config.yaml")
    check_augmentation(Augmentation(shift=0.1), (128, 3))  # shifts work on any shape


def test_augmentation_settings_are_bounded():
    with pytest.raises(ValidationError):
        Augmentation(shift=0.5)
    with pytest.raises(ValidationError):
        Augmentation(noise=-1)
    assert Train(epochs=1).augmentation is None  # off by default


def test_training_with_augmentation_is_bit_reproducible_and_differs_from_training_without(digits):
    from edgeforge.models.training import train_base

    model_spec = ModelSpec(name="tiny_cnn", factory_file="specs/model/tiny_cnn.yaml", weights_file="specs/model/tiny_cnn.yaml")
    augmented = Train(epochs=1, batch_size=128, augmentation=Augmentation(shift=0.125, noise=0.05))

    def weights(train: Train) -> list[np.ndarray]:
        model, _ = train_base(model_spec, train, digits, seed=0)
        return model.get_weights()

    first, second = weights(augmented), weights(augmented)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    plain = weights(Train(epochs=1, batch_size=128))
    assert not all(np.array_equal(a, b) for a, b in zip(first, plain))


def test_augmentation_is_a_spec_key_refused_for_an_autoencoder(tmp_project):
    from edgeforge.errors import SpecError
    from edgeforge.spec import compose_spec

    spec, _ = compose_spec("specs", ["+train.augmentation.shift=0.1"])
    assert spec.train.augmentation == Augmentation(shift=0.1)
    anomaly = [
        "+model.task=anomaly_detection", "search.space.width=[1.0]", "~targets.mcu.constraints.min_accuracy",
        "~targets.sbc.constraints.max_accuracy_drop", "targets.sbc.objective=min_latency", "+train.augmentation.noise=0.1",
    ]
    with pytest.raises(SpecError, match="train.augmentation: augments the inputs of a classifier"):
        compose_spec("specs", anomaly)


def test_fine_tunes_augment_their_batches_reproducibly(digits):
    from edgeforge.models import build_model
    from edgeforge.passes import TrainContext
    from edgeforge.passes.finetune import clone_with_weights, fine_tune
    from edgeforge.tfcompat import seed_everything

    seed_everything(0)
    start = build_model("tiny_cnn", digits.input_shape, digits.num_classes)

    def tuned(augmentation) -> list[np.ndarray]:
        seed_everything(0)
        model = clone_with_weights(start)
        context = TrainContext(splits=digits, teacher=None, epochs=1, batch_size=128, learning_rate=0.003, seed=0,
                               augmentation=augmentation)
        fine_tune(model, context)
        return model.get_weights()

    shifted = Augmentation(shift=0.125)
    first, second, plain = tuned(shifted), tuned(shifted), tuned(None)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert not all(np.array_equal(a, b) for a, b in zip(first, plain))
