"""The TFLite Micro tensor arena: measured with the real allocator, or estimated without it.

TFLite Micro splits its arena in two (micro_allocator.cc):

- the *head*: activations and kernel scratch buffers, overlaid by the GreedyMemoryPlanner
  according to when each buffer is first and last used;
- the *tail*: everything that lives as long as the interpreter: the allocator's own objects,
  one TfLiteEvalTensor per tensor, one NodeAndRegistration per op, each op's parsed builtin
  options and kernel OpData, per-channel requantization multipliers and shifts, lookup tables.

`measure_arena_bytes` runs `tflite_micro`'s Python interpreter (reference kernels, recording
allocator) and returns head + tail as it reports them. `estimate_arena_bytes` replays the same
plan in Python from a `Graph`, for the search's pre-filter, where running TFLM per candidate
would cost too much. The estimate targets what the Python interpreter measures: a 64-bit host
build with reference kernels. Structs are smaller on a 32-bit MCU and optimized kernels
(CMSIS-NN) ask for extra scratch, so treat both numbers as the reference-kernel arena.
Only the main subgraph is planned; control-flow subgraphs (IF, WHILE) are not.

`planned_buffers(graph, order)` gives the buffers TFLM allocates and their lifetimes for any
operator order; `edgeforge.memory` plans those offline, below what the greedy planner gives.
"""

from __future__ import annotations

import math
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from edgeforge.cost.graph import Graph, Operator, read_graph
from edgeforge.errors import BuildError, MissingDependencyError

# MicroArenaBufferAlignment(): every planned buffer and kernel persistent buffer is 16-aligned.
ARENA_ALIGNMENT = 16

# Tail bytes present whatever the model: RecordingMicroAllocator, its arena allocator, the
# GreedyMemoryPlanner, the builtin-data allocator and the subgraph table. Measured on the
# TFLite Micro Python wheel (64-bit host): tail minus everything else itemized below.
FIXED_TAIL_BYTES = 488
EVAL_TENSOR_BYTES = 24  # sizeof(TfLiteEvalTensor): type, dims*, data*
NODE_AND_REGISTRATION_BYTES = 64  # sizeof(NodeAndRegistration)
IO_TFLITE_TENSOR_BYTES = 64  # persistent TfLiteTensor the interpreter keeps per model input/output
AFFINE_QUANTIZATION_BYTES = 24  # TfLiteAffineQuantization of a quantized model input/output
SCRATCH_HANDLE_BYTES = 8  # ScratchBufferHandle: one data pointer

# Per op type: (builtin options struct parsed from the flatbuffer, kernel OpData from Init()),
# in bytes on the host build. Builtin structs are 4-aligned and packed; OpData is 16-aligned.
# Per-channel arrays, lookup tables and scratch buffers are added separately below.
_OP_PERSISTENT_BYTES: dict[str, tuple[int, int]] = {
    "CONV_2D": (28, 80),  # TfLiteConvParams, OpDataConv
    "DEPTHWISE_CONV_2D": (28, 80),  # TfLiteDepthwiseConvParams, OpDataConv
    "TRANSPOSE_CONV": (24, 88),  # TfLiteTransposeConvParams, OpData
    "FULLY_CONNECTED": (32, 72),  # TfLiteFullyConnectedParams, OpDataFullyConnected
    "AVERAGE_POOL_2D": (40, 32),  # TfLitePoolParams, OpDataPooling
    "MAX_POOL_2D": (40, 32),
    "MEAN": (20, 44),  # TfLiteReducerParams, OpDataReduce
    "SUM": (20, 44),
    "REDUCE_MAX": (20, 44),
    "SOFTMAX": (4, 80),  # TfLiteSoftmaxParams, SoftmaxParams
    "ADD": (8, 68),  # TfLiteAddParams, OpDataAdd
    "SUB": (8, 60),  # TfLiteSubParams, OpDataSub
    "MUL": (4, 44),  # TfLiteMulParams, OpDataMul
    "CONCATENATION": (8, 88),  # TfLiteConcatenationParams, OpData
    "PAD": (0, 56),  # -, OpData
    "PADV2": (0, 56),
    "RESHAPE": (36, 0),  # TfLiteReshapeParams, no OpData
    "SQUEEZE": (36, 0),  # TfLiteSqueezeParams, no OpData
    "EXPAND_DIMS": (0, 0),
    "LOGISTIC": (0, 16),  # -, OpDataLogistic
    "TANH": (0, 16),  # -, OpData
    "RELU": (0, 28),  # -, ReluOpData
    "RELU6": (0, 8),  # -, Relu6OpData
    "LEAKY_RELU": (4, 24),  # TfLiteLeakyReluParams, LeakyReluOpData
    "STRIDED_SLICE": (24, 84),  # TfLiteStridedSliceParams, OpDataStridedSlice
    "QUANTIZE": (0, 32),  # -, OpDataQuantizeReference
    "DEQUANTIZE": (0, 32),  # -, DequantizeOpData
}
_DEFAULT_OP_PERSISTENT_BYTES = (16, 48)  # an op not measured above: a typical small op

# Ops whose kernels keep one int32 output multiplier and one int32 shift per output channel,
# and the filter dimension that counts the channels. FULLY_CONNECTED only does so when its
# weights are quantized per channel; the convolutions always do (float models too).
_PER_CHANNEL_FILTER_DIM = {"CONV_2D": 0, "DEPTHWISE_CONV_2D": 3, "TRANSPOSE_CONV": 0, "FULLY_CONNECTED": 0}

# int16 SOFTMAX keeps two lookup tables (exp and 1/(1+x)) of 513 int16 entries each.
_INT16_SOFTMAX_TABLE_BYTES = 513 * 2


@dataclass(frozen=True)
class ArenaUsage:
    """The two parts of a TFLite Micro arena, in bytes."""

    planned_bytes: int  # head: activations and scratch buffers, overlaid by the memory planner
    persistent_bytes: int  # tail: interpreter, tensor and kernel state

    @property
    def total_bytes(self) -> int:
        return self.planned_bytes + self.persistent_bytes


# --- measurement ---------------------------------------------------------------------------


def measure_arena_bytes(model: bytes | str | Path) -> int:
    """Arena bytes TFLite Micro's allocator actually uses for `model` (head + tail)."""
    return measure_arena(model).total_bytes


def measure_arena(model: bytes | str | Path) -> ArenaUsage:
    """Run TFLite Micro's allocator on `model`; raise `BuildError` if TFLM cannot run it."""
    graph = read_graph(model)  # raises ModelFileError for a missing or malformed file
    data = bytes(model) if isinstance(model, (bytes, bytearray, memoryview)) else Path(model).read_bytes()
    reason = tflm_unsupported_reason(graph)
    if reason:
        raise BuildError(f"{graph.source}: TFLite Micro cannot run this model: {reason}")
    log, error = _allocation_report(data, generous_arena_size(graph))
    if error is not None:
        raise BuildError(f"{graph.source}: TFLite Micro cannot run this model: {_first_reason(log, error)}")
    sizes = {part: int(n) for part, n in re.findall(r"Arena allocation (head|tail) (\d+) bytes", log)}
    if set(sizes) != {"head", "tail"}:
        raise BuildError(f"{graph.source}: TFLite Micro did not report its arena usage")
    return ArenaUsage(planned_bytes=sizes["head"], persistent_bytes=sizes["tail"])


def generous_arena_size(graph: Graph) -> int:
    """An arena any plan of `graph` fits in: room for every activation four times over, plus 1 MiB.
    Whole KiB keep the arena's end 16-aligned, so the tail (allocated down from the end) is laid
    out the same every run."""
    activation_bytes = sum(t.size_bytes for t in graph.tensors if not t.is_constant)
    return _align(4 * activation_bytes + (1 << 20), 1024)


def tflm_unsupported_reason(graph: Graph) -> str | None:
    """Why TFLite Micro cannot allocate this model, when that is known without running it."""
    if any(t.dtype == "float16" and t.is_constant for t in graph.tensors):
        return "float16 weights (TFLite Micro has no float16 kernels; use float32, int8 or int16x8)"
    for op in graph.operators:
        if op.type in _PER_CHANNEL_FILTER_DIM and len(op.inputs) > 1:
            data, weights = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1])
            if data and weights and data.dtype == "float32" and weights.dtype in ("int8", "uint8", "int4"):
                return (
                    f"dynamic-range (hybrid) quantization: {op.type} #{op.index} takes float32 "
                    f"activations with {weights.dtype} weights"
                )
    return None


def _allocation_report(data: bytes, arena_size: int) -> tuple[str, Exception | None]:
    """Allocate `data` in TFLM's recording allocator; return what it printed, and any failure."""
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError:  # pragma: no cover - a core dependency
        from edgeforge.runtimes.tflite_micro import TfliteMicro

        raise MissingDependencyError(TfliteMicro.packages[0]) from None
    # The allocator reports (and complains) with C stdio on file descriptor 2, which
    # sys.stderr redirection cannot see: swap the descriptor itself for a temporary file.
    sys.stderr.flush()
    with tempfile.TemporaryFile() as sink:
        saved_fd2 = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            runtime.Interpreter.from_bytes(data, arena_size=arena_size).print_allocations()
            error = None
        except (RuntimeError, ValueError) as exc:
            error = exc
        finally:
            os.dup2(saved_fd2, 2)
            os.close(saved_fd2)
        sink.seek(0)
        return sink.read().decode("utf-8", "replace"), error


def _first_reason(log: str, error: Exception) -> str:
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    # The kernel's own complaint comes first; "Node X failed to prepare" only echoes it.
    useful = [line for line in lines if "failed to prepare" not in line]
    return (useful or lines or [str(error)])[0]


# Which arena figure counts under each `targets.<T>.memory_plan`, in a runtime's device or
# predicted costs; a runtime without an offline plan reports only `arena_bytes`.
ARENA_KEY_OF_PLAN = {"offline": "arena_planned_bytes", "tflm": "arena_default_bytes"}


def arena_under_plan(costs: dict, memory_plan: str | None) -> int | None:
    """The arena bytes `costs` give under `memory_plan` (None: the model as it is), or None."""
    value = costs.get(ARENA_KEY_OF_PLAN.get(memory_plan or "", "arena_bytes"))
    return value if value is not None else costs.get("arena_bytes")


# --- estimate ------------------------------------------------------------------------------


def estimate_arena_bytes(graph: Graph) -> int:
    """TFLite Micro arena bytes predicted from the graph alone (see `estimate_arena`)."""
    return estimate_arena(graph).total_bytes


def estimate_arena(graph: Graph) -> ArenaUsage:
    """The greedy memory plan replayed in Python, plus the allocator's persistent tail."""
    buffers = planned_buffers(graph)
    return ArenaUsage(
        planned_bytes=plan_greedy(buffers),
        persistent_bytes=_persistent_bytes(graph, scratch_count=sum(b.is_scratch for b in buffers)),
    )


def live_bytes_per_op(graph: Graph) -> list[int]:
    """Bytes of planned buffers alive while each operator runs, in execution order: the arena over
    time. The greedy plan's peak (`estimate_arena().planned_bytes`) is at least their maximum; it
    is more when the buffers alive together do not pack without gaps."""
    buffers = planned_buffers(graph)
    return [
        sum(b.size_bytes for b in buffers if b.first_used <= op.index + 1 <= b.last_used) for op in graph.operators
    ]


@dataclass(frozen=True)
class PlannedBuffer:
    size_bytes: int  # already aligned up to ARENA_ALIGNMENT
    first_used: int  # allocation scopes: 0 = graph inputs, the op run k-th (from 0) is in scope k + 1
    last_used: int
    is_scratch: bool = False
    tensor: int | None = None  # the tensor's index; None for a kernel's scratch buffer

    def overlaps_in_time(self, other: PlannedBuffer) -> bool:
        return self.first_used <= other.last_used and other.first_used <= self.last_used


def plan_greedy(buffers: list[PlannedBuffer]) -> int:
    """Peak offset of GreedyMemoryPlanner's layout (greedy_memory_planner.cc), in bytes."""
    offsets = greedy_offsets(buffers)
    return max((offset + b.size_bytes for offset, b in zip(offsets, buffers)), default=0)


def greedy_offsets(buffers: list[PlannedBuffer]) -> list[int]:
    """Offsets GreedyMemoryPlanner gives `buffers` (greedy_memory_planner.cc), in their order.

    Biggest buffers are placed first, each at the lowest offset whose gap fits it among the
    buffers alive at the same time. The planner fills its sort array from the back and sorts
    it with a stable bubble sort, so buffers of equal size are placed last-added first.
    """
    order = sorted(reversed(range(len(buffers))), key=lambda i: -buffers[i].size_bytes)
    placed: list[tuple[int, PlannedBuffer]] = []  # (offset, buffer), kept sorted by offset
    offsets = [0] * len(buffers)
    for i in order:
        wanted = buffers[i]
        offset = 0
        for other_offset, other in placed:
            if not other.overlaps_in_time(wanted):
                continue
            if other_offset - offset >= wanted.size_bytes:
                break  # the gap before this live buffer fits
            offset = max(offset, other_offset + other.size_bytes)
        # insert after every buffer at the same or a lower offset, as the planner's list does
        position = next((k for k, (o, _) in enumerate(placed) if o > offset), len(placed))
        placed.insert(position, (offset, wanted))
        offsets[i] = offset
    return offsets


def planned_buffers(graph: Graph, order: list[int] | None = None) -> list[PlannedBuffer]:
    """Buffers in the order micro_allocation_info.cc adds them: tensors, then scratch buffers.

    `order` runs the operators in another order (indices into `graph.operators`, as an offline
    memory plan may reorder them); by default they run as stored.
    """
    sequence = [graph.operators[i] for i in order] if order is not None else list(graph.operators)
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for index in graph.inputs:
        first[index] = last[index] = 0
    scratch: list[PlannedBuffer] = []
    for position, op in enumerate(sequence):
        scope = position + 1
        for index in op.outputs:
            first.setdefault(index, scope)
            last[index] = scope
        for index in op.inputs:
            if index >= 0:
                last[index] = scope
        scratch += [PlannedBuffer(_align(n), scope, scope, is_scratch=True) for n in scratch_buffer_bytes(graph, op)]
    for index in graph.outputs:  # model outputs must survive the whole invocation
        first.setdefault(index, len(sequence))
        last[index] = len(sequence)
    tensors = [
        PlannedBuffer(_align(t.size_bytes), first.get(t.index, -1), last.get(t.index, -1), tensor=t.index)
        for t in graph.tensors
        if not t.is_constant and not t.is_variable and t.size_bytes > 0
    ]
    return tensors + scratch


def live_peak_bytes(buffers: list[PlannedBuffer]) -> int:
    """The most bytes alive in any one allocation scope: no layout of `buffers` can be smaller."""
    if not buffers:
        return 0
    scopes = max(b.last_used for b in buffers) + 1
    live = [0] * (scopes + 1)
    for b in buffers:
        live[max(b.first_used, 0)] += b.size_bytes
        live[b.last_used + 1] -= b.size_bytes
    peak = running = 0
    for delta in live:
        running += delta
        peak = max(peak, running)
    return peak


def scratch_buffer_bytes(graph: Graph, op: Operator) -> list[int]:
    """Scratch buffers the reference kernel requests in Prepare()."""
    output = graph.tensors[op.outputs[0]] if op.outputs else None
    if op.type == "TRANSPOSE_CONV" and output is not None:
        accumulator = {"int8": 4, "int16": 8}.get(graph.tensors[op.inputs[2]].dtype)
        return [output.elements * accumulator] if accumulator else []
    if op.type in ("MEAN", "SUM", "REDUCE_MAX") and output is not None:
        data, axis = graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]]
        buffers = [4 * len(data.shape), 4 * max(axis.elements, 1)]  # index and resolved-axis
        if data.dtype in ("int8", "int16", "uint8") and op.type != "REDUCE_MAX":
            buffers.append(4 * output.elements)  # int32 accumulators
        return buffers
    return []


def _persistent_bytes(graph: Graph, scratch_count: int) -> int:
    tail = FIXED_TAIL_BYTES
    tail += EVAL_TENSOR_BYTES * len(graph.tensors)
    tail += NODE_AND_REGISTRATION_BYTES * len(graph.operators)
    builtin_bytes = 0
    for op in graph.operators:
        builtin, op_data = _OP_PERSISTENT_BYTES.get(op.type, _DEFAULT_OP_PERSISTENT_BYTES)
        builtin_bytes += builtin
        tail += _align(op_data) if op_data else 0
        tail += _per_channel_bytes(graph, op) + _lookup_table_bytes(graph, op)
    tail += _align(builtin_bytes, 4)
    for tensors in (graph.inputs, graph.outputs):
        tail += _align(8 * len(tensors))  # the interpreter's array of TfLiteTensor pointers
        for index in tensors:
            tail += IO_TFLITE_TENSOR_BYTES + _quantization_bytes(graph, index)
    if scratch_count:
        tail += _align(SCRATCH_HANDLE_BYTES * scratch_count, 8)
    # Variable (stateful) tensors are not planned: they keep their values between invocations.
    tail += sum(_align(t.size_bytes) for t in graph.tensors if t.is_variable)
    return tail


def _per_channel_bytes(graph: Graph, op: Operator) -> int:
    """The int32 multiplier and shift arrays a conv-like kernel keeps per output channel."""
    if op.type not in _PER_CHANNEL_FILTER_DIM or len(op.inputs) < 2:
        return 0
    weights = graph.tensor(op.inputs[1])
    if weights is None or not weights.shape:
        return 0
    quantization = weights.quantization
    if op.type == "FULLY_CONNECTED" and (quantization is None or not quantization.per_channel):
        return 0
    channels = weights.shape[_PER_CHANNEL_FILTER_DIM[op.type]]
    return 2 * _align(4 * channels)


def _lookup_table_bytes(graph: Graph, op: Operator) -> int:
    if op.type == "SOFTMAX" and graph.tensors[op.inputs[0]].dtype == "int16":
        return 2 * _align(_INT16_SOFTMAX_TABLE_BYTES)
    return 0


def _quantization_bytes(graph: Graph, index: int) -> int:
    quantization = graph.tensors[index].quantization
    if quantization is None:
        return 0
    # TfLiteAffineQuantization plus a TfLiteIntArray copy of the zero points
    return AFFINE_QUANTIZATION_BYTES + _align(4 + 4 * len(quantization.scales), 8)


def _align(n_bytes: int, alignment: int = ARENA_ALIGNMENT) -> int:
    return math.ceil(n_bytes / alignment) * alignment
