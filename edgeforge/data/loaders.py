from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeforge.errors import UserError
from edgeforge.spec.models import Dataset


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


def load_dataset(config: Dataset, root: str | Path = ".") -> tuple[np.ndarray, np.ndarray]:
    """Features (float32, N x ...) and integer labels (N,) of the configured data set."""
    if config.name == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        x = (digits.images / 16.0).astype(np.float32)[..., np.newaxis]  # 8x8x1 images in [0, 1]
        return x, digits.target.astype(np.int64)
    path = Path(root) / str(config.path)
    if not path.is_file():
        raise UserError(f"dataset.path: {path} does not exist; point it at your {config.name} file")
    try:
        if config.name == "npz":
            return _load_npz(path)
        return _load_csv(path, config.label_column)
    except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise UserError(f"dataset.path: {path} could not be read as {config.name}: {error}") from None


def _load_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        missing = {"x", "y"} - set(archive.files)
        if missing:
            raise KeyError(f"arrays {sorted(missing)} missing (found {archive.files}); save x=features, y=labels")
        return archive["x"].astype(np.float32), archive["y"].astype(np.int64)


def _load_csv(path: Path, label_column: str) -> tuple[np.ndarray, np.ndarray]:
    table = np.genfromtxt(path, delimiter=",", names=True, dtype=np.float64)
    columns = list(table.dtype.names or [])
    if label_column not in columns:
        raise KeyError(f"no column '{label_column}' (columns: {', '.join(columns)}); set dataset.label_column")
    features = [name for name in columns if name != label_column]
    x = np.stack([table[name] for name in features], axis=1).astype(np.float32)
    if np.isnan(x).any():
        raise ValueError("non-numeric or empty cells in feature columns")
    return x, table[label_column].astype(np.int64)


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


def save_splits(splits: Splits, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        np.savez(handle, **{name: getattr(splits, name) for name in Splits.__dataclass_fields__})
    os.replace(tmp, path)


def load_splits(path: str | Path) -> Splits:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: prepared data not found; run `dvc repro prepare`")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return Splits(**{name: archive[name] for name in Splits.__dataclass_fields__})
    except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise UserError(f"{path}: prepared data is corrupt ({error}); rerun `dvc repro -f prepare`") from None
