"""What a device downloads: the bundle as `edgeforge release` publishes it, and its size predicted
before anything is packaged (the `download_kb` constraint).

The release publishes `<target>/bundle.tar.gz`: the deterministic tar of the bundle directory
(sorted names, no owners, no times) gzipped at level 9 with no name and mtime 0, so the same
bundle gives the same bytes and `download_bytes` is exactly `len(archive)`.

The search predicts that size for each candidate and target by building the bundle the package
stage would build, in memory: the device's model file (and the TFLM C sources when the target
exports `tflm_c`), canary.npz with the candidate's own outputs, preprocessing.json and the
manifest with the candidate's metrics (less the download figures themselves, which no manifest
carries). The spec hash, preprocessing.json and its companion files
(an audio frontend) come from the same functions the package stage calls (`spec_hash`,
`BundleData.read`), so for the formats the search renders the figure is exact. Where it is not:
- formats the search does not render (ONNX next to a .tflite, Core ML, TensorRT): the figure
  covers the runtime's own file and the rest of the bundle only, and says so (`download_source`:
  "bundle, without onnx");
- a search run without the prepared data's info.json (library use: `run_search` without
  `bundle_data`): preprocessing.json is rebuilt from the splits with a stand-in data hash (64 hex
  digits, like the real one), exact for data without normalization or a frontend (the built-in
  sets), else short by the normalization's few numbers; `download_source` then says
  "bundle, preprocessing estimated".
tests/func/test_download.py checks the prediction against the archive `release` publishes.

Both figures are memoized (search/memo.py, uncounted: they are derived, not candidate results),
because the search asks for them on every memo hit and a constraint edit must not pay for them again:
- `download`: the size, keyed by everything the bundle's bytes are made of (the spec hash, the
  candidate, its artifact's sha256, its metrics, the data, the canary outputs' key, all of
  edgeforge's code, Python's and zlib's versions); the spec hash leaves out the target's
  constraints and objective, so a constraint edit reads every figure;
- `canary`: the outputs a bundle records for its canary inputs, keyed by the model's sha256, the
  inputs and the runtime's measurement code (`measurement_version`). A recomputed size reads them
  instead of running the runtime again, and so does the package stage for the same model file.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import platform
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

ARCHIVE_SUFFIX = ".tar.gz"
GZIP_LEVEL = 9
RENDERED_FORMATS = ("tflm_c",)  # formats the search writes from a .tflite artifact alone, besides the artifact
CANARY_SAMPLES = 8  # test inputs a bundle carries for the device's health check (the package stage's)
INFO_FILE = "info.json"  # the prepare stage's record of the data (shapes, classes, preprocessing)
DOWNLOAD_KIND = "download"  # memo kinds (search/memo.py)
CANARY_KIND = "canary"
CANARY_OUTPUTS = "y.npy"


@dataclass(frozen=True)
class BundleData:
    """What a bundle carries from the prepared data: preprocessing.json's content and the files it
    names (an audio frontend's frontend.tflite)."""

    preprocessing: dict
    companions: dict[str, bytes] = field(default_factory=dict)
    estimated: bool = False  # rebuilt from the splits, not read from info.json

    @classmethod
    def read(cls, data_dir: Path) -> BundleData:
        """From the prepare stage's folder (info.json and the companion files it names)."""
        data_dir = Path(data_dir)
        info = json.loads((data_dir / INFO_FILE).read_text())
        steps = info.get("preprocessing", {})
        frontend = steps.get("frontend")
        preprocessing = {
            "input_shape": info["input_shape"],
            "class_names": info.get("class_names", [str(i) for i in range(info["num_classes"])]),
            "normalize": steps.get("normalize"),
            "frontend": frontend,
            "data_sha256": info.get("source", {}).get("sha256"),
        }
        companions = {frontend["model_file"]: (data_dir / frontend["model_file"]).read_bytes()} if frontend else {}
        return cls(preprocessing, companions)

    @classmethod
    def estimate(cls, splits) -> BundleData:
        """Without info.json: shapes and class numbers from the splits, a stand-in data hash."""
        preprocessing = {
            "input_shape": [int(d) for d in splits.x_train.shape[1:]],
            "class_names": [str(i) for i in range(splits.num_classes)],
            "normalize": None,
            "frontend": None,
            "data_sha256": hashlib.sha256(splits.x_train.tobytes()).hexdigest(),
        }
        return cls(preprocessing, estimated=True)


# Where the search's work runs, not what it builds: a bundle is the same built locally or on Dask.
EXECUTION_SETTINGS = {"executor", "dask_address"}


def spec_hash(spec, target: str) -> str:
    """Hash of the spec parts this target's bundle is built from: not the other targets, where the
    search ran, nor the limits the model was chosen under (outputs.SELECTION_SETTINGS: a constraint
    edit that keeps the choice keeps the bundle, byte for byte)."""
    from edgeforge.outputs import SELECTION_SETTINGS, target_spec

    parts = spec.model_dump(
        mode="json", by_alias=True,
        include={"project": True, "dataset": True, "model": True, "train": True, "search": True},
        exclude={"search": EXECUTION_SETTINGS},
    )
    parts["target"] = target_spec(spec.targets[target], without=SELECTION_SETTINGS)
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def pack_files(files: dict[str, bytes]) -> bytes:
    """A deterministic tar of {posix name: bytes}: sorted names, mode 0644, no owners, no times."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(files[name]))
    return buffer.getvalue()


def read_tree(directory: Path) -> dict[str, bytes]:
    """Every file under `directory`, by posix path relative to it."""
    directory = Path(directory)
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def compress(tar_bytes: bytes) -> bytes:
    """gzip at GZIP_LEVEL with mtime 0 and no file name: the same tar, the same bytes."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=GZIP_LEVEL, mtime=0) as stream:
        stream.write(tar_bytes)
    return buffer.getvalue()


def bundle_archive(bundle_dir: Path) -> bytes:
    """What the release publishes for a bundle directory, byte for byte."""
    return compress(pack_files(read_tree(bundle_dir)))


def download_bytes(files: dict[str, bytes]) -> int:
    return len(compress(pack_files(files)))


def predicted_download_bytes(
    *, spec, target_name: str, candidate, artifact_bytes: bytes, metrics: dict, splits, data: BundleData | None = None,
    memo=None,
) -> tuple[int, str]:
    """The size of the archive the release would publish if this candidate were packaged for the
    target, and how it was obtained ("bundle", or what it leaves out or estimates). With `memo`
    (search/memo.py `Memo`), read from it when known, else computed and stored in it."""
    from edgeforge.runtimes import get_runtime, runtime_for_bundle

    runtime = get_runtime(spec.targets[target_name].runtime)
    data = data or _per_splits(splits, "estimate", BundleData.estimate)
    # canary.npz's (x, y) as the package stage computes them (`runtime_for_bundle`)
    canary_runtime = runtime_for_bundle(runtime.artifact, runtime.name) or runtime
    canary_x = splits.x_test[:CANARY_SAMPLES]

    def predict() -> tuple[int, str]:
        canary = canary_x, canary_outputs(canary_runtime, artifact_bytes, canary_x, memo)
        return _predict(spec, target_name, candidate, artifact_bytes, metrics, splits, data, canary)

    if memo is None:
        return predict()
    key = download_key(
        spec, target_name, candidate, artifact_bytes, metrics, splits, data, canary_key(canary_runtime, artifact_bytes, canary_x)
    )
    record = memo.record(DOWNLOAD_KIND, key, count=False)
    if record is None:
        size, source = predict()
        record = {"download_bytes": size, "download_source": source}
        memo.store(DOWNLOAD_KIND, key, lambda out: record)
    return record["download_bytes"], record["download_source"]


def download_key(
    spec, target_name: str, candidate, artifact_bytes: bytes, metrics: dict, splits, data: BundleData, canary: str
) -> str:
    """Everything a predicted bundle's bytes are made of (see `_bundle_files`)."""
    from edgeforge.search.codeversion import code_version
    from edgeforge.search.memo import hash_of

    return hash_of(
        DOWNLOAD_KIND,
        # all of edgeforge (the manifest, canary.npz, the TFLM sources, the drift reference) and numpy
        # (.npz bytes); Python's tarfile and zlib make the archive's bytes
        code_version(("",), ("numpy",)), platform.python_version(), zlib.ZLIB_RUNTIME_VERSION,
        spec_hash(spec, target_name),  # the project, the data and model settings, the target but its limits
        target_name,
        candidate.id,
        candidate.config(),
        hashlib.sha256(artifact_bytes).hexdigest(),
        metrics,
        _per_splits(splits, "fingerprint", lambda s: s.fingerprint()),  # canary inputs, drift reference
        data.preprocessing,
        {name: hashlib.sha256(content).hexdigest() for name, content in sorted(data.companions.items())},
        data.estimated,
        canary,  # `canary_key`: the canary outputs' model, inputs and runtime code
    )


def _predict(
    spec, target_name: str, candidate, artifact_bytes: bytes, metrics: dict, splits, data: BundleData, canary
) -> tuple[int, str]:
    from edgeforge.export.onnx import is_tflite
    from edgeforge.runtimes import get_runtime

    target = spec.targets[target_name]
    runtime = get_runtime(target.runtime)
    model_files = {runtime.bundle_file: artifact_bytes, **data.companions}
    if "tflm_c" in target.formats and is_tflite(artifact_bytes):
        model_files.update(_tflm_sources(artifact_bytes, metrics))
    missing = [fmt for fmt in target.formats if fmt not in RENDERED_FORMATS and fmt != runtime.artifact]
    source = "bundle" + (f", without {', '.join(missing)}" if missing else "") + (", preprocessing estimated" if data.estimated else "")
    # the manifest leaves the download figures out (bundle/package.py DOWNLOAD_KEYS): no fixed point to find
    files = _bundle_files(spec, target_name, candidate, model_files, metrics, canary, splits, data)
    return download_bytes(files), source


def _tflm_sources(model_bytes: bytes, metrics: dict) -> dict[str, bytes]:
    """tflm/model_data.{h,cc} as the tflm_c exporter writes them (the bundle keeps base names)."""
    from edgeforge.cost.graph import read_graph
    from edgeforge.export.tflm_c import render_sources

    op_types = sorted({"DECODE" if op.custom_code == "TFLM_DECODE" else op.type for op in read_graph(model_bytes).operators})
    header, source = render_sources(
        model_bytes, op_types, int(metrics["arena_bytes"]), default_arena_bytes=metrics.get("arena_default_bytes")
    )
    return {"model_data.h": header.encode(), "model_data.cc": source.encode()}


def canary_key(runtime, model_bytes: bytes, x) -> str:
    """The memo key of `runtime`'s outputs for `model_bytes` on inputs `x`."""
    import numpy as np

    from edgeforge.search.codeversion import measurement_version
    from edgeforge.search.memo import hash_of

    x = np.ascontiguousarray(x)
    return hash_of(
        CANARY_KIND, hashlib.sha256(model_bytes).hexdigest(), runtime.name, list(x.shape), str(x.dtype),
        hashlib.sha256(x.tobytes()).hexdigest(), measurement_version(runtime),
    )


def canary_outputs(runtime, model_bytes: bytes, x, memo=None, also: Iterable = ()):
    """`runtime.predict(model_bytes, x)`: the outputs a bundle records for its canary inputs. With
    `memo`, read from it (or from the memos in `also`) when this model ran on these inputs in this
    runtime's code before, else run and stored in `memo`."""
    import numpy as np

    if memo is None:
        return runtime.predict(model_bytes, x)
    key = canary_key(runtime, model_bytes, x)
    for source in (memo, *also):
        folder = source.entry(CANARY_KIND, key, count=False)
        if folder is not None:
            return np.load(folder / CANARY_OUTPUTS, allow_pickle=False)
    y = runtime.predict(model_bytes, x)
    memo.store(CANARY_KIND, key, lambda out: np.save(out / CANARY_OUTPUTS, y, allow_pickle=False))
    return y


# Computed once per splits object: the same for every candidate, and the drift reference's statistics
# of the training set cost as much as the rest of a predicted bundle.
_SPLITS_DERIVED: dict[str, tuple] = {}


def _per_splits(splits, name: str, compute: Callable):
    held = _SPLITS_DERIVED.get(name)
    if held is None or held[0] is not splits:  # holding `splits` keeps its id from being reused
        held = _SPLITS_DERIVED[name] = (splits, compute(splits))
    return held[1]


def _bundle_files(
    spec, target_name: str, candidate, model_files: dict[str, bytes], metrics: dict, canary, splits, data: BundleData
) -> dict[str, bytes]:
    from edgeforge.bundle.package import build_bundle, drift_reference_from
    from edgeforge.cost.latency import reproducible_metrics
    from edgeforge.evaluate import get_task
    from edgeforge.runtimes import get_runtime

    target = spec.targets[target_name]
    runtime = get_runtime(target.runtime)
    with tempfile.TemporaryDirectory(prefix="edgeforge-download-") as scratch:
        sources = Path(scratch) / "files"
        sources.mkdir()
        for name, content in model_files.items():
            (sources / name).write_bytes(content)
        bundle_dir = Path(scratch) / "bundle"
        build_bundle(
            bundle_dir,
            project=spec.project.name,
            target=target_name,
            device=target.device.name,
            runtime=target.runtime,
            model_files={name: sources / name for name in model_files},
            primary_file=runtime.bundle_file,
            primary_format=runtime.artifact,
            candidate={"id": candidate.id, "config": candidate.config()},
            metrics=reproducible_metrics(metrics),
            spec_hash=spec_hash(spec, target_name),
            verified_sha256=hashlib.sha256(model_files[runtime.bundle_file]).hexdigest(),
            canary_x=canary[0],
            canary_y=canary[1],
            drift_reference=_per_splits(splits, "drift", lambda s: drift_reference_from(s.x_train, s.y_train)),
            # as the package stage: anomaly_detection adds the threshold the device compares with
            preprocessing={**data.preprocessing, **get_task(spec.model.task).bundle_decision(metrics)},
        )
        return read_tree(bundle_dir)

