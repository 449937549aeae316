"""Predicted inference latency of a model on a device: one additive term per operator.

    t(op) = work(op) / (rate[kind, dtype] · clock) + op_overhead

An op's *kind* says what its work is and which rate prices it:

- MAC kinds (`conv` = a kxk CONV_2D, `pointwise` = a 1x1 CONV_2D, `depthwise`,
  `fully_connected`, `transpose_conv`, `conv_3d`, `batch_matmul`): work = multiply-accumulates,
  rate = `op_rates[kind][dtype]` in MACs per cycle. CMSIS-NN and XNNPACK reach very different
  MACs per cycle on a 1x1, a kxk and a depthwise convolution, hence one rate per kind.
- memory-bound ops (pooling, elementwise arithmetic, activations, softmax, reshape, quantize,
  concatenation...): work = bytes moved (non-constant inputs + outputs), rate = `bytes_per_cycle`.

The rates live in the device preset (specs/device/<name>.yaml, `throughput.<runtime>`), fitted
per core and runtime on published measurements of that runtime, pooled across the boards that
share the core and scaled by each board's clock: `benchmarks/fit_latency.py --write` regenerates
them from `benchmarks/latency_reference.yaml`, and `benchmarks/latency_model.py` prints how well
they reproduce the measurements, held-out ones included. `latency_error` is that held-out error.

Documented defaults, never zero. An op whose kind has no calibrated rate for its dtype is priced
with the preset's default `macs_per_cycle[dtype]`; a memory-bound op without `bytes_per_cycle`, and
an op type this model does not know, as one MAC per output element at that default rate. Each
such op is *uncalibrated*: `LatencyPrediction.uncalibrated` names it, and `edgeforge profile`
and the report flag it.

This is the one latency model of edgeforge: `edgeforge profile`, the search's metrics and its
pre-filter all call it; where the device is the build machine, the runtime measures instead
(`Runtime.device_costs`, `latency_source: measured`).

    device = load_preset("stm32f746_disco")
    prediction = predict_model(read_graph("model.tflite"), device, device.runtimes[0])
    prediction.latency_ms, prediction.uncalibrated
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from edgeforge.cost.macs import ELEMENTWISE_OPS, ZERO_MAC_OPS
from edgeforge.errors import UserError
from edgeforge.spec.device import Device, Throughput

# Op kinds whose work is multiply-accumulates, and the op types of each (CONV_2D is split by its
# filter: 1x1 is `pointwise`, anything larger `conv`).
MAC_KINDS: dict[str, frozenset[str]] = {
    "conv": frozenset({"CONV_2D"}),
    "pointwise": frozenset({"CONV_2D"}),
    "depthwise": frozenset({"DEPTHWISE_CONV_2D"}),
    "fully_connected": frozenset({"FULLY_CONNECTED"}),
    "transpose_conv": frozenset({"TRANSPOSE_CONV"}),
    "conv_3d": frozenset({"CONV_3D"}),
    "batch_matmul": frozenset({"BATCH_MATMUL"}),
}
MEMORY = "memory"  # the kind of every memory-bound op: elementwise, pooling, activations, data movement
# TFLite Micro's DECODE (custom op TFLM_DECODE, inserted by LUT compression): memory-bound, its work
# the decoded bytes it writes, at DECODE_BYTES_PER_CYCLE on every device (reported as uncalibrated).
# ESTIMATE: the reference LUT decoder spends about 4
# cycles per decoded byte on a Cortex-M (unpack an index: shift and mask, load the table entry,
# store), so 0.25 bytes per cycle; no published measurement.
DECODE = "decode"
DECODE_CUSTOM_CODES = frozenset({"TFLM_DECODE"})
DECODE_BYTES_PER_CYCLE = 0.25
MEMORY_OPS = ELEMENTWISE_OPS | ZERO_MAC_OPS
MAC_OPS = frozenset().union(*MAC_KINDS.values())
KNOWN_OPS = MAC_OPS | MEMORY_OPS
OP_KINDS = (*MAC_KINDS, MEMORY, DECODE)

DTYPES = ("int8", "int16", "float16", "float32")
# Tensor types that run on another type's kernels: int16x8 models have int16 activations;
# uint8 models are the legacy asymmetric form of int8; 32-bit integer maths runs at the fp32 rate.
DTYPE_ALIASES = {"int16x8": "int16", "uint8": "int8", "int32": "float32", "bfloat16": "float16"}
# A runtime without float16 kernels computes float16 models in float32 (TFLite dequantizes the
# weights once at load time), so a missing float16 figure falls back to the float32 one.
DTYPE_FALLBACK = {"float16": "float32"}
_ELEMENT_BYTES = {"int8": 1, "int16": 2, "float16": 2, "float32": 4}

OpSpec = tuple[str, str, int, int]  # legacy form: (op_type, dtype, macs, output_elements)


@dataclass(frozen=True)
class OpWork:
    """What one operator costs the latency model: its kind, dtype and work."""

    type: str
    kind: str | None  # one of OP_KINDS; None for an op type the model does not know
    dtype: str  # dtype of the op's main input, as edgeforge.cost.macs reports it
    macs: int
    bytes_moved: int  # non-constant input bytes + output bytes (the work of a memory-bound op)
    output_elements: int


@dataclass(frozen=True)
class LatencyPrediction:
    """A model's predicted latency, per op, with what was priced by a default rather than a fit."""

    latency_ms: float
    op_ms: tuple[float, ...]
    uncalibrated: tuple[str, ...] = ()  # "TRANSPOSE_CONV (int8)": ops priced at a documented default
    error: float | None = None  # the preset's held-out relative error (latency_error)
    op_calibrated: tuple[bool, ...] = field(default=(), repr=False)


def op_kind(op_type: str, filter_shape: Sequence[int] | None = None) -> str | None:
    """The kind of an op (see the module docstring); a CONV_2D without its filter shape is `conv`."""
    if op_type == "DECODE":
        return DECODE
    if op_type == "CONV_2D":
        pointwise = filter_shape is not None and len(filter_shape) == 4 and filter_shape[1] * filter_shape[2] == 1
        return "pointwise" if pointwise else "conv"
    for kind, types in MAC_KINDS.items():
        if op_type in types:
            return kind
    return MEMORY if op_type in MEMORY_OPS else None


def op_works(graph) -> list[OpWork]:
    """The work of every operator of a `Graph` (edgeforge.cost.graph), in execution order."""
    from edgeforge.cost.macs import op_costs

    works = []
    for op, cost in zip(graph.operators, op_costs(graph)):
        filter_shape = graph.tensors[op.inputs[1]].shape if op.type == "CONV_2D" and len(op.inputs) > 1 else None
        moved = sum(
            graph.tensors[i].size_bytes for i in op.inputs if i >= 0 and not graph.tensors[i].is_constant
        ) + cost.output_bytes
        op_type = "DECODE" if op.custom_code in DECODE_CUSTOM_CODES else op.type  # its inputs are constant: moved = decoded bytes
        works.append(OpWork(op_type, op_kind(op_type, filter_shape), cost.dtype, cost.macs, int(moved), cost.output_elements))
    return works


def work_of(op_type: str, dtype: str, macs: int, output_elements: int, *, kind: str | None = None,
            bytes_moved: int | None = None) -> OpWork:
    """An OpWork from an op's totals, for callers without the graph: a memory-bound op is taken to
    read and write its output's size once each."""
    if bytes_moved is None:
        bytes_moved = 2 * output_elements * _ELEMENT_BYTES.get(DTYPE_ALIASES.get(dtype, dtype), 4)
    return OpWork(op_type, kind or op_kind(op_type), dtype, macs, bytes_moved, output_elements)


def predict_model(graph, device: Device, runtime: str) -> LatencyPrediction:
    """The latency of a whole `Graph` on `device` under `runtime` (see `predict_ops`)."""
    return predict_ops(op_works(graph), device, runtime)


def predict_ops(ops: Iterable[OpWork | OpSpec], device: Device, runtime: str) -> LatencyPrediction:
    """Latency per op and in total, run one after another; ops priced by a default are listed.

    Unknown op types are priced as memory-bound ops and unknown dtypes as float32; both warn once
    per call. Raises UserError when the device lacks `runtime`, or has no rate for the dtype of an
    op that multiply-accumulates (float32 on an int8-only device).
    """
    figures = _throughput(device, runtime)
    hz = device.clock_mhz * 1e6
    overhead_s = figures.op_overhead_us * 1e-6
    op_ms, calibrated, uncalibrated = [], [], []
    unknown_ops: set[str] = set()
    unknown_dtypes: set[str] = set()
    for op in ops:
        work = op if isinstance(op, OpWork) else work_of(*op)
        kernel_dtype = _kernel_dtype(work.dtype, unknown_dtypes)
        if work.kind is None:
            unknown_ops.add(work.type)
        if work.kind in MAC_KINDS and work.macs > 0:
            rate, fitted = _mac_rate(figures, work.kind, kernel_dtype, device, runtime)
            seconds = work.macs / (rate * hz)
        elif work.kind == DECODE:  # no preset fits a decode rate yet: always the documented default
            fitted = False
            seconds = work.bytes_moved / (DECODE_BYTES_PER_CYCLE * hz)
        else:
            bytes_rate = _bytes_rate(figures, kernel_dtype)
            fitted = bytes_rate is not None and work.kind is not None
            if bytes_rate is not None:
                seconds = work.bytes_moved / (bytes_rate * hz)
            else:  # the documented default: one MAC per output element
                seconds = work.output_elements / (_data_rate(figures, kernel_dtype) * hz)
        op_ms.append((seconds + overhead_s) * 1e3)
        calibrated.append(fitted)
        if not fitted:
            label = f"{work.type} ({work.dtype})"
            if label not in uncalibrated:
                uncalibrated.append(label)
    if unknown_ops:
        warnings.warn(
            f"latency model does not know op(s) {', '.join(sorted(unknown_ops))}; priced as memory-bound "
            "ops (bytes moved at the default rate), so the prediction is uncertain",
            stacklevel=2,
        )
    if unknown_dtypes:
        warnings.warn(
            f"latency model does not know dtype(s) {', '.join(sorted(unknown_dtypes))}; "
            f"priced at the float32 rate (known: {', '.join(DTYPES)})",
            stacklevel=2,
        )
    return LatencyPrediction(sum(op_ms), tuple(op_ms), tuple(uncalibrated), figures.latency_error, tuple(calibrated))


def predict_latency_ms(ops: Iterable[OpWork | OpSpec], device: Device, runtime: str) -> float:
    """Latency of a whole model in milliseconds: the sum over its operators (see `predict_ops`)."""
    return predict_ops(ops, device, runtime).latency_ms


def predict_op_latency_ms(
    op_type: str, dtype: str, macs: int, output_elements: int, device: Device, runtime: str, *,
    kind: str | None = None, bytes_moved: int | None = None,
) -> float:
    """Latency of one operator in milliseconds (see the module docstring for the formula)."""
    work = work_of(op_type, dtype, macs, output_elements, kind=kind, bytes_moved=bytes_moved)
    return predict_ops([work], device, runtime).latency_ms


def latency_error(device: Device, runtime: str) -> float | None:
    """The preset's held-out relative error for `runtime` (None when it has none)."""
    figures = device.throughput.get(runtime)
    return figures.latency_error if figures is not None else None


def upper_bound(value: float, error: float | None) -> float:
    """The conservative value of a predicted latency or energy: value × (1 + error)."""
    return value * (1 + (error or 0.0))


# Metrics a runtime measured on the build machine: they differ from run to run and machine to
# machine, so files that must rebuild byte for byte (the bundle's manifest) carry the prediction.
MEASURED_KEYS = ("latency_spread_ms", "latency_repeats", "latency_machine")


def reproducible_metrics(metrics: dict) -> dict:
    """`metrics` with measured latency replaced by the prediction (and energy recomputed from it)."""
    if metrics.get("latency_source") != "measured" or "latency_predicted_ms" not in metrics:
        return dict(metrics)
    clean = {key: value for key, value in metrics.items() if key not in MEASURED_KEYS}
    predicted = metrics["latency_predicted_ms"]
    if metrics.get("latency_ms") and "energy_mj" in metrics:
        clean["energy_mj"] = round(metrics["energy_mj"] * predicted / metrics["latency_ms"], 6)
    if metrics.get("latency_ms") and "avg_power_mw" in metrics:
        clean.pop("avg_power_mw")  # depends on the measured duty cycle; recomputed by whoever needs it
    clean["latency_ms"] = predicted
    clean["latency_source"] = "predicted"
    clean.pop("latency_predicted_ms", None)
    return clean


def _throughput(device: Device, runtime: str) -> Throughput:
    if runtime not in device.throughput:
        raise UserError(f"{device.name} has no runtime {runtime}; choose one of {', '.join(device.runtimes)}")
    return device.throughput[runtime]


def _kernel_dtype(dtype: str, unknown: set[str]) -> str:
    dtype = DTYPE_ALIASES.get(dtype, dtype)
    if dtype not in DTYPES:
        unknown.add(dtype)
        return "float32"
    return dtype


def _mac_rate(figures: Throughput, kind: str, dtype: str, device: Device, runtime: str) -> tuple[float, bool]:
    """(MACs per cycle, calibrated?) for a MAC op: its kind's fitted rate, else the default."""
    rates = figures.op_rates.get(kind, {})
    for candidate in (dtype, DTYPE_FALLBACK.get(dtype)):
        if candidate in rates:
            return rates[candidate], True
    return _default_mac_rate(figures, dtype, device, runtime), False


def _default_mac_rate(figures: Throughput, dtype: str, device: Device, runtime: str) -> float:
    rates = figures.macs_per_cycle
    if dtype in rates:
        return rates[dtype]
    if DTYPE_FALLBACK.get(dtype) in rates:
        return rates[DTYPE_FALLBACK[dtype]]
    only = " (an int8-only device: quantize the model to int8)" if device.int8_only else ""
    raise UserError(
        f"{device.name} has no {dtype} throughput for runtime {runtime}{only}; "
        f"it runs {', '.join(rates)} models"
    )


def _bytes_rate(figures: Throughput, dtype: str) -> float | None:
    """Bytes per cycle of a memory-bound op. Copying and comparing bytes costs about the same
    whatever they encode, so a dtype without its own fit (the float input of QUANTIZE on an int8
    model) takes the slowest fitted one."""
    rates = figures.bytes_per_cycle
    if not rates:
        return None
    return rates.get(dtype) or rates.get(DTYPE_FALLBACK.get(dtype, "")) or min(rates.values())


def _data_rate(figures: Throughput, dtype: str) -> float:
    """The default for a memory-bound op without `bytes_per_cycle`: one output element priced like
    one MAC. A dtype the runtime has no kernels for still appears at a model's edges (the float
    input of QUANTIZE on an int8-only device): priced at the slowest rate the runtime has."""
    rates = figures.macs_per_cycle
    return rates.get(dtype) or rates.get(DTYPE_FALLBACK.get(dtype, "")) or min(rates.values())


# The error bar of a preset whose figures were never checked against held-out measurements
# (no `latency_error`): ±100%, documented rather than measured.
UNVALIDATED_ERROR = 1.0


def latency_fields(device_costs: dict, device: Device, runtime: str, predicted_ms: float | None,
                   prediction: LatencyPrediction | None = None) -> dict:
    """How a profile's latency was obtained and how far to trust it:

    - `latency_source`: predicted (this module), measured (the runtime timed it on this machine)
      or compiled (the runtime's compiler estimated it, e.g. Vela's cycles);
    - `latency_predicted_ms`: this module's prediction, beside a measured latency;
    - `latency_error` / `energy_error`: relative error bars (held-out error of the preset's fit,
      UNVALIDATED_ERROR for a preset without one; the measured spread for a measurement; None for
      a compiled estimate, which nothing here checks). Energy = latency × a fixed power, so it
      carries the latency's relative error;
    - `latency_uncalibrated`: ops priced by a documented default instead of a fitted rate.
    """
    if "latency_ms" not in device_costs:
        source = "predicted"
    else:
        source = device_costs.get("latency_source", "compiled")
    fields: dict = {"latency_source": source}
    if source == "measured":
        fields["latency_predicted_ms"] = round(predicted_ms, 6) if predicted_ms is not None else None
        median, spread = device_costs["latency_ms"], device_costs.get("latency_spread_ms", 0.0)
        error = round(spread / median, 4) if median else None
    elif source == "predicted":
        figures = device.throughput.get(runtime)
        error = figures.latency_error if figures and figures.latency_error is not None else UNVALIDATED_ERROR
    else:
        error = None
    fields["latency_error"] = error
    fields["energy_error"] = error
    if source == "predicted" and prediction is not None:
        fields["latency_uncalibrated"] = list(prediction.uncalibrated)
    return fields
