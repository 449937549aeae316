"""Arena offsets for buffers whose lifetimes are known, as close to the live-bytes peak as we can.

Placing buffers so that those alive at the same time never share bytes is dynamic storage
allocation: NP-hard in general, but the graphs of microcontroller models are small and mostly
chains. No layout can be lower than the most bytes alive in one scope (`live_peak_bytes`).

- Heuristics, always: TFLite Micro's own greedy-by-size layout (what the model gets without a
  plan), best fit (biggest buffers first, each into the smallest gap among the buffers alive with
  it), first fit in time (buffers in the order they are created, each into the lowest gap: the
  linear scan that is optimal on a chain, where greedy-by-size fragments the arena) and lowest
  fit (repeatedly place the buffer that can sit lowest). The best one is the starting point.
- Exact, up to `MAX_EXACT_BUFFERS` buffers: branch and bound over placement orders. Dropping
  every buffer as low as it goes never raises the peak, so some optimal layout has each buffer
  at offset 0 or on top of a buffer below it that lives at the same time; placing buffers in
  the order of their offsets, each one's offset is then the highest end among the buffers
  already placed that overlap it in time. The search branches on which buffer comes next
  (its offset may not be below the previous one's), and prunes with a bound: every buffer still
  to place lies above the last offset, so at each scope the layout is at least the last offset
  plus the bytes still to place there plus what placed buffers take above it. It stops at the
  live-bytes peak (optimal) or after `MAX_NODES` nodes (then the best found is kept, not
  proven optimal).
"""

from __future__ import annotations

from dataclasses import dataclass

from edgeforge.cost.arena import PlannedBuffer, greedy_offsets, live_peak_bytes

MAX_EXACT_BUFFERS = 96
MAX_NODES = 20_000


@dataclass(frozen=True)
class Packing:
    offsets: tuple[int, ...]  # one per buffer, in the order given
    head_bytes: int  # highest end of any buffer
    lower_bound_bytes: int  # the live-bytes peak: no layout is lower
    method: str  # which heuristic or search found `offsets`
    exact: bool  # proven optimal: at the lower bound, or the branch and bound finished

    @property
    def gap_bytes(self) -> int:
        return self.head_bytes - self.lower_bound_bytes


def pack_buffers(buffers: list[PlannedBuffer], max_exact_buffers: int = MAX_EXACT_BUFFERS, max_nodes: int = MAX_NODES) -> Packing:
    """Offsets for `buffers` (sizes already aligned) with the lowest head we can find."""
    bound = live_peak_bytes(buffers)
    candidates = [
        ("tflm greedy", greedy_offsets(buffers)),
        ("best fit", best_fit_offsets(buffers)),
        ("first fit in time", first_fit_in_time_offsets(buffers)),
        ("lowest fit", lowest_fit_offsets(buffers)),
    ]
    method, offsets = min(candidates, key=lambda c: _head(buffers, c[1]))
    head = _head(buffers, offsets)
    exact = head == bound
    if not exact and len(buffers) <= max_exact_buffers:
        search = _BranchAndBound(buffers, head, bound, max_nodes)
        found = search.run()
        if found is not None:
            method, offsets, head = "branch and bound", found, _head(buffers, found)
        exact = head == bound or search.finished
    return Packing(tuple(offsets), head, bound, method, exact)


def check_no_overlap(buffers: list[PlannedBuffer], offsets: list[int] | tuple[int, ...]) -> list[tuple[int, int]]:
    """Pairs of buffers (indices) that live at the same time and share bytes."""
    clashes = []
    for i, a in enumerate(buffers):
        for j in range(i + 1, len(buffers)):
            b = buffers[j]
            if a.overlaps_in_time(b) and offsets[i] < offsets[j] + b.size_bytes and offsets[j] < offsets[i] + a.size_bytes:
                clashes.append((i, j))
    return clashes


def best_fit_offsets(buffers: list[PlannedBuffer]) -> list[int]:
    """Biggest first (then longest lived, then first created); each into the smallest gap that fits."""
    order = sorted(range(len(buffers)), key=lambda i: (-buffers[i].size_bytes, buffers[i].first_used - buffers[i].last_used, buffers[i].first_used, i))
    return _fit_in_order(buffers, order, smallest_gap=True)


def first_fit_in_time_offsets(buffers: list[PlannedBuffer]) -> list[int]:
    """In the order buffers are created (longest lived, then biggest first); each into the lowest gap."""
    order = sorted(range(len(buffers)), key=lambda i: (buffers[i].first_used, -buffers[i].last_used, -buffers[i].size_bytes, i))
    return _fit_in_order(buffers, order, smallest_gap=False)


def _fit_in_order(buffers: list[PlannedBuffer], order: list[int], smallest_gap: bool) -> list[int]:
    offsets: list[int | None] = [None] * len(buffers)
    for i in order:
        wanted = buffers[i]
        busy = sorted(
            (offsets[j], offsets[j] + buffers[j].size_bytes)
            for j in range(len(buffers))
            if offsets[j] is not None and buffers[j].overlaps_in_time(wanted)
        )
        best, cursor = None, 0
        for start, end in busy:
            gap = start - cursor
            if gap >= wanted.size_bytes and (best is None or (smallest_gap and gap < best[0])):
                best = (gap, cursor)
            cursor = max(cursor, end)
        offsets[i] = best[1] if best else cursor
    return [int(o) for o in offsets]


def lowest_fit_offsets(buffers: list[PlannedBuffer]) -> list[int]:
    """Repeatedly place the buffer that can sit lowest (ties: biggest, then first), each on top of
    the highest buffer already placed that lives with it: the branch and bound's first dive."""
    offsets: list[int | None] = [None] * len(buffers)
    conflicts = _conflicts(buffers)
    for _ in buffers:
        best = None
        for i, buffer in enumerate(buffers):
            if offsets[i] is not None:
                continue
            offset = max((offsets[j] + buffers[j].size_bytes for j in conflicts[i] if offsets[j] is not None), default=0)
            key = (offset, -buffer.size_bytes, i)
            if best is None or key < best:
                best = key
        offsets[best[2]] = best[0]
    return [int(o) for o in offsets]


class _BranchAndBound:
    """The exact search of the module docstring, iterative-deepening free: one depth-first pass."""

    def __init__(self, buffers: list[PlannedBuffer], incumbent_head: int, bound: int, max_nodes: int):
        self.buffers = buffers
        self.sizes = [b.size_bytes for b in buffers]
        self.conflicts = _conflicts(buffers)
        scopes = max((b.last_used for b in buffers), default=-1) + 1
        self.live_at = [[i for i, b in enumerate(buffers) if b.first_used <= t <= b.last_used] for t in range(scopes)]
        self.unplaced_bytes = [sum(self.sizes[i] for i in live) for live in self.live_at]
        self.best_head = incumbent_head
        self.bound = bound
        self.best: list[int] | None = None
        self.offsets: list[int | None] = [None] * len(buffers)
        self.nodes = 0
        self.max_nodes = max_nodes
        self.finished = False

    def run(self) -> list[int] | None:
        self._search(0, (-1, -1), 0)
        if self.nodes < self.max_nodes:
            self.finished = True
        return self.best

    def _search(self, placed: int, last: tuple[int, int], head: int) -> None:
        if self.nodes >= self.max_nodes or self.best_head <= self.bound:
            return
        self.nodes += 1
        if placed == len(self.buffers):
            if head < self.best_head:
                self.best_head, self.best = head, [int(o) for o in self.offsets]
            return
        if max(head, self._lower_bound(last[0])) >= self.best_head:
            return
        candidates = []
        for i, offset in enumerate(self.offsets):
            if offset is not None:
                continue
            start = max((self.offsets[j] + self.sizes[j] for j in self.conflicts[i] if self.offsets[j] is not None), default=0)
            if (start, i) > last:
                candidates.append((start, -self.sizes[i], i))
        for start, _, i in sorted(candidates):
            self._place(i, start)
            self._search(placed + 1, (start, i), max(head, start + self.sizes[i]))
            self._unplace(i)

    def _lower_bound(self, floor: int) -> int:
        floor = max(floor, 0)
        bound = 0
        for t, live in enumerate(self.live_at):
            if not self.unplaced_bytes[t]:
                continue
            above = sum(
                max(0, self.offsets[j] + self.sizes[j] - max(self.offsets[j], floor)) for j in live if self.offsets[j] is not None
            )
            bound = max(bound, floor + self.unplaced_bytes[t] + above)
        return bound

    def _place(self, i: int, offset: int) -> None:
        self.offsets[i] = offset
        for t in range(max(self.buffers[i].first_used, 0), self.buffers[i].last_used + 1):
            self.unplaced_bytes[t] -= self.sizes[i]

    def _unplace(self, i: int) -> None:
        self.offsets[i] = None
        for t in range(max(self.buffers[i].first_used, 0), self.buffers[i].last_used + 1):
            self.unplaced_bytes[t] += self.sizes[i]


def _conflicts(buffers: list[PlannedBuffer]) -> list[list[int]]:
    return [[j for j, other in enumerate(buffers) if j != i and buffer.overlaps_in_time(other)] for i, buffer in enumerate(buffers)]


def _head(buffers: list[PlannedBuffer], offsets: list[int]) -> int:
    return max((o + b.size_bytes for o, b in zip(offsets, buffers)), default=0)
