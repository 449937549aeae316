"""Small models for the memory planner's tests: dataflow graphs in Python, and real .tflite files
written through the schema's object API (float32 ops every TFLite Micro build has)."""

from __future__ import annotations

import numpy as np

from edgeforge.cost.graph import Graph, Operator, Tensor

BRANCH_PAD = 256  # floats a branch adds: each branch's big tensor is (8 + 256) * 4 bytes


def graph_of(sizes: dict[int, int], ops: list[tuple[tuple[int, ...], tuple[int, ...]]], inputs=(0,), outputs=None, variables=()) -> Graph:
    """A Graph of activation tensors {index: bytes} and ops [(inputs, outputs)], in stored order."""
    tensors = tuple(
        Tensor(index=i, name=f"t{i}", shape=(sizes[i],), dtype="int8", size_bytes=sizes[i], is_constant=False, is_variable=i in variables)
        for i in range(len(sizes))
    )
    operators = tuple(Operator(index=k, type="ADD", inputs=tuple(a), outputs=tuple(b)) for k, (a, b) in enumerate(ops))
    last = ops[-1][1] if ops else ()
    return Graph(
        source="<synthetic>", model_bytes=0, tensors=tensors, operators=operators,
        inputs=tuple(inputs), outputs=tuple(outputs if outputs is not None else last),
    )


def branching_model(subgraphs: int = 1, variable_state: bool = False) -> bytes:
    """x[1,8] -> PAD -> big_a -> SLICE -> a;  x -> PAD -> big_b -> SLICE -> b;  y = a + b (+ state).

    Stored breadth first (both PADs, then both SLICEs), so both big tensors are alive together;
    running each branch to its end first keeps one alive at a time. With `variable_state`, y also
    adds a variable tensor (kept by TFLite Micro in its persistent tail)."""
    from ai_edge_litert import schema_py_generated as schema

    from edgeforge.memory.writer import pack_model

    buffers = [schema.BufferT()]  # buffer 0: the empty sentinel

    def constant(values) -> int:
        buffer = schema.BufferT()
        buffer.data = np.asarray(values, dtype="<i4").view(np.uint8)
        buffers.append(buffer)
        return len(buffers) - 1

    def tensor(name, shape, buffer=0, variable=False):
        t = schema.TensorT()
        t.name, t.shape, t.type, t.buffer, t.isVariable = name, list(shape), schema.TensorType.FLOAT32, buffer, variable
        if buffer:
            t.type = schema.TensorType.INT32
        return t

    big = 8 + BRANCH_PAD
    tensors = [
        tensor("x", (1, 8)),                                               # 0
        tensor("pads_a", (2, 2), constant([[0, 0], [0, BRANCH_PAD]])),   # 1
        tensor("pads_b", (2, 2), constant([[0, 0], [BRANCH_PAD, 0]])),   # 2
        tensor("big_a", (1, big)),                                         # 3
        tensor("big_b", (1, big)),                                         # 4
        tensor("begin_a", (2,), constant([0, 2])),                         # 5
        tensor("begin_b", (2,), constant([0, BRANCH_PAD])),                # 6
        tensor("size", (2,), constant([1, 8])),                            # 7
        tensor("a", (1, 8)),                                               # 8
        tensor("b", (1, 8)),                                               # 9
        tensor("y", (1, 8)),                                               # 10
    ]
    codes = []
    for code in (schema.BuiltinOperator.PAD, schema.BuiltinOperator.SLICE, schema.BuiltinOperator.ADD):
        c = schema.OperatorCodeT()
        c.builtinCode, c.deprecatedBuiltinCode, c.version = code, code, 1
        codes.append(c)

    def op(code, inputs, outputs, options_type=0, options=None):
        o = schema.OperatorT()
        o.opcodeIndex, o.inputs, o.outputs = code, list(inputs), list(outputs)
        o.builtinOptionsType, o.builtinOptions = options_type, options
        return o

    add_inputs = [8, 9]
    ops = [
        op(0, [0, 1], [3], schema.BuiltinOptions.PadOptions, schema.PadOptionsT()),
        op(0, [0, 2], [4], schema.BuiltinOptions.PadOptions, schema.PadOptionsT()),
        op(1, [3, 5, 7], [8], schema.BuiltinOptions.SliceOptions, schema.SliceOptionsT()),
        op(1, [4, 6, 7], [9], schema.BuiltinOptions.SliceOptions, schema.SliceOptionsT()),
    ]
    if variable_state:
        tensors.append(tensor("state", (1, 8), variable=True))  # 11
        tensors.append(tensor("a_plus_state", (1, 8)))  # 12
        ops.append(op(2, [8, 11], [12], schema.BuiltinOptions.AddOptions, schema.AddOptionsT()))
        add_inputs = [12, 9]
    ops.append(op(2, add_inputs, [10], schema.BuiltinOptions.AddOptions, schema.AddOptionsT()))

    def subgraph():
        s = schema.SubGraphT()
        s.tensors, s.inputs, s.outputs, s.operators, s.name = tensors, [0], [10], ops, "main"
        return s

    model = schema.ModelT()
    model.version, model.description = 3, "edgeforge memory planner test model"
    model.operatorCodes, model.buffers = codes, buffers
    model.subgraphs = [subgraph() for _ in range(subgraphs)]
    return pack_model(model)
