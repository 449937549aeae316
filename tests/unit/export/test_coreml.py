"""Core ML on Linux: conversion works, prediction needs macOS, so the packages are checked structurally."""

from __future__ import annotations

import sys

import pytest

from edgeforge.errors import ExportError
from edgeforge.export.coreml import Compression, compression_for, palette_bits, read_package, verify_package

DIGIT_SHAPE, DIGIT_CLASSES = (8, 8, 1), 10


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        ({"quantization": "float32"}, Compression("float16", 16, 0.0)),
        ({"quantization": "float16", "sparsity": 0.5}, Compression("float16", 16, 0.5)),
        ({"quantization": "int8"}, Compression("linear", 8, 0.0)),
        ({"quantization": "dynamic"}, Compression("linear", 8, 0.0)),
        ({"quantization": "float32", "clusters": 16}, Compression("palettize", 4, 0.0)),
        ({"quantization": "int8", "clusters": 16, "sparsity": 0.5}, Compression("palettize", 4, 0.5)),
    ],
)
def test_compression_follows_the_candidate(candidate, expected):
    assert compression_for(candidate) == expected


@pytest.mark.parametrize(("clusters", "bits"), [(2, 1), (8, 3), (16, 4), (32, 6), (64, 6), (256, 8)])
def test_palette_bits_hold_the_candidates_centroids(clusters, bits):
    assert palette_bits(clusters) == bits


def test_more_clusters_than_any_palette_is_an_export_error():
    with pytest.raises(ExportError, match="do not fit"):
        palette_bits(512)


@pytest.mark.slow
def test_float_candidate_becomes_a_float16_mlprogram_with_float32_io(exported):
    _, [package] = exported("coreml", "float32")
    assert package.name == "model.mlpackage"
    spec, _ = read_package(package)
    assert spec.WhichOneof("Type") == "mlProgram"
    checked = verify_package(package, DIGIT_SHAPE, DIGIT_CLASSES, Compression("float16", 16, 0.0))
    assert checked["interface"]["input"] == {"name": "input", "shape": [1, *DIGIT_SHAPE], "dtype": "float32"}
    assert checked["interface"]["output"] == {"name": "scores", "shape": [1, DIGIT_CLASSES], "dtype": "float32"}
    assert {w["bits"] for w in checked["weights"]} == {16}


@pytest.mark.slow
def test_int8_candidate_stores_8_bit_weights(exported):
    _, [package] = exported("coreml", "int8")  # the contract's export
    checked = verify_package(package, DIGIT_SHAPE, DIGIT_CLASSES, Compression("linear", 8, 0.0))
    assert [w["bits"] for w in checked["weights"] if w["elements"] > 256] == [8, 8]


@pytest.mark.slow
def test_clustered_pruned_candidate_is_palettized_to_4_bits_and_keeps_its_sparsity(exported):
    _, [package] = exported("coreml", "float32", clusters=16, sparsity=0.5)
    checked = verify_package(package, DIGIT_SHAPE, DIGIT_CLASSES, Compression("palettize", 4, 0.5))
    compressed = [w for w in checked["weights"] if w["elements"] > 256]
    assert compressed and all(w["bits"] == 4 and w["sparsity"] >= 0.495 for w in compressed)


@pytest.mark.slow
def test_verification_rejects_weights_of_another_bit_width(exported):
    _, [package] = exported("coreml", "int8")
    with pytest.raises(ExportError, match="stored in 8 bits, expected 4"):
        verify_package(package, DIGIT_SHAPE, DIGIT_CLASSES, Compression("palettize", 4, 0.0))


@pytest.mark.slow
def test_unconvertible_op_fails_with_the_converters_reason():
    from edgeforge.export.coreml import convert_keras
    from edgeforge.tfcompat import import_tf

    tf, keras = import_tf()
    model = keras.Sequential([keras.layers.Input((4,)), keras.layers.Lambda(lambda t: tf.math.lgamma(t + 1.0)), keras.layers.Dense(3)])
    with pytest.raises(ExportError, match="coremltools could not convert.*Lgamma"):
        convert_keras(model, Compression("float16", 16, 0.0))


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "darwin", reason="Core ML prediction needs macOS")
def test_package_predicts_like_keras_on_macos(exported, context_for, digits):
    from edgeforge.export.parity import check_parity, parity_report

    _, paths = exported("coreml", "float32")
    report = parity_report(context_for("coreml", "float32"), {"coreml": paths}, digits.x_test, digits.y_test)
    check_parity(report, "macos")
