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
    primary = "model.tflite" if "model.tflite" in files else sorted(files)[0]
    splits = load_splits("build/data/splits.npz")
    canary_x = splits.x_test[:CANARY_SAMPLES]
    canary_y = predict(files[primary].read_bytes(), canary_x, _canary_runtime(selected["runtime"]))
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


def _canary_runtime(runtime: str) -> str:
    # The updater on a Linux-class device or gateway checks TFLite models with LiteRT.
    return "tflite" if runtime in ("tflite", "tflite-micro") else runtime
