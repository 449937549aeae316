"""Seeded augmentation of training batches (`train.augmentation`): random flips, shifts and noise.

`model.fit` reads the augmented batches from a generator driven by one NumPy generator seeded with
the project seed: it draws each epoch's order and every batch's changes in sequence, so the same
seed and data give the same batches, and the training stays bit-reproducible. Only training batches
are augmented; validation and test samples (and so every accuracy edgeforge reports) never are.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from edgeforge.errors import UserError


def is_active(augmentation) -> bool:
    """Whether `augmentation` (a spec Augmentation, or None) changes anything."""
    return augmentation is not None and (augmentation.flip or augmentation.shift > 0 or augmentation.noise > 0)


def check_augmentation(augmentation, input_shape: tuple[int, ...], origin: str = "params.yaml") -> None:
    """A one-line error when the samples cannot take the augmentation (a flip of a time series);
    `origin` is the spec file that sets it."""
    if is_active(augmentation) and augmentation.flip and len(input_shape) != 3:
        raise UserError(
            f"{origin}: train.augmentation.flip: mirrors images shaped (H, W, C), the samples are {tuple(input_shape)}; "
            "set flip: false (shift and noise work on any shape)"
        )


def augment_batch(x: np.ndarray, augmentation, rng: np.random.Generator) -> np.ndarray:
    """A copy of the batch `x` (N, ...) with each sample flipped, shifted and noised at random."""
    out = np.array(x, dtype=np.float32, copy=True)
    spatial_axes = range(1, x.ndim - 1)  # every axis but the batch and the channels
    if augmentation.flip:
        mirrored = rng.random(len(out)) < 0.5
        out[mirrored] = out[mirrored][:, :, ::-1]  # (N, H, W, C): left-right
    if augmentation.shift > 0:
        for axis in spatial_axes:
            reach = int(round(augmentation.shift * x.shape[axis]))
            offsets = rng.integers(-reach, reach + 1, len(out)) if reach else np.zeros(len(out), int)
            for i, offset in enumerate(offsets):
                if offset:
                    out[i] = _shifted(out[i], axis - 1, int(offset))
    if augmentation.noise > 0:
        out += rng.normal(0.0, augmentation.noise, out.shape).astype(np.float32)
    return out


def _shifted(sample: np.ndarray, axis: int, offset: int) -> np.ndarray:
    """`sample` moved by `offset` along `axis`, the uncovered part zero (the train split's mean after normalize)."""
    moved = np.zeros_like(sample)
    size = sample.shape[axis]
    source = [slice(None)] * sample.ndim
    target = [slice(None)] * sample.ndim
    source[axis] = slice(max(0, -offset), size - max(0, offset))
    target[axis] = slice(max(0, offset), size - max(0, -offset))
    moved[tuple(target)] = sample[tuple(source)]
    return moved


def augmented_batches(x: np.ndarray, y: np.ndarray, batch_size: int, augmentation, seed: int) -> Iterator[tuple]:
    """Endless (x, y) training batches: each epoch a seeded permutation, each batch augmented."""
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):
            chosen = order[start:start + batch_size]
            yield augment_batch(x[chosen], augmentation, rng), y[chosen]


def fit_data(x: np.ndarray, y: np.ndarray, batch_size: int, augmentation, seed: int) -> dict:
    """The data arguments of `model.fit`: the arrays as they are (Keras shuffles them, seeded), or
    with an active augmentation the seeded batch generator and the steps that make one epoch."""
    if not is_active(augmentation):
        return {"x": x, "y": y, "batch_size": batch_size}
    check_augmentation(augmentation, x.shape[1:])
    return {
        "x": augmented_batches(x, y, batch_size, augmentation, seed),
        "steps_per_epoch": math.ceil(len(x) / batch_size),
    }
