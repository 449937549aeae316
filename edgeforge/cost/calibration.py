"""Fit the latency model's rates from measurements: per core and runtime, pooled across boards.

The measurements are data (benchmarks/latency_reference.yaml): each point is one published (or
measured-here) latency of one model on one board, with its source, runtime, core, clock and role:

- `fit`       used to choose the rates;
- `held_out`  never fitted (MLPerf Tiny v0.5 and others): their error is the honest error bar;
- `context`   another runtime or kernel set, shown for comparison, never fitted or scored.

A *group* is one core and runtime (e.g. a Cortex-M4 running TFLite Micro). Its rates are per CPU cycle, so
every board with that core shares them and a board's clock scales them. The model is linear in
cycles per unit of work, so the fit is a non-negative least-squares problem on relative error:

    cycles(point) = Σ_kind work_kind · c_kind,dtype + ops · c_op     (c = 1 / rate)

with a ridge pull (`RIDGE`) towards a prior: the group's documented kind ratios (`PRIORS`)
scaled by a first fit of one scale per dtype. A kind the points barely exercise stays at the
prior ratio; one they pin down moves to the data. A group with many points (x86_host, timed on
this machine) chooses a weaker pull by cross-validation (`choose_ridge`): the data can say more.
Kinds a prior ties (`TIED`: XNNPACK's GEMM kinds) share one unknown at their prior ratio: fewer
free parameters than points can pin down over-fit. A kind no fit point exercises gets no rate
(the preset's default prices it, flagged as uncalibrated).

`benchmarks/fit_latency.py --write` turns each group's fit into the throughput blocks of its
presets; tests/unit/cost/test_calibration.py checks the presets still match a refit.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgeforge.cost.latency import MAC_KINDS, MEMORY, OpWork, predict_ops

# How strongly each rate is pulled towards the prior (relative squared error units). Small
# enough that four MLPerf points move the kinds they exercise, large enough that a kind one
# point touches stays near its prior.
RIDGE = 0.05
# The pulls a group with at least RIDGE_SCAN_MIN fit points chooses from, by its leave-one-point-out
# error (`choose_ridge`); fewer points cannot tell them apart and keep RIDGE. The held-out points
# never enter the choice.
RIDGES = (0.05, 0.02, 0.01, 0.005, 0.002, 0.001, 0.0005)
RIDGE_SCAN_MIN = 12
# Relative cycles per unit of work by kind (per MAC; per byte for `memory`), before any fit:
# the shape the fit starts from. CMSIS-NN: 1x1 convolutions run its fastest (no im2col), depthwise
# its slowest per MAC; XNNPACK (LiteRT's and, alike, ONNX Runtime's CPU kernels) is GEMM-bound.
PRIORS: dict[str, dict[str, float]] = {
    "cmsis-nn": {"conv": 1.0, "pointwise": 0.8, "depthwise": 1.6, "fully_connected": 1.0, MEMORY: 1.0},
    "xnnpack": {"conv": 1.0, "pointwise": 0.8, "depthwise": 2.0, "fully_connected": 1.0, MEMORY: 0.3},
    "mlas": {"conv": 1.0, "pointwise": 0.8, "depthwise": 2.0, "fully_connected": 1.0, MEMORY: 0.3},  # ONNX Runtime: as XNNPACK
    "gpu": {"conv": 1.0, "pointwise": 1.0, "depthwise": 1.0, "fully_connected": 1.0, MEMORY: 1.0},
}
# Kinds that share one fitted scale with another kind, at their PRIORS ratio, by prior. XNNPACK
# (LiteRT) and MLAS (ONNX Runtime) run a kxk convolution (im2col / indirect GEMM), a 1x1
# convolution and a fully connected layer on the same GEMM micro-kernels, and the eight points of
# a group cannot tell their rates apart: fitted separately, x86 LiteRT's int8 fully connected came
# out at 388 MACs per cycle. Tied, x86 LiteRT's leave-one-point-out mean |error| drops from 83% to
# 68% (benchmarks/latency_model.py prints it). ONNX Runtime (prior `mlas`) stays untied: its int8
# QDQ graphs run convolutions as QLinearConv and fully connected layers as MatMulInteger/QGemm,
# different MLAS kernels, and tying raised its leave-one-point-out error (23% to 26%). CMSIS-NN stays untied: its fully connected layer is a
# separate vector-matrix kernel and 1x1 convolutions take a fast path without im2col, and tying
# them pushed the Cortex-M33 depthwise rate to 3 MACs per cycle, above the core's 2-MAC SMLAD peak.
# Depthwise and memory-bound ops keep their own rates everywhere: their kernels differ.
GEMM_TIED = {"pointwise": "conv", "fully_connected": "conv"}
TIED: dict[str, dict[str, str]] = {"xnnpack": GEMM_TIED}
# Cycles per operator before any fit: interpreter dispatch and kernel set-up (TFLM: ~2,000 cycles
# on a Cortex-M; LiteRT/ONNX Runtime: a few µs of a GHz core; an accelerator: a kernel launch).
PRIOR_OP_CYCLES = {"cmsis-nn": 2000.0, "xnnpack": 5000.0, "mlas": 5000.0, "gpu": 20000.0}
# Error bar of a group too thin to measure its own (fewer than HELD_OUT_MIN held-out points and
# a single board): documented, not measured.
DEFAULT_ERROR = 0.5
HELD_OUT_MIN = 3
ERROR_QUANTILE = 0.9  # the error bar covers this share of held-out points


@dataclass(frozen=True)
class ModelWork:
    """A model's work, summed by kind: what a point's prediction needs."""

    name: str
    dtype: str
    ops: int
    macs: dict[str, int]  # by MAC kind
    memory_bytes: int
    memory_elements: int

    def as_ops(self) -> list[OpWork]:
        """OpWorks whose predicted sum equals that of the full op list (the model is additive)."""
        works = [OpWork(kind, kind, self.dtype, macs, 0, 0) for kind, macs in sorted(self.macs.items()) if macs]
        works.append(OpWork("RESHAPE", MEMORY, self.dtype, 0, self.memory_bytes, self.memory_elements))
        works += [OpWork("RESHAPE", MEMORY, self.dtype, 0, 0, 0)] * max(0, self.ops - len(works))
        return works


@dataclass(frozen=True)
class Point:
    source: str
    runtime: str
    group: str
    board: str
    model: str
    latency_ms: float
    clock_mhz: float
    role: str
    energy_uj: float | None = None

    @property
    def cycles(self) -> float:
        return self.latency_ms * 1e3 * self.clock_mhz


@dataclass
class GroupFit:
    """Cycles per unit of work by (kind, dtype), per op, and the rates they imply."""

    group: str
    cycles: dict[tuple[str, str], float]  # (kind, dtype) -> cycles per MAC (per byte for memory)
    op_cycles: float
    points: int
    dtypes: tuple[str, ...] = ()
    default_macs_per_cycle: dict[str, float] = field(default_factory=dict)

    def op_rates(self) -> dict[str, dict[str, float]]:
        rates: dict[str, dict[str, float]] = {}
        for (kind, dtype), cycles in sorted(self.cycles.items()):
            if kind != MEMORY:
                rates.setdefault(kind, {})[dtype] = 1 / cycles
        return rates

    def bytes_per_cycle(self) -> dict[str, float]:
        return {dtype: 1 / cycles for (kind, dtype), cycles in sorted(self.cycles.items()) if kind == MEMORY}

    def predict_cycles(self, work: ModelWork) -> float:
        total = self.op_cycles * work.ops + self.cycles.get((MEMORY, work.dtype), 0.0) * work.memory_bytes
        for kind, macs in work.macs.items():
            total += macs * self._mac_cycles(kind, work.dtype)
        return total

    def _mac_cycles(self, kind: str, dtype: str) -> float:
        if (kind, dtype) in self.cycles:
            return self.cycles[(kind, dtype)]
        return 1 / self.default_macs_per_cycle[dtype]


def model_work(name: str, graph) -> ModelWork:
    """A model's work by kind, from its `Graph` (edgeforge.cost.graph)."""
    from edgeforge.cost.latency import DTYPE_ALIASES, op_works

    works = op_works(graph)
    macs: dict[str, int] = {}
    memory_bytes = memory_elements = 0
    for work in works:
        if work.kind in MAC_KINDS and work.macs > 0:
            macs[work.kind] = macs.get(work.kind, 0) + work.macs
        else:
            memory_bytes += work.bytes_moved
            memory_elements += work.output_elements
    dtypes = [DTYPE_ALIASES.get(w.dtype, w.dtype) for w in works if w.kind in MAC_KINDS]
    dtype = statistics.mode(dtypes) if dtypes else "float32"
    return ModelWork(name, dtype, len(works), macs, memory_bytes, memory_elements)


def fit_group(group: str, points: list[Point], works: dict[str, ModelWork], prior: str, ridge: float = RIDGE) -> GroupFit:
    """The rates of one group from its points (see the module docstring)."""
    from scipy.optimize import nnls

    if not points:
        raise ValueError(f"group {group} has no fit points")
    ratios = PRIORS[prior]
    dtypes = tuple(sorted({works[p.model].dtype for p in points}))
    # Step 1: one scale per dtype over the prior's kind ratios, the per-op cycles held at their prior
    # (a few points cannot tell a fixed cost per op from a slow kind).
    op_prior = PRIOR_OP_CYCLES[prior]
    rows, target = [], []
    for p in points:
        work = works[p.model]
        row = np.zeros(len(dtypes))
        row[dtypes.index(work.dtype)] = _prior_units(work, ratios)
        rows.append(row / p.cycles)
        target.append(1.0 - op_prior * work.ops / p.cycles)
    scale, _ = nnls(np.array(rows), np.array(target))
    scale = np.append(scale, op_prior)
    # Step 2: every (kind, dtype) the points exercise, pulled towards scale × ratio.
    tied = TIED.get(prior, {})
    exercised = sorted({
        (tied.get(kind, kind), works[p.model].dtype) for p in points for kind, macs in works[p.model].macs.items() if macs
    } | {(MEMORY, works[p.model].dtype) for p in points if works[p.model].memory_bytes})
    unknowns = [*exercised, ("op", "")]
    start = np.array([
        scale[dtypes.index(dtype)] * ratios.get(kind, 1.0) if kind != "op" else op_prior for kind, dtype in unknowns
    ])
    start = np.where(start > 0, start, [_fallback_prior(u, scale, dtypes, ratios) for u in unknowns])  # a dtype whose scale came out 0
    rows, target = [], []
    for p in points:
        work = works[p.model]
        row = np.array([_units(work, kind, dtype, tied, ratios) for kind, dtype in unknowns], dtype=float)
        rows.append(row / p.cycles)
        target.append(1.0)
    for j, value in enumerate(start):
        row = np.zeros(len(unknowns))
        row[j] = math.sqrt(ridge) / value
        rows.append(row)
        target.append(math.sqrt(ridge))
    solution, _ = nnls(np.array(rows), np.array(target))
    cycles = {u: float(max(c, 1e-9)) for u, c in zip(unknowns[:-1], solution[:-1])}
    for kind, dtype in {(k, works[p.model].dtype) for p in points for k, macs in works[p.model].macs.items() if macs}:
        if tied.get(kind, kind) != kind:  # a tied kind: its representative's cycles at the prior ratio
            cycles[(kind, dtype)] = cycles[(tied[kind], dtype)] * ratios.get(kind, 1.0) / ratios.get(tied[kind], 1.0)
    fit = GroupFit(group, cycles, float(solution[-1]), len(points), dtypes)
    fit.default_macs_per_cycle = _default_rates(fit, points, works)
    return fit


def predict_point(point: Point, fit_or_device, works: dict[str, ModelWork]) -> float:
    """A point's predicted latency in ms, by edgeforge.cost.latency (given a Device) or by the fit."""
    work = works[point.model]
    if isinstance(fit_or_device, GroupFit):
        return fit_or_device.predict_cycles(work) / (point.clock_mhz * 1e3)
    device = fit_or_device.model_copy(update={"clock_mhz": point.clock_mhz})
    scaled = device.throughput[point.runtime].model_copy(
        update={"op_overhead_us": device.throughput[point.runtime].op_overhead_us * fit_or_device.clock_mhz / point.clock_mhz}
    )
    device = device.model_copy(update={"throughput": {**device.throughput, point.runtime: scaled}})
    return predict_ops(work.as_ops(), device, point.runtime).latency_ms


def relative_error(predicted: float, measured: float) -> float:
    return (predicted - measured) / measured


def error_bar(errors: Iterable[float]) -> float:
    """The |relative error| that ERROR_QUANTILE of the errors stay within (nearest rank)."""
    magnitudes = sorted(abs(e) for e in errors)
    rank = max(0, math.ceil(ERROR_QUANTILE * len(magnitudes)) - 1)
    return magnitudes[rank]


def leave_one_board_out(group: str, points: list[Point], works: dict[str, ModelWork], prior: str,
                        ridge: float = RIDGE) -> list[tuple[Point, float]]:
    """(point, relative error) of each fit point predicted by a fit without its board."""
    boards = sorted({p.board for p in points})
    if len(boards) < 2:
        return []
    results = []
    for board in boards:
        rest = [p for p in points if p.board != board]
        fit = fit_group(group, rest, works, prior, ridge)
        for p in points:
            if p.board == board and works[p.model].dtype in fit.default_macs_per_cycle:
                results.append((p, relative_error(predict_point(p, fit, works), p.latency_ms)))
    return results


def leave_one_point_out(group: str, points: list[Point], works: dict[str, ModelWork], prior: str,
                        ridge: float = RIDGE) -> list[tuple[Point, float]]:
    """(point, relative error) of each fit point predicted by a fit without it: the model-selection
    figure of a group measured on a single board, where leave-one-board-out has nothing to leave."""
    results = []
    for i, p in enumerate(points):
        rest = points[:i] + points[i + 1 :]
        if not rest:
            continue
        fit = fit_group(group, rest, works, prior, ridge)
        if works[p.model].dtype in fit.default_macs_per_cycle:
            results.append((p, relative_error(predict_point(p, fit, works), p.latency_ms)))
    return results


def choose_ridge(group: str, points: list[Point], works: dict[str, ModelWork], prior: str) -> float:
    """The ridge of `RIDGES` whose fits predict the group's left-out fit points best (mean |error|
    of leave-one-point-out; the stronger pull on a tie), or RIDGE for a group of fewer than
    RIDGE_SCAN_MIN points."""
    if len(points) < RIDGE_SCAN_MIN:
        return RIDGE
    return min(RIDGES, key=lambda ridge: statistics.mean(abs(e) for _, e in leave_one_point_out(group, points, works, prior, ridge)))


def group_error(group: str, fit_points: list[Point], held_out: list[Point], works, prior: str, fit: GroupFit,
                ridge: float = RIDGE) -> tuple[float, str]:
    """(error bar, how it was measured) of a group: held-out points when there are enough, else
    leave-one-board-out, else DEFAULT_ERROR."""
    scored = [p for p in held_out if works[p.model].dtype in fit.default_macs_per_cycle]
    if len(scored) >= HELD_OUT_MIN:
        errors = [relative_error(predict_point(p, fit, works), p.latency_ms) for p in scored]
        return round(error_bar(errors), 2), f"{len(scored)} held-out points"
    lobo = leave_one_board_out(group, fit_points, works, prior, ridge)
    if len(lobo) >= HELD_OUT_MIN:
        return round(error_bar(e for _, e in lobo), 2), f"leave-one-board-out over {len(lobo)} points"
    return DEFAULT_ERROR, "too few held-out points or boards to measure the error: the documented default"


def load_reference(path: str | Path) -> dict:
    import yaml

    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def reference_points(reference: dict) -> list[Point]:
    return [
        Point(
            source=p["source"], runtime=p["runtime"], group=p["group"], board=p["board"], model=p["model"],
            latency_ms=float(p["latency_ms"]), clock_mhz=float(p["clock_mhz"]), role=p["role"],
            energy_uj=p.get("energy_uj"),
        )
        for p in reference["points"]
    ]


def reference_works(reference: dict) -> dict[str, ModelWork]:
    return {
        name: ModelWork(name, m["dtype"], int(m["ops"]), {k: int(v) for k, v in m["macs"].items()},
                        int(m["memory_bytes"]), int(m["memory_elements"]))
        for name, m in reference["models"].items()
    }


def _units(work: ModelWork, kind: str, dtype: str, tied: dict[str, str] | None = None,
           ratios: dict[str, float] | None = None) -> float:
    """A point's work in the units of one unknown: a tied kind's MACs count towards its
    representative, weighted by their prior ratio."""
    if kind == "op":
        return work.ops
    if work.dtype != dtype:
        return 0.0
    if kind == MEMORY:
        return work.memory_bytes
    tied, ratios = tied or {}, ratios or {}
    return sum(macs * ratios.get(k, 1.0) / ratios.get(kind, 1.0) for k, macs in work.macs.items() if tied.get(k, k) == kind)


def _prior_units(work: ModelWork, ratios: dict[str, float]) -> float:
    return sum(macs * ratios.get(kind, 1.0) for kind, macs in work.macs.items()) + work.memory_bytes * ratios[MEMORY]


def _fallback_prior(unknown, scale, dtypes, ratios) -> float:
    kind, dtype = unknown
    positive = [s for s in scale[:-1] if s > 0]
    return (positive[0] if positive else 1.0) * ratios.get(kind, 1.0)


def _default_rates(fit: GroupFit, points: list[Point], works: dict[str, ModelWork]) -> dict[str, float]:
    """Per dtype: MACs per cycle over all fit points' MAC ops (the rate of a MAC op of a kind
    without its own fit), MAC-weighted."""
    rates = {}
    for dtype in fit.dtypes:
        macs = cycles = 0.0
        for p in points:
            work = works[p.model]
            if work.dtype != dtype:
                continue
            for kind, n in work.macs.items():
                if (kind, dtype) in fit.cycles:
                    macs += n
                    cycles += n * fit.cycles[(kind, dtype)]
        if macs:
            rates[dtype] = macs / cycles
    return rates
