from __future__ import annotations

import numpy as np
import pytest
from bundle_helpers import make_bundle

from edgeforge.bundle.health import check_health, check_health_isolated, compare_outputs


def test_check_health_passes_when_the_model_reproduces_its_canary(build_dir):
    health = check_health(build_dir / "targets" / "sbc" / "bundle")
    assert health.healthy, health.reason
    assert health.max_abs_diff < 1e-5


def test_check_health_fails_when_outputs_differ_from_the_canary(tmp_path):
    make_bundle(tmp_path, broken_canary=True)
    health = check_health(tmp_path / "targets" / "sbc" / "bundle")
    assert not health.healthy
    assert "canary outputs differ from the recorded ones" in health.reason


def test_check_health_fails_when_the_runtime_cannot_load_the_model(tmp_path):
    make_bundle(tmp_path, model_bytes=b"TFL3 this is not a flatbuffer")
    health = check_health(tmp_path / "targets" / "sbc" / "bundle")
    assert not health.healthy
    assert "does not run in tflite" in health.reason


def test_check_health_fails_when_a_file_was_altered(build_dir):
    bundle = build_dir / "targets" / "sbc" / "bundle"
    (bundle / "canary.npz").write_bytes(b"garbage")
    health = check_health(bundle)
    assert not health.healthy and "canary.npz: sha256 differs" in health.reason


def test_check_health_isolated_reports_the_child_result(tmp_path):
    health = check_health_isolated(tmp_path / "no-bundle")
    assert not health.healthy and "no bundle manifest" in health.reason


@pytest.mark.parametrize(
    ("actual", "expected", "healthy", "reason"),
    [
        ([[0.7, 0.3]], [[0.705, 0.295]], True, "match"),
        ([[0.5, 0.5]], [[0.9, 0.1]], False, "differ"),
        ([[0.7, 0.3, 0.0]], [[0.7, 0.3]], False, "shape"),
        ([[np.nan, 0.3]], [[0.7, 0.3]], False, "NaN"),
        ([[0.501, 0.499]], [[0.499, 0.501]], True, "match"),  # a near tie may flip the class
    ],
)
def test_compare_outputs_applies_tolerance_and_class_agreement(actual, expected, healthy, reason):
    health = compare_outputs(np.array(actual), np.array(expected))
    assert health.healthy is healthy and reason in health.reason


def test_compare_outputs_rejects_a_flipped_decisive_class():
    health = compare_outputs(np.array([[0.505, 0.495]]), np.array([[0.47, 0.53]]), atol=0.04)
    assert not health.healthy and "predicted class differs" in health.reason
