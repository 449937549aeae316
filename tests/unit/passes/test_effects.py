"""Each pass does what it claims, measured in the exported .tflite read back with the interpreter."""

from __future__ import annotations

import pytest

from edgeforge.cost.weights import weight_stats
from edgeforge.passes.io import load_trained, save_trained
from edgeforge.runtimes import evaluate_model

SPARSITY = 0.5
CLUSTERS = 16
PRUNE = ("prune", {"sparsity": SPARSITY})
CLUSTER = ("cluster", {"clusters": CLUSTERS})

pytestmark = pytest.mark.slow


def accuracy(model_bytes: bytes, digits) -> float:
    return evaluate_model(model_bytes, digits.x_test, digits.y_test, "tflite").accuracy


@pytest.mark.parametrize("mode", ["float32", "int8"])
def test_prune_reaches_target_sparsity_in_exported_model(trained, convert, mode):
    stats = weight_stats(convert(trained.get(PRUNE), mode))
    assert stats["weight_sparsity"] >= SPARSITY - 0.02


@pytest.mark.parametrize("mode", ["float32", "int8"])
def test_cluster_leaves_at_most_k_values_per_kernel(trained, convert, mode):
    # int8 kernels are per-channel quantized: weight_stats counts per channel there
    assert weight_stats(convert(trained.get(CLUSTER), mode))["max_unique_weights"] <= CLUSTERS


def test_qat_int8_accuracy_within_one_point_of_ptq_int8(trained, convert, base_model, digits):
    ptq = accuracy(convert(base_model, "int8"), digits)
    qat = accuracy(convert(trained.get(("qat", {"preserve": "none"})), "int8"), digits)
    assert qat >= ptq - 0.01, f"QAT int8 {qat:.4f} vs PTQ int8 {ptq:.4f}"


def test_sparsity_preserving_qat_keeps_pruned_zeros(trained, convert):
    model = trained.get(PRUNE, ("qat", {"preserve": "sparsity"}))
    assert weight_stats(convert(model, "int8"))["weight_sparsity"] >= SPARSITY - 0.02


def test_cluster_preserving_qat_keeps_clusters(trained, convert):
    model = trained.get(CLUSTER, ("qat", {"preserve": "clusters"}))
    assert weight_stats(convert(model, "int8"))["max_unique_weights"] <= CLUSTERS


def test_cluster_preserving_qat_model_converts_the_same_after_save_and_load(trained, convert, digits, tmp_path):
    model = trained.get(CLUSTER, ("qat", {"preserve": "clusters"}))
    save_trained(model, tmp_path / "cqat.h5")
    original, reloaded = convert(model, "int8"), convert(load_trained(tmp_path / "cqat.h5"), "int8")
    assert weight_stats(reloaded) == weight_stats(original)
    assert accuracy(reloaded, digits) == accuracy(original, digits)
