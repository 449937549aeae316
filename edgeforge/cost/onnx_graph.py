"""Read an .onnx model into the `Graph` of edgeforge.cost.graph, as TFLite's converter would lay it out.

A user's ONNX graph that no converter turns into TFLite (models/onnx_import.py) still runs in ONNX
Runtime, and its candidates are costed from the ONNX graph itself: this module rewrites the graph
into the operators TFLite's converter would emit for the same model, so MACs and params
(cost/macs.py), the per-op latency model (cost/latency.py) and the replayed memory planner
(cost/arena.py) work unchanged. On a model both can read, MACs and params equal the TFLite path's
and the predicted latency is within a few percent (tests/unit/cost/test_onnx_graph.py).

How the ONNX graph becomes TFLite-shaped operators:

- ops map to their TFLite builtins: Conv -> CONV_2D (DEPTHWISE_CONV_2D when every group is one
  input channel; a 1-D Conv is a CONV_2D with a 1-high filter), Gemm / MatMul by a constant ->
  FULLY_CONNECTED, ConvTranspose -> TRANSPOSE_CONV, MaxPool -> MAX_POOL_2D, GlobalAveragePool ->
  MEAN, Sigmoid -> LOGISTIC, ... (`_OP_TYPES`); weights are laid out as TFLite stores them
  ([out, kh, kw, in], FULLY_CONNECTED [units, in]), so the MAC formulas read them alike;
- what the TFLite converter fuses is fused: an Add of a constant vector after a convolution or
  MatMul is its bias, a BatchNormalization after one is folded into it, Relu / Clip after one of
  the ops TFLite fuses activations into becomes its `fused_activation_function`;
- quantization is read, not counted as ops: QuantizeLinear -> DequantizeLinear pairs between ops
  (static QDQ int8) make the tensor int8; DequantizeLinear of a constant is an int8 (int32 bias)
  constant; ONNX Runtime's dynamic quantization (DynamicQuantizeLinear, ConvInteger /
  MatMulInteger, the Cast and the scale Mul after them) is the hybrid op TFLite's dynamic-range
  mode makes: float activations, int8 weights. A QuantizeLinear of the graph input stays a
  QUANTIZE and a DequantizeLinear to the graph output a DEQUANTIZE, as in TFLite;
- a Cast of a float16 constant to float32 (float16 weights) is a DEQUANTIZE, as in TFLite's
  float16 mode; Identity and Dropout are no ops;
- a per-element function TFLite has no builtin for (Erf, Sin, Softplus, ...) is priced as EXP
  (one read and one write of its tensor); any other op keeps its ONNX name in upper case, so the
  MAC count and the latency model name it as unknown.

Shapes come from ONNX shape inference; a symbolic dimension (the batch) counts as 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from edgeforge.cost.graph import ELEMENT_BYTES, Graph, Operator, Tensor
from edgeforge.errors import ModelFileError

# ONNX op -> the TFLite builtin of the same work (Conv, Gemm, MatMul... are handled apart)
_OP_TYPES = {
    "Relu": "RELU", "LeakyRelu": "LEAKY_RELU", "PRelu": "PRELU", "Sigmoid": "LOGISTIC", "Tanh": "TANH",
    "Softmax": "SOFTMAX", "LogSoftmax": "LOG_SOFTMAX", "HardSwish": "HARD_SWISH", "HardSigmoid": "LOGISTIC",
    "Elu": "ELU", "Gelu": "GELU", "Exp": "EXP", "Log": "LOG", "Sqrt": "SQRT", "Abs": "ABS", "Neg": "NEG",
    "Floor": "FLOOR", "Ceil": "CEIL", "Round": "ROUND",
    "Add": "ADD", "Sub": "SUB", "Mul": "MUL", "Div": "DIV", "Max": "MAXIMUM", "Min": "MINIMUM", "Sum": "ADD_N",
    "MaxPool": "MAX_POOL_2D", "AveragePool": "AVERAGE_POOL_2D", "LpPool": "L2_POOL_2D",
    "GlobalAveragePool": "MEAN", "GlobalMaxPool": "REDUCE_MAX", "ReduceMean": "MEAN", "ReduceMax": "REDUCE_MAX",
    "ReduceMin": "REDUCE_MIN", "ReduceSum": "SUM", "ReduceProd": "REDUCE_PROD", "ArgMax": "ARG_MAX", "ArgMin": "ARG_MIN",
    "Flatten": "RESHAPE", "Reshape": "RESHAPE", "Squeeze": "SQUEEZE", "Unsqueeze": "EXPAND_DIMS",
    "Transpose": "TRANSPOSE", "Concat": "CONCATENATION", "Pad": "PAD", "Slice": "STRIDED_SLICE", "Split": "SPLIT",
    "Gather": "GATHER", "GatherND": "GATHER_ND", "Tile": "TILE", "Expand": "BROADCAST_TO", "Cast": "CAST",
    "Shape": "SHAPE", "DepthToSpace": "DEPTH_TO_SPACE", "SpaceToDepth": "SPACE_TO_DEPTH", "Where": "SELECT_V2",
    "Equal": "EQUAL", "Less": "LESS", "Greater": "GREATER", "And": "LOGICAL_AND", "Or": "LOGICAL_OR", "Not": "LOGICAL_NOT",
    "QuantizeLinear": "QUANTIZE", "DequantizeLinear": "DEQUANTIZE", "DynamicQuantizeLinear": "QUANTIZE",
    "LpNormalization": "L2_NORMALIZATION",
}
# Per-element functions without a TFLite builtin: the same work as EXP (see the module docstring)
_UNARY_AS_EXP = frozenset({
    "Erf", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Reciprocal",
    "Softplus", "Softsign", "Selu", "Celu", "Mish", "Sign", "ThresholdedRelu", "Shrink",
})
_NO_OPS = frozenset({"Identity", "Dropout"})
# TFLite fuses an activation into these (its `fused_activation_function`)
_FUSES_ACTIVATION = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "ADD", "SUB", "MUL", "DIV"})
_WEIGHTED = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV"})
_INTEGER_OPS = {"ConvInteger": "Conv", "MatMulInteger": "MatMul"}  # ONNX Runtime's dynamic quantization


def looks_like_onnx(data: bytes) -> bool:
    """Whether `data` may be an ONNX ModelProto: its first field is ir_version (tag 1, varint)."""
    return data[:1] == b"\x08"


def read_onnx_graph(data: bytes, source: str = "<model bytes>") -> Graph:
    """The `Graph` of an .onnx model's bytes (see the module docstring); ModelFileError if it is not one."""
    import onnx

    try:
        model = onnx.load_model_from_string(data)
    except Exception as error:  # protobuf's DecodeError and friends
        raise ModelFileError(f"{source}: not a TFLite model (no 'TFL3' flatbuffer identifier), nor an ONNX model ({type(error).__name__})") from None
    if not model.graph.node:
        raise ModelFileError(f"{source}: not a TFLite model (no 'TFL3' flatbuffer identifier), nor an ONNX model with a graph")
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # an op shape inference does not know: the declared shapes are all there is
        inferred = model
    return _Reader(inferred, source, len(data)).graph()


@dataclass
class _Const:
    shape: tuple[int, ...]
    dtype: str
    value: np.ndarray | None = None  # known for initializers and Constant nodes only


@dataclass
class _Op:
    type: str
    inputs: list  # value names, or _Const weights laid out as TFLite stores them (by name)
    output: str
    options: dict = field(default_factory=dict)
    onnx: str = ""  # the ONNX node it came from, for messages


class _Reader:
    def __init__(self, model, source: str, model_bytes: int):
        from onnx import helper, numpy_helper

        self.graph_proto = model.graph
        self.source = source
        self.model_bytes = model_bytes
        self.description = model.producer_name
        graph = model.graph
        self.consts: dict[str, _Const] = {}
        for tensor in graph.initializer:
            array = numpy_helper.to_array(tensor)
            self.consts[tensor.name] = _Const(tuple(array.shape), _dtype(tensor.data_type), array)
        initializers = {t.name for t in graph.initializer}
        self.inputs = [i.name for i in graph.input if i.name not in initializers]
        self.outputs = [o.name for o in graph.output]
        self.values: dict[str, tuple[tuple[int, ...], str]] = {}
        for info in (*graph.input, *graph.output, *graph.value_info):
            kind = info.type.tensor_type
            dims = tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else 1 for d in kind.shape.dim)
            self.values[info.name] = (dims, _dtype(kind.elem_type))
        self.helper = helper
        self.alias: dict[str, str] = {}  # value -> the value it is (no op between them)
        self.dtype: dict[str, str] = {}  # a value's dtype where quantization says otherwise
        self.qparams: set[str] = set()  # scales and zero points computed at run time
        self.ops: list[_Op] = []
        self.producer: dict[str, _Op] = {}
        self.readers: dict[str, int] = {}  # value -> nodes that read it, plus one if it is a graph output
        for node in graph.node:
            for name in node.input:
                self.readers[name] = self.readers.get(name, 0) + 1
        for name in self.outputs:
            self.readers[name] = self.readers.get(name, 0) + 1

    # -- values ----------------------------------------------------------------------------------
    def resolve(self, name: str) -> str:
        while name in self.alias:
            name = self.alias[name]
        return name

    def shape(self, name: str) -> tuple[int, ...]:
        if name in self.consts:
            return self.consts[name].shape
        return self.values.get(name, ((), "float32"))[0]

    def value_dtype(self, name: str) -> str:
        name = self.resolve(name)
        if name in self.dtype:
            return self.dtype[name]
        if name in self.consts:
            return self.consts[name].dtype
        return self.values.get(name, ((), "float32"))[1]

    def is_const(self, name: str) -> bool:
        return self.resolve(name) in self.consts

    # -- walk ------------------------------------------------------------------------------------
    def graph(self) -> Graph:
        nodes = list(self.graph_proto.node)
        for node in nodes:
            self.visit(node)
        return self.build()

    def visit(self, node) -> None:
        attrs = {a.name: self.helper.get_attribute_value(a) for a in node.attribute}
        inputs = [name for name in node.input]
        present = [name for name in inputs if name]
        op_type = node.op_type
        if op_type == "Constant":
            from onnx import numpy_helper

            array = numpy_helper.to_array(attrs["value"]) if "value" in attrs else np.asarray(0.0, np.float32)
            self.consts[node.output[0]] = _Const(tuple(array.shape), str(array.dtype), array)
            return
        if op_type in _NO_OPS:
            self.alias[node.output[0]] = inputs[0]
            return
        if present and all(self.is_const(n) or self.resolve(n) in self.qparams for n in present):
            self.fold_constant(node, attrs)
            return
        if op_type == "DynamicQuantizeLinear":  # hybrid: the op reads float activations
            self.alias[node.output[0]] = inputs[0]
            self.qparams.update(name for name in node.output[1:] if name)
            return
        if op_type == "Mul" and any(self.resolve(n) in self.qparams for n in present):  # rescaling an integer op's result
            other = [n for n in present if self.resolve(n) not in self.qparams]
            self.alias[node.output[0]] = other[0]
            return
        if op_type == "Cast" and self.resolve(inputs[0]) in self.producer and self.producer[self.resolve(inputs[0])].options.get("integer"):
            self.alias[node.output[0]] = inputs[0]  # the int32 accumulator back to float: part of the hybrid op
            self.dtype[self.resolve(inputs[0])] = self.values.get(node.output[0], ((), "float32"))[1]
            return
        if op_type == "QuantizeLinear" and self.resolve(inputs[0]) in self.producer:
            self.alias[node.output[0]] = inputs[0]  # an op's output stored quantized
            self.dtype[self.resolve(inputs[0])] = self.values.get(node.output[0], ((), "int8"))[1]
            return
        if op_type == "DequantizeLinear" and node.output[0] not in self.outputs:
            self.alias[node.output[0]] = inputs[0]  # a quantized tensor read by the next (quantized) op
            return
        if self.fuse(node, op_type, inputs, attrs):
            return
        self.emit(node, op_type, inputs, attrs)

    def fold_constant(self, node, attrs) -> None:
        """A node computed from constants alone: its outputs are constants (weights dequantized,
        reshaped, cast), or run-time quantization parameters when it reads those."""
        source = self.resolve(node.input[0])
        for output in node.output:
            if not output:
                continue
            if any(self.resolve(n) in self.qparams for n in node.input if n):
                self.qparams.add(output)
                continue
            shape, dtype = self.values.get(output, (self.shape(source), "float32"))
            if node.op_type in ("DequantizeLinear", "Cast"):
                # the weight as stored: int8 (an int32 bias), or float16 weights ONNX Runtime casts once
                # at load (TFLite's float16 mode computes them with DEQUANTIZE ops instead)
                dtype = self.value_dtype(source)
            value = self.consts[source].value if node.op_type in ("Reshape", "Cast") and source in self.consts else None
            self.consts[output] = _Const(tuple(shape) or self.shape(source), dtype, value)

    def fuse(self, node, op_type: str, inputs: list, attrs: dict) -> bool:
        """Fold the node into the op that produces its input, as TFLite's converter does."""
        data = [n for n in inputs if n and not self.is_const(n)]
        if len(data) != 1:
            return False
        producer = self.producer.get(self.resolve(data[0]))
        if producer is None or not self.only_use(data[0], producer.output) or producer.output in self.outputs:
            return False
        has_bias = len(producer.inputs) >= (4 if producer.type == "TRANSPOSE_CONV" else 3)
        if op_type in ("Relu", "Clip") and producer.type in _FUSES_ACTIVATION and "fused_activation_function" not in producer.options:
            if op_type == "Clip":
                low, high = self._bound(inputs, attrs, 1, "min"), self._bound(inputs, attrs, 2, "max")
                if low not in (None, 0.0) or high not in (None, 6.0):
                    return False
            producer.options["fused_activation_function"] = "relu6" if op_type == "Clip" and high == 6.0 else "relu"
        elif op_type == "BatchNormalization" and producer.type in _WEIGHTED:
            if not has_bias:  # folded into the weights; TFLite adds the bias it needs
                producer.inputs.append(_Const((self.shape(self.resolve(inputs[1]))[0],), _bias_dtype(producer)))
        elif op_type == "Add" and producer.type in _WEIGHTED and not has_bias:
            (bias,) = [n for n in inputs if self.is_const(n)]
            const = self.consts[self.resolve(bias)]
            if math.prod(const.shape) != max(const.shape, default=1):  # not a vector: not a bias
                return False
            producer.inputs.append(_Const((math.prod(const.shape),), const.dtype))
        else:
            return False
        self.alias[node.output[0]] = producer.output
        return True

    def only_use(self, name: str, output: str) -> bool:
        """Whether every value from `output` to `name` (through aliases) has one reader."""
        while True:
            if self.readers.get(name, 0) != 1:
                return False
            if name == output or name not in self.alias:
                return name == output
            name = self.alias[name]

    def _bound(self, inputs, attrs, slot: int, key: str):
        if len(inputs) > slot and inputs[slot]:
            return self._scalar(inputs[slot])
        return float(attrs[key]) if key in attrs else None

    def emit(self, node, op_type: str, inputs: list, attrs: dict) -> None:
        integer = op_type in _INTEGER_OPS
        base = _INTEGER_OPS.get(op_type, op_type)
        data = [n for n in inputs if n]
        options = {"integer": True} if integer else {}
        if base == "Conv":
            op = self.conv(node, inputs, attrs, options)
        elif base == "ConvTranspose":
            op = self.transpose_conv(node, inputs, attrs)
        elif base in ("Gemm", "MatMul") and self.is_const(inputs[1]) and len(self.shape(inputs[1])) == 2 \
                and not int(attrs.get("transA", 0)):
            weights = self.consts[self.resolve(inputs[1])]
            rows, columns = weights.shape
            transposed = base == "Gemm" and int(attrs.get("transB", 0))
            units, features = (rows, columns) if transposed else (columns, rows)
            op_inputs = [inputs[0], _Const((units, features), weights.dtype)]
            if base == "Gemm" and len(inputs) > 2 and inputs[2] and self.is_const(inputs[2]):
                op_inputs.append(_Const((units,), self.consts[self.resolve(inputs[2])].dtype))
            op = _Op("FULLY_CONNECTED", op_inputs, node.output[0], options)
        elif base in ("Gemm", "MatMul"):
            op = _Op("BATCH_MATMUL", data[:2], node.output[0], options)
        elif base == "Clip":
            high = self._bound(inputs, attrs, 2, "max")
            op = _Op("RELU6" if high == 6.0 else "RELU", data[:1], node.output[0])
        elif base == "BatchNormalization":  # unfused: TFLite computes it as a MUL and an ADD of constants
            channels = (self.shape(inputs[1])[0],)
            scaled = node.output[0] + "/mul"
            self.values[scaled] = self.values.get(node.output[0], (self.shape(self.resolve(inputs[0])), "float32"))
            self.add(_Op("MUL", [inputs[0], _Const(channels, "float32")], scaled, onnx=node.name))
            op = _Op("ADD", [scaled, _Const(channels, "float32")], node.output[0])
        elif base in _UNARY_AS_EXP:
            op = _Op("EXP", data[:1], node.output[0], {"onnx_op": base})
        else:
            op = _Op(_OP_TYPES.get(base, base.upper()), data, node.output[0], {"onnx_op": base} if base not in _OP_TYPES else {})
        op.onnx = node.name or node.output[0]
        self.add(op)

    def add(self, op: _Op) -> None:
        self.ops.append(op)
        self.producer[op.output] = op

    def conv(self, node, inputs, attrs, options) -> _Op:
        weights = self.consts.get(self.resolve(inputs[1]))
        if weights is None:  # computed weights: no TFLite builtin; priced as an unknown op
            return _Op("CONV", [n for n in inputs if n], node.output[0], {"onnx_op": "Conv"})
        out_channels, per_group, *kernel = weights.shape
        kernel = ([1] + kernel) if len(kernel) == 1 else kernel  # a 1-D convolution: TFLite's 1-high CONV_2D
        group = int(attrs.get("group", 1))
        in_channels = per_group * group
        bias = [_Const((out_channels,), self.consts[self.resolve(inputs[2])].dtype)] \
            if len(inputs) > 2 and inputs[2] and not options.get("integer") and self.is_const(inputs[2]) else []
        if group > 1 and per_group == 1 and group == in_channels:
            return _Op("DEPTHWISE_CONV_2D", [inputs[0], _Const((1, *kernel, out_channels), weights.dtype), *bias], node.output[0], options)
        return _Op("CONV_2D", [inputs[0], _Const((out_channels, *kernel, per_group), weights.dtype), *bias], node.output[0], options)

    def transpose_conv(self, node, inputs, attrs) -> _Op:
        weights = self.consts.get(self.resolve(inputs[1]))
        if weights is None:
            return _Op("CONV_TRANSPOSE", [n for n in inputs if n], node.output[0], {"onnx_op": "ConvTranspose"})
        in_channels, per_group, *kernel = weights.shape
        kernel = ([1] + kernel) if len(kernel) == 1 else kernel
        out_channels = per_group * int(attrs.get("group", 1))
        bias = [_Const((out_channels,), "float32")] if len(inputs) > 2 and inputs[2] else []
        # TFLite's inputs: output shape, weights [out, kh, kw, in], data, [bias]
        return _Op("TRANSPOSE_CONV", [_Const((4,), "int32"), _Const((out_channels, *kernel, in_channels), weights.dtype),
                                      inputs[0], *bias], node.output[0])

    def _scalar(self, name: str):
        const = self.consts.get(self.resolve(name))
        return None if const is None or const.value is None else float(np.asarray(const.value).reshape(-1)[0])

    # -- the Graph -------------------------------------------------------------------------------
    def build(self) -> Graph:
        tensors: list[Tensor] = []
        index: dict[str, int] = {}

        def tensor(name, constant: bool = False, shape=None, dtype=None) -> int:
            if name not in index:
                shape = tuple(self.shape(name) if shape is None else shape)
                dtype = dtype or self.value_dtype(name)
                index[name] = len(tensors)
                tensors.append(Tensor(
                    index=len(tensors), name=name, shape=shape, dtype=dtype,
                    size_bytes=math.ceil(math.prod(shape) * ELEMENT_BYTES.get(dtype, 4)), is_constant=constant,
                ))
            return index[name]

        operators = []
        for position, op in enumerate(self.ops):
            op_inputs = []
            for slot, item in enumerate(op.inputs):
                if isinstance(item, _Const):
                    op_inputs.append(tensor(f"{op.onnx or op.output}/const{slot}", True, item.shape, item.dtype))
                elif self.is_const(item):
                    const = self.consts[self.resolve(item)]
                    op_inputs.append(tensor(self.resolve(item), True, const.shape, const.dtype))
                else:
                    op_inputs.append(tensor(self.resolve(item)))
            options = {k: v for k, v in op.options.items() if k != "integer"}
            operators.append(Operator(index=position, type=op.type, inputs=tuple(op_inputs),
                                      outputs=(tensor(op.output),), options=options))
        inputs = tuple(tensor(self.resolve(name)) for name in self.inputs)
        outputs = tuple(tensor(self.resolve(name)) for name in self.outputs)
        return Graph(source=self.source, model_bytes=self.model_bytes, tensors=tuple(tensors), operators=tuple(operators),
                     inputs=inputs, outputs=outputs, description=self.description)


def _bias_dtype(op: _Op) -> str:
    """TFLite's bias type: int32 beside int8 weights of a fully quantized op, else float32."""
    weights = op.inputs[1] if len(op.inputs) > 1 and isinstance(op.inputs[1], _Const) else None
    return "int32" if weights is not None and weights.dtype == "int8" and not op.options.get("integer") else "float32"


def _dtype(elem_type: int) -> str:
    from onnx import helper

    try:
        return str(np.dtype(helper.tensor_dtype_to_np_dtype(elem_type)))
    except (KeyError, TypeError, ValueError):
        return "float32"


def onnx_weight_stats(model_bytes: bytes) -> dict:
    """cost/weights.py's `weight_stats` of an .onnx model: exact zeros over its kernels (the weights
    of its convolutions and matrix products, as stored: int8 codes when quantized; ONNX Runtime's
    int8 weights are symmetric, zero point 0) and the most distinct values in one kernel, per output
    channel where the kernel is quantized per channel."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load_model_from_string(model_bytes).graph
    arrays = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    producers = {output: node for node in graph.node for output in node.output}
    zeros = elements = max_unique = 0
    for node in graph.node:
        if node.op_type not in ("Conv", "ConvInteger", "ConvTranspose", "Gemm", "MatMul", "MatMulInteger") or len(node.input) < 2:
            continue
        name, per_channel_axis = node.input[1], None
        while name not in arrays and name in producers and producers[name].op_type in ("DequantizeLinear", "Cast", "Transpose"):
            source = producers[name]
            if source.op_type == "DequantizeLinear" and len(source.input) > 1 and arrays.get(source.input[1], np.zeros(1)).size > 1:
                per_channel_axis = next((a.i for a in source.attribute if a.name == "axis"), 1)
            name = source.input[0]
        if name not in arrays or arrays[name].ndim < 2:
            continue
        values = arrays[name]
        channels = list(np.moveaxis(values, per_channel_axis, 0)) if per_channel_axis is not None else [values]
        for channel in channels:
            zeros += int(np.count_nonzero(channel == 0))
            elements += channel.size
            max_unique = max(max_unique, len(np.unique(channel)))
    return {"weight_sparsity": round(zeros / elements, 6) if elements else 0.0, "max_unique_weights": max_unique}
