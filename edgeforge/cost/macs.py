"""Multiply-accumulates and parameters per operator of a `Graph`.

Conventions (the ones MLPerf Tiny and most MAC counters use, so totals compare with papers):

- CONV_2D: out_h·out_w·out_c·k_h·k_w·in_c/groups (the filter's last dimension is in_c/groups).
  TFLite has no 1-D convolution: a Keras Conv1D converts to EXPAND_DIMS → CONV_2D (k_h = 1) →
  RESHAPE, so 1-D models are counted by these same formulas (tests/unit/models/test_time_series.py).
- DEPTHWISE_CONV_2D: out_h·out_w·out_c·k_h·k_w (one input channel per output channel).
- FULLY_CONNECTED / BATCH_MATMUL: output elements × the reduced dimension.
- TRANSPOSE_CONV: in_h·in_w·in_c·k_h·k_w·out_c (every input pixel is scattered through the filter).
- Elementwise arithmetic (ADD, SUB, MUL, ...): one MAC per output element.
- Pooling, MEAN, SOFTMAX and activations: 0 MACs. They compare, add or look up, never
  multiply-accumulate; what they cost in time is the latency model's per-op term, which sees
  their `output_elements`.
- Data movement (RESHAPE, SQUEEZE, QUANTIZE, DEQUANTIZE, CONCATENATION, PAD, ...): 0 MACs.
- Any other op: 0 MACs with `macs_known=False`, so callers can warn that the total is a floor.

Params are the elements of an op's constant weight and bias inputs (constant operands of
elementwise ops too, e.g. an unfused batch-norm scale); shape and index tensors are not params.
A bias the converter left out (it drops all-zero biases) is not counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from edgeforge.cost.graph import Graph, Operator

# Input slots that hold the weights and bias, per op with a filter.
_WEIGHTED_SLOTS = {
    "CONV_2D": (1, 2),
    "DEPTHWISE_CONV_2D": (1, 2),
    "FULLY_CONNECTED": (1, 2),
    "TRANSPOSE_CONV": (1, 3),  # inputs: output_shape, weights, input, [bias]
    "CONV_3D": (1, 2),
    "BATCH_MATMUL": (1,),  # a constant right-hand side is a weight matrix
}

ELEMENTWISE_OPS = frozenset({
    "ADD", "SUB", "MUL", "DIV", "SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM", "PRELU", "ADD_N",
})

ZERO_MAC_OPS = frozenset({
    # pooling and reductions: compare or add, no multiply-accumulate
    "AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D", "MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN",
    "REDUCE_PROD", "ARG_MAX", "ARG_MIN",
    # activations and normalisations computed per element by lookup or closed form
    "SOFTMAX", "LOG_SOFTMAX", "RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1", "LEAKY_RELU",
    "LOGISTIC", "TANH", "HARD_SWISH", "ELU", "GELU", "EXP", "LOG", "SQRT", "RSQRT", "ABS",
    "NEG", "SQUARE", "L2_NORMALIZATION", "FLOOR", "CEIL", "ROUND",
    # data movement and type conversion
    "RESHAPE", "SQUEEZE", "EXPAND_DIMS", "QUANTIZE", "DEQUANTIZE", "CAST", "CONCATENATION",
    "PACK", "UNPACK", "SPLIT", "SPLIT_V", "SLICE", "STRIDED_SLICE", "GATHER", "GATHER_ND",
    "TRANSPOSE", "PAD", "PADV2", "MIRROR_PAD", "SHAPE", "FILL", "ZEROS_LIKE", "BROADCAST_TO",
    "TILE", "SPACE_TO_DEPTH", "DEPTH_TO_SPACE", "SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND",
    "RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR", "REVERSE_V2", "SELECT", "SELECT_V2",
    "EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL",
    "LOGICAL_AND", "LOGICAL_OR", "LOGICAL_NOT",
})


@dataclass(frozen=True)
class OpCost:
    index: int
    type: str
    dtype: str  # dtype of the op's main input: "int8", "int16" (int16x8 models), "float32", ...
    macs: int
    params: int
    output_bytes: int
    output_elements: int
    macs_known: bool = True  # False: an op this module has no formula for (counted as 0)


def op_costs(graph: Graph) -> list[OpCost]:
    """MACs, params and output size of every operator, in execution order."""
    return [_op_cost(graph, op) for op in graph.operators]


def total_macs(graph: Graph) -> int:
    return sum(cost.macs for cost in op_costs(graph))


def total_params(graph: Graph) -> int:
    return sum(cost.params for cost in op_costs(graph))


def _op_cost(graph: Graph, op: Operator) -> OpCost:
    outputs = [graph.tensors[i] for i in op.outputs if i >= 0]
    output_elements = sum(t.elements for t in outputs)
    macs, known = _macs(graph, op, output_elements)
    return OpCost(
        index=op.index,
        type=op.type,
        dtype=_main_input_dtype(graph, op),
        macs=macs,
        params=_params(graph, op),
        output_bytes=sum(t.size_bytes for t in outputs),
        output_elements=output_elements,
        macs_known=known,
    )


def _macs(graph: Graph, op: Operator, output_elements: int) -> tuple[int, bool]:
    shape = _input_shapes(graph, op)
    if op.type == "CONV_2D":
        filter_shape = shape[1]  # [out_c, k_h, k_w, in_c / groups]
        return output_elements * math.prod(filter_shape[1:]), True
    if op.type == "DEPTHWISE_CONV_2D":
        filter_shape = shape[1]  # [1, k_h, k_w, out_c]
        return output_elements * filter_shape[1] * filter_shape[2], True
    if op.type == "CONV_3D":
        filter_shape = shape[1]  # [k_d, k_h, k_w, in_c, out_c]
        return output_elements * math.prod(filter_shape[:-1]), True
    if op.type == "FULLY_CONNECTED":
        return output_elements * shape[1][-1], True  # weights: [units, in_features]
    if op.type == "BATCH_MATMUL":
        transposed = op.options.get("adj_x", False)
        lhs = shape[0]
        return output_elements * (lhs[-2] if transposed else lhs[-1]), True
    if op.type == "TRANSPOSE_CONV":
        weights, data = shape[1], shape[2]  # weights: [out_c, k_h, k_w, in_c]
        return math.prod(data) * weights[0] * weights[1] * weights[2], True
    if op.type in ELEMENTWISE_OPS:
        return output_elements, True
    if op.type in ZERO_MAC_OPS or op.custom_code == "TFLM_DECODE":  # TFLite Micro's LUT decoder: no MACs
        return 0, True
    return 0, False


def _params(graph: Graph, op: Operator) -> int:
    if op.custom_code == "TFLM_DECODE":  # LUT-compressed weights: its outputs are the consumers' weights
        return sum(graph.tensors[i].elements for i in op.outputs if i >= 0)
    if op.type in _WEIGHTED_SLOTS:
        slots = _WEIGHTED_SLOTS[op.type]
    elif op.type in ELEMENTWISE_OPS:
        slots = range(len(op.inputs))
    else:
        return 0
    params = 0
    for slot in slots:
        tensor = graph.tensor(op.inputs[slot]) if slot < len(op.inputs) else None
        if tensor is not None and tensor.is_constant:
            params += tensor.elements
    return params


def _main_input_dtype(graph: Graph, op: Operator) -> str:
    slot = 2 if op.type == "TRANSPOSE_CONV" else 0
    index = op.inputs[slot] if slot < len(op.inputs) else -1
    if index < 0:
        return graph.tensors[op.outputs[0]].dtype if op.outputs else "unknown"
    return graph.tensors[index].dtype


def _input_shapes(graph: Graph, op: Operator) -> list[tuple[int, ...]]:
    return [graph.tensors[i].shape if i >= 0 else () for i in op.inputs]
