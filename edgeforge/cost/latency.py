"""Predicted inference latency of a model on a device: one additive term per operator.

    t(op) = work / (macs_per_cycle[dtype] · clock) + op_overhead

where `work` is the op's multiply-accumulates, or, for an op that does none (pooling, softmax,
reshape, activations...), its output elements: each element is read, computed and written
once, which the model prices like one MAC. `macs_per_cycle` and `op_overhead_us` come from the
device preset (specs/device/<name>.yaml, `throughput.<runtime>`); they are calibrated against
published benchmarks and every figure names its source there. `benchmarks/latency_model.py`
prints how well the calibrated presets reproduce those benchmarks, including held-out ones.

This is the one latency model of edgeforge: `edgeforge profile` and the search's pre-filter
both call `predict_latency_ms`.

    ops = [("CONV_2D", "int8", 2_656_768, 8_000), ("SOFTMAX", "int8", 0, 12)]
    device = load_preset("stm32f746_disco")
    predict_latency_ms(ops, device, device.runtimes[0])
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

from edgeforge.cost.macs import ELEMENTWISE_OPS, ZERO_MAC_OPS
from edgeforge.errors import UserError
from edgeforge.spec.device import Device, Throughput

# Ops whose work is multiply-accumulates (see edgeforge.cost.macs for how they are counted).
MAC_OPS = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "CONV_3D", "BATCH_MATMUL"})
KNOWN_OPS = MAC_OPS | ELEMENTWISE_OPS | ZERO_MAC_OPS

DTYPES = ("int8", "int16", "float16", "float32")
# Tensor types that run on another type's kernels: int16x8 models have int16 activations;
# uint8 models are the legacy asymmetric form of int8; 32-bit integer maths runs at the fp32 rate.
DTYPE_ALIASES = {"int16x8": "int16", "uint8": "int8", "int32": "float32", "bfloat16": "float16"}
# A runtime without float16 kernels computes float16 models in float32 (TFLite dequantizes the
# weights once at load time), so a missing float16 figure falls back to the float32 one.
DTYPE_FALLBACK = {"float16": "float32"}

OpSpec = tuple[str, str, int, int]  # (op_type, dtype, macs, output_elements)


def predict_op_latency_ms(
    op_type: str, dtype: str, macs: int, output_elements: int, device: Device, runtime: str
) -> float:
    """Latency of one operator in milliseconds (see the module docstring for the formula)."""
    return predict_latency_ms([(op_type, dtype, macs, output_elements)], device, runtime)


def predict_latency_ms(ops: Iterable[OpSpec], device: Device, runtime: str) -> float:
    """Latency of a whole model in milliseconds: the sum over its operators, run one after another.

    Unknown op types are priced as overhead only and unknown dtypes as float32; both warn once
    per call, naming what was not recognised. Raises UserError when the device lacks `runtime`,
    or has no rate for the dtype of an op that multiply-accumulates (float32 on an int8-only device).
    """
    figures = _throughput(device, runtime)
    hz = device.clock_mhz * 1e6
    total_s = 0.0
    unknown_ops: set[str] = set()
    unknown_dtypes: set[str] = set()
    for op_type, dtype, macs, output_elements in ops:
        total_s += figures.op_overhead_us * 1e-6
        if op_type not in KNOWN_OPS:
            unknown_ops.add(op_type)
            continue
        kernel_dtype = _kernel_dtype(dtype, unknown_dtypes)
        if macs > 0:
            total_s += macs / (_macs_per_cycle(figures, kernel_dtype, device, runtime) * hz)
        else:
            total_s += output_elements / (_data_rate(figures, kernel_dtype) * hz)
    if unknown_ops:
        warnings.warn(
            f"latency model has no cost for op(s) {', '.join(sorted(unknown_ops))}; "
            "counted as per-op overhead only, so the prediction is a lower bound",
            stacklevel=2,
        )
    if unknown_dtypes:
        warnings.warn(
            f"latency model does not know dtype(s) {', '.join(sorted(unknown_dtypes))}; "
            f"priced at the float32 rate (known: {', '.join(DTYPES)})",
            stacklevel=2,
        )
    return total_s * 1e3


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


def _data_rate(figures: Throughput, dtype: str) -> float:
    """Elements per cycle of an op that only moves or compares data. A dtype the runtime has no
    kernels for still appears at a model's edges (the float input of QUANTIZE on an int8-only
    device); the host copies it, priced at the slowest rate the runtime has."""
    rates = figures.macs_per_cycle
    return rates.get(dtype) or rates.get(DTYPE_FALLBACK.get(dtype, "")) or min(rates.values())


def _macs_per_cycle(figures: Throughput, dtype: str, device: Device, runtime: str) -> float:
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
