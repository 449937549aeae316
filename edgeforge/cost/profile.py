"""The cost of one .tflite on one device: MACs, flash, arena RAM, latency, energy, per operator.

One implementation for `edgeforge profile` and the search: both call `profile_model`. The figures
are analytic (MACs, the per-op latency model, the replayed memory planner), except where the
runtime measures or compiles them itself (`Runtime.device_costs`: TFLite Micro's arena, Vela's
cycles and SRAM for the Ethos-U NPU), which then replace the analytic ones. For TFLite Micro the
arena comes three ways: TFLite Micro's own plan, edgeforge's verified offline plan
(`edgeforge.memory`) and the lower bound of its operator order; `memory_plan` picks the one
that counts.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from edgeforge.cost.arena import arena_under_plan, estimate_arena_bytes
from edgeforge.cost.energy import avg_power_mw, energy_mj
from edgeforge.cost.graph import read_graph
from edgeforge.cost.latency import latency_fields, predict_model
from edgeforge.cost.macs import op_costs
from edgeforge.cost.weights import compressed_bytes
from edgeforge.errors import BuildError, ModelFileError, UserError
from edgeforge.runtimes import get_runtime
from edgeforge.spec.device import Device


def profile_model(
    model: bytes | str | Path,
    device: Device,
    runtime: str,
    *,
    inference_hz: float | None = None,
    device_costs: dict | None = None,
    memory_plan: str | None = None,
) -> dict:
    """Every cost figure of `model` on `device` under `runtime`.

    `device_costs` are the runtime's own figures for this model and device when already known
    (the search memoizes them); otherwise the runtime is asked here. `memory_plan` (offline |
    tflm) picks the arena that counts where the runtime can plan one offline (TFLite Micro:
    edgeforge's verified plan, or TFLite Micro's own); None counts the model as it is.
    """
    if runtime not in device.runtimes:
        raise UserError(f"{device.name} has no runtime '{runtime}'; choose one of: {', '.join(device.runtimes)}")
    graph = read_graph(model)
    costs = op_costs(graph)
    for cost in costs:
        if not cost.macs_known:
            warnings.warn(f"{graph.source}: no MAC formula for operator {cost.type} (#{cost.index}); counted as 0 MACs", stacklevel=2)
    if device_costs is None:
        data = model if isinstance(model, bytes) else Path(model).read_bytes()
        try:
            device_costs = get_runtime(runtime).device_costs(data, device)
        except (BuildError, ModelFileError) as error:  # the runtime saw bytes only: name the file
            raise type(error)(str(error).replace("<model bytes>", graph.source, 1)) from None
    prediction = None if device_costs.get("ops") else predict_model(graph, device, runtime)
    ops = device_costs.get("ops") or [
        {
            "index": cost.index,
            "type": cost.type,
            "dtype": cost.dtype,
            "macs": cost.macs,
            "params": cost.params,
            "output_bytes": cost.output_bytes,
            "latency_ms": round(op_ms, 6),
            "latency_calibrated": calibrated,
        }
        for cost, op_ms, calibrated in zip(costs, prediction.op_ms, prediction.op_calibrated)
    ]
    estimate = estimate_arena_bytes(graph)
    arena = arena_under_plan(device_costs, memory_plan)
    # Whose layout `arena_bytes` is, where the runtime can plan offline: edgeforge's or TFLM's own.
    arena_plan = None
    if device_costs.get("arena_default_bytes") is not None:
        arena_plan = "tflm" if arena == device_costs["arena_default_bytes"] else "offline"
    latency_ms = device_costs.get("latency_ms", sum(op["latency_ms"] for op in ops))
    flash = device_costs.get("flash_bytes", graph.model_bytes + get_runtime(runtime).code_bytes(graph.op_types, device.arch))
    shipped_bytes = (device_costs.get("memory_plan") or {}).get("model_bytes")
    if arena_plan == "offline" and shipped_bytes:
        flash += shipped_bytes - graph.model_bytes  # the file that ships carries the plan
    result = {
        "model": graph.source,
        "device": device.name,
        "runtime": runtime,
        "params": sum(cost.params for cost in costs),
        "macs": sum(cost.macs for cost in costs),
        "model_bytes": graph.model_bytes,
        # what `download_kb` judges: the file gzipped (level 9), as an over-the-air transfer compresses it
        "download_bytes": compressed_bytes(model if isinstance(model, bytes) else Path(model).read_bytes()),
        "flash_bytes": flash,
        "arena_bytes": int(arena if arena is not None else estimate),
        # what the application reserves for it (TFLite Micro: + a margin): `ram_kb` judges this
        "ram_bytes": get_runtime(runtime).reserved_ram_bytes(int(arena if arena is not None else estimate)),
        "arena_source": device_costs.get("arena_source", "estimated"),
        "arena_plan": arena_plan,
        "arena_estimate_bytes": int(estimate),
        # TFLite Micro's own plan, edgeforge's offline plan and the lower bound of its operator
        # order, where the runtime plans offline (None elsewhere)
        "arena_default_bytes": device_costs.get("arena_default_bytes"),
        "arena_planned_bytes": device_costs.get("arena_planned_bytes"),
        "arena_lower_bound_bytes": device_costs.get("arena_lower_bound_bytes"),
        "latency_ms": round(latency_ms, 6),
        "energy_mj": round(energy_mj(latency_ms, device), 6),
        **latency_fields(device_costs, device, runtime, prediction.latency_ms if prediction else None, prediction),
        "ops": ops,
    }
    for key, value in device_costs.items():  # what else the runtime reports (e.g. Vela's notes)
        result.setdefault(key, value)
    if inference_hz is not None:
        result["inference_hz"] = inference_hz
        result["avg_power_mw"] = round(avg_power_mw(latency_ms, device, inference_hz), 6)
    return result
