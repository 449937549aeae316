"""Checks on the data before anything trains: labels, values, class sizes, the model's input.

Every problem is a `DataError` on one line: where (the spec file and the dataset key), what (the
data file, the values found) and what to do. `edgeforge validate` runs the checks that need only
headers and labels; the `prepare` stage runs all of them on the loaded arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeforge.errors import DataError


@dataclass(frozen=True)
class Where:
    """Where a data problem comes from: the spec file that set `dataset.*`, and the data path."""

    origin: str  # "params.yaml", "specs/dataset/har.yaml", ...
    path: str  # the dataset.path as the user wrote it
    base: Path = Path(".")  # where that path is on disk (the project root joined with it)
    model_origin: str | None = None  # the spec file that set model.name, if not `origin`

    def error(self, key: str, message: str) -> DataError:
        return DataError(f"{self.origin}: dataset.{key}: {message}")

    def show(self, file: Path) -> str:
        """`file` as the user knows it: under dataset.path, not under the process's root."""
        if Path(file) == self.base:
            return self.path
        try:
            return f"{self.path.rstrip('/')}/{Path(file).relative_to(self.base).as_posix()}"
        except ValueError:
            return str(file)


def encode_labels(raw: np.ndarray, where: Where, column: str = "y") -> tuple[np.ndarray, list[str]]:
    """Class indices 0..N-1 (int64) and the N class names.

    Names (strings) are sorted and numbered; integers must already be 0..N-1 with every class
    present, and are their own names ("0", "1", ...).
    """
    raw = np.asarray(raw)
    if raw.ndim != 1:
        raise where.error("path", f"{where.path}: labels '{column}' must be one per sample (shape (N,)), found shape {raw.shape}")
    if raw.dtype.kind in "US":
        names = raw.astype(str)
        empty = np.flatnonzero(np.char.strip(names) == "")
        if empty.size:
            raise where.error("path", f"{where.path}: sample {empty[0]} has an empty label in '{column}'; label every sample")
        classes, y = np.unique(names, return_inverse=True)
        return _checked(y.astype(np.int64), [str(name) for name in classes], where)
    if raw.dtype.kind not in "iuf" or raw.dtype.kind == "b":
        raise where.error(
            "path", f"{where.path}: labels '{column}' are {raw.dtype}; save integers 0..N-1 or class names (strings)"
        )
    if raw.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(raw) | (raw != np.round(raw)))
        if bad.size:
            raise where.error(
                "path",
                f"{where.path}: label of sample {bad[0]} in '{column}' is {raw[bad[0]].item()!r}, not an integer class; "
                "labels must be integers 0..N-1 or class names",
            )
    y = raw.astype(np.int64)
    present = np.unique(y)
    expected = np.arange(int(present.max()) + 1) if present.size else present
    if present.size and (present.min() < 0 or present.size != expected.size):
        missing = sorted(set(expected.tolist()) - set(present.tolist()))
        found = ", ".join(map(str, present[:12].tolist())) + (", ..." if present.size > 12 else "")
        hint = f" ({', '.join(map(str, missing[:5]))} missing)" if missing and present.min() >= 0 else ""
        raise where.error(
            "path",
            f"{where.path}: integer labels must be 0..N-1 with every class present; found {found}{hint}; "
            "renumber them, or save class names as strings",
        )
    return _checked(y, [str(i) for i in range(present.size)], where)


def _checked(y: np.ndarray, names: list[str], where: Where) -> tuple[np.ndarray, list[str]]:
    if len(names) < 2:
        only = f" ('{names[0]}')" if names else ""
        raise where.error("path", f"{where.path}: {len(y)} samples of one class{only}; a classifier needs at least 2 classes")
    return y, names


def min_samples_per_class(test_fraction: float, val_fraction: float) -> int:
    """Samples a class needs so the stratified split leaves it at least one in train, val and test."""
    return max(3, math.ceil(1 / test_fraction), math.ceil(1 / ((1 - test_fraction) * val_fraction)))


def check_class_sizes(y: np.ndarray, names: list[str], test_fraction: float, val_fraction: float, where: Where) -> None:
    needed = min_samples_per_class(test_fraction, val_fraction)
    counts = np.bincount(y, minlength=len(names))
    smallest = int(np.argmin(counts))
    if counts[smallest] < needed:
        raise where.error(
            "path",
            f"{where.path}: class '{names[smallest]}' has {counts[smallest]} samples; the split (test_fraction "
            f"{test_fraction:g}, val_fraction {val_fraction:g}) needs at least {needed} per class to put one in each "
            "of train, val and test: add samples, or raise dataset.test_fraction and dataset.val_fraction",
        )


def check_finite(x: np.ndarray, where: Where) -> None:
    if x.dtype.kind != "f":
        return
    finite = np.isfinite(x).reshape(len(x), -1).all(axis=1)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        kind = "NaN" if np.isnan(x[bad[0]]).any() else "inf"
        raise where.error(
            "path",
            f"{where.path}: {bad.size} samples hold NaN or inf values (first: sample {bad[0]}, {kind}); "
            "fill or drop them before training",
        )


def check_model_input(model_name: str | None, input_shape: tuple[int, ...], where: Where) -> None:
    """The model must build for samples of `input_shape`: expected vs actual, and the way out."""
    if model_name is None:
        return
    from edgeforge.models.registry import input_problem  # registry imports TensorFlow lazily

    problem = input_problem(model_name, input_shape)
    if problem:
        raise DataError(
            f"{where.model_origin or where.origin}: model.name: {problem} (dataset.path: {where.path}); use model=mlp, or shape the data as "
            "(N, T, C) for time series (csv: set dataset.window) or (N, H, W, C) for images"
        )
