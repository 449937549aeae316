
import flatbuffers
import pytest

from edgeforge.cost.graph import read_graph
from edgeforge.errors import ModelFileError
from tests.conftest import MLPERF_TINY

KWS_INT8 = MLPERF_TINY / "kws_ref_model.tflite"

def test_read_graph_reads_kws_ds_cnn_in_execution_order():
    graph = read_graph(KWS_INT8)

    assert graph.model_bytes == KWS_INT8.stat().st_size
    assert [op.type for op in graph.operators] == [
        "CONV_2D", *["DEPTHWISE_CONV_2D", "CONV_2D"] * 4,
        "AVERAGE_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX",
    ]
    first_conv = graph.operators[0]
    assert first_conv.options["stride_w"] == first_conv.options["stride_h"] == 2
    assert first_conv.options["padding"] == "same"
    assert first_conv.options["fused_activation_function"] == "relu"
    assert graph.operators[1].options["depth_multiplier"] == 1


def test_read_graph_describes_tensors():
    graph = read_graph(KWS_INT8)
    model_input = graph.tensors[graph.inputs[0]]
    conv = graph.operators[0]
    weights, bias = graph.tensors[conv.inputs[1]], graph.tensors[conv.inputs[2]]

    assert (model_input.shape, model_input.dtype, model_input.size_bytes) == ((1, 49, 10, 1), "int8", 490)
    assert not model_input.is_constant and model_input.quantization is not None
    assert not model_input.quantization.per_channel
    assert weights.is_constant and weights.dtype == "int8" and weights.shape == (64, 10, 4, 1)
    assert weights.quantization.per_channel and len(weights.quantization.scales) == 64
    assert (bias.dtype, bias.size_bytes) == ("int32", 64 * 4)


def test_read_graph_accepts_bytes_as_well_as_paths():
    from_bytes = read_graph(KWS_INT8.read_bytes())

    assert from_bytes.operators == read_graph(str(KWS_INT8)).operators
    assert from_bytes.source == "<model bytes>"


def test_read_graph_parses_each_distinct_model_once_and_names_each_caller_s_source(tmp_path, monkeypatch):
    import edgeforge.cost.graph as graph_module

    parses = []
    parse = graph_module._parse
    monkeypatch.setattr(graph_module, "_PARSED", {})
    monkeypatch.setattr(graph_module, "_parse", lambda data, source: parses.append(source) or parse(data, source))
    copy = tmp_path / "copy.tflite"
    copy.write_bytes(KWS_INT8.read_bytes())
    first, again, elsewhere = read_graph(KWS_INT8), read_graph(KWS_INT8.read_bytes()), read_graph(copy)
    assert parses == [str(KWS_INT8)]  # the same bytes: parsed once
    assert first.operators == again.operators == elsewhere.operators
    assert (again.source, elsewhere.source) == ("<model bytes>", str(copy))
    other = KWS_INT8.parent / "ad01_int8.tflite"
    assert read_graph(other).operators != first.operators and parses == [str(KWS_INT8), str(other)]


def test_read_graph_raises_model_file_error_when_file_is_missing(tmp_path):
    missing = tmp_path / "nowhere.tflite"

    with pytest.raises(ModelFileError, match="nowhere.tflite: model file not found"):
        read_graph(missing)


def test_read_graph_raises_model_file_error_when_not_a_tflite_file(tmp_path):
    onnx_like = tmp_path / "model.onnx"
    onnx_like.write_bytes(b"\x08\x07\x12\x07pytorch" + bytes(64))

    with pytest.raises(ModelFileError, match=r"model.onnx: not a TFLite model \(no 'TFL3'"):
        read_graph(onnx_like)


def test_read_graph_raises_model_file_error_when_truncated(tmp_path):
    cut = tmp_path / "cut.tflite"
    data = KWS_INT8.read_bytes()
    cut.write_bytes(data[: len(data) // 3])

    with pytest.raises(ModelFileError, match="cut.tflite: truncated or corrupt") as raised:
        read_graph(cut)
    assert "\n" not in str(raised.value)


def test_read_graph_names_custom_ops_and_extended_builtin_codes():
    graph = read_graph(_model_with_three_op_codes())

    assert [op.type for op in graph.operators] == ["CONV_2D", "CUSTOM", "STABLEHLO_ADD"]
    assert graph.operators[1].custom_code == "MyPostprocess"
    assert graph.operators[0].custom_code is None


def _model_with_three_op_codes() -> bytes:
    """A tiny hand-built flatbuffer: an old-style op code (deprecated field only), a custom
    op, and an op code above 127 (only in the extended `builtin_code` field)."""
    from ai_edge_litert import schema_py_generated as schema

    def op_code(deprecated: int, builtin: int, custom: str | None = None):
        code = schema.OperatorCodeT()
        code.deprecatedBuiltinCode, code.builtinCode, code.customCode, code.version = deprecated, builtin, custom, 1
        return code

    def tensor(name: str):
        t = schema.TensorT()
        t.name, t.shape, t.type, t.buffer = name, [1, 4], schema.TensorType.FLOAT32, 0
        return t

    def operator(code_index: int, inputs: list[int], outputs: list[int]):
        op = schema.OperatorT()
        op.opcodeIndex, op.inputs, op.outputs = code_index, inputs, outputs
        return op

    subgraph = schema.SubGraphT()
    subgraph.tensors = [tensor(name) for name in ("in", "a", "b", "out")]
    subgraph.inputs, subgraph.outputs = [0], [3]
    subgraph.operators = [operator(0, [0], [1]), operator(1, [1], [2]), operator(2, [2], [3])]
    model = schema.ModelT()
    model.version = 3
    model.operatorCodes = [
        op_code(schema.BuiltinOperator.CONV_2D, 0),  # written by an old converter
        op_code(schema.BuiltinOperator.CUSTOM, schema.BuiltinOperator.CUSTOM, "MyPostprocess"),
        op_code(schema.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES, schema.BuiltinOperator.STABLEHLO_ADD),
    ]
    model.subgraphs = [subgraph]
    model.buffers = [schema.BufferT()]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
