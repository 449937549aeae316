"""ONNX: tf2onnx from the candidate's Keras model, quantized with ONNX Runtime's tools as it asks.

The candidate's `quantization` picks the variant:

    float32          the float graph as tf2onnx writes it
    float16          weights stored as float16 and cast to float32 on load (TFLite's float16 mode)
    dynamic          int8 weights, activations quantized at run time (`quantize_dynamic`)
    int8, int16x8    static QDQ: per-channel symmetric int8 weights (7-bit range, see REDUCE_RANGE),
                     asymmetric uint8 activations whose ranges are calibrated on the representative
                     data (what the TFLite int8 converter does); ONNX Runtime has no int16-activation
                     kernels, so int16x8 candidates get 8-bit activations too

A QAT candidate's graph already carries its trained ranges as QuantizeLinear/DequantizeLinear
pairs (tf2onnx turns TF's FakeQuant ops into them), so it is not calibrated a second time.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import ClassVar

import numpy as np

from edgeforge.errors import ExportError, MissingDependencyError
from edgeforge.export.base import ExportContext, Exporter
from edgeforge.runtimes.onnx_runtime import quantization_tools

# The opset when the target's runtime names none (its `onnx_opset`): 17, what ONNX Runtime and
# TensorRT's parser read (see edgeforge/runtimes/).
DEFAULT_OPSET = 17
INPUT_NAME = "input"
OUTPUT_NAME = "scores"
CALIBRATION_SAMPLES = 200  # as many as the TFLite converter sees (passes.ptq.REPRESENTATIVE_SAMPLES)
# 7-bit weight range in int8 storage. ONNX Runtime's x86 kernels without VNNI (AVX2 hosts, where
# the search measures) add u8 x s8 products in pairs into saturating int16 sums; full-range weights
# overflow them (digits: int8 accuracy 0.955 against TFLite's 0.969), 7-bit ones cannot. With it,
# the host that measures and the ARM device that runs compute the same results (0.969).
REDUCE_RANGE = True


def require(module: str, package: str):
    """Import an optional converter/runtime module, or say how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(package) from None


def opset_for(target) -> int:
    """The opset for the runtime of `target` that will load the ONNX model."""
    from edgeforge.runtimes import get_runtime

    return (get_runtime(target.runtime).onnx_opset if target is not None else None) or DEFAULT_OPSET


def convert_keras(keras_model, opset: int = DEFAULT_OPSET, batch_size: int | None = None):
    """The float ONNX model of a tf_keras classifier, with input `input` and output `scores`.

    batch_size None leaves the batch dimension free; TensorRT gets 1 (a static shape needs no
    optimization profile). Raises ExportError with tf2onnx's reason when an op does not convert.
    """
    from edgeforge.tfcompat import import_tf

    tf2onnx = require("tf2onnx", "tf2onnx")
    tf, _ = import_tf()
    signature = (tf.TensorSpec((batch_size, *keras_model.input_shape[1:]), tf.float32, name=INPUT_NAME),)
    try:
        model, _ = tf2onnx.convert.from_keras(keras_model, input_signature=signature, opset=opset)
    except Exception as error:  # tf2onnx raises many unrelated types
        raise ExportError(f"tf2onnx could not convert the model: {first_line(error)}") from error
    unconverted = unconverted_ops(model)
    if unconverted:
        raise ExportError(f"tf2onnx has no ONNX conversion for TF op(s) {', '.join(unconverted)} (opset {opset})")
    if len(model.graph.input) != 1 or len(model.graph.output) != 1:
        counts = f"{len(model.graph.input)} inputs and {len(model.graph.output)} outputs"
        raise ExportError(f"expected a classifier with one input and one output; tf2onnx wrote {counts}")
    canonical_names(model)
    return model


def unconverted_ops(model) -> list[str]:
    """TF ops tf2onnx had no conversion for: it logs them and leaves them in the graph as they were."""
    onnx = require("onnx", "onnx")
    standard = [node for node in model.graph.node if node.domain in ("", "ai.onnx")]
    return sorted({node.op_type for node in standard if not onnx.defs.has(node.op_type)})


def first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def canonical_names(model) -> None:
    """Give the same Keras model the same bytes and names that every consumer can parse.

    tf2onnx numbers the nodes it inserts from a process-wide counter (`Reshape__23`), so a second
    conversion in one process names them differently; they are renumbered in graph order. TF's
    `:0` suffixes become `_0`: a TensorRT calibration cache separates name and scale with ':'.
    """
    graph = model.graph
    numbers: dict[str, str] = {}

    def clean(name: str) -> str:
        renumbered = re.sub(r"__(\d+)", lambda m: "__" + numbers.setdefault(m.group(1), str(len(numbers))), name)
        return renumbered.replace(":", "_")

    renamed = {graph.input[0].name: INPUT_NAME, graph.output[0].name: OUTPUT_NAME}
    taken = set(renamed.values())
    values = [t.name for t in graph.initializer] + [n for node in graph.node for n in (*node.input, *node.output)]
    for name in values:
        if name and name not in renamed:
            new = clean(name)
            while new in taken:
                new += "_"
            renamed[name] = new
            taken.add(new)
    for tensor in graph.initializer:
        tensor.name = renamed[tensor.name]
    for node in graph.node:
        node.name = clean(node.name)
        node.input[:] = [renamed.get(n, n) for n in node.input]
        node.output[:] = [renamed.get(n, n) for n in node.output]
    for info in (*graph.input, *graph.output, *graph.value_info):
        info.name = renamed.get(info.name, info.name)
        for dim in info.type.tensor_type.shape.dim:
            if dim.HasField("dim_param"):
                dim.dim_param = "batch" if info.name in (INPUT_NAME, OUTPUT_NAME) else clean(dim.dim_param)


def has_qdq(model) -> bool:
    return any(node.op_type == "QuantizeLinear" for node in model.graph.node)


class RepresentativeReader:
    """ONNX Runtime's CalibrationDataReader protocol over the representative samples, one batch."""

    def __init__(self, representative_x: np.ndarray):
        self._feeds = iter([{INPUT_NAME: representative_x[:CALIBRATION_SAMPLES].astype(np.float32)}])

    def get_next(self) -> dict | None:
        return next(self._feeds, None)


def quantize_static_int8(model, representative_x: np.ndarray, reader=None):
    """Static QDQ int8 (per-channel weights), activation ranges from the representative data (fed
    by `reader`, a CalibrationDataReader: by default one batch of it)."""
    quantization = quantization_tools()
    with tempfile.TemporaryDirectory(prefix="edgeforge-onnx-") as folder:
        source, out = Path(folder) / "float.onnx", Path(folder) / "int8.onnx"
        source.write_bytes(serialize(model))  # a path: given a ModelProto, ORT rewrites it in place
        try:
            quantization.quantize_static(
                source,
                out,
                reader or RepresentativeReader(representative_x),
                quant_format=quantization.QuantFormat.QDQ,
                per_channel=True,
                reduce_range=REDUCE_RANGE,
                # Asymmetric uint8 activations (TFLite's int8 ones are asymmetric too: the same 256
                # levels). ONNX Runtime's x86 kernels fuse DQ -> Conv/Add -> Q into QLinearConv and
                # QLinearAdd only for uint8 activations: with int8 ones MobileNetV2 ran its 15
                # convolutions next to a residual ADD, and the ADDs, in float, between 31 layout
                # Transposes (6.10 ms against 3.59 ms here, one thread: latency_reference.yaml).
                activation_type=quantization.QuantType.QUInt8,
                weight_type=quantization.QuantType.QInt8,
                calibrate_method=quantization.CalibrationMethod.MinMax,
            )
        except Exception as error:
            raise ExportError(f"ONNX Runtime static quantization failed: {first_line(error)}") from error
        return load_model(out)


def quantize_dynamic_int8(model):
    """int8 weights; activations are quantized per call at run time (ConvInteger/MatMulInteger)."""
    quantization = quantization_tools()
    with tempfile.TemporaryDirectory(prefix="edgeforge-onnx-") as folder:
        source, out = Path(folder) / "float.onnx", Path(folder) / "dynamic.onnx"
        source.write_bytes(serialize(model))
        try:
            quantization.quantize_dynamic(
                source, out, reduce_range=REDUCE_RANGE, weight_type=quantization.QuantType.QInt8
            )
        except Exception as error:
            raise ExportError(f"ONNX Runtime dynamic quantization failed: {first_line(error)}") from error
        return load_model(out)


def store_weights_float16(model):
    """Float weights stored as float16, each with a Cast back to float32 ahead of the graph."""
    onnx = require("onnx", "onnx")
    from onnx import TensorProto, helper, numpy_helper

    casts = []
    for tensor in model.graph.initializer:
        if tensor.data_type != TensorProto.FLOAT:
            continue
        name = tensor.name
        tensor.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(tensor).astype(np.float16), f"{name}_fp16"))
        casts.append(helper.make_node("Cast", [f"{name}_fp16"], [name], name=f"{name}_cast", to=TensorProto.FLOAT))
    nodes = [*casts, *model.graph.node]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.checker.check_model(model)
    return model


def load_model(path: Path):
    onnx = require("onnx", "onnx")
    return onnx.load(str(path))


def quantize_for(model, quantization: str, representative_x: np.ndarray):
    """The variant of a float (or QAT) ONNX model that the candidate's quantization mode asks for."""
    if has_qdq(model) or quantization == "float32":
        return model
    if quantization == "float16":
        return store_weights_float16(model)
    if quantization == "dynamic":
        return quantize_dynamic_int8(model)
    return quantize_static_int8(model, representative_x)


def serialize(model) -> bytes:
    return model.SerializeToString(deterministic=True)


def onnx_bytes_for(keras_model, quantization: str, representative_x: np.ndarray, opset: int = DEFAULT_OPSET) -> bytes:
    """The ONNX model of a candidate, as the search evaluates it in ONNX Runtime and the stage exports it."""
    return serialize(quantize_for(convert_keras(keras_model, opset), quantization, representative_x))


def is_tflite(model_bytes: bytes) -> bool:
    return model_bytes[4:8] == b"TFL3"


class OnnxExporter(Exporter):
    name: ClassVar[str] = "onnx"
    suffixes: ClassVar[tuple[str, ...]] = (".onnx",)
    packages: ClassVar[tuple[str, ...]] = ("tf2onnx", "onnx")

    def export(self, context: ExportContext, out_dir: Path) -> list[Path]:
        if context.selected_bytes is not None and not is_tflite(context.selected_bytes):
            model_bytes = context.selected_bytes  # the search selected (and verified) this very ONNX model
        else:
            opset = opset_for(context.target)
            model_bytes = onnx_bytes_for(context.load_keras(), context.quantization, context.representative_x, opset)
        path = out_dir / "model.onnx"
        path.write_bytes(model_bytes)
        return [path]
