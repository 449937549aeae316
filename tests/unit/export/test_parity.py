"""Parity: every export of a candidate against its reference, on the same held-out inputs."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from edgeforge.errors import BuildError
from edgeforge.evaluate import TASKS
from edgeforge.export.parity import MAX_ACCURACY_DROP, TOP1_AGREEMENT_MIN, check_parity, compare, parity_report

FLOAT_CHECK = {"metric": "top1_agreement", "min": TOP1_AGREEMENT_MIN}
INT8_CHECK = {"metric": "accuracy_drop", "max": MAX_ACCURACY_DROP}


def test_compare_counts_top1_agreement_and_the_largest_score_difference():
    reference = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]], dtype=np.float32)
    scores = np.array([[0.8, 0.2], [0.2, 0.8], [0.4, 0.6], [0.3, 0.7]], dtype=np.float32)
    entry = compare(scores, reference, np.zeros((4, 2)), np.array([0, 1, 0, 1]), "keras", FLOAT_CHECK)
    assert entry["reference"] == "keras"
    assert entry["top1_agreement"] == 0.75
    assert entry["max_abs_diff"] == pytest.approx(0.2)
    assert entry["samples"] == 4
    assert (entry["accuracy"], entry["reference_accuracy"]) == (0.75, 1.0)


def test_compare_scores_an_anomaly_detector_by_roc_auc_and_its_decisions_at_the_threshold():
    x = np.array([[0.0, 0.0], [0.1, 0.1], [1.0, 1.0], [2.0, 2.0]], dtype=np.float32)
    y = np.array([0, 0, 1, 1])
    reference = np.zeros_like(x)  # reconstruction errors 0, 0.01, 1, 4: a perfect detector
    outputs = np.array([[0.0, 0.0], [1.5, 1.5], [1.0, 1.0], [0.0, 0.0]], dtype=np.float32)  # errors 0, 1.96, 0, 4
    entry = compare(outputs, reference, x, y, "tflite", INT8_CHECK, TASKS["anomaly_detection"], {"threshold": 0.5})
    assert entry["metric"] == "auc" and "top1_agreement" not in entry
    assert entry["reference_accuracy"] == 1.0 and entry["accuracy"] == 0.625  # one tie, one pair misordered
    assert entry["decision_agreement"] == 0.5  # samples 1 and 2 land on the other side of 0.5
    with pytest.raises(BuildError, match="tflm_c reaches ROC AUC 0.6250, 37.50 points below tflite's 1.0000"):
        check_parity({"tflm_c": entry}, "mcu")
    float_check = {"metric": "decision_agreement", "min": TOP1_AGREEMENT_MIN}
    entry = compare(outputs, reference, x, y, "keras", float_check, TASKS["anomaly_detection"], {"threshold": 0.5})
    with pytest.raises(BuildError, match="on the anomaly decision at the threshold for 50.00% of 4"):
        check_parity({"onnx": entry}, "mcu")


def test_check_parity_names_every_export_beyond_its_tolerance():
    report = {
        "onnx": {"reference": "keras", "top1_agreement": 0.98, "max_abs_diff": 0.3, "samples": 360, "accuracy": 0.95, "reference_accuracy": 0.96, "check": FLOAT_CHECK},
        "tflm_c": {"reference": "tflite", "top1_agreement": 0.9, "max_abs_diff": 0.5, "samples": 360, "accuracy": 0.93, "reference_accuracy": 0.95, "check": INT8_CHECK},
        "tflite": {"reference": "keras", "top1_agreement": 0.5, "max_abs_diff": 0.9, "samples": 360, "accuracy": 0.5, "reference_accuracy": 0.96, "check": None},
        "coreml": {"skipped": "Core ML prediction needs macOS"},
    }
    with pytest.raises(BuildError) as error:
        check_parity(report, "phone")
    message = str(error.value)
    assert message.startswith("targets.phone: ")
    assert "onnx agrees with keras on the top-1 class for 98.00% of 360 held-out samples (at least 99.5% required" in message
    assert "tflm_c reaches accuracy 0.9300, 2.00 points below tflite's 0.9500" in message
    assert "tflite" not in message.replace("tflite's", "")  # the reference itself has no tolerance


def test_check_parity_passes_within_tolerance_and_skipped_formats():
    report = {
        "onnx": {"reference": "tflite", "top1_agreement": 0.99, "max_abs_diff": 0.1, "samples": 360, "accuracy": 0.955, "reference_accuracy": 0.96, "check": INT8_CHECK},
        "tensorrt": {"skipped": "no engine runs here"},
    }
    check_parity(report, "pi")


@pytest.mark.slow
def test_float_candidate_exports_agree_with_keras(exported, context_for, digits):
    written = {fmt: exported(fmt, "float32")[1] for fmt in ("tflite", "onnx", "coreml", "tensorrt")}
    report = parity_report(context_for("onnx", "float32"), written, digits.x_test, digits.y_test)
    check_parity(report, "float")
    for fmt in ("tflite", "onnx"):
        assert report[fmt]["reference"] == "keras"
        assert report[fmt]["top1_agreement"] >= TOP1_AGREEMENT_MIN
        assert report[fmt]["samples"] == len(digits.y_test)
    assert report["onnx"]["max_abs_diff"] < 1e-4
    assert "skipped" in report["tensorrt"]
    assert "macOS" in report["coreml"]["skipped"]
    assert report["coreml"]["structure"]["interface"]["output"]["name"] == "scores"


@pytest.mark.slow
def test_int8_onnx_and_tflm_stay_within_a_point_of_tflite_int8(exported, context_for, digits):
    written = {fmt: exported(fmt, "int8")[1] for fmt in ("tflite", "tflm_c", "onnx")}
    report = parity_report(context_for("onnx", "int8"), written, digits.x_test, digits.y_test)
    check_parity(report, "int8")
    for fmt in ("tflm_c", "onnx"):
        assert report[fmt]["reference"] == "tflite"
        assert report[fmt]["reference_accuracy"] - report[fmt]["accuracy"] <= MAX_ACCURACY_DROP
    assert report["tflite"]["reference"] == "keras" and report["tflite"]["check"] is None


@pytest.mark.slow
def test_an_export_of_another_model_fails_the_build(context_for, digits, tmp_path):
    from edgeforge.export.onnx import onnx_bytes_for
    from edgeforge.models import build_model
    from edgeforge.tfcompat import seed_everything

    seed_everything(1)
    untrained = build_model("tiny_cnn", digits.input_shape, digits.num_classes)
    path = tmp_path / "model.onnx"
    path.write_bytes(onnx_bytes_for(untrained, "float32", digits.x_train))
    report = parity_report(context_for("onnx", "float32"), {"onnx": [path]}, digits.x_test, digits.y_test)
    with pytest.raises(BuildError, match="onnx agrees with keras on the top-1 class for"):
        check_parity(report, "sbc")


@pytest.mark.slow
def test_export_stage_writes_parity_json_beside_the_exports(tmp_project, keras_model, tflite_of, digits, monkeypatch):
    from edgeforge.data.loaders import save_splits
    from edgeforge.spec import compose_spec, write_params
    from edgeforge.stages import export as export_stage

    _, composition = compose_spec("specs", ["targets.sbc.formats=[tflite,onnx]"])
    write_params(composition.config)
    save_splits(digits, "build/data/splits.npz")
    model_bytes = tflite_of("float32")
    artifact = tmp_project / "build" / "candidate.tflite"
    artifact.write_bytes(model_bytes)
    config = {"width": 1.0, "sparsity": 0.0, "clusters": 0, "qat": False, "quantization": "float32"}
    from edgeforge.layout import BUILD
    from edgeforge.outputs import CandidateResult, TargetSearch, write_output
    from edgeforge.search.select import export_plan, selection_of

    entry = CandidateResult(
        id="w1-s0-c0-float32", config=config, metrics={"accuracy": 0.97, "latency_ms": 1.0, "model_bytes": len(model_bytes)},
        checks=[], feasible=True, failure=None, epochs=None, artifact=str(artifact), tflite_artifact=str(artifact),
        sha256=hashlib.sha256(model_bytes).hexdigest(), trained_key="0" * 32,
    )
    result = TargetSearch(target="sbc", device="raspberry_pi_4", runtime="tflite", objective="max_accuracy",
                          constraints={}, base_accuracy=0.97, candidates=[entry], pruned_analytically={}, unevaluated=[])
    write_output(BUILD.search_target("sbc"), result)
    write_output(BUILD.selected("sbc"), selection_of(result, entry))
    write_output(BUILD.export_plan("sbc"), export_plan(result, entry))
    monkeypatch.setattr(export_stage, "load_candidate_keras", lambda spec, splits, selected: keras_model)
    export_stage.run("sbc")
    folder = tmp_project / "build/targets/sbc/export"
    parity = json.loads((folder / "parity.json").read_text())
    assert set(parity) == {"tflite", "onnx"}
    assert parity["onnx"]["reference"] == "keras" and parity["onnx"]["top1_agreement"] >= TOP1_AGREEMENT_MIN
    assert json.loads((folder / "exports.json").read_text())["formats"]["onnx"] == ["build/targets/sbc/export/model.onnx"]
