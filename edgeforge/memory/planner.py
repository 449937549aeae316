"""The offline memory plan of a graph: an operator order and arena offsets, computed in Python.

    plan = plan_memory(read_graph("model.tflite"))
    plan.order, plan.offsets            # what `writer.write_plan` writes into the model
    plan.head_bytes, plan.lower_bound_bytes

The order comes from `order.search_order`, the offsets from `packing.pack_buffers` over the
buffers TFLite Micro will allocate in that order (`cost.arena.planned_buffers`). Kernel scratch
buffers take part in the packing, so room is left for them, but only tensors get offsets: TFLite
Micro always places scratch buffers itself, around the offline ones. Nothing here runs TFLite
Micro; `apply.apply_memory_plan` writes, checks and measures the plan in the real interpreter.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgeforge.cost.arena import plan_greedy, planned_buffers, tflm_unsupported_reason
from edgeforge.cost.graph import Graph
from edgeforge.memory.order import Dataflow, search_order
from edgeforge.memory.packing import pack_buffers


@dataclass(frozen=True)
class MemoryPlan:
    order: tuple[int, ...]  # operator indices of the stored model, in the planned execution order
    offsets: dict[int, int]  # tensor index -> byte offset in the arena's head
    head_bytes: int  # the planned head, with room for the scratch buffers
    lower_bound_bytes: int  # live-bytes peak of `order`: no layout of it is smaller
    stored_lower_bound_bytes: int  # the same for the stored order
    default_head_bytes: int  # TFLite Micro's greedy layout of the stored order (replayed)
    order_exact: bool  # no other order has a lower live-bytes peak
    packing_exact: bool  # no layout of `order` has a lower head
    packing_method: str

    @property
    def order_changed(self) -> bool:
        return self.order != tuple(range(len(self.order)))


def plan_memory(graph: Graph) -> MemoryPlan:
    """The best order and offsets edgeforge finds for `graph` (see `plan_refusal` first)."""
    found = search_order(graph)
    buffers = planned_buffers(graph, list(found.order))
    packing = pack_buffers(buffers)
    offsets = {b.tensor: offset for b, offset in zip(buffers, packing.offsets) if b.tensor is not None}
    return MemoryPlan(
        order=found.order,
        offsets=dict(sorted(offsets.items())),
        head_bytes=packing.head_bytes,
        lower_bound_bytes=packing.lower_bound_bytes,
        stored_lower_bound_bytes=found.stored_peak_bytes,
        default_head_bytes=plan_greedy(planned_buffers(graph)),
        order_exact=found.exact,
        packing_exact=packing.exact,
        packing_method=packing.method,
    )


def plan_refusal(graph: Graph, external_buffers: bool = False) -> str | None:
    """Why edgeforge does not plan this model (TFLite Micro's own planner then stays), or None."""
    if graph.subgraph_count > 1:
        return (
            f"the model has {graph.subgraph_count} subgraphs (control flow: IF, WHILE or CALL_ONCE); "
            "edgeforge plans single-subgraph models only, so TFLite Micro plans this one itself"
        )
    if not graph.operators:
        return "the model has no operators"
    unsupported = tflm_unsupported_reason(graph)
    if unsupported:
        return f"TFLite Micro cannot run this model: {unsupported}"
    if external_buffers:
        return "the model keeps weights outside the flatbuffer (buffer offsets), which a rewrite would move"
    flow = Dataflow(graph)
    written = {i for op in graph.operators for i in op.outputs} | set(graph.inputs)
    for op in graph.operators:
        for index in op.inputs:
            if index in flow.size and index not in written:
                tensor = graph.tensors[index]
                return f"operator {op.type} #{op.index} reads tensor {index} ({tensor.name}), which nothing writes"
    return None
