"""Read a .tflite flatbuffer into plain dataclasses: the main subgraph's tensors and operators.

Everything else in `edgeforge.cost` (MACs, arena, latency, flash) works on this `Graph`, so it
never has to touch the flatbuffer API. The schema module comes from `ai_edge_litert`, which
imports without loading the TFLite runtime (no TensorFlow import).

    graph = read_graph("model.tflite")
    for op in graph.operators:
        print(op.index, op.type, [graph.tensors[i].shape for i in op.inputs if i >= 0])
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from edgeforge.errors import ModelFileError

# The 4-byte file identifier every TFLite flatbuffer carries at offset 4.
TFLITE_IDENTIFIER = b"TFL3"

# Bytes per element of each tensor type; int4 is packed two to a byte.
ELEMENT_BYTES = {
    "float32": 4, "float16": 2, "bfloat16": 2, "float64": 8,
    "int64": 8, "int32": 4, "int16": 2, "int8": 1, "int4": 0.5,
    "uint64": 8, "uint32": 4, "uint16": 2, "uint8": 1,
    "bool": 1, "complex64": 8, "complex128": 16, "string": 1,
}


@dataclass(frozen=True)
class Quantization:
    """Affine quantization of a tensor; more than one scale means per-channel (along `axis`)."""

    scales: tuple[float, ...]
    zero_points: tuple[int, ...]
    axis: int = 0

    @property
    def per_channel(self) -> bool:
        return len(self.scales) > 1


@dataclass(frozen=True)
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str  # "float32", "int8", "int16", "int32", ...
    size_bytes: int
    is_constant: bool  # its buffer holds data (weights, biases, constant shapes)
    is_variable: bool = False  # a stateful tensor (TFLM allocates it outside the memory plan)
    quantization: Quantization | None = None

    @property
    def elements(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class Operator:
    index: int
    type: str  # builtin name, e.g. "CONV_2D"; "CUSTOM" for custom ops (see custom_code)
    inputs: tuple[int, ...]  # tensor indices; -1 marks an omitted optional input
    outputs: tuple[int, ...]
    options: dict[str, Any] = field(default_factory=dict)  # snake_case builtin options
    custom_code: str | None = None
    version: int = 1


@dataclass(frozen=True)
class Graph:
    """The main subgraph of a TFLite model, in execution order."""

    source: str  # file name, for messages
    model_bytes: int
    tensors: tuple[Tensor, ...]
    operators: tuple[Operator, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    subgraph_count: int = 1
    description: str = ""

    def tensor(self, index: int) -> Tensor | None:
        """The tensor at `index`, or None for an omitted optional input (-1)."""
        return self.tensors[index] if index >= 0 else None

    @property
    def op_types(self) -> list[str]:
        """Distinct operator types in first-use order (what an op resolver must register)."""
        return list(dict.fromkeys(op.type for op in self.operators))


def read_graph(model: str | Path | bytes) -> Graph:
    """Parse a .tflite file (or its bytes) into a `Graph`; raise `ModelFileError` if it is not one.
    An .onnx model becomes the Graph TFLite's converter would make of it (cost/onnx_graph.py)."""
    data, source = _load(model)
    if len(data) < 8 or data[4:8] != TFLITE_IDENTIFIER:
        from edgeforge.cost.onnx_graph import looks_like_onnx, read_onnx_graph

        if looks_like_onnx(data):  # a model with no TFLite twin is costed from its ONNX graph
            return read_onnx_graph(data, source)
        raise ModelFileError(f"{source}: not a TFLite model (no 'TFL3' flatbuffer identifier)")
    try:
        return _parse_once(data, source)
    # A truncated or corrupt flatbuffer fails as whichever read first runs off the end.
    except (struct.error, IndexError, KeyError, ValueError, TypeError, AttributeError, OverflowError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelFileError(f"{source}: truncated or corrupt TFLite flatbuffer ({detail})") from None


# A search reads the same few models many times in one process (the pre-filter per target and per
# combination of a structure, then the cost profile of every memo hit: 48 reads of 17 files in the
# default build), and a flatbuffer parse in Python costs milliseconds: each distinct file is parsed
# once. Keyed by a digest, not the bytes, so that large models are not kept alive; Graphs are frozen.
# A stage may also keep them on disk for the next process (graph_store.py).
_PARSED: dict[bytes, Graph] = {}
_PARSED_MAX = 64


def _parse_once(data: bytes, source: str) -> Graph:
    import hashlib

    from edgeforge.cost import graph_store

    key = hashlib.sha256(data).digest()
    graph = _PARSED.get(key) or graph_store.load(key)
    if graph is None:
        graph = _parse(data, source)
        graph_store.save(key, graph)
    if key not in _PARSED:
        if len(_PARSED) >= _PARSED_MAX:
            del _PARSED[next(iter(_PARSED))]  # the oldest
        _PARSED[key] = graph
    return graph if graph.source == source else replace(graph, source=source)


def _load(model: str | Path | bytes) -> tuple[bytes, str]:
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model), "<model bytes>"
    path = Path(model)
    try:
        return path.read_bytes(), str(path)
    except FileNotFoundError:
        raise ModelFileError(f"{path}: model file not found") from None
    except IsADirectoryError:
        raise ModelFileError(f"{path}: is a directory, not a model file") from None
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read model file ({exc.strerror})") from None


def _parse(data: bytes, source: str) -> Graph:
    schema = _schema()
    model = schema.Model.GetRootAs(data, 0)
    if model.SubgraphsLength() == 0:
        raise ModelFileError(f"{source}: TFLite model has no subgraph")
    subgraph = model.Subgraphs(0)
    constant_buffers = _constant_buffers(model, len(data))
    tensors = tuple(
        _read_tensor(subgraph.Tensors(i), i, constant_buffers) for i in range(subgraph.TensorsLength())
    )
    op_codes = [_op_code(model.OperatorCodes(i)) for i in range(model.OperatorCodesLength())]
    operators = tuple(
        _read_operator(subgraph.Operators(i), i, op_codes) for i in range(subgraph.OperatorsLength())
    )
    graph = Graph(
        source=source,
        model_bytes=len(data),
        tensors=tensors,
        operators=operators,
        inputs=tuple(int(i) for i in subgraph.InputsAsNumpy()) if subgraph.InputsLength() else (),
        outputs=tuple(int(i) for i in subgraph.OutputsAsNumpy()) if subgraph.OutputsLength() else (),
        subgraph_count=model.SubgraphsLength(),
        description=(model.Description() or b"").decode("utf-8", "replace"),
    )
    _check_tensor_indices(graph)
    return graph


def _check_tensor_indices(graph: Graph) -> None:
    """Every tensor an operator or the subgraph names exists (a flipped bit in an index would
    otherwise surface as an IndexError anywhere later, or crash the runtime)."""
    count = len(graph.tensors)
    for op in graph.operators:
        for index in (*op.inputs, *op.outputs):
            if not -1 <= index < count:  # -1: an omitted optional input
                raise ValueError(f"operator #{op.index} ({op.type}) names tensor {index}; the subgraph has {count}")
    for index in (*graph.inputs, *graph.outputs):
        if not 0 <= index < count:
            raise ValueError(f"the subgraph's inputs or outputs name tensor {index}; it has {count}")


def _constant_buffers(model: Any, file_bytes: int) -> set[int]:
    """Indices of buffers that hold data, inline or (for >2 GB models) at an offset past the flatbuffer."""
    constant = set()
    for i in range(model.BuffersLength()):
        buffer = model.Buffers(i)
        if buffer.DataLength() > 0:
            # Touch the data so a buffer cut short by truncation fails here, not later.
            if len(buffer.DataAsNumpy()) != buffer.DataLength():
                raise ValueError(f"buffer {i} runs past the end of the file")
            constant.add(i)
        elif buffer.Offset() > 1:  # offset 1 is the placeholder the converter writes
            if buffer.Offset() + buffer.Size() > file_bytes:
                raise ValueError(f"buffer {i} lies past the end of the file")
            constant.add(i)
    return constant


def _read_tensor(fb_tensor: Any, index: int, constant_buffers: set[int]) -> Tensor:
    dtype = _enum_names("TensorType")[fb_tensor.Type()].lower()
    shape = tuple(int(d) for d in fb_tensor.ShapeAsNumpy()) if fb_tensor.ShapeLength() else ()
    elements = math.prod(shape)
    return Tensor(
        index=index,
        name=(fb_tensor.Name() or b"").decode("utf-8", "replace"),
        shape=shape,
        dtype=dtype,
        size_bytes=math.ceil(elements * ELEMENT_BYTES.get(dtype, 1)),
        is_constant=fb_tensor.Buffer() in constant_buffers,
        is_variable=bool(fb_tensor.IsVariable()),
        quantization=_read_quantization(fb_tensor.Quantization()),
    )


def _read_quantization(fb_quant: Any) -> Quantization | None:
    if fb_quant is None or fb_quant.ScaleLength() == 0:
        return None
    return Quantization(
        scales=tuple(float(s) for s in fb_quant.ScaleAsNumpy()),
        zero_points=tuple(int(z) for z in fb_quant.ZeroPointAsNumpy()) if fb_quant.ZeroPointLength() else (0,),
        axis=int(fb_quant.QuantizedDimension()),
    )


def _op_code(fb_code: Any) -> tuple[str, str | None, int]:
    # Builtin codes above 127 live in `builtin_code`; older files only fill the int8
    # `deprecated_builtin_code`. The larger of the two is the real one (as TFLM reads it).
    code = max(fb_code.BuiltinCode(), fb_code.DeprecatedBuiltinCode())
    name = _enum_names("BuiltinOperator").get(code, f"BUILTIN_{code}")
    custom = fb_code.CustomCode()
    return name, custom.decode("utf-8", "replace") if custom else None, fb_code.Version()


def _read_operator(fb_op: Any, index: int, op_codes: list[tuple[str, str | None, int]]) -> Operator:
    name, custom_code, version = op_codes[fb_op.OpcodeIndex()]
    return Operator(
        index=index,
        type=name,
        inputs=tuple(int(i) for i in fb_op.InputsAsNumpy()) if fb_op.InputsLength() else (),
        outputs=tuple(int(i) for i in fb_op.OutputsAsNumpy()) if fb_op.OutputsLength() else (),
        options=_read_options(fb_op),
        custom_code=custom_code if name == "CUSTOM" else None,
        version=version,
    )


def _read_options(fb_op: Any) -> dict[str, Any]:
    """Builtin options as a snake_case dict, enums as lower-case names (padding: "same")."""
    schema = _schema()
    table = fb_op.BuiltinOptions()
    if table is None:
        return {}
    options = schema.BuiltinOptionsCreator(fb_op.BuiltinOptionsType(), table)
    if options is None:
        return {}
    result = {}
    for key, value in vars(options).items():
        key = _snake_case(key)
        if key == "padding":
            value = _enum_names("Padding")[value].lower()
        elif key == "fused_activation_function":
            value = _enum_names("ActivationFunctionType")[value].lower()
        elif isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        elif not isinstance(value, (int, float, bool, str, type(None))) and hasattr(value, "__iter__"):
            value = [int(v) for v in value]  # e.g. a reshape's new_shape
        result[key] = value
    return result


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@cache
def _schema() -> Any:
    from ai_edge_litert import schema_py_generated

    return schema_py_generated


@cache
def _enum_names(enum: str) -> dict[int, str]:
    """Value → name of a schema enum class (e.g. BuiltinOperator: 3 → "CONV_2D")."""
    members = vars(getattr(_schema(), enum))
    return {value: name for name, value in members.items() if not name.startswith("_") and isinstance(value, int)}
