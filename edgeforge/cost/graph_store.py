"""Parsed graphs kept on disk between processes: one JSON file per model.

Every `dvc repro` stage is its own process, and the search of a constraint edit reads the same
models as the build before: the pre-filter's untrained structures and every memoized candidate.
Parsing them means importing the flatbuffer schema (tens of milliseconds) and walking each file;
reading a kept `Graph` means neither. A stage turns this on for its work (`with kept_in(folder):`);
library use and tests parse as before.

A file is named by the model's sha256 and by this package's graph code (graph.py and this module),
so a change in how graphs are read never serves a stale one; entering `kept_in` removes the files
another graph code wrote, which nothing reads again. Writes are atomic, and a file that does not
load (truncated, edited) is parsed again and rewritten.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from functools import cache
from pathlib import Path

_FOLDER: Path | None = None  # None: parsed graphs stay in memory (graph.py), the default


@contextmanager
def kept_in(folder: Path) -> Iterator[None]:
    """Keep parsed graphs in `folder` until the block ends."""
    global _FOLDER
    previous, _FOLDER = _FOLDER, Path(folder).resolve()
    _remove_other_versions(_FOLDER)
    try:
        yield
    finally:
        _FOLDER = previous


def load(digest: bytes):
    """The kept Graph of the model whose sha256 is `digest`, or None."""
    path = _path(digest)
    if path is None or not path.is_file():
        return None
    try:
        return graph_from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # parsed again, and the file rewritten


def save(digest: bytes, graph) -> None:
    path = _path(digest)
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(graph), sort_keys=True))
    os.replace(tmp, path)


def graph_from_dict(data: dict):
    """The Graph `dataclasses.asdict` gave `data` (JSON turns its tuples into lists)."""
    from edgeforge.cost.graph import Graph, Operator, Quantization, Tensor

    def tensor(entry: dict) -> Tensor:
        quantization = entry["quantization"]
        if quantization is not None:
            quantization = Quantization(
                scales=tuple(quantization["scales"]), zero_points=tuple(quantization["zero_points"]), axis=quantization["axis"]
            )
        return Tensor(**{**entry, "shape": tuple(entry["shape"]), "quantization": quantization})

    def operator(entry: dict) -> Operator:
        return Operator(**{**entry, "inputs": tuple(entry["inputs"]), "outputs": tuple(entry["outputs"])})

    return Graph(**{
        **data,
        "tensors": tuple(tensor(entry) for entry in data["tensors"]),
        "operators": tuple(operator(entry) for entry in data["operators"]),
        "inputs": tuple(data["inputs"]),
        "outputs": tuple(data["outputs"]),
    })


def _remove_other_versions(folder: Path) -> None:
    """Delete the kept graphs an older (or newer) graph code wrote: their names end in another version."""
    if not folder.is_dir():
        return
    current = f"-{_code_version()}.json"
    for path in folder.glob("*.json"):
        if not path.name.endswith(current):
            path.unlink(missing_ok=True)


def _path(digest: bytes) -> Path | None:
    return None if _FOLDER is None else _FOLDER / f"{digest.hex()}-{_code_version()}.json"


@cache
def _code_version() -> str:
    here = Path(__file__).parent
    sources = b"".join((here / name).read_bytes() for name in ("graph.py", "graph_store.py"))
    return hashlib.sha256(sources).hexdigest()[:16]
