"""The deterministic stratified split, per-channel normalization, and the split's file."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np

from edgeforge.errors import UserError
from edgeforge.spec.models import Dataset

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # np.savez stamps the wall clock; a fixed date keeps the bytes reproducible


@dataclass(frozen=True)
class Splits:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def num_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_val.max(), self.y_test.max())) + 1

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for array in (self.x_train, self.y_train, self.x_val, self.y_val, self.x_test, self.y_test):
            digest.update(str(array.shape).encode())
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()


def split_dataset(x: np.ndarray, y: np.ndarray, config: Dataset, seed: int) -> Splits:
    """Stratified train/val/test split, the same for the same seed."""
    from sklearn.model_selection import train_test_split

    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=config.test_fraction, random_state=seed, stratify=y
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=config.val_fraction, random_state=seed, stratify=y_rest
    )
    return Splits(x_train, y_train, x_val, y_val, x_test, y_test)


def normalize_splits(splits: Splits) -> tuple[Splits, dict]:
    """Each channel (last axis) standardized with the train split's mean and std.

    Returns the splits and the parameters the device applies to its input: (x - mean) / std.
    A constant channel keeps std 1, so it maps to 0 instead of dividing by zero.
    """
    axes = tuple(range(splits.x_train.ndim - 1))
    mean = splits.x_train.mean(axis=axes, dtype=np.float64)
    std = splits.x_train.std(axis=axes, dtype=np.float64)
    std[std == 0] = 1.0
    mean32, std32 = mean.astype(np.float32), std.astype(np.float32)

    def apply(x: np.ndarray) -> np.ndarray:
        return ((x - mean32) / std32).astype(np.float32)

    normalized = replace(splits, x_train=apply(splits.x_train), x_val=apply(splits.x_val), x_test=apply(splits.x_test))
    return normalized, {"axis": -1, "mean": mean32.tolist(), "std": std32.tolist()}


def save_splits(splits: Splits, path: str | Path) -> None:
    """The six arrays as an .npz whose bytes depend on nothing but the arrays."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for field in fields(Splits):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(getattr(splits, field.name)), allow_pickle=False)
            archive.writestr(zipfile.ZipInfo(f"{field.name}.npy", date_time=_ZIP_DATE), member.getvalue())
    tmp.write_bytes(buffer.getvalue())
    os.replace(tmp, path)


def load_splits(path: str | Path) -> Splits:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: prepared data not found; run `dvc repro prepare`")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return Splits(**{field.name: archive[field.name] for field in fields(Splits)})
    except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise UserError(f"{path}: prepared data is corrupt ({error}); rerun `dvc repro -f prepare`") from None
