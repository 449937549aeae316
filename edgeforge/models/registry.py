"""The architecture registry: each builds from the input's rank.

    (T, C)     a time series: T steps of C channels  → 1-D convolutions (Conv1D)
    (H, W, C)  an image or spectrogram                → 2-D convolutions (Conv2D)
    any shape  mlp flattens it

TFLite lowers a Conv1D to EXPAND_DIMS → CONV_2D → RESHAPE, so the cost models (MACs, arena,
latency) price a 1-D model through the 2-D ops it runs as. TF-MOT has no quantize-aware
wrapper for Conv1D or MaxPooling1D: a QAT candidate of a 1-D tiny_cnn or ds_cnn fails in the
search with TF-MOT's reason, and post-training int8 still applies. ds_cnn's 1-D blocks are
SeparableConv1D, which TF-MOT can prune and cluster (DepthwiseConv1D it cannot).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from edgeforge.errors import UserError
from edgeforge.tfcompat import import_tf

SHAPE_NAMES = {2: "(T, C)", 3: "(H, W, C)"}


def scaled(channels: int, width: float) -> int:
    """Channels of a layer at `width` (at least 2, so a student never loses a layer)."""
    return max(2, int(math.ceil(channels * width)))


def tiny_cnn(input_shape, num_classes: int, width: float, dropout: float):
    """Two conv blocks (3-wide kernels, 2x max pooling) and a dense classifier."""
    _, keras = import_tf()
    layers = keras.layers
    conv, pool = (layers.Conv1D, layers.MaxPooling1D) if len(input_shape) == 2 else (layers.Conv2D, layers.MaxPooling2D)
    return keras.Sequential(
        [
            layers.Input(shape=input_shape),
            conv(scaled(16, width), 3, padding="same", activation="relu"),
            pool(2, padding="same"),
            conv(scaled(32, width), 3, padding="same", activation="relu"),
            pool(2, padding="same"),
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
    if len(input_shape) == 2:
        stack = [layers.Input(shape=input_shape), layers.Conv1D(scaled(32, width), 3, padding="same", activation="relu")]
        stack += [layers.SeparableConv1D(scaled(32, width), 3, padding="same", activation="relu") for _ in range(2)]
        pooling = layers.GlobalAveragePooling1D()
    else:
        stack = [layers.Input(shape=input_shape), layers.Conv2D(scaled(32, width), 3, padding="same", activation="relu")]
        for _ in range(2):
            stack += [
                layers.DepthwiseConv2D(3, padding="same", activation="relu"),
                layers.Conv2D(scaled(32, width), 1, activation="relu"),
            ]
        pooling = layers.GlobalAveragePooling2D()
    stack += [pooling, layers.Dropout(dropout), layers.Dense(num_classes), layers.Softmax()]
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
# The input ranks (per sample) each architecture builds for; None: any.
INPUT_RANKS: dict[str, tuple[int, ...] | None] = {"tiny_cnn": (2, 3), "ds_cnn": (2, 3), "mlp": None}


def input_problem(name: str, input_shape) -> str | None:
    """Why `name` cannot take samples of `input_shape` (expected vs actual), or None."""
    ranks = INPUT_RANKS.get(name)
    shape = tuple(int(d) for d in input_shape)
    if ranks is None or len(shape) in ranks:
        return None
    expected = " or ".join(SHAPE_NAMES[rank] for rank in ranks)
    return f"model '{name}' takes samples shaped {expected}, the data's are {shape}"


def build_model(name: str, input_shape, num_classes: int, width: float = 1.0, dropout: float = 0.0):
    """A fresh (untrained) model; seed the RNG first for reproducible weights."""
    problem = input_problem(name, input_shape)
    if problem:
        raise UserError(
            f"model.name: {problem}; use model=mlp, or reshape the data "
            "(time series: (N, T, C); images: (N, H, W, C), add a channel axis with x[..., None])"
        )
    return ARCHITECTURES[name](tuple(input_shape), num_classes, width, dropout)
