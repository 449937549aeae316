"""The architecture registry: each builds from the input's rank.

    (T, C)     a time series: T steps of C channels  → 1-D convolutions (Conv1D)
    (H, W, C)  an image or spectrogram                → 2-D convolutions (Conv2D)
    any shape  mlp flattens it

TFLite lowers a Conv1D to EXPAND_DIMS → CONV_2D → RESHAPE, so the cost models (MACs, arena,
latency) price a 1-D model through the 2-D ops it runs as. TF-MOT has no quantize-aware
wrapper for Conv1D or MaxPooling1D: a QAT candidate of a 1-D tiny_cnn or ds_cnn fails in the
search with TF-MOT's reason, and post-training int8 still applies. ds_cnn's 1-D blocks are
SeparableConv1D, which TF-MOT can prune and cluster (DepthwiseConv1D it cannot).

Every layer is named explicitly ("input", "conv_1", "pool_1", ..., "dense", "softmax"). Keras's
automatic names count up per process ("dense", then "dense_5" once other models were built), and
they end up in the TFLite tensor names: auto names would make a model's bytes depend on what the
process built before it (a partly deleted memo, a resumed search).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from edgeforge.errors import UserError
from edgeforge.tfcompat import fresh_layer_names, import_tf

SHAPE_NAMES = {2: "(T, C)", 3: "(H, W, C)"}


def scaled(channels: int, width: float) -> int:
    """Channels of a layer at `width` (at least 2, so a student never loses a layer)."""
    return max(2, int(math.ceil(channels * width)))


def classifier(layers, num_classes: int, dropout: float, flatten: bool = False) -> list:
    """The head every architecture ends with: (flatten,) dropout, dense logits, softmax."""
    head = [layers.Flatten(name="flatten")] if flatten else []
    return [*head, layers.Dropout(dropout, name="dropout"), layers.Dense(num_classes, name="dense"),
            layers.Softmax(name="softmax")]


def tiny_cnn(input_shape, num_classes: int, width: float, dropout: float):
    """Two conv blocks (3-wide kernels, 2x max pooling) and a dense classifier."""
    _, keras = import_tf()
    layers = keras.layers
    conv, pool = (layers.Conv1D, layers.MaxPooling1D) if len(input_shape) == 2 else (layers.Conv2D, layers.MaxPooling2D)
    return keras.Sequential(
        [
            layers.Input(shape=input_shape, name="input"),
            conv(scaled(16, width), 3, padding="same", activation="relu", name="conv_1"),
            pool(2, padding="same", name="pool_1"),
            conv(scaled(32, width), 3, padding="same", activation="relu", name="conv_2"),
            pool(2, padding="same", name="pool_2"),
            *classifier(layers, num_classes, dropout, flatten=True),
        ],
        name="tiny_cnn",
    )


def ds_cnn(input_shape, num_classes: int, width: float, dropout: float):
    """Depthwise-separable CNN in the style of the MLPerf Tiny keyword-spotting model."""
    _, keras = import_tf()
    layers = keras.layers
    stack = [layers.Input(shape=input_shape, name="input")]
    if len(input_shape) == 2:
        stack += [layers.Conv1D(scaled(32, width), 3, padding="same", activation="relu", name="conv_1")]
        stack += [
            layers.SeparableConv1D(scaled(32, width), 3, padding="same", activation="relu", name=f"separable_{block}")
            for block in (1, 2)
        ]
        pooling = layers.GlobalAveragePooling1D(name="pool")
    else:
        stack += [layers.Conv2D(scaled(32, width), 3, padding="same", activation="relu", name="conv_1")]
        for block in (1, 2):
            stack += [
                layers.DepthwiseConv2D(3, padding="same", activation="relu", name=f"depthwise_{block}"),
                layers.Conv2D(scaled(32, width), 1, activation="relu", name=f"pointwise_{block}"),
            ]
        pooling = layers.GlobalAveragePooling2D(name="pool")
    return keras.Sequential([*stack, pooling, *classifier(layers, num_classes, dropout)], name="ds_cnn")


def mlp(input_shape, num_classes: int, width: float, dropout: float):
    """Two hidden dense layers over the flattened input."""
    _, keras = import_tf()
    layers = keras.layers
    return keras.Sequential(
        [
            layers.Input(shape=input_shape, name="input"),
            layers.Flatten(name="flatten"),
            layers.Dense(scaled(64, width), activation="relu", name="hidden_1"),
            layers.Dense(scaled(32, width), activation="relu", name="hidden_2"),
            *classifier(layers, num_classes, dropout),
        ],
        name="mlp",
    )


# The MLPerf Tiny reference architectures (edgeforge/models/mlperf.py; it reads `scaled` from here).
from edgeforge.models import mlperf  # noqa: E402

ARCHITECTURES: dict[str, Callable] = {
    "tiny_cnn": tiny_cnn,
    "ds_cnn": ds_cnn,
    "mlp": mlp,
    "mlperf_ds_cnn": mlperf.mlperf_ds_cnn,
    "resnet8": mlperf.resnet8,
    "mobilenet_v1_025": mlperf.mobilenet_v1_025,
    "fc_autoencoder": mlperf.fc_autoencoder,
    "conv1d_cnn": mlperf.conv1d_cnn,
}
# The input ranks (per sample) each architecture builds for; None: any.
INPUT_RANKS: dict[str, tuple[int, ...] | None] = {
    "tiny_cnn": (2, 3),
    "ds_cnn": (2, 3),
    "mlp": None,
    "mlperf_ds_cnn": (3,),
    "resnet8": (3,),
    "mobilenet_v1_025": (3,),
    "fc_autoencoder": None,
    "conv1d_cnn": (2,),
}


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
    with fresh_layer_names():  # an architecture that leaves a layer unnamed still builds alike every time
        return ARCHITECTURES[name](tuple(input_shape), num_classes, width, dropout)
