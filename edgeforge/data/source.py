"""What a loader reads (`Source`), what a cheap inspection finds (`Header`), and the data's hash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Source:
    """Samples as read from disk, before the split.

    `x` is model-ready features, except for audio, where it holds the wav paths (features are
    computed per split, so background noise goes into training clips only).
    """

    x: np.ndarray
    y: np.ndarray  # int64 class indices 0..N-1
    class_names: list[str]
    extras: dict = field(default_factory=dict)  # per kind: e.g. audio's background noise


@dataclass(frozen=True)
class Header:
    """What `edgeforge validate` learns without loading the features."""

    input_shape: tuple[int, ...]  # one sample's shape, as the model will see it
    y: np.ndarray | None  # the labels, where reading them is cheap (None: checked at prepare)
    class_names: list[str]


def path_sha256(path: Path) -> str:
    """sha256 of a file, or of a folder's sorted (relative path, file sha256) list.

    Hidden files (`.DS_Store`, `.gitignore`, DVC's own) are left out: they are not data.
    """
    path = Path(path)
    if path.is_file():
        return _file_sha256(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts))
    for file in files:
        digest.update(f"{file.relative_to(path).as_posix()}\0{_file_sha256(file)}\n".encode())
    return digest.hexdigest()


def arrays_sha256(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
