"""The models the training passes return (distillation's students, TF-MOT's wrapped models) carry the
same layer names, and so the same saved and converted bytes, however many models the process built
before: a resumed search, or one rebuilding part of a deleted memo, must reproduce a first build."""

from __future__ import annotations

import dataclasses

import pytest

from edgeforge.passes.base import TrainContext
from tests.unit.models.test_layer_names import build_other_models


@pytest.fixture(scope="module")
def small_context(digits) -> TrainContext:
    few = dataclasses.replace(digits, x_train=digits.x_train[:256], y_train=digits.y_train[:256])
    return TrainContext(splits=few, teacher=None, epochs=1, batch_size=128, learning_rate=0.001, seed=0)


def run_pass(digits, context, name: str, options: dict):
    from edgeforge.models import build_model
    from edgeforge.passes import PASSES
    from edgeforge.tfcompat import seed_everything

    seed_everything(0)
    base = build_model("tiny_cnn", digits.input_shape, digits.num_classes)
    return PASSES[name](options).apply(base, context)


@pytest.mark.parametrize(("name", "options"), [("distill", {"width": 0.5}), ("qat", {"preserve": "none"})])
def test_a_pass_gives_the_same_bytes_after_other_models_were_built(digits, small_context, tmp_path, name, options):
    from edgeforge.passes.io import save_trained
    from edgeforge.passes.ptq import PostTrainingQuantization

    first = run_pass(digits, small_context, name, options)
    build_other_models()
    again = run_pass(digits, small_context, name, options)
    assert [layer.name for layer in again.layers] == [layer.name for layer in first.layers]
    save_trained(first, tmp_path / "first.h5")
    save_trained(again, tmp_path / "again.h5")
    assert (tmp_path / "again.h5").read_bytes() == (tmp_path / "first.h5").read_bytes()  # the memo's file
    if name == "distill":  # a QAT model's input layer name does not reach the .tflite; a student's names do
        convert = PostTrainingQuantization({"mode": "float32"}).convert
        assert convert(again, digits.x_train) == convert(first, digits.x_train)
