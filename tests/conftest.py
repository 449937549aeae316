"""Shared fixtures: `tmp_project`, a scratch edgeforge project in a temporary directory."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
MLPERF_TINY = SHARED / "external" / "mlperf_tiny"

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class TmpProject(type(Path())):
    """A project directory with DVC-style helpers: `gen` writes files, `edit` updates YAML keys."""

    def gen(self, files: dict[str, str | bytes]) -> TmpProject:
        for name, content in files.items():
            path = self / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
        return self

    def edit(self, name: str, updates: dict) -> TmpProject:
        """Set dotted keys in a YAML file, e.g. {"targets.mcu.constraints.ram_kb": 64}."""
        path = self / name
        data = yaml.safe_load(path.read_text()) or {}
        for dotted, value in updates.items():
            node = data
            *parents, last = dotted.split(".")
            for key in parents:
                node = node.setdefault(key, {})
            node[last] = value
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return self


@pytest.fixture
def tmp_project(tmp_path, monkeypatch) -> TmpProject:
    """A copy of the repo's specs/ in a temporary directory, which is also the working directory."""
    root = TmpProject(tmp_path / "project")
    shutil.copytree(REPO / "specs", root / "specs")
    monkeypatch.chdir(root)
    return root
