"""A candidate's metrics on one target: accuracy measured in the runtime, costs on the device."""

from __future__ import annotations

from edgeforge.cost.profile import profile_model
from edgeforge.cost.weights import compressed_bytes
from edgeforge.runtimes import get_runtime


CLASS_FIGURES = ("class_accuracy", "class_samples")  # classification: `evaluate.quality.class_accuracies`
# What a task other than classification measures beside its quality (`evaluate.task.Task.measure`)
TASK_FIGURES = ("metric", "auc", "val_auc", "threshold", "detection_rate", "false_alarm_rate")


def task_metrics(accuracy: dict, base_accuracy: float) -> dict:
    """The task's own figures under their own names: for anomaly_detection `auc` (= `accuracy`,
    the search's quality), `auc_drop`, the `threshold` the bundle ships and the rates at it; {} for
    classification, whose metrics stay as they were."""
    figures = {key: accuracy[key] for key in TASK_FIGURES if key in accuracy}
    if "metric" in figures:
        figures[f"{figures['metric']}_drop"] = round(base_accuracy - accuracy["accuracy"], 6)
    return figures


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
        "samples": accuracy["samples"],  # what `accuracy` was measured on: its standard error (search/constraints.py)
        "model_bytes": len(artifact_bytes),
        "compressed_bytes": conversion["compressed_bytes"],
        # the file the device loads, gzipped: what a profile knows of the download; the search
        # replaces it with the whole released bundle's size (bundle/download.py, Evaluator)
        "download_bytes": compressed_bytes(artifact_bytes),
        "weight_sparsity": conversion["weight_sparsity"],
        "max_unique_weights": conversion["max_unique_weights"],
        "epochs": conversion["epochs"],
        **{key: profile[key] for key in ("params", "macs", "flash_bytes", "arena_bytes", "ram_bytes", "arena_source", "latency_ms", "energy_mj")},
    }
    if "avg_power_mw" in profile:
        metrics["avg_power_mw"] = profile["avg_power_mw"]
    metrics.update(task_metrics(accuracy, base_accuracy))
    # per class index: accuracy (None for a class the held-out split lacks) and samples, from the
    # same runtime predictions as `accuracy`; the report names the classes (build/data/info.json)
    metrics.update({key: accuracy[key] for key in CLASS_FIGURES if key in accuracy})
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
