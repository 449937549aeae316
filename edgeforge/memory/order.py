"""Operator order: the valid execution order whose live tensors peak lowest.

Any topological order of the dataflow graph computes the same outputs, but it changes which
tensors are alive together (Liberis & Lane 2019, "Neural networks on microcontrollers: saving
memory at inference via operator reordering"). Under TFLite Micro's lifetime rules
(`edgeforge.cost.arena.planned_buffers`), when operator v runs after the set S of operators
already run, the bytes alive are: every tensor already made (or a model input) that an operator
not yet run still reads, or that the model outputs; v's outputs; v's scratch buffers. The peak of
an order is the largest of these over its steps and scope 0 (the model inputs alone).

Exact search: dynamic programming over the sets of operators already run (the downsets of the
dataflow graph). What is alive after a set depends on the set only, so the lowest peak of any
order reaching a set is the minimum, over its last operator, of the peak before it and the bytes
alive while it runs. A chain has one downset per length, so sequential models cost nothing; each
pair of independent branches multiplies the count. To bound the work (about `MAX_STATES` sets in
all), a step may keep at most `MAX_STATES / operators` sets (at least `MIN_BEAM_WIDTH`): when
one has more, only the most promising (lowest peak so far, then fewest bytes alive) go on. That
is a beam search, no longer exact, and reported as such.
The stored order always competes and wins ties, so a result is never worse than the model as it
is, and planning an already planned model keeps its order.

Operators that touch state (variable tensors, resource variables) keep their stored relative
order: their data dependencies do not show in the tensors they pass each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgeforge.cost.arena import ARENA_ALIGNMENT, scratch_buffer_bytes
from edgeforge.cost.graph import Graph

MAX_STATES = 30_000  # downsets kept in all, about: a second or two of Python at most
MIN_BEAM_WIDTH = 64  # downsets a step keeps, however many operators
# Operators with side effects on state outside the tensors they read and write.
STATEFUL_OPS = frozenset({"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE"})


@dataclass(frozen=True)
class OrderSearch:
    order: tuple[int, ...]  # operator indices in execution order
    peak_bytes: int  # live-bytes peak of `order` (tensors and scratch, 16-aligned)
    stored_peak_bytes: int  # the same for the order the model is stored in
    exact: bool  # no order has a lower peak (False: the beam search cut some sets)
    states: int  # downsets visited

    @property
    def changed(self) -> bool:
        return self.order != tuple(range(len(self.order)))


class Dataflow:
    """What the order search needs from a graph: per operator its predecessors, the bytes it
    creates and frees; per tensor its size and readers."""

    def __init__(self, graph: Graph):
        self.graph = graph
        n = len(graph.operators)
        self.op_count = n
        planned = {t.index for t in graph.tensors if not t.is_constant and not t.is_variable and t.size_bytes > 0}
        self.size = {i: _align(graph.tensors[i].size_bytes) for i in planned}
        self.outputs_of_model = set(graph.outputs)
        producer: dict[int, int] = {}
        for op in graph.operators:
            for index in op.outputs:
                producer.setdefault(index, op.index)
        self.readers = {i: 0 for i in planned}  # tensor -> bit mask of the operators reading it
        self.predecessors = [0] * n  # op -> bit mask of the operators it must follow
        self.reads = [tuple(sorted({i for i in op.inputs if i in planned})) for op in graph.operators]
        self.writes = [tuple(sorted({i for i in op.outputs if i in planned})) for op in graph.operators]
        self.scratch = [sum(_align(b) for b in scratch_buffer_bytes(graph, op)) for op in graph.operators]
        for op in graph.operators:
            for index in op.inputs:
                if index < 0:
                    continue
                if index in producer and producer[index] != op.index:
                    self.predecessors[op.index] |= 1 << producer[index]
                if index in self.readers:
                    self.readers[index] |= 1 << op.index
        # State: each operator touching state follows the previous one in stored order.
        variables = {t.index for t in graph.tensors if t.is_variable}
        stateful = [
            op.index for op in graph.operators
            if op.type in STATEFUL_OPS or variables.intersection(op.inputs) or variables.intersection(op.outputs)
        ]
        for before, after in zip(stateful, stateful[1:]):
            self.predecessors[after] |= 1 << before
        self.created = [sum(self.size[i] for i in writes) for writes in self.writes]
        self.releasable = [
            [(self.readers[i], self.size[i]) for i in (*self.reads[op], *self.writes[op]) if i not in self.outputs_of_model]
            for op in range(n)
        ]
        self.successors = [[w for w in range(n) if self.predecessors[w] >> v & 1] for v in range(n)]
        # Scope 0 holds every model input; afterwards, only those still read or returned.
        inputs = [i for i in dict.fromkeys(graph.inputs) if i in planned]
        self.scope0_bytes = sum(self.size[i] for i in inputs)
        self.initial_live_bytes = sum(self.size[i] for i in inputs if self.readers[i] or i in self.outputs_of_model)

    def ready(self, done: int, op: int) -> bool:
        return not done >> op & 1 and self.predecessors[op] & ~done == 0

    def ready_mask(self, done: int) -> int:
        return sum(1 << op for op in range(self.op_count) if self.ready(done, op))

    def step(self, done: int, op: int, live_bytes: int) -> tuple[int, int]:
        """(bytes alive while `op` runs after the set `done`, bytes alive after it)."""
        created = self.created[op]
        after = done | 1 << op
        # Freed after `op`: what it read or wrote that no operator still to run reads (model
        # outputs excepted). A tensor both read and written by `op` never occurs in valid models.
        freed = sum(size for readers, size in self.releasable[op] if readers & ~after == 0)
        return live_bytes + created + self.scratch[op], live_bytes + created - freed

    def peak_of(self, order: tuple[int, ...]) -> int:
        done, live, peak = 0, self.initial_live_bytes, self.scope0_bytes
        for op in order:
            running, live = self.step(done, op, live)
            peak = max(peak, running)
            done |= 1 << op
        return peak

    def is_valid(self, order: tuple[int, ...]) -> bool:
        done = 0
        for op in order:
            if not self.ready(done, op):
                return False
            done |= 1 << op
        return sorted(order) == list(range(self.op_count))


def search_order(graph: Graph, max_states: int = MAX_STATES, min_beam_width: int = MIN_BEAM_WIDTH) -> OrderSearch:
    """The operator order with the lowest live-bytes peak (see the module docstring)."""
    flow = Dataflow(graph)
    stored = tuple(range(flow.op_count))
    stored_peak = flow.peak_of(stored)
    width = max(min_beam_width, max_states // max(flow.op_count, 1))
    # state (bit mask of operators run) -> (peak so far, bytes alive, operators ready to run)
    level: dict[int, tuple[int, int, int]] = {0: (flow.scope0_bytes, flow.initial_live_bytes, flow.ready_mask(0))}
    parent: dict[int, tuple[int, int]] = {}  # state -> (previous state, operator run last)
    exact, visited = True, 1
    for _ in range(flow.op_count):
        following: dict[int, tuple[int, int, int]] = {}
        for done in sorted(level):
            peak, live, ready = level[done]
            op, pending = 0, ready
            while pending:
                if pending & 1:
                    running, after_live = flow.step(done, op, live)
                    state = done | 1 << op
                    best = following.get(state)
                    if best is None or max(peak, running) < best[0]:
                        now_ready = ready & ~(1 << op)
                        for successor in flow.successors[op]:
                            if flow.predecessors[successor] & ~state == 0:
                                now_ready |= 1 << successor
                        following[state] = (max(peak, running), after_live, now_ready)
                        parent[state] = (done, op)
                pending >>= 1
                op += 1
        visited += len(following)
        if len(following) > width:
            exact = False
            kept = sorted(following, key=lambda s: (following[s][0], following[s][1], s))[:width]
            following = {state: following[state] for state in kept}
        level = following
    full = (1 << flow.op_count) - 1
    best_peak = level[full][0] if flow.op_count else flow.scope0_bytes
    if best_peak >= stored_peak:
        return OrderSearch(stored, stored_peak, stored_peak, exact, visited)
    order, state = [], full
    while state:
        state, op = parent[state]
        order.append(op)
    found = tuple(reversed(order))
    return OrderSearch(found, flow.peak_of(found), stored_peak, exact, visited)


def _align(n_bytes: int) -> int:
    return -(-n_bytes // ARENA_ALIGNMENT) * ARENA_ALIGNMENT
