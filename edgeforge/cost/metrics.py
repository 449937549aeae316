"""A candidate's metrics on one target: accuracy measured in the runtime, costs on the device."""

from __future__ import annotations

from edgeforge.cost.profile import profile_model
from edgeforge.cost.weights import compressed_bytes
from edgeforge.runtimes import get_runtime


def candidate_metrics(
    *,
    tflite_bytes: bytes,
    conversion: dict,
    artifact_bytes: bytes,
    accuracy: dict,
    device_costs: dict,
    target,
    base_accuracy: float,
) -> dict:
    """Every metric of a converted candidate on `target` (a spec Target).

    Costs come from the candidate's TFLite graph (same layers, same MACs as any other artifact of
    it) and the runtime's own figures (`device_costs`); flash counts the file the device loads.
    `conversion` is the .tflite conversion's record (weight statistics, training time),
    `accuracy` the runtime's measurement, with `accuracy_runtime` naming who measured it.
    For a .tflite runtime `tflite_bytes` is the file the device loads: with TFLite Micro and
    `memory_plan: offline` it already carries the verified offline plan (`Runtime.device_artifact`),
    so the arena that counts is the one measured on it as it is; TFLite Micro's own plan and the
    lower bound are kept beside it (`arena_default_bytes`, `arena_lower_bound_bytes`).
    """
    runtime = get_runtime(target.runtime)
    profile = profile_model(
        tflite_bytes, target.device, target.runtime, inference_hz=target.constraints.inference_hz, device_costs=device_costs
    )
    if runtime.artifact != "tflite":
        profile["flash_bytes"] = len(artifact_bytes) + runtime.code_bytes([op["type"] for op in profile["ops"]], target.device.arch)
    metrics = {
        "accuracy": accuracy["accuracy"],
        "accuracy_runtime": accuracy["accuracy_runtime"],
        "accuracy_drop": round(base_accuracy - accuracy["accuracy"], 6),
        "model_bytes": len(artifact_bytes),
        "compressed_bytes": conversion["compressed_bytes"],
        # the `download_kb` figure: the file the device loads, gzipped (level 9) as an over-the-air
        # transfer compresses it; LUT compression, clustering and pruning all shrink it
        "download_bytes": compressed_bytes(artifact_bytes),
        "weight_sparsity": conversion["weight_sparsity"],
        "max_unique_weights": conversion["max_unique_weights"],
        "train_seconds": conversion["train_seconds"],
        "epochs": conversion["epochs"],
        **{key: profile[key] for key in ("params", "macs", "flash_bytes", "arena_bytes", "ram_bytes", "arena_source", "latency_ms", "energy_mj")},
    }
    if "avg_power_mw" in profile:
        metrics["avg_power_mw"] = profile["avg_power_mw"]
    if "compression" in device_costs:  # TFLite Micro: LUT-compressed weights, or why not
        from edgeforge.runtimes.tflm_compression import describe

        metrics["weights_compression"] = describe(device_costs["compression"])
    for key in ("arena_default_bytes", "arena_planned_bytes", "arena_lower_bound_bytes"):
        if profile.get(key) is not None:
            metrics[key] = profile[key]
    # how the latency was obtained and its error bar (cost/latency.py `latency_fields`); measured
    # figures vary by machine, so the bundle carries the prediction (`reproducible_metrics`)
    for key in ("latency_source", "latency_error", "energy_error", "latency_predicted_ms", "latency_uncalibrated",
                "latency_spread_ms", "latency_repeats", "latency_machine"):
        if key in profile:
            metrics[key] = profile[key]
    return metrics
