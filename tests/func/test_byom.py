"""Bring your own model, built with real `dvc repro` on generated time-series projects: your Keras
code (model.factory, a Conv1D net whose width students the search distills), and your trained .h5
file (model.path, evaluated as it is with train.epochs: 0). Editing the factory's source retrains;
editing a constraint does not; broken inputs stop the train stage with one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.func.shell import dvc, edgeforge, stages_run
from tests.func.test_data import commit, make_project
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


def digits_onnx(path: Path, extra: str | None = None) -> None:
    """What torch.onnx.export writes for a small CNN trained on digits (NCHW, batch 1, opset 17): a
    tf_keras twin is trained here and its weights written in PyTorch's layout (tests never need torch)."""
    import onnx
    from sklearn.datasets import load_digits

    from edgeforge.tfcompat import import_tf, seed_everything
    from tests.unit.models.onnx_nets import cnn_onnx, keras_cnn_weights

    _, keras = import_tf()
    seed_everything(0)
    digits = load_digits()
    x, y = (digits.images / 16.0).astype(np.float32)[..., None], digits.target
    layers = keras.layers
    net = keras.Sequential([
        layers.Input(shape=(8, 8, 1)), layers.Conv2D(4, 3, padding="same"), layers.ReLU(), layers.MaxPooling2D(),
        layers.Conv2D(8, 3, padding="same"), layers.ReLU(), layers.Flatten(), layers.Dense(10), layers.Softmax(),
    ])
    net.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    net.fit(x, y, epochs=8, batch_size=64, verbose=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(cnn_onnx(1, 8, 8, 10, keras_cnn_weights(net), batchnorm=False, extra=extra), str(path))


def test_onnx_model_builds_for_onnxruntime_and_tflite_micro(tmp_path):
    def generate(root):
        digits_onnx(root / "models/net.onnx")
        (root / "specs/model/mine.yaml").write_text(yaml.safe_dump(model))
        config = yaml.safe_load((root / "specs/config.yaml").read_text())
        config["defaults"].insert(-1, {"device@targets.pi.device": "raspberry_pi_4"})
        config["train"]["epochs"] = 0
        config["targets"]["pi"] = {"runtime": "onnxruntime", "formats": ["onnx"], "objective": "min_latency",
                                   "constraints": {"max_accuracy_drop": 0.05}}
        (root / "specs/config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        (root / "specs/search/default.yaml").write_text("strategy: exhaustive\nspace:\n  quantization: [float32, dynamic, int8]\n")

    model = {"path": "models/net.onnx", "factory_file": "models/net.onnx", "weights_file": "models/net.onnx"}
    root = make_project(tmp_path / "onnx", {"name": "digits", "path": "specs/dataset/digits.yaml"}, "mine", generate)
    commit(root)
    first = dvc("repro", cwd=root)
    assert "models/net.onnx: converted for TFLite; max |difference| to ONNX Runtime" in first.stdout
    assert "evaluated models/net.onnx" in first.stdout

    rows = {target: _rows(root, target) for target in ("pi", "mcu")}
    pi, mcu = rows["pi"], rows["mcu"]
    # onnxruntime: the float graph and ONNX Runtime's dynamic and static int8, measured in ONNX Runtime
    assert {"float32", "dynamic", "int8"} <= set(pi) and all(r["accuracy_runtime"] == "onnxruntime" for r in pi.values())
    # tflite-micro: the converted model through edgeforge's PTQ (dynamic does not run there)
    assert {"float32", "int8"} <= set(mcu) and all(r["accuracy_runtime"] == "tflite-micro" for r in mcu.values())
    assert pi["float32"]["accuracy"] > 0.85 and abs(pi["float32"]["accuracy"] - mcu["float32"]["accuracy"]) < 0.01
    assert pi["int8"]["accuracy"] > pi["float32"]["accuracy"] - 0.05 and mcu["int8"]["accuracy"] > mcu["float32"]["accuracy"] - 0.05
    print({t: {m: r["accuracy"] for m, r in rs.items()} for t, rs in rows.items()})

    import onnx

    exported = onnx.load(str(root / "build/targets/pi/export/model.onnx"))
    names = {node.name for node in exported.graph.node}
    assert "edgeforge_to_channels_first" in names and any("conv1" in n for n in names)  # the user's own graph
    assert "QuantizeLinear" in {node.op_type for node in exported.graph.node}  # min_latency: ONNX Runtime's int8
    assert (root / "build/targets/mcu/bundle").is_dir() and (root / "build/targets/pi/bundle").is_dir()

    # training-time passes and training need the framework the model was trained in
    epochs = edgeforge("compose", "train.epochs=2", cwd=root)
    assert epochs.returncode == 2 and "train.epochs 2: model.path models/net.onnx is an ONNX model" in epochs.stderr
    sparsity = edgeforge("compose", "+search.space.sparsity=[0.0,0.5]", cwd=root)
    assert sparsity.returncode == 2 and "search.space: sparsity [0.0, 0.5] need(s) training" in sparsity.stderr

    # (an op the converter does not handle: the next test)

    # a corrupt file: one line naming model.path and the fix
    (root / "models/net.onnx").write_bytes(b"\x08\x07 not a protobuf")
    corrupt = edgeforge("stage", "train", cwd=root)
    assert corrupt.returncode == 2 and corrupt.stderr.strip().count("\n") == 0
    assert "model.path: models/net.onnx is not a valid ONNX model" in corrupt.stderr


def _rows(root: Path, target: str) -> dict:
    """Base-model candidates of a target's search, by quantization mode."""
    data = json.loads((root / f"build/search/targets/{target}.json").read_text())
    return {row["config"]["quantization"]: row["metrics"] for row in data["candidates"] if row["metrics"]}


def test_onnx_op_no_converter_handles_builds_for_onnxruntime_and_fails_only_tflite_targets(tmp_path):
    """An Erf in the graph: the train stage keeps the ONNX graph as the base (evaluated in ONNX
    Runtime), an x86 host target builds to its bundle with costs read from the ONNX graph, and a
    TFLite Micro target added later fails at select@mcu naming the op, on one line."""
    saved = {}

    def generate(root):
        digits_onnx(root / "models/net.onnx", extra="Erf")
        (root / "specs/model/mine.yaml").write_text(yaml.safe_dump(model))
        config = yaml.safe_load((root / "specs/config.yaml").read_text())
        saved["mcu_default"] = [d for d in config["defaults"] if isinstance(d, dict) and "device@targets.mcu.device" in d][0]
        saved["mcu"] = config["targets"]["mcu"]
        config["defaults"] = [{"device@targets.host.device": "x86_host"} if d is saved["mcu_default"] else d for d in config["defaults"]]
        config["train"]["epochs"] = 0
        config["targets"] = {"host": {"runtime": "onnxruntime", "formats": ["onnx"], "objective": "min_latency",
                                      "constraints": {"max_accuracy_drop": 0.05}}}
        (root / "specs/config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        (root / "specs/search/default.yaml").write_text("strategy: exhaustive\nspace:\n  quantization: [float32, int8]\n")

    model = {"path": "models/net.onnx", "factory_file": "models/net.onnx", "weights_file": "models/net.onnx"}
    root = make_project(tmp_path / "erf", {"name": "digits", "path": "specs/dataset/digits.yaml"}, "mine", generate)
    commit(root)
    first = dvc("repro", cwd=root)
    assert "ONNX op Erf (node '/Erf') does not convert to TFLite" in first.stdout
    assert "evaluated models/net.onnx in ONNX Runtime: val accuracy" in first.stdout
    assert not (root / "build/base/model.h5").exists() and (root / "build/base/model.onnx").is_file()
    host = _rows(root, "host")
    assert set(host) == {"float32", "int8"} and all(r["accuracy_runtime"] == "onnxruntime" for r in host.values())
    assert host["float32"]["accuracy"] > 0.85 and host["int8"]["accuracy"] > host["float32"]["accuracy"] - 0.05
    # costs from the ONNX graph: the digits CNN's MACs and params (the same as its TFLite twin's)
    assert host["float32"]["macs"] == 8192 and host["float32"]["params"] == 1626
    assert host["float32"]["latency_ms"] > 0 and host["float32"]["arena_bytes"] > 0
    selected = json.loads((root / "build/targets/host/selected.json").read_text())
    exported = root / "build/targets/host/export/model.onnx"
    import onnx

    assert "Erf" in {node.op_type for node in onnx.load(str(exported)).graph.node}  # the user's graph itself
    parity = json.loads((root / "build/targets/host/export/parity.json").read_text())
    assert parity["onnx"]["reference"] == "onnx" and parity["onnx"]["top1_agreement"] == 1.0
    assert (root / "build/targets/host/bundle").is_dir() and selected["candidate"]["id"]

    # a TFLite Micro target: every candidate fails with the converter's reason, the host's search goes on
    def add_mcu(config):
        config["defaults"].insert(-1, saved["mcu_default"])
        config["targets"]["mcu"] = saved["mcu"]

    set_config(root, add_mcu)
    second = dvc("repro", cwd=root, check=False)
    assert second.returncode != 0
    failures = summary(root)["failed_per_target"]
    assert not failures["host"] and failures["mcu"]
    assert all("ONNX op Erf (node '/Erf') does not convert to TFLite" in why for why in failures["mcu"].values())
    assert _rows(root, "host")["int8"]["accuracy"] == host["int8"]["accuracy"]  # from the memo, unchanged
    failed = edgeforge("stage", "select", "--target", "mcu", cwd=root)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr + failed.stdout
    assert failed.stderr.strip().count("\n") == 0
    assert "target 'mcu': no candidate could be built: model.path: models/net.onnx: ONNX op Erf (node '/Erf')" in failed.stderr
