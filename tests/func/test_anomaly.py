"""Anomaly detection built with real `dvc repro` on a generated project: an autoencoder (your Keras
factory) trained on normal vibration frames only, every candidate scored by ROC AUC in TFLite Micro,
the selection and the report in AUC, and the validation-split threshold in the bundle."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from edgeforge.evaluate.quality import choose_threshold, reconstruction_errors, roc_auc
from edgeforge.layout import BUILD
from tests.func.shell import dvc, edgeforge, stages_run
from tests.func.test_data import commit, make_project
from tests.unit.evaluate import autoencoder_factory
from tests.unit.evaluate.synthetic import vibration_frames

pytestmark = pytest.mark.slow


def anomaly_project(root: Path) -> Path:
    def setup(root: Path) -> None:
        x, y = vibration_frames(normal=480, anomalous=80)
        (root / "data").mkdir()
        np.savez(root / "data/vibration.npz", x=x, y=y)
        (root / "nets").mkdir()
        (root / "nets/__init__.py").write_text("")
        (root / "nets/autoencoder.py").write_text(Path(autoencoder_factory.__file__).read_text())
        model = {"factory": "nets.autoencoder:build", "factory_file": "nets/autoencoder.py",
                 "weights_file": "nets/autoencoder.py", "task": "anomaly_detection"}
        (root / "specs/model/mine.yaml").write_text(yaml.safe_dump(model, sort_keys=False))
        (root / "specs/search/default.yaml").write_text(
            "strategy: exhaustive\nfinetune_epochs: 2\nspace:\n  width: [1.0, 0.5]\n  qat: [false, true]\n"
            "  quantization: [float32, int8]\n"
        )
        config = yaml.safe_load((root / "specs/config.yaml").read_text())
        config["train"].update(epochs=40, batch_size=32, learning_rate=0.005)
        config["targets"]["mcu"]["constraints"]["min_auc"] = 0.85
        config["targets"]["mcu"]["quantization"] = ["int8"]  # what ships to the MCU: the int8 candidates
        config["targets"]["mcu"]["objective"] = "max_auc"
        (root / "specs/config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))

    return make_project(root, {"name": "npz", "path": "data/vibration.npz"}, "mine", setup)


def test_autoencoder_is_selected_by_auc_and_ships_its_threshold(tmp_path):
    root = anomaly_project(tmp_path / "anomaly")
    commit(root)
    build = dvc("repro", cwd=root)
    assert {"prepare", "train", "search", "select@mcu", "export@mcu", "package@mcu"} <= stages_run(build.stdout)

    base = json.loads((root / "build/base/metrics.json").read_text())
    assert base["val_auc"] > 0.8  # trained on normal frames only, it reconstructs faults badly

    # every int8 candidate (plain and QAT, of the base and of its distilled half-width student) measured
    # in TFLite Micro, in AUC (pruning and clustering of an autoencoder: tests/unit/passes/test_autoencoder.py)
    search = json.loads((root / "build/search/targets/mcu.json").read_text())
    measured = {c["id"]: c["metrics"] for c in search["candidates"] if c["metrics"]}
    ids = {f"w{w}-s0-c0{q}-int8" for w in ("1", "0.5") for q in ("", "-qat")}
    assert ids == set(measured), search["candidates"]
    for metrics in measured.values():
        assert metrics["metric"] == "auc" and metrics["accuracy"] == metrics["auc"]
        assert metrics["accuracy_runtime"] == "tflite-micro" and 0 <= metrics["threshold"]

    selected = json.loads((root / "build/targets/mcu/selected.json").read_text())
    chosen = selected["metrics"]
    assert chosen["auc"] == max(m["auc"] for m in measured.values())  # objective max_auc
    assert chosen["auc"] >= 0.85 and selected["constraints"]["min_auc"]["ok"]
    assert chosen["auc_drop"] == pytest.approx(search["base_accuracy"] - chosen["auc"], abs=1e-6)

    # the verdict recomputed from the shipped int8 model, run in TFLite Micro on the prepared data
    from edgeforge.data import load_splits
    from edgeforge.runtimes import get_runtime

    splits = load_splits(root / "build/data/splits.npz")
    model_bytes = (root / "build/targets/mcu/bundle/model.tflite").read_bytes()
    micro = get_runtime("tflite-micro")
    errors = reconstruction_errors(micro.predict(model_bytes, splits.x_test), splits.x_test)
    val_errors = reconstruction_errors(micro.predict(model_bytes, splits.x_val), splits.x_val)
    assert roc_auc(splits.y_test, errors) == pytest.approx(chosen["auc"], abs=1e-6)
    preprocessing = json.loads((root / "build/targets/mcu/bundle/preprocessing.json").read_text())
    threshold = preprocessing["anomaly"]["threshold"]
    assert threshold == chosen["threshold"] == pytest.approx(choose_threshold(splits.y_val, val_errors), rel=1e-6)
    assert preprocessing["task"] == "anomaly_detection" and "Youden" in preprocessing["anomaly"]["rule"]
    assert preprocessing["anomaly"]["detection_rate"] == pytest.approx(float(np.mean(errors[splits.y_test == 1] > threshold)), abs=1e-6)

    # export parity compares the formats by ROC AUC and by their decisions at the shipped threshold
    parity = json.loads((root / BUILD.parity("mcu")).read_text())
    micro_entry = parity["tflm_c"]
    assert micro_entry["metric"] == "auc" and micro_entry["reference"] == "tflite"
    assert micro_entry["accuracy"] == pytest.approx(chosen["auc"], abs=1e-6)  # TFLite Micro, as selected
    assert micro_entry["decision_agreement"] >= 0.995 and "top1_agreement" not in micro_entry

    report = edgeforge("report", "--markdown", cwd=root)
    assert report.returncode == 0, report.stderr
    assert f"| ROC AUC | {chosen['auc']:.4f} | min_auc 0.85 |" in report.stdout
    assert "anomaly threshold" in report.stdout
    page = edgeforge("report", "--html", str(root / "page.html"), cwd=root)
    assert page.returncode == 0, page.stderr
    html = (root / "page.html").read_text()
    assert "mcu: ROC AUC vs" in html and "decision agreement" in html
    headline = json.loads((root / "build/metrics.json").read_text())  # what `dvc exp show` lists
    assert headline["auc"]["mcu"] == chosen["auc"] and "accuracy" not in headline

