"""Shared fixtures: `tmp_project`, a scratch edgeforge project in a temporary directory."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
MLPERF_TINY = REPO / "examples" / "mlperf_tiny"  # vendored MLPerf Tiny reference models (Apache-2.0)

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


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's digits, split as the pipeline splits it (seed 0)."""
    from edgeforge.data.loaders import load_dataset, split_dataset
    from edgeforge.spec.models import Dataset

    dataset = Dataset(name="digits")
    x, y = load_dataset(dataset)
    return split_dataset(x, y, dataset, seed=0)


def train_tiny_cnn(splits, epochs: int):
    """A seeded tiny_cnn trained on `splits`: the base model the pass and exporter suites share."""
    from edgeforge.models import build_model
    from edgeforge.models.training import compile_classifier
    from edgeforge.tfcompat import seed_everything

    seed_everything(0)
    model = build_model("tiny_cnn", splits.input_shape, splits.num_classes)
    compile_classifier(model, learning_rate=0.003)
    model.fit(splits.x_train, splits.y_train, epochs=epochs, batch_size=64, verbose=0)
    return model
