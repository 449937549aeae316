"""Stage `package@T`: the exported files, manifest, canary inputs, drift reference and the input's
preprocessing (class names, normalization, audio frontend) → bundle/."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from edgeforge.cost.latency import reproducible_metrics
from edgeforge.layout import BUILD
from edgeforge.outputs import Exports, read_output
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
    from edgeforge.runtimes import get_runtime, runtime_for_format

    spec = load_params(params)
    exports = read_output(Exports, BUILD.exports(target))
    selected = exports.selection  # the candidate exported: the selected one, or the fallback
    files = {Path(p).name: Path(p) for paths in exports.formats.values() for p in paths}
    format_of_file = {Path(p).name: fmt for fmt, paths in exports.formats.items() for p in paths}
    primary = _primary_file(files, get_runtime(selected.runtime).bundle_file)
    preprocessing, companions = _preprocessing()
    files.update(companions)  # the audio frontend ships next to the model that reads its features
    splits = load_splits(BUILD.splits)
    canary_x = splits.x_test[:CANARY_SAMPLES]
    # The updater on a Linux-class device or gateway checks the model with the runtime that loads
    # its format there (LiteRT for .tflite, MCU models too); a format that runs nowhere here (a
    # .mlpackage off macOS) gets the canary outputs of the same candidate's TFLite model.
    canary_runtime = runtime_for_format(format_of_file[primary])
    canary_model = files[primary]
    if canary_runtime is None or not canary_model.is_file():
        canary_runtime, canary_model = runtime_for_format("tflite"), Path(selected.tflite_artifact)
    canary_y = canary_runtime.predict(canary_model.read_bytes(), canary_x)
    manifest = build_bundle(
        BUILD.bundle_dir(target),
        project=spec.project.name,
        target=target,
        device=selected.device,
        runtime=selected.runtime,
        model_files=files,
        primary_file=primary,
        primary_format=format_of_file[primary],
        candidate=selected.candidate.model_dump(),
        metrics=reproducible_metrics(selected.metrics),  # measured latency differs by machine
        spec_hash=spec_hash(spec, target),
        verified_sha256=selected.sha256,
        canary_x=canary_x,
        canary_y=canary_y,
        drift_reference=drift_reference_from(splits.x_train, splits.y_train),
        preprocessing=preprocessing,
    )
    print(f"{target}: bundle with {len(manifest['files'])} files, model sha256 {manifest['model_sha256'][:12]}")


def _preprocessing() -> tuple[dict, dict[str, Path]]:
    """preprocessing.json (from prepare's info.json: classes, normalization, audio frontend) and
    the files it names (frontend.tflite)."""
    info = json.loads((BUILD.data_dir / "info.json").read_text())
    steps = info.get("preprocessing", {})
    frontend = steps.get("frontend")
    preprocessing = {
        "input_shape": info["input_shape"],
        "class_names": info.get("class_names", [str(i) for i in range(info["num_classes"])]),
        "normalize": steps.get("normalize"),
        "frontend": frontend,
        "data_sha256": info.get("source", {}).get("sha256"),
    }
    companions = {frontend["model_file"]: BUILD.data_dir / frontend["model_file"]} if frontend else {}
    return preprocessing, companions


def _primary_file(files: dict[str, Path], wanted: str) -> str:
    """The file the device's runtime loads; the first exported file otherwise."""
    return wanted if wanted in files else sorted(files)[0]
