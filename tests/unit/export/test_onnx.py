from __future__ import annotations

import sys

import numpy as np
import pytest

from edgeforge.errors import ExportError, MissingDependencyError
from edgeforge.runtimes import RUNTIMES, evaluate_model, predict
from edgeforge.export.onnx import DEFAULT_OPSET, INPUT_NAME, OUTPUT_NAME, convert_keras, onnx_bytes_for, opset_for


def load(model_bytes: bytes):
    import onnx

    return onnx.load_from_string(model_bytes)


def test_onnxruntime_is_a_registered_runtime():
    assert "onnxruntime" in RUNTIMES


def test_opset_follows_the_runtime_that_loads_the_model(target_for):
    assert opset_for(target_for("tensorrt")) == RUNTIMES["tensorrt"].onnx_opset
    assert opset_for(target_for("onnxruntime")) == RUNTIMES["onnxruntime"].onnx_opset
    assert opset_for(target_for("tflite")) == DEFAULT_OPSET  # a Pi 4 loads ONNX in ONNX Runtime


def test_missing_converter_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "tf2onnx", None)  # import tf2onnx now raises ImportError
    with pytest.raises(MissingDependencyError, match="pip install tf2onnx"):
        convert_keras(keras_model=None)


@pytest.mark.slow
def test_float_onnx_matches_keras_with_canonical_names(exported, keras_model, digits):
    _, [path] = exported("onnx", "float32")
    model = load(path.read_bytes())
    assert [i.name for i in model.graph.input] == [INPUT_NAME]
    assert [o.name for o in model.graph.output] == [OUTPUT_NAME]
    assert model.opset_import[0].version == RUNTIMES["onnxruntime"].onnx_opset
    names = [name for node in model.graph.node for name in (*node.input, *node.output)]
    assert not [name for name in names if ":" in name]
    scores = predict(path.read_bytes(), digits.x_test, "onnxruntime")
    reference = keras_model.predict(digits.x_test, verbose=0)
    np.testing.assert_allclose(scores, reference, atol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("quantization", "expected_ops"),
    [("float16", {"Cast"}), ("dynamic", {"DynamicQuantizeLinear", "ConvInteger", "MatMulInteger"}), ("int8", {"QuantizeLinear", "DequantizeLinear"})],
)
def test_quantization_mode_picks_the_onnx_variant(quantization, expected_ops, keras_model, digits):
    from onnx import TensorProto

    model_bytes = onnx_bytes_for(keras_model, quantization, digits.x_train)
    model = load(model_bytes)
    assert expected_ops <= {node.op_type for node in model.graph.node}
    if quantization == "float16":
        assert {t.data_type for t in model.graph.initializer if t.dims} <= {TensorProto.FLOAT16, TensorProto.INT64}
    accuracy = evaluate_model(model_bytes, digits.x_test, digits.y_test, "onnxruntime").accuracy
    assert accuracy > 0.9


@pytest.mark.slow
def test_int16x8_candidates_get_static_int8(keras_model, digits):
    int16x8 = onnx_bytes_for(keras_model, "int16x8", digits.x_train)
    assert int16x8 == onnx_bytes_for(keras_model, "int8", digits.x_train)


@pytest.mark.slow
def test_unconvertible_op_fails_with_the_converters_reason():
    from edgeforge.tfcompat import import_tf

    tf, keras = import_tf()
    model = keras.Sequential([keras.layers.Input((4,)), keras.layers.Lambda(lambda t: tf.math.lgamma(t + 1.0)), keras.layers.Dense(3)])
    with pytest.raises(ExportError, match="no ONNX conversion for TF op.*Lgamma"):
        convert_keras(model)


@pytest.mark.slow
def test_a_residual_models_int8_onnx_runs_every_convolution_and_addition_on_integer_kernels(tmp_path):
    """ONNX Runtime fuses DQ -> Conv/Add -> Q into QLinearConv/QLinearAdd on x86 only with uint8
    activations: with int8 ones it ran MobileNetV2's convolutions next to a residual ADD, and the
    ADDs, in float (15 Conv, 10 Add and 31 Transpose of 110 nodes: 6.6 ms against 4.3 ms)."""
    import onnx
    import onnxruntime as ort
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    inputs = tf_keras.Input((16, 16, 8))
    expanded = tf_keras.layers.Conv2D(16, 1, activation="relu")(inputs)
    projected = tf_keras.layers.Conv2D(8, 1)(expanded)
    residual = tf_keras.layers.Add()([inputs, projected])
    outputs = tf_keras.layers.Dense(4, activation="softmax")(tf_keras.layers.GlobalAveragePooling2D()(residual))
    model = tf_keras.Model(inputs, outputs)
    samples = np.random.default_rng(0).random((32, 16, 16, 8), dtype=np.float32)

    options = ort.SessionOptions()
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    ort.InferenceSession(onnx_bytes_for(model, "int8", samples), options, providers=["CPUExecutionProvider"])
    ops = [node.op_type for node in onnx.load(str(tmp_path / "optimized.onnx")).graph.node]
    assert ops.count("QLinearConv") == 2 and "QLinearAdd" in ops
    assert not {"Conv", "Add"} & set(ops), ops
