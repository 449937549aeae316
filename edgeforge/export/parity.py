"""Cross-runtime parity: every exported format of the candidate against one reference, same inputs.

The reference is what the candidate was selected as:

    float32, float16          the Keras model; each export must agree on the top-1 class for at
                              least TOP1_AGREEMENT_MIN of the held-out samples
    int8, int16x8, dynamic    the candidate's TFLite model in LiteRT (quantization changes the
                              scores by design); each export's accuracy may fall at most
                              MAX_ACCURACY_DROP below it

Each format runs in its own runtime where that runtime exists here: TFLite in LiteRT, the TFLite
Micro sources' model in TFLite Micro's interpreter, ONNX in ONNX Runtime, Core ML on macOS only.
The reference's own format is compared with Keras for information and held to no tolerance.
Formats without a runtime here record why (`{"skipped": reason}`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgeforge.errors import BuildError
from edgeforge.export.base import ExportContext
from edgeforge.runtimes import NotRunnableHere, runtime_for_bundle

TOP1_AGREEMENT_MIN = 0.995
MAX_ACCURACY_DROP = 0.01
QUANTIZED_MODES = ("int8", "int16x8", "dynamic")


def compare(scores: np.ndarray, reference: np.ndarray, y: np.ndarray, reference_name: str, check: dict | None) -> dict:
    """One format's entry: top-1 agreement and largest score difference against the reference."""
    return {
        "reference": reference_name,
        "top1_agreement": round(float(np.mean(scores.argmax(axis=1) == reference.argmax(axis=1))), 6),
        "max_abs_diff": round(float(np.abs(scores - reference).max()), 6),
        "samples": int(len(y)),
        "accuracy": round(float(np.mean(scores.argmax(axis=1) == y)), 6),
        "reference_accuracy": round(float(np.mean(reference.argmax(axis=1) == y)), 6),
        "check": check,
    }


def reference_tflite(context: ExportContext) -> bytes:
    """The candidate's TFLite model: the verified one, or (if the search selected ONNX) converted now."""
    from edgeforge.export.onnx import is_tflite
    from edgeforge.passes.ptq import PostTrainingQuantization

    if is_tflite(context.model_bytes):
        return context.model_bytes
    return PostTrainingQuantization({"mode": context.quantization}).convert(context.load_keras(), context.representative_x)


def parity_report(context: ExportContext, written: dict[str, list[Path]], x: np.ndarray, y: np.ndarray) -> dict[str, dict]:
    """{format: entry} for every written format: the same inputs through its runtime and the reference."""
    from edgeforge.export import EXPORTERS

    keras_model = context.load_keras()
    keras_scores = keras_model.predict(x, batch_size=256, verbose=0).astype(np.float32)
    if context.quantization in QUANTIZED_MODES:
        reference_runtime = runtime_for_bundle("tflite", context.target.runtime)
        reference_name, reference = "tflite", reference_runtime.predict(reference_tflite(context), x)
        check = {"metric": "accuracy_drop", "max": MAX_ACCURACY_DROP}
    else:
        reference_name, reference, check = "keras", keras_scores, {"metric": "top1_agreement", "min": TOP1_AGREEMENT_MIN}
    report = {}
    for fmt, paths in written.items():
        exporter = EXPORTERS[fmt]()
        try:
            run = exporter.runner(paths, context)
        except NotRunnableHere as why:
            report[fmt] = {"skipped": str(why), **exporter.structure(paths, context)}
            continue
        if fmt == reference_name:
            report[fmt] = compare(run(x), keras_scores, y, "keras", None)
        else:
            report[fmt] = compare(run(x), reference, y, reference_name, check)
    return report


def parity_problems(report: dict[str, dict]) -> list[tuple[str, str]]:
    """(format, what breaks parity) for every export beyond its tolerance."""
    problems = []
    for fmt, entry in report.items():
        check = entry.get("check")
        if not check:
            continue
        if check["metric"] == "top1_agreement" and entry["top1_agreement"] < check["min"]:
            problems.append((fmt,
                f"{fmt} agrees with {entry['reference']} on the top-1 class for {entry['top1_agreement']:.2%} of "
                f"{entry['samples']} held-out samples (at least {check['min']:.1%} required; largest score "
                f"difference {entry['max_abs_diff']:.4g})"
            ))
        drop = entry.get("reference_accuracy", 0) - entry.get("accuracy", 0)
        if check["metric"] == "accuracy_drop" and drop > check["max"] + 1e-9:
            problems.append((fmt,
                f"{fmt} reaches accuracy {entry['accuracy']:.4f}, {drop * 100:.2f} points below "
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
