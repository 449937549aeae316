"""The cost of one .tflite on one device: MACs, flash, arena RAM, latency, energy, per operator.

One implementation for `edgeforge profile` and the search: both call `profile_model`.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from edgeforge.cost.arena import estimate_arena_bytes, measure_arena_bytes
from edgeforge.cost.energy import avg_power_mw, energy_mj
from edgeforge.cost.flash import flash_bytes
from edgeforge.cost.graph import read_graph
from edgeforge.cost.latency import predict_op_latency_ms
from edgeforge.cost.macs import op_costs
from edgeforge.errors import UserError
from edgeforge.spec.device import Device


def profile_model(
    model: bytes | str | Path,
    device: Device,
    runtime: str,
    *,
    inference_hz: float | None = None,
    measured_arena_bytes: int | None = None,
) -> dict:
    """Every cost figure of `model` on `device` under `runtime`.

    The arena is measured by TFLite Micro's allocator for tflite-micro (pass `measured_arena_bytes`
    if it was already measured); other runtimes report the planner estimate.
    """
    if runtime not in device.runtimes:
        raise UserError(f"{device.name} has no runtime '{runtime}'; choose one of: {', '.join(device.runtimes)}")
    graph = read_graph(model)
    model_bytes = graph.model_bytes
    costs = op_costs(graph)
    for cost in costs:
        if not cost.macs_known:
            warnings.warn(f"{graph.source}: no MAC formula for operator {cost.type} (#{cost.index}); counted as 0 MACs", stacklevel=2)
    ops = [
        {
            "index": cost.index,
            "type": cost.type,
            "dtype": cost.dtype,
            "macs": cost.macs,
            "params": cost.params,
            "output_bytes": cost.output_bytes,
            "latency_ms": round(predict_op_latency_ms(cost.type, cost.dtype, cost.macs, cost.output_elements, device, runtime), 6),
        }
        for cost in costs
    ]
    estimate = estimate_arena_bytes(graph)
    if runtime == "tflite-micro":
        arena, source = measured_arena_bytes or measure_arena_bytes(model), "measured"
    else:
        arena, source = estimate, "estimated"
    latency_ms = sum(op["latency_ms"] for op in ops)
    result = {
        "model": graph.source,
        "device": device.name,
        "runtime": runtime,
        "params": sum(cost.params for cost in costs),
        "macs": sum(cost.macs for cost in costs),
        "model_bytes": model_bytes,
        "flash_bytes": flash_bytes(model_bytes, graph.op_types, runtime, device.arch),
        "arena_bytes": int(arena),
        "arena_source": source,
        "arena_estimate_bytes": int(estimate),
        "latency_ms": round(latency_ms, 6),
        "energy_mj": round(energy_mj(latency_ms, device), 6),
        "ops": ops,
    }
    if inference_hz is not None:
        result["inference_hz"] = inference_hz
        result["avg_power_mw"] = round(avg_power_mw(latency_ms, device, inference_hz), 6)
    return result
