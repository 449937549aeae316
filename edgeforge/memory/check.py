"""An offline memory plan checked against the model it is in, independently of the planner.

TFLite Micro trusts an `OfflineMemoryAllocation` plan: two tensors alive at the same time at
overlapping offsets silently corrupt the outputs. So every plan is checked here before it is
kept, by code that shares nothing with the planner (`edgeforge.memory.order`, `.packing`) or with
`edgeforge.cost.graph`: it reads the flatbuffer itself, re-derives each tensor's byte length
and lifetime with TFLite Micro's rules (`AllocationInfoBuilder::MarkAllocationLifetimes`), and
checks every pair of offline-placed tensors.

    check = check_plan(model_bytes)
    if check.problems: ...  # one line each, naming the tensors
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

ALIGNMENT = 16  # MicroArenaBufferAlignment()
_METADATA_NAME = b"OfflineMemoryAllocation"
# Bytes per element of each schema TensorType (by its value), as TfLiteTypeSizeOf counts them.
_TYPE_BYTES = {
    0: 4, 1: 2, 2: 4, 3: 1, 4: 8, 5: 1, 6: 1, 7: 2, 8: 8, 9: 1, 10: 8, 11: 16,  # FLOAT32 .. COMPLEX128
    12: 8, 13: 8, 14: 8, 15: 4, 16: 2, 17: 0.5, 18: 2, 19: 0.25, 20: 0.5, 21: 1, 22: 1,  # UINT64 .. FLOAT8
}


@dataclass
class PlanCheck:
    planned: bool  # the model carries an offline plan
    problems: list[str] = field(default_factory=list)
    head_bytes: int = 0  # highest end of an offline-placed tensor
    offline_tensors: int = 0

    @property
    def ok(self) -> bool:
        return self.planned and not self.problems


def check_plan(model_bytes: bytes) -> PlanCheck:
    """Whether the model's offline plan keeps every pair of tensors alive together apart."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(model_bytes, 0)
    words = _plan_words(model)
    if words is None:
        return PlanCheck(planned=False, problems=["the model has no OfflineMemoryAllocation metadata"])
    check = PlanCheck(planned=True)
    subgraphs = model.SubgraphsLength()
    tensor_count = sum(model.Subgraphs(i).TensorsLength() for i in range(subgraphs))
    if len(words) < 3 or words[2] != tensor_count or len(words) != 3 + tensor_count:
        check.problems.append(
            f"the plan lists {words[2] if len(words) > 2 else 'no'} offsets in {len(words)} words for {tensor_count} tensors"
        )
        return check
    if subgraphs != 1:
        check.problems.append(f"the model has {subgraphs} subgraphs; only single-subgraph plans are checked")
        return check
    offsets = words[3:]
    subgraph = model.Subgraphs(0)
    constant = _constant_buffers(model)
    lengths, kinds = [], []
    for i in range(subgraph.TensorsLength()):
        tensor = subgraph.Tensors(i)
        elements = math.prod(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else 1
        lengths.append(math.ceil(elements * _TYPE_BYTES.get(tensor.Type(), 1)))
        kinds.append("constant" if tensor.Buffer() in constant else "variable" if tensor.IsVariable() else "activation")
    lifetimes, order_problems = _lifetimes(subgraph, kinds)
    check.problems += order_problems
    placed = []
    for i, offset in enumerate(offsets):
        if offset == -1:
            continue
        name = _tensor_name(subgraph, i)
        if offset < 0 or offset % ALIGNMENT:
            check.problems.append(f"tensor {i} ({name}) has offset {offset}: not a non-negative multiple of {ALIGNMENT}")
        elif kinds[i] != "activation":
            # TFLM would place a variable tensor in the head, where other tensors overwrite its state.
            check.problems.append(f"tensor {i} ({name}) is {kinds[i]} but has an offline offset {offset}")
        elif lengths[i] and i not in lifetimes:
            check.problems.append(f"tensor {i} ({name}) has an offset but no operator uses it")
        elif lengths[i]:
            end = offset + -(-lengths[i] // ALIGNMENT) * ALIGNMENT
            placed.append((offset, end, i))
            check.head_bytes = max(check.head_bytes, end)
    check.offline_tensors = len(placed)
    placed.sort()
    for k, (start, end, i) in enumerate(placed):
        for other_start, other_end, j in placed[k + 1 :]:
            if other_start >= end:
                break
            (first_i, last_i), (first_j, last_j) = lifetimes[i], lifetimes[j]
            if first_i <= last_j and first_j <= last_i:
                check.problems.append(
                    f"tensors {i} ({_tensor_name(subgraph, i)}) at [{start}, {end}) and {j} ({_tensor_name(subgraph, j)}) "
                    f"at [{other_start}, {other_end}) share bytes while both are alive (scopes {max(first_i, first_j)}-{min(last_i, last_j)})"
                )
    return check


def _lifetimes(subgraph, kinds: list[str]) -> tuple[dict[int, tuple[int, int]], list[str]]:
    """{tensor: (first scope, last scope)} as TFLite Micro marks them, and order problems."""
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    problems = []
    for k in range(subgraph.InputsLength()):
        index = int(subgraph.Inputs(k))
        first.setdefault(index, 0)
        last[index] = 0
    operators = subgraph.OperatorsLength()
    for k in range(operators):
        scope = k + 1
        op = subgraph.Operators(k)
        for n in range(op.InputsLength()):
            index = int(op.Inputs(n))
            if index < 0 or kinds[index] != "activation":
                continue
            if index not in first:
                problems.append(f"operator {k} reads tensor {index} ({_tensor_name(subgraph, index)}) before any operator writes it")
                first[index] = scope
            last[index] = scope
        for n in range(op.OutputsLength()):
            index = int(op.Outputs(n))
            first.setdefault(index, scope)
            last[index] = scope
    for k in range(subgraph.OutputsLength()):
        index = int(subgraph.Outputs(k))
        first.setdefault(index, operators)
        last[index] = operators
    return {i: (first[i], last[i]) for i in first}, problems


def _plan_words(model) -> list[int] | None:
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if entry.Name() == _METADATA_NAME:
            buffer = model.Buffers(entry.Buffer())
            raw = bytes(buffer.DataAsNumpy()) if buffer.DataLength() else b""
            return list(struct.unpack(f"<{len(raw) // 4}i", raw[: len(raw) // 4 * 4]))
    return None


def _constant_buffers(model) -> set[int]:
    return {i for i in range(model.BuffersLength()) if model.Buffers(i).DataLength() > 0 or model.Buffers(i).Offset() > 1}


def _tensor_name(subgraph, index: int) -> str:
    return (subgraph.Tensors(index).Name() or b"").decode("utf-8", "replace")
