"""A persistent, content-addressed memo: each result is stored under the hash of what produced it.

Layout: <root>/<kind>/<key>/ with the entry's files and a `done` marker written last, so an
entry interrupted mid-write is never read back.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def hash_of(*parts: Any) -> str:
    payload = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(payload).hexdigest()[:32]


class Memo:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.hits = 0
        self.misses = 0

    def entry(self, kind: str, key: str) -> Path | None:
        """The entry's folder if complete (counts a hit or a miss)."""
        folder = self.root / kind / key
        if (folder / "done").is_file():
            self.hits += 1
            return folder
        self.misses += 1
        return None

    def store(self, kind: str, key: str, write: Callable[[Path], dict | None]) -> Path:
        """Write an entry atomically: `write(folder)` fills a temporary folder, then one rename.

        `write` returns the entry's record (JSON-able) or None.
        """
        folder = self.root / kind / key
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=folder.parent))
        try:
            record = write(staging)
            if record is not None:
                (staging / "record.json").write_text(json.dumps(record, sort_keys=True, indent=1))
            (staging / "done").write_text("")
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return folder

    def record(self, kind: str, key: str) -> dict | None:
        folder = self.entry(kind, key)
        return json.loads((folder / "record.json").read_text()) if folder else None


@dataclass
class Stats:
    """Work done on memo misses: trainings, conversions and runtime measurements."""

    trained: int = 0
    converted: int = 0
    measured: int = 0
    train_epochs: dict[str, int] = field(default_factory=dict)

    def reset(self) -> None:
        self.trained = self.converted = self.measured = 0
        self.train_epochs.clear()
