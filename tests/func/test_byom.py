"""Bring your own model, built with real `dvc repro` on generated time-series projects: your Keras
code (model.factory, a Conv1D net whose width students the search distills), and your trained .h5
file (model.path, evaluated as it is with train.epochs: 0). Editing the factory's source retrains;
editing a constraint does not; broken inputs stop the train stage with one line and exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.func.test_data import BIN, commit, dvc, make_project, stages_run
from tests.unit.data.synthetic import motion_windows

pytestmark = pytest.mark.slow

FACTORY = '''
import tf_keras as keras


def build(input_shape, num_classes, width=1.0, dropout=0.0):
    layers = keras.layers
    return keras.Sequential([
        layers.Input(shape=input_shape),
        layers.Conv1D(max(2, int(12 * width)), 5, strides=2, activation="relu"),
        layers.GlobalAveragePooling1D(),
        layers.Dropout(dropout),
        layers.Dense(num_classes),
        layers.Softmax(),
    ], name="mine")


def broken(input_shape, num_classes, width=1.0, dropout=0.0):
    raise ValueError("kernel too large")
'''


def motion_npz(root: Path) -> None:
    x, activity = motion_windows(per_class=15, steps=32)
    (root / "data").mkdir()
    np.savez(root / "data/motion.npz", x=x, y=activity)


def project(root: Path, model: dict, space: str, generate) -> Path:
    def setup(root: Path) -> None:
        motion_npz(root)
        generate(root)
        (root / "specs/model/mine.yaml").write_text(yaml.safe_dump(model, sort_keys=False))
        (root / "specs/search/default.yaml").write_text(f"strategy: exhaustive\nfinetune_epochs: 1\nspace:\n{space}")

    return make_project(root, {"name": "npz", "path": "data/motion.npz", "normalize": True}, "mine", setup)


def edgeforge(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run([str(BIN / "edgeforge"), *args], cwd=cwd, env=env, capture_output=True, text=True)


def summary(root: Path) -> dict:
    return json.loads((root / "build/search/summary.json").read_text())


def set_config(root: Path, edit) -> None:
    config = yaml.safe_load((root / "specs/config.yaml").read_text())
    edit(config)
    (root / "specs/config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    result = edgeforge("compose", cwd=root)
    assert result.returncode == 0, result.stderr


def test_factory_conv1d_distills_and_only_editing_the_factory_retrains(tmp_path):
    def generate(root):
        (root / "nets").mkdir()
        (root / "nets/__init__.py").write_text("")
        (root / "nets/conv.py").write_text(FACTORY)

    model = {"factory": "nets.conv:build", "factory_file": "nets/conv.py", "weights_file": "nets/conv.py", "dropout": 0.1}
    root = project(tmp_path / "factory", model, "  width: [1.0, 0.5]\n  quantization: [int8]\n", generate)
    commit(root)
    # up to the search (the .h5 test below builds to the bundle): the base model and its student
    first = dvc("repro", "search", cwd=root)
    assert {"prepare", "train", "search"} <= stages_run(first.stdout)
    assert summary(root)["trained"] >= 1  # the width-0.5 student, distilled from the factory's model
    candidates = json.loads((root / "build/search/targets/mcu.json").read_text())
    assert any("w0.5" in json.dumps(row) for row in candidates.get("candidates", candidates.get("rows", [])))

    set_config(root, lambda c: c["targets"]["mcu"]["constraints"].update(ram_kb=300))
    second = dvc("repro", "search", cwd=root)  # what a constraint edit reruns; the stages after it are others' tests
    assert "train" not in stages_run(second.stdout) and "search" in stages_run(second.stdout)
    assert summary(root)["trained"] == 0

    (root / "nets/conv.py").write_text(FACTORY.replace("strides=2", "strides=2, padding=\"same\""))
    third = dvc("repro", "search", cwd=root)
    assert {"train", "search"} <= stages_run(third.stdout)
    assert summary(root)["trained"] >= 1  # a new architecture: the student is trained again

    # a factory that raises: the train stage stops with one line naming the key, exit 2
    (root / "specs/model/mine.yaml").write_text(yaml.safe_dump({**model, "factory": "nets.conv:broken"}))
    assert edgeforge("compose", cwd=root).returncode == 0
    failed = edgeforge("stage", "train", cwd=root)
    assert failed.returncode == 2 and "Traceback" not in failed.stderr + failed.stdout
    assert "model.factory: nets.conv:broken" in failed.stderr and "raised ValueError: kernel too large; fix the factory" in failed.stderr
    # a module that does not exist: named when the spec is composed
    (root / "specs/model/mine.yaml").write_text(yaml.safe_dump({**model, "factory": "nets.gone:build", "factory_file": "nets/gone.py", "weights_file": "nets/gone.py"}))
    missing = edgeforge("compose", cwd=root)
    assert missing.returncode == 2 and "module 'nets.gone' not found" in missing.stderr


def test_h5_file_is_the_base_model_with_zero_epochs(tmp_path):
    def generate(root):
        from edgeforge.tfcompat import import_tf, seed_everything

        _, keras = import_tf()
        seed_everything(1)
        x, activity = motion_windows(per_class=15, steps=32)
        y = np.unique(activity, return_inverse=True)[1]
        x = (x - x.reshape(-1, x.shape[-1]).mean(0)) / x.reshape(-1, x.shape[-1]).std(0)
        net = keras.Sequential([
            keras.layers.Input(shape=x.shape[1:]), keras.layers.Conv1D(8, 5, activation="relu"),
            keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(3), keras.layers.Softmax(),
        ])
        net.compile("adam", "sparse_categorical_crossentropy")
        net.fit(x, y, epochs=3, verbose=0)
        (root / "models").mkdir()
        net.save(root / "models/net.h5")

    model = {"path": "models/net.h5", "factory_file": "models/net.h5", "weights_file": "models/net.h5"}
    root = project(tmp_path / "file", model, "  quantization: [float32, int8]\n", generate)
    set_config(root, lambda c: c["train"].update(epochs=0))
    commit(root)
    first = dvc("repro", cwd=root)
    assert "evaluated models/net.h5: val accuracy" in first.stdout
    from edgeforge.tfcompat import import_tf

    _, keras = import_tf()
    mine, base = keras.models.load_model(root / "models/net.h5"), keras.models.load_model(root / "build/base/model.h5")
    for theirs, ours in zip(mine.get_weights(), base.get_weights()):
        np.testing.assert_array_equal(theirs, ours)  # nothing was trained: the file's weights are the base
    assert (root / "build/targets/mcu/bundle").is_dir()

    # width students need a factory: a validation error that says so
    set_config_failed = edgeforge("compose", "+search.space.width=[1.0,0.5]", cwd=root)
    assert set_config_failed.returncode == 2 and "width students need your architecture code; add model.factory" in set_config_failed.stderr

    # a corrupt file: the train stage says which key and what to do, on one line, exit 2
    (root / "models/net.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    failed = edgeforge("stage", "train", cwd=root)
    assert failed.returncode == 2 and "Traceback" not in failed.stderr + failed.stdout
    assert failed.stderr.strip().count("\n") == 0 and "model.path: models/net.h5" in failed.stderr

    # a missing file: named when the spec is composed, before DVC looks for the dependency
    (root / "models/net.h5").unlink()
    missing = edgeforge("compose", cwd=root)
    assert missing.returncode == 2 and "model: path 'models/net.h5' does not exist" in missing.stderr
    assert missing.stderr.strip().count("\n") == 0
