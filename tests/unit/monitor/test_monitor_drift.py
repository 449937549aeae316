from __future__ import annotations

import json

import numpy as np
import pytest

from edgeforge.monitor.drift import (
    MAX_ELEMENT_FEATURES,
    bin_proportions,
    compare,
    drift_reference_from,
    psi,
    summary_features,
)


@pytest.fixture
def training():
    rng = np.random.default_rng(0)
    return rng.normal(size=(2000, 6)), rng.integers(0, 4, 2000)


def test_summary_features_keeps_every_element_of_small_inputs():
    features, names = summary_features(np.arange(2 * 8 * 8).reshape(2, 8, 8, 1))
    assert features.shape == (2, MAX_ELEMENT_FEATURES) and names[:2] == ["x[0]", "x[1]"]


def test_summary_features_summarises_large_images_per_sample_and_channel():
    images = np.zeros((3, 32, 32, 3))
    images[..., 1] = 1.0
    features, names = summary_features(images)
    assert names == ["mean", "std", "p05", "p95", "mean_c0", "mean_c1", "mean_c2"]
    assert features.shape == (3, 7)
    assert features[0, names.index("mean_c1")] == 1.0


def test_drift_reference_is_json_ready_and_deterministic(training):
    first, second = drift_reference_from(*training), drift_reference_from(*training)
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert [f["name"] for f in first["features"]] == [f"x[{i}]" for i in range(6)]
    assert len(first["features"][0]["edges"]) == 9  # deciles
    assert first["classes"]["count"] == 4
    assert sum(first["classes"]["proportions"]) == pytest.approx(1.0)


def test_drift_reference_counts_classes_of_one_hot_labels():
    reference = drift_reference_from(np.zeros((4, 2)), np.eye(3)[[0, 0, 1, 1]])
    assert reference["classes"] == {"count": 3, "proportions": [0.5, 0.5, 0.0]}


def test_bin_proportions_uses_right_closed_bins_open_at_both_ends():
    assert bin_proportions(np.array([-5.0, 0.0, 0.5, 1.0, 9.0]), [0.0, 1.0]).tolist() == [0.4, 0.4, 0.2]


def test_psi_is_zero_for_identical_and_large_for_disjoint_distributions():
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0.0
    assert psi([1.0, 0.0], [0.0, 1.0]) > 5


def test_compare_finds_no_drift_on_fresh_data_from_the_same_distribution(training):
    reference = drift_reference_from(*training)
    rng = np.random.default_rng(1)
    report = compare(reference, rng.normal(size=(1000, 6)), rng.integers(0, 4, 1000))
    assert report.verdict == "ok", report.feature_psi
    assert report.output_psi < 0.1


def test_compare_flags_a_shifted_feature_and_a_skewed_output(training):
    reference = drift_reference_from(*training)
    rng = np.random.default_rng(1)
    shifted = rng.normal(size=(1000, 6))
    shifted[:, 2] += 1.5
    report = compare(reference, shifted, np.zeros(1000, dtype=int))
    assert report.verdict == "drift"
    assert report.worst_features(1)[0][0] == "x[2]"
    assert report.output_psi > 1


def test_compare_detects_any_change_of_a_constant_feature():
    reference = drift_reference_from(np.zeros((100, 2)), np.zeros(100, dtype=int))
    assert compare(reference, np.ones((50, 2))).verdict == "drift"


def test_compare_rejects_telemetry_of_a_different_input(training):
    with pytest.raises(ValueError, match="3 features, the reference has 6"):
        compare(drift_reference_from(*training), np.zeros((10, 3)))
