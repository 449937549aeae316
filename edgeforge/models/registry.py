from __future__ import annotations

import math
from collections.abc import Callable

from edgeforge.tfcompat import import_tf


def scaled(channels: int, width: float) -> int:
    """Channels of a layer at `width` (at least 2, so a student never loses a layer)."""
    return max(2, int(math.ceil(channels * width)))


def tiny_cnn(input_shape, num_classes: int, width: float, dropout: float):
    """Two 3x3 conv blocks and a dense classifier."""
    _, keras = import_tf()
    layers = keras.layers
    return keras.Sequential(
        [
            layers.Input(shape=input_shape),
            layers.Conv2D(scaled(16, width), 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2, padding="same"),
            layers.Conv2D(scaled(32, width), 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2, padding="same"),
            layers.Flatten(),
            layers.Dropout(dropout),
            layers.Dense(num_classes),
            layers.Softmax(),
        ],
        name="tiny_cnn",
    )


def ds_cnn(input_shape, num_classes: int, width: float, dropout: float):
    """Depthwise-separable CNN in the style of the MLPerf Tiny keyword-spotting model."""
    _, keras = import_tf()
    layers = keras.layers
    stack = [layers.Input(shape=input_shape), layers.Conv2D(scaled(32, width), 3, padding="same", activation="relu")]
    for _ in range(2):
        stack += [
            layers.DepthwiseConv2D(3, padding="same", activation="relu"),
            layers.Conv2D(scaled(32, width), 1, activation="relu"),
        ]
    stack += [layers.GlobalAveragePooling2D(), layers.Dropout(dropout), layers.Dense(num_classes), layers.Softmax()]
    return keras.Sequential(stack, name="ds_cnn")


def mlp(input_shape, num_classes: int, width: float, dropout: float):
    """Two hidden dense layers over the flattened input."""
    _, keras = import_tf()
    layers = keras.layers
    return keras.Sequential(
        [
            layers.Input(shape=input_shape),
            layers.Flatten(),
            layers.Dense(scaled(64, width), activation="relu"),
            layers.Dense(scaled(32, width), activation="relu"),
            layers.Dropout(dropout),
            layers.Dense(num_classes),
            layers.Softmax(),
        ],
        name="mlp",
    )


ARCHITECTURES: dict[str, Callable] = {"tiny_cnn": tiny_cnn, "ds_cnn": ds_cnn, "mlp": mlp}


def build_model(name: str, input_shape, num_classes: int, width: float = 1.0, dropout: float = 0.0):
    """A fresh (untrained) model; seed the RNG first for reproducible weights."""
    return ARCHITECTURES[name](tuple(input_shape), num_classes, width, dropout)
