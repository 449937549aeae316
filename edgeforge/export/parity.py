"""Cross-runtime parity: every exported format of the candidate against one reference, same inputs.

The reference is what the candidate was selected as:

    float32, float16          the Keras model; each export must lead to the same decision as the
                              reference (top-1 class; for an anomaly detector, which side of the
                              shipped threshold) on at least AGREEMENT_MIN of the held-out samples
    int8, int16x8, dynamic    the candidate's TFLite model in the target's runtime (quantization
                              changes the outputs by design); each export's quality (the task's:
                              accuracy, ROC AUC) may fall at most MAX_QUALITY_DROP below it

Each format runs in its own runtime where that runtime exists here: TFLite in LiteRT, the TFLite
Micro sources' model in TFLite Micro's interpreter, ONNX in ONNX Runtime, Core ML on macOS only.
The reference's own format is compared with Keras for information and held to no tolerance.
Formats without a runtime here record why (`{"skipped": reason}`). An entry keeps the task's
quality under `accuracy` (the search's key for it) and names it in `metric`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgeforge.errors import BuildError
from edgeforge.evaluate import AGREEMENT_KEYS, TASKS, Task
from edgeforge.export.base import ExportContext
from edgeforge.runtimes import NotRunnableHere, runtime_for_bundle

CLASSIFICATION = TASKS["classification"]

AGREEMENT_MIN = 0.995
MAX_QUALITY_DROP = 0.01
TOP1_AGREEMENT_MIN, MAX_ACCURACY_DROP = AGREEMENT_MIN, MAX_QUALITY_DROP  # their names for classifiers
QUANTIZED_MODES = ("int8", "int16x8", "dynamic")


def compare(scores: np.ndarray, reference: np.ndarray, x: np.ndarray, y: np.ndarray, reference_name: str,
            check: dict | None, task: Task = CLASSIFICATION, metrics: dict | None = None) -> dict:
    """One format's entry: decision agreement, largest output difference and the task's quality,
    against the reference."""
    entry = {
        "reference": reference_name,
        task.agreement_key: round(task.agreement(scores, reference, x, metrics or {}), 6),
        "max_abs_diff": round(float(np.abs(scores - reference).max()), 6),
        "samples": int(len(y)),
        "accuracy": round(task.quality(scores, x, y), 6),
        "reference_accuracy": round(task.quality(reference, x, y), 6),
        "check": check,
    }
    if task.metric != "accuracy":
        entry["metric"] = task.metric
    return entry


def reference_tflite(context: ExportContext) -> bytes:
    """The candidate's TFLite model: the verified one, or (if the search selected ONNX) converted now."""
    from edgeforge.export.onnx import is_tflite
    from edgeforge.passes.ptq import PostTrainingQuantization

    if is_tflite(context.model_bytes):
        return context.model_bytes
    return PostTrainingQuantization({"mode": context.quantization}).convert(context.load_keras(), context.representative_x)


def parity_report(context: ExportContext, written: dict[str, list[Path]], x: np.ndarray, y: np.ndarray,
                  task: Task = CLASSIFICATION) -> dict[str, dict]:
    """{format: entry} for every written format: the same inputs through its runtime and the reference."""
    from edgeforge.export import EXPORTERS
    from edgeforge.export.onnx import is_tflite

    if not is_tflite(context.model_bytes):
        # an ONNX base with no Keras or TFLite twin (an op no converter handles, docs/onnx.md): the
        # reference is the very .onnx the search verified, in ONNX Runtime
        own_name = reference_name = "onnx"
        own_scores = reference = runtime_for_bundle("onnx", context.target.runtime).predict(context.model_bytes, x)
        check = {"metric": task.agreement_key, "min": AGREEMENT_MIN}
    else:
        own_name, own_scores = "keras", context.load_keras().predict(x, batch_size=256, verbose=0).astype(np.float32)
        if context.quantization in QUANTIZED_MODES:
            reference_runtime = runtime_for_bundle("tflite", context.target.runtime)
            reference_name, reference = "tflite", reference_runtime.predict(reference_tflite(context), x)
            check = {"metric": "accuracy_drop", "max": MAX_QUALITY_DROP}
        else:
            reference_name, reference, check = "keras", own_scores, {"metric": task.agreement_key, "min": AGREEMENT_MIN}
    report = {}
    for fmt, paths in written.items():
        exporter = EXPORTERS[fmt]()
        try:
            run = exporter.runner(paths, context)
        except NotRunnableHere as why:
            report[fmt] = {"skipped": str(why), **exporter.structure(paths, context)}
            continue
        if fmt == reference_name:
            report[fmt] = compare(run(x), own_scores, x, y, own_name, None, task, context.metrics)
        else:
            report[fmt] = compare(run(x), reference, x, y, reference_name, check, task, context.metrics)
    return report


def parity_problems(report: dict[str, dict]) -> list[tuple[str, str]]:
    """(format, what breaks parity) for every export beyond its tolerance."""
    problems = []
    for fmt, entry in report.items():
        check = entry.get("check")
        if not check:
            continue
        quality = "ROC AUC" if entry.get("metric") == "auc" else "accuracy"
        if check["metric"] in AGREEMENT_KEYS and entry[check["metric"]] < check["min"]:
            decision = "top-1 class" if check["metric"] == "top1_agreement" else "anomaly decision at the threshold"
            problems.append((fmt,
                f"{fmt} agrees with {entry['reference']} on the {decision} for {entry[check['metric']]:.2%} of "
                f"{entry['samples']} held-out samples (at least {check['min']:.1%} required; largest output "
                f"difference {entry['max_abs_diff']:.4g})"
            ))
        drop = entry.get("reference_accuracy", 0) - entry.get("accuracy", 0)
        if check["metric"] == "accuracy_drop" and drop > check["max"] + 1e-9:
            problems.append((fmt,
                f"{fmt} reaches {quality} {entry['accuracy']:.4f}, {drop * 100:.2f} points below "
                f"{entry['reference']}'s {entry['reference_accuracy']:.4f} on {entry['samples']} held-out "
                f"samples (at most {check['max'] * 100:g} allowed)"
            ))
    return problems


def check_parity(report: dict[str, dict], target_name: str) -> None:
    """Raise BuildError naming every export that breaks parity beyond its tolerance."""
    problems = parity_problems(report)
    if problems:
        raise BuildError(
            f"targets.{target_name}: exports do not match the selected model: " + "; ".join(text for _, text in problems)
            + ". The converter changed the model; export another format or candidate, or report the converter bug"
        )
