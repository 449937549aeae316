"""Costs of an .onnx model read from its graph (cost/onnx_graph.py): on a model that converts to
TFLite too, MACs and params equal the TFLite path's exactly and the predicted latency is within a
few percent, in every mode ONNX Runtime quantizes to; ops with no TFLite builtin are priced."""

from __future__ import annotations

import numpy as np
import pytest

from edgeforge.cost.arena import estimate_arena_bytes
from edgeforge.cost.graph import read_graph
from edgeforge.cost.latency import predict_model
from edgeforge.cost.macs import op_costs
from edgeforge.cost.onnx_graph import onnx_weight_stats, read_onnx_graph
from edgeforge.errors import ModelFileError
from edgeforge.spec.presets import load_preset
from tests.unit.models.onnx_nets import cnn_onnx

SHAPE = (8, 8, 1)
# the digits CNN of onnx_nets (BatchNormalization folded into conv2, as both converters do)
DIGITS_MACS = 8 * 8 * 4 * 9 + 4 * 4 * 8 * 36 + 128 * 10
DIGITS_PARAMS = (36 + 4) + (288 + 8) + (1280 + 10)


@pytest.fixture(scope="module")
def models():
    """{mode: (TFLite bytes of the Keras twin, ONNX Runtime's quantization of the graph)}."""
    from edgeforge.models.onnx_import import data_layout_onnx, onnx_to_keras
    from edgeforge.passes.ptq import PostTrainingQuantization
    from edgeforge.runtimes.onnx_runtime import quantize_onnx_model

    onnx_model = data_layout_onnx(cnn_onnx(1, 8, 8, 10), SHAPE, "net.onnx")
    keras_model = onnx_to_keras(onnx_model, SHAPE)
    x = np.random.default_rng(0).normal(size=(32, *SHAPE)).astype(np.float32)
    return {
        mode: (PostTrainingQuantization({"mode": mode}).convert(keras_model, x), quantize_onnx_model(onnx_model, mode, x))
        for mode in ("float32", "float16", "dynamic", "int8")
    }


def totals(model_bytes: bytes) -> tuple[int, int]:
    costs = op_costs(read_graph(model_bytes))
    return sum(c.macs for c in costs), sum(c.params for c in costs)


@pytest.mark.parametrize("mode", ["float32", "dynamic", "int8"])
def test_onnx_graph_macs_and_params_equal_the_tflite_twins(models, mode):
    tflite_bytes, onnx_bytes = models[mode]
    assert totals(onnx_bytes) == totals(tflite_bytes) == (DIGITS_MACS, DIGITS_PARAMS)


def test_float16_weights_count_as_params_where_tflite_dequantizes_them(models):
    """TFLite's float16 model computes its weights with DEQUANTIZE ops (its params count skips
    them); ONNX Runtime casts them once at load: same MACs, the weights counted."""
    tflite_bytes, onnx_bytes = models["float16"]
    assert totals(onnx_bytes) == (DIGITS_MACS, DIGITS_PARAMS) and totals(tflite_bytes)[0] == DIGITS_MACS


@pytest.mark.parametrize("mode", ["float32", "dynamic"])
def test_onnx_graph_latency_is_within_a_few_percent_of_the_tflite_twins(models, mode):
    tflite_bytes, onnx_bytes = models[mode]
    device = load_preset("raspberry_pi_4")
    onnx_ms = predict_model(read_graph(onnx_bytes), device, "onnxruntime").latency_ms
    tflite_ms = predict_model(read_graph(tflite_bytes), device, "onnxruntime").latency_ms
    assert abs(onnx_ms - tflite_ms) / tflite_ms < 0.03


def test_static_int8_reads_as_int8_ops_with_one_dequantize_to_the_float_output(models):
    """QDQ pairs between ops are 8-bit tensors (uint8 activations, export/onnx.py), not ops, priced
    at the int8 rates; ONNX Runtime's model keeps a float output (one DEQUANTIZE more than TFLite's
    int8-I/O model, priced as such)."""
    graph = read_graph(models["int8"][1])
    kinds = [(op.type, graph.tensors[op.inputs[0]].dtype) for op in graph.operators]
    assert ("CONV_2D", "uint8") in kinds and ("FULLY_CONNECTED", "uint8") in kinds
    assert [op.type for op in graph.operators].count("DEQUANTIZE") == 1 and graph.operators[-1].type == "DEQUANTIZE"
    device = load_preset("raspberry_pi_4")
    onnx_ms = predict_model(graph, device, "onnxruntime").latency_ms
    tflite_ms = predict_model(read_graph(models["int8"][0]), device, "onnxruntime").latency_ms
    assert tflite_ms < onnx_ms < 1.25 * tflite_ms


def test_activations_and_biases_fuse_as_tflite_fuses_them(models):
    graph = read_graph(models["float32"][1])
    assert [op.type for op in graph.operators] == [
        "TRANSPOSE", "CONV_2D", "MAX_POOL_2D", "CONV_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX",
    ]
    assert graph.operators[1].options["fused_activation_function"] == "relu"
    assert graph.tensors[graph.operators[1].inputs[1]].shape == (4, 3, 3, 1)  # TFLite's [out, kh, kw, in]
    assert abs(estimate_arena_bytes(graph) - estimate_arena_bytes(read_graph(models["float32"][0]))) < 512


def test_an_op_without_a_tflite_builtin_is_priced_without_warnings():
    import warnings

    from edgeforge.models.onnx_import import data_layout_onnx

    model = data_layout_onnx(cnn_onnx(1, 8, 8, 10, batchnorm=False, extra="Erf"), SHAPE, "net.onnx")
    graph = read_onnx_graph(model.SerializeToString())
    erf = [op for op in graph.operators if op.options.get("onnx_op") == "Erf"]
    assert len(erf) == 1 and erf[0].type == "EXP"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # known to the MAC counter and the latency model
        costs = op_costs(graph)
        predict_model(graph, load_preset("x86_host"), "onnxruntime")
    assert sum(c.macs for c in costs) == DIGITS_MACS and all(c.macs_known for c in costs)


def test_onnx_weight_stats_reads_int8_codes_per_channel(models):
    stats = onnx_weight_stats(models["int8"][1])
    assert 0 <= stats["weight_sparsity"] < 0.1 and 2 < stats["max_unique_weights"] <= 128
    assert onnx_weight_stats(models["float32"][1])["max_unique_weights"] == 1280  # fc: every weight differs


def test_bytes_that_are_neither_tflite_nor_onnx_are_a_model_file_error():
    with pytest.raises(ModelFileError, match="not a TFLite"):
        read_graph(b"\x08\x07 not a protobuf at all")
    with pytest.raises(ModelFileError, match="not a TFLite model"):
        read_graph(b"plain text, no model")
