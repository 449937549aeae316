"""Atomic outputs: a stage that dies leaves nothing DVC would cache as good."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_dir(path: str | Path):
    """Yield a staging folder; on success it replaces `path` in one rename, on error it vanishes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield staging
        if path.exists():
            shutil.rmtree(path)
        os.replace(staging, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_json(path: str | Path, data) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: str | Path, expect: type = object):
    """The JSON in `path` (of type `expect`); a missing or unreadable file is an error naming it."""
    from edgeforge.errors import BuildError, CorruptBuildError

    path = Path(path)
    if not path.is_file():
        raise BuildError(f"{path}: missing; run `dvc repro` to build it")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:  # truncated, not JSON, not UTF-8
        raise CorruptBuildError(f"{path}: not valid JSON ({str(error).splitlines()[0]}); run `dvc repro -f` on its stage") from None
    if not isinstance(data, expect):
        raise CorruptBuildError(f"{path}: holds a JSON {type(data).__name__}, not a {expect.__name__}; run `dvc repro -f` on its stage")
    return data
