"""Where the project template (specs/, dvc.yaml, ...) lives: in the wheel, or in a source checkout."""

from __future__ import annotations

from pathlib import Path

TEMPLATE_FILES = ("specs", "dvc.yaml", "params.yaml")


def project_template() -> Path:
    packaged = Path(__file__).parent / "_project_template"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent  # source checkout: the repo is itself a project


# The module `edgeforge init --model-factory pkg.module:function` writes: a small tf_keras model for
# any sample shape, to edit into your own. str.format fills in the function's name.
STARTER_FACTORY = '''"""Your model: edgeforge calls {function}(input_shape, num_classes, width=, dropout=).

It is `model.factory` in {spec}; editing this file retrains the base model (dvc.yaml's train
stage depends on it). The search calls it again with width < 1.0 for the smaller students it
distills, so scale every layer's channels by `width`.
"""

import tf_keras as keras  # not `keras` (Keras 3): TF-MOT, which prunes, clusters and quantizes, needs tf_keras


def {function}(input_shape, num_classes, width=1.0, dropout=0.0):
    layers = keras.layers
    channels = max(2, int(16 * width))
    if len(input_shape) == 3:  # images or spectrograms: (H, W, C)
        body = [layers.Conv2D(channels, 3, padding="same", activation="relu", name="conv_1"),
                layers.Conv2D(2 * channels, 3, padding="same", activation="relu", name="conv_2"),
                layers.GlobalAveragePooling2D(name="pool")]
    elif len(input_shape) == 2:  # time series: (T, C)
        body = [layers.Conv1D(channels, 5, padding="same", activation="relu", name="conv_1"),
                layers.Conv1D(2 * channels, 5, padding="same", activation="relu", name="conv_2"),
                layers.GlobalAveragePooling1D(name="pool")]
    else:  # tables: (F,)
        body = [layers.Flatten(name="flatten"), layers.Dense(4 * channels, activation="relu", name="hidden")]
    # Fixed layer names keep the converted model's bytes independent of what else the process built.
    return keras.Sequential(
        [layers.Input(shape=input_shape, name="input"), *body,
         layers.Dropout(dropout, name="dropout"),
         layers.Dense(num_classes, name="dense"),
         layers.Softmax(name="softmax")],  # distillation reads the logits before it
        name="{function}",
    )
'''


def starter_factory(function: str, spec: str) -> str:
    """The starter module's source for `function`, named in the model spec file `spec`."""
    return STARTER_FACTORY.format(function=function, spec=spec)
