"""A model's .tflite bytes depend on its recipe only, never on what the process built before.

Keras names unnamed layers from a per-process counter ("dense", then "dense_5"), and layer names
end up in TFLite tensor names: a search that resumes, or rebuilds part of a deleted memo, builds a
model after other models, and must still produce the bytes of a first build.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from edgeforge.models import ARCHITECTURES, build_model
from edgeforge.models.factory import build_from_factory
from edgeforge.models.registry import INPUT_RANKS

# A shape each architecture takes: an image (H, W, C), or a time series (T, C) for 1-D-only ones.
IMAGE_SHAPE = (16, 16, 3)
SERIES_SHAPE = (40, 4)
CLASSES = 4

AUTO_NAMED_FACTORY = """
import tf_keras as keras


def build(input_shape, num_classes, width=1.0, dropout=0.0):
    layers = keras.layers
    return keras.Sequential([
        layers.Input(shape=input_shape),
        layers.Conv2D(max(2, int(8 * width)), 3, activation="relu"),
        layers.Flatten(),
        layers.Dropout(dropout),
        layers.Dense(num_classes),
        layers.Softmax(),
    ])
"""


def build_other_models() -> None:
    """What a process may have built before: auto-named models of the usual layer kinds."""
    from edgeforge.tfcompat import import_tf

    _, keras = import_tf()
    layers = keras.layers
    for _ in range(2):
        keras.Sequential([
            layers.Input(shape=IMAGE_SHAPE), layers.Conv2D(2, 3), layers.DepthwiseConv2D(3), layers.MaxPooling2D(),
            layers.GlobalAveragePooling2D(), layers.Dropout(0.1), layers.Dense(CLASSES), layers.Softmax(),
        ])
        keras.Sequential([layers.Input(shape=SERIES_SHAPE), layers.Conv1D(2, 3), layers.Flatten(), layers.Dense(CLASSES)])


def float_tflite(model) -> bytes:
    from edgeforge.passes.ptq import PostTrainingQuantization

    return PostTrainingQuantization({"mode": "float32"}).convert(model, np.zeros((1, *model.input_shape[1:]), np.float32))


def seeded(build):
    from edgeforge.tfcompat import seed_everything

    seed_everything(0)
    return build()


def shape_for(name: str) -> tuple[int, ...]:
    ranks = INPUT_RANKS[name]
    return IMAGE_SHAPE if ranks is None or 3 in ranks else SERIES_SHAPE


def weight_names(model) -> list[str]:
    """Layer and variable names: what reaches the tensor names of a converted model and the HDF5 file."""
    return [layer.name for layer in model.layers] + [weight.name for weight in model.weights]


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_an_architecture_names_its_layers_alike_after_other_models_were_built(name):
    first = build_model(name, shape_for(name), CLASSES, width=0.5)
    build_other_models()
    assert weight_names(build_model(name, shape_for(name), CLASSES, width=0.5)) == weight_names(first)


@pytest.mark.parametrize(("name", "shape"), [("tiny_cnn", IMAGE_SHAPE), ("ds_cnn", SERIES_SHAPE)])
def test_an_architecture_converts_to_the_same_bytes_after_other_models_were_built(name, shape):
    def build():
        return build_model(name, shape, CLASSES, width=0.5)

    first_bytes = float_tflite(seeded(build))
    build_other_models()
    assert float_tflite(seeded(build)) == first_bytes


def test_a_user_factory_with_auto_named_layers_converts_to_the_same_bytes_after_other_models(tmp_path, monkeypatch):
    (tmp_path / "autonamed_net.py").write_text(textwrap.dedent(AUTO_NAMED_FACTORY))
    monkeypatch.syspath_prepend(str(tmp_path))

    def build():
        return build_from_factory("autonamed_net:build", IMAGE_SHAPE, CLASSES, width=1.0, dropout=0.0, root=tmp_path)

    first = seeded(build)
    first_bytes = float_tflite(first)
    build_other_models()
    again = seeded(build)
    # the names a first build in a new process gets: Keras's own, counted from zero
    assert [layer.name for layer in again.layers] == ["conv2d", "flatten", "dropout", "dense", "softmax"]
    assert [layer.name for layer in first.layers] == [layer.name for layer in again.layers]
    assert float_tflite(again) == first_bytes
