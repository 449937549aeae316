"""Stage `package@T`: the exported files, manifest, canary inputs and drift reference → bundle/."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from edgeforge.atomic import read_json
from edgeforge.spec import load_params

CANARY_SAMPLES = 8


def spec_hash(spec, target: str) -> str:
    """Hash of the spec parts this target's model depends on (not the other targets)."""
    parts = spec.model_dump(mode="json", by_alias=True, include={"project", "dataset", "model", "train", "search"})
    parts["target"] = spec.targets[target].model_dump(mode="json", by_alias=True)
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def run(target: str, params: str = "params.yaml") -> None:
    from edgeforge.bundle.package import build_bundle, drift_reference_from
    from edgeforge.data import load_splits
    from edgeforge.evaluate import predict

    spec = load_params(params)
    selected = read_json(Path("build/targets") / target / "selected.json")
    exports = read_json(Path("build/targets") / target / "export" / "exports.json")
    files = {Path(p).name: Path(p) for paths in exports["formats"].values() for p in paths}
    primary = _primary_file(files, selected["runtime"])
    splits = load_splits("build/data/splits.npz")
    canary_x = splits.x_test[:CANARY_SAMPLES]
    canary_model = files[primary] if files[primary].is_file() else Path(selected["tflite_artifact"])
    # (a .mlpackage cannot run off macOS: its canary outputs come from the same candidate's TFLite)
    canary_y = predict(canary_model.read_bytes(), canary_x, _canary_runtime(canary_model.name))
    manifest = build_bundle(
        Path("build/targets") / target / "bundle",
        project=spec.project.name,
        target=target,
        device=selected["device"],
        runtime=selected["runtime"],
        model_files=files,
        primary_file=primary,
        candidate=selected["candidate"],
        metrics=selected["metrics"],
        spec_hash=spec_hash(spec, target),
        canary_x=canary_x,
        canary_y=canary_y,
        drift_reference=drift_reference_from(splits.x_train, splits.y_train),
    )
    print(f"{target}: bundle with {len(manifest['files'])} files, model sha256 {manifest['model_sha256'][:12]}")


PRIMARY_BY_RUNTIME = {
    "tflite": "model.tflite", "tflite-micro": "model.tflite", "onnxruntime": "model.onnx",
    "tensorrt": "model.onnx", "coreml": "model.mlpackage",
}


def _primary_file(files: dict[str, Path], runtime: str) -> str:
    """The file the device's runtime loads; the first exported file otherwise."""
    wanted = PRIMARY_BY_RUNTIME[runtime]
    return wanted if wanted in files else sorted(files)[0]


def _canary_runtime(primary: str) -> str:
    # The updater on a Linux-class device or gateway checks TFLite models with LiteRT (MCU
    # models too: the same flatbuffer), ONNX models with ONNX Runtime.
    return "onnxruntime" if primary.endswith(".onnx") else "tflite"
