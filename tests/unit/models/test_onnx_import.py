"""model.path: model.onnx. The ONNX model (NCHW, as torch.onnx.export writes it) becomes a
channels-last tf_keras twin whose outputs match ONNX Runtime's, and whose TFLite conversion runs in
LiteRT; ONNX Runtime's own quantization makes the onnxruntime candidates; bad files and ops the
converter does not handle are one-line UserErrors naming model.path."""

from __future__ import annotations

import numpy as np
import pytest

from edgeforge.errors import UserError
from edgeforge.models.files import load_model_file
from edgeforge.models.onnx_import import (
    UnsupportedOnnxOp,
    check_parity,
    data_layout_onnx,
    keras_from_onnx,
    load_onnx,
    onnx_predict,
    onnx_to_keras,
)
from tests.unit.models.onnx_nets import cnn_onnx, cnn_weights

SHAPE = (8, 8, 1)  # the data's layout: NHWC, as edgeforge's loaders hold images


def samples(count: int = 24, shape=SHAPE, seed: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(count, *shape)).astype(np.float32)


@pytest.fixture
def onnx_file(tmp_path, monkeypatch):
    import onnx

    monkeypatch.chdir(tmp_path)
    onnx.save(cnn_onnx(1, 8, 8, 10), "net.onnx")
    return "net.onnx"


def test_nchw_onnx_takes_nhwc_data_and_its_keras_twin_matches_onnx_runtime(onnx_file):
    import onnx

    original = onnx.load(onnx_file)
    adapted = data_layout_onnx(original, SHAPE, onnx_file)
    assert adapted.graph.node[0].op_type == "Transpose"  # NHWC data -> the model's NCHW
    x = samples()
    # the adapted model on NHWC data computes what the user's model computes on NCHW data
    np.testing.assert_array_equal(onnx_predict(adapted, x), _run_original(original, x.transpose(0, 3, 1, 2)))
    keras_model = onnx_to_keras(adapted, SHAPE, onnx_file)
    assert keras_model.input_shape == (None, *SHAPE)
    parity = check_parity(keras_model, adapted, x, onnx_file)
    assert parity["max_abs_diff"] < 1e-5 and parity["samples"] == len(x)


def test_flatten_of_a_channels_first_tensor_keeps_onnx_order(onnx_file):
    """Gemm weights index the NCHW flattening; a wrong order would break parity, not crash."""
    model, adapted = keras_from_onnx(onnx_file, SHAPE)
    assert any(type(layer).__name__ == "Permute" for layer in model.layers)
    expected = onnx_predict(adapted, samples())
    np.testing.assert_allclose(model.predict(samples(), verbose=0), expected, atol=1e-5)


def test_stride_two_conv_with_symmetric_pads_is_padded_exactly(tmp_path):
    """PyTorch pads 1 on both sides; TensorFlow's 'same' at stride 2 would pad (0, 1): a ZeroPadding2D."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.normal(size=(6, 3, 3, 3)).astype(np.float32), "w"),
             numpy_helper.from_array(rng.normal(size=6).astype(np.float32), "b"),
             numpy_helper.from_array(rng.normal(size=(4, 6 * 4 * 4)).astype(np.float32), "fc")]
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Flatten", ["r"], ["f"]),
        helper.make_node("Gemm", ["f", "fc"], ["y"], transB=1),
    ]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    adapted = data_layout_onnx(model, (8, 8, 3))
    keras_model = onnx_to_keras(adapted, (8, 8, 3))
    assert any(type(layer).__name__ == "ZeroPadding2D" for layer in keras_model.layers)
    assert check_parity(keras_model, adapted, samples(shape=(8, 8, 3)))["max_abs_diff"] < 1e-4


def test_tf2onnx_graph_of_a_channels_last_model_converts(tmp_path):
    """tf2onnx writes NHWC input, Transposes around the convolutions, MatMul + Add for Dense."""
    import tf2onnx

    from edgeforge.tfcompat import import_tf, seed_everything

    tf, keras = import_tf()
    seed_everything(0)
    net = keras.Sequential([
        keras.layers.Input(shape=SHAPE), keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(), keras.layers.Flatten(), keras.layers.Dense(10), keras.layers.Softmax(),
    ])
    proto, _ = tf2onnx.convert.from_keras(net, input_signature=[tf.TensorSpec((1, *SHAPE), tf.float32, name="x")], opset=17)
    adapted = data_layout_onnx(proto, SHAPE)
    assert adapted.graph.node[0].op_type != "Transpose"  # already the data's layout
    keras_model = onnx_to_keras(adapted, SHAPE)
    assert check_parity(keras_model, adapted, samples())["max_abs_diff"] < 1e-5
    np.testing.assert_allclose(keras_model.predict(samples(), verbose=0), net.predict(samples(), verbose=0), atol=1e-5)


def test_converted_model_quantizes_to_tflite_and_runs_in_litert(onnx_file):
    """The twin goes through edgeforge's own PTQ: float32 matches ONNX Runtime, int8 mostly agrees."""
    from edgeforge.passes.ptq import PostTrainingQuantization
    from edgeforge.runtimes import get_runtime

    model, adapted = keras_from_onnx(onnx_file, SHAPE)
    x = samples(64)
    expected = onnx_predict(adapted, x)
    runtime = get_runtime("tflite")
    float_bytes = PostTrainingQuantization({"mode": "float32"}).convert(model, samples(100, seed=9))
    np.testing.assert_allclose(runtime.predict(float_bytes, x), expected, atol=1e-4)
    int8_bytes = PostTrainingQuantization({"mode": "int8"}).convert(model, samples(100, seed=9))
    agree = (runtime.predict(int8_bytes, x).argmax(1) == expected.argmax(1)).mean()
    assert agree >= 0.8, agree


@pytest.mark.parametrize(
    "mode, op", [("int8", "QuantizeLinear"), ("int16x8", "QuantizeLinear"), ("dynamic", "ConvInteger"), ("float16", "Cast")]
)
def test_onnx_runtime_quantizes_the_users_graph(onnx_file, mode, op):
    import onnx

    from edgeforge.runtimes import get_runtime
    from edgeforge.runtimes.onnx_runtime import quantize_onnx_model

    adapted = data_layout_onnx(load_onnx(onnx_file), SHAPE)
    quantized = quantize_onnx_model(adapted, mode, samples(40, seed=5))
    assert op in {node.op_type for node in onnx.load_from_string(quantized).graph.node}
    assert quantized == quantize_onnx_model(adapted, mode, samples(40, seed=5))  # byte-reproducible
    x = samples(64)
    agree = (get_runtime("onnxruntime").predict(quantized, x).argmax(1) == onnx_predict(adapted, x).argmax(1)).mean()
    assert agree >= 0.8, agree


def test_an_op_the_converter_does_not_handle_names_op_node_and_file(tmp_path, monkeypatch):
    import onnx

    monkeypatch.chdir(tmp_path)
    onnx.save(cnn_onnx(1, 8, 8, 10, extra="Erf"), "erf.onnx")
    with pytest.raises(UnsupportedOnnxOp, match=r"^model.path: erf.onnx: ONNX op Erf \(node '/Erf'\) does not convert to TFLite"):
        keras_from_onnx("erf.onnx", SHAPE)


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "^model.path: gone.onnx does not exist; export your model there"),
        (b"\x08\x07garbage that is no protobuf" * 3, "^model.path: gone.onnx is not a valid ONNX model .*; export it again"),
    ],
)
def test_missing_or_corrupt_onnx_file_is_one_line(tmp_path, monkeypatch, content, message):
    monkeypatch.chdir(tmp_path)
    if content is not None:
        (tmp_path / "gone.onnx").write_bytes(content)
    with pytest.raises(UserError, match=message) as error:
        load_model_file("gone.onnx", SHAPE, 10)
    assert "\n" not in str(error.value)


def test_onnx_input_that_fits_no_reading_of_the_data(onnx_file):
    with pytest.raises(UserError, match=r"net.onnx takes samples shaped \(1, 8, 8\) .* the data's are \(16, 2\)"):
        keras_from_onnx(onnx_file, (16, 2))


def test_truncated_weights_are_reported_by_the_checker(tmp_path, monkeypatch):
    import onnx

    monkeypatch.chdir(tmp_path)
    data = cnn_onnx(1, 8, 8, 10, cnn_weights(1, 8, 8, 10)).SerializeToString()
    (tmp_path / "cut.onnx").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="^model.path: cut.onnx is not a valid ONNX model"):
        load_onnx("cut.onnx")
    assert onnx  # imported for the fixture's protobuf classes


def _run_original(model, x_nchw: np.ndarray) -> np.ndarray:
    from edgeforge.runtimes.onnx_runtime import inference_session

    session = inference_session(model.SerializeToString())
    name = session.get_inputs()[0].name
    return np.concatenate([session.run(None, {name: x_nchw[i : i + 1]})[0] for i in range(len(x_nchw))])


def test_conv1d_ncl_model_takes_time_major_recordings():
    """A PyTorch Conv1d net (N, C, L) on recordings edgeforge holds as (T, C)."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(1)
    inits = [numpy_helper.from_array(rng.normal(size=(5, 3, 4)).astype(np.float32), "w"),
             numpy_helper.from_array(rng.normal(size=5).astype(np.float32), "b"),
             numpy_helper.from_array(rng.normal(size=(5, 2)).astype(np.float32), "fc"),
             numpy_helper.from_array(rng.normal(size=2).astype(np.float32), "fc_b")]
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[4], strides=[2]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("GlobalAveragePool", ["r"], ["g"]),
        helper.make_node("Squeeze", ["g", "axes"], ["s"]),
        helper.make_node("MatMul", ["s", "fc"], ["m"]),
        helper.make_node("Add", ["m", "fc_b"], ["y"]),
    ]
    inits.append(numpy_helper.from_array(np.array([2], np.int64), "axes"))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])], initializer=inits)
    adapted = data_layout_onnx(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), (32, 3))
    keras_model = onnx_to_keras(adapted, (32, 3))
    assert [type(layer).__name__ for layer in keras_model.layers if type(layer).__name__ == "Dense"] == ["Dense"]  # bias fused
    assert check_parity(keras_model, adapted, samples(shape=(32, 3)))["max_abs_diff"] < 1e-5


def test_spec_of_an_onnx_model_allows_no_training(tmp_path, monkeypatch):
    import yaml
    from pydantic import ValidationError

    from edgeforge.spec.models import ModelSpec, Spec
    from tests.conftest import REPO

    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.onnx").write_bytes(b"")
    config = yaml.safe_load((REPO / "params.yaml").read_text())
    config["model"] = {"path": "net.onnx", "factory_file": "net.onnx", "weights_file": "net.onnx"}
    config["search"]["space"] = {"quantization": ["float32", "int8"]}
    config["train"]["epochs"] = 3
    with pytest.raises(ValidationError, match="train.epochs 3: model.path net.onnx is an ONNX model, which edgeforge does not train"):
        Spec.model_validate(config)
    config["train"]["epochs"] = 0
    assert Spec.model_validate(config).model.path == "net.onnx"
    config["search"]["space"].update(sparsity=[0.0, 0.5], qat=[False, True])
    with pytest.raises(ValidationError, match=r"search.space: sparsity \[0.0, 0.5\], qat \[False, True\] need\(s\) training"):
        Spec.model_validate(config)
    with pytest.raises(ValidationError, match="with an ONNX path: an ONNX model is used as it is"):
        ModelSpec(path="net.onnx", factory="nets.conv:build", factory_file="net.onnx", weights_file="net.onnx")


def test_parity_check_fails_loudly_when_the_conversion_differs(onnx_file):
    model, adapted = keras_from_onnx(onnx_file, SHAPE)
    conv = next(layer for layer in model.layers if type(layer).__name__ == "Conv2D")
    kernel, bias = conv.get_weights()
    conv.set_weights([kernel, bias + 0.5])  # what a mistranslated op would do
    with pytest.raises(UserError, match=r"^model.path: net.onnx: the TFLite-bound conversion differs from ONNX Runtime by up to"):
        check_parity(model, adapted, samples(), onnx_file)


def test_converted_base_is_the_same_model_every_time(onnx_file, tmp_path):
    """Layer names come from the graph alone, so the base .h5 does not depend on what the process built before."""
    first, _ = keras_from_onnx(onnx_file, SHAPE)
    keras_from_onnx(onnx_file, SHAPE)
    second, _ = keras_from_onnx(onnx_file, SHAPE)
    assert [layer.name for layer in first.layers] == [layer.name for layer in second.layers]
    first.save(tmp_path / "a.h5")
    second.save(tmp_path / "b.h5")
    from edgeforge.search.trainer import file_weights_fingerprint

    assert file_weights_fingerprint(tmp_path / "a.h5") == file_weights_fingerprint(tmp_path / "b.h5")


def test_in_model_normalization_padding_and_silu_convert():
    """(x - mean[c]) / std, nn.ZeroPad2d, Conv, SiLU (Sigmoid * x), GlobalAveragePool, Flatten, Gemm."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(2)
    arrays = {"mean": np.array([0.2, 0.5, -0.3], np.float32).reshape(3, 1, 1), "std": np.array(0.25, np.float32),
              "pads": np.array([0, 0, 1, 2, 0, 0, 1, 0], np.int64), "w": rng.normal(size=(5, 3, 3, 3)).astype(np.float32),
              "fc": rng.normal(size=(4, 5)).astype(np.float32), "fc_b": rng.normal(size=4).astype(np.float32)}
    nodes = [
        helper.make_node("Sub", ["x", "mean"], ["centred"]), helper.make_node("Div", ["centred", "std"], ["scaled"]),
        helper.make_node("Pad", ["scaled", "pads"], ["padded"]),
        helper.make_node("Conv", ["padded", "w"], ["c"], kernel_shape=[3, 3]),
        helper.make_node("Sigmoid", ["c"], ["gate"]), helper.make_node("Mul", ["c", "gate"], ["silu"]),
        helper.make_node("GlobalAveragePool", ["silu"], ["g"]), helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "fc", "fc_b"], ["y"], transB=1),
    ]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
                              initializer=[numpy_helper.from_array(v, k) for k, v in arrays.items()])
    adapted = data_layout_onnx(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), (8, 8, 3))
    keras_model = onnx_to_keras(adapted, (8, 8, 3))
    assert check_parity(keras_model, adapted, samples(shape=(8, 8, 3)))["max_abs_diff"] < 1e-4
    # a constant that is not per channel has no layer to become
    graph.initializer[0].CopyFrom(numpy_helper.from_array(rng.normal(size=(3, 8, 8)).astype(np.float32), "mean"))
    adapted = data_layout_onnx(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), (8, 8, 3))
    with pytest.raises(UnsupportedOnnxOp, match="ONNX op Sub .* a constant that varies along more than the channel axis"):
        onnx_to_keras(adapted, (8, 8, 3))
