"""Stage `package@T`: the exported files, manifest, canary inputs, drift reference and the input's
preprocessing (class names, normalization, audio frontend) → bundle/.

It reads the export and the export plan, never the search result: nothing in a bundle depends on the
target's constraints or objective (outputs.SELECTION_SETTINGS), so a constraint edit that keeps the
choice leaves the plan, and with it the bundle, as they were (DVC skips this stage)."""

from __future__ import annotations

from pathlib import Path

from edgeforge.bundle.download import CANARY_SAMPLES, BundleData, canary_outputs, spec_hash
from edgeforge.cost.latency import reproducible_metrics
from edgeforge.errors import BuildError
from edgeforge.layout import BUILD
from edgeforge.outputs import ExportPlan, Exports, read_output
from edgeforge.search.memo import Memo
from edgeforge.spec import load_params


def run(target: str, params: str = "params.yaml") -> None:
    from edgeforge.bundle.package import build_bundle, drift_reference_from
    from edgeforge.data import load_splits
    from edgeforge.evaluate import get_task
    from edgeforge.runtimes import get_runtime, runtime_for_bundle, runtime_for_format

    spec = load_params(params)
    exports = read_output(Exports, BUILD.exports(target))
    selected = exports.selection  # the candidate exported: the selected one, or the fallback
    metrics = exported_metrics(target, exports)
    files = {Path(p).name: Path(p) for paths in exports.formats.values() for p in paths}
    format_of_file = {Path(p).name: fmt for fmt, paths in exports.formats.items() for p in paths}
    primary = _primary_file(files, get_runtime(selected.runtime).bundle_file)
    preprocessing, companions = _preprocessing()
    # anomaly_detection: the threshold the device compares the reconstruction error with (evaluate/task.py)
    preprocessing.update(get_task(spec.model.task).bundle_decision(metrics))
    files.update(companions)  # the audio frontend ships next to the model that reads its features
    splits = load_splits(BUILD.splits)
    canary_x = splits.x_test[:CANARY_SAMPLES]
    # The updater's health check runs the model in the same runtime (`runtime_for_bundle`: the
    # target's own where it runs, as TFLite Micro for LUT-compressed weights LiteRT cannot load);
    # a format that runs nowhere here (a .mlpackage off macOS) gets the canary outputs of the same
    # candidate's TFLite model.
    canary_runtime = runtime_for_bundle(format_of_file[primary], selected.runtime)
    canary_model = files[primary]
    if canary_runtime is None or not canary_model.is_file():
        canary_runtime, canary_model = runtime_for_format("tflite"), Path(selected.tflite_artifact)
    # the outputs the search recorded for this very file (its predicted download), if it did
    memo = Memo(BUILD.export_memo_dir())  # written here: build/memo/ is the search's output
    canary_y = canary_outputs(canary_runtime, canary_model.read_bytes(), canary_x, memo, also=[Memo(BUILD.memo_dir())])
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
        metrics=reproducible_metrics(metrics),  # measured latency differs by machine
        spec_hash=spec_hash(spec, target),
        verified_sha256=selected.sha256,
        canary_x=canary_x,
        canary_y=canary_y,
        drift_reference=drift_reference_from(splits.x_train, splits.y_train),
        preprocessing=preprocessing,
    )
    print(f"{target}: bundle with {len(manifest['files'])} files, model sha256 {manifest['model_sha256'][:12]}")


def exported_metrics(target: str, exports: Exports) -> dict:
    """The exported candidate's metrics (its download size aside: no manifest carries it), once the
    export plan select@T wrote last is seen to hold that candidate as exported."""
    path = BUILD.export_plan(target)
    plan = read_output(ExportPlan, path)
    # compared as JSON: a NaN figure equals itself
    if not any(entry.model_dump_json() == exports.selection.model_dump_json() for entry in plan.candidates):
        raise BuildError(
            f"{BUILD.exports(target)}: exported {exports.candidate}, which {path} does not hold as exported then; "
            f"run `dvc repro export@{target}`"
        )
    return exports.selection.metrics


def _preprocessing() -> tuple[dict, dict[str, Path]]:
    """preprocessing.json (from prepare's info.json: classes, normalization, audio frontend) and
    the files it names (frontend.tflite); the search predicts the download from the same data."""
    data = BundleData.read(BUILD.data_dir)
    return data.preprocessing, {name: BUILD.data_dir / name for name in data.companions}


def _primary_file(files: dict[str, Path], wanted: str) -> str:
    """The file the device's runtime loads; the first exported file otherwise."""
    return wanted if wanted in files else sorted(files)[0]
