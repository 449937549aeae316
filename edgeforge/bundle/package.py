"""Build and check a bundle: the directory a target ships to its devices.

    bundle/
      manifest.json    what the bundle is: model hash, device, runtime, format, metrics,
                       spec hash, drift reference, and sha256 + size of every other file
      <model files>    the exported model (primary_file) and its companions
      canary.npz       x: canary inputs, y: the model's outputs on them in its runtime
      preprocessing.json  what the device does to its raw input before the model: class names,
                       per-channel normalization, the audio frontend's parameters (optional)

Every byte is deterministic (sorted JSON keys, no timestamps, no build timings in the metrics, a
fixed-date zip for the npz), so rebuilding the same model gives the same bundle, DVC's cache stays
valid and `edgeforge release` publishes nothing new.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from edgeforge import __version__
from edgeforge.errors import BundleError, UserError
from edgeforge.monitor.drift import drift_reference_from
from edgeforge.outputs import Manifest

__all__ = ["build_bundle", "drift_reference_from", "read_manifest", "verify_bundle", "load_canary"]

MANIFEST = "manifest.json"
CANARY = "canary.npz"
PREPROCESSING = "preprocessing.json"
RELEASE_FILE = "release.json"  # written next to the bundle by the device updater, not part of it
SCHEMA_VERSION = 1
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
WALL_CLOCK_SUFFIX = "_seconds"  # build timings: never in a bundle (see `without_build_timings`)
DOWNLOAD_KEYS = ("download_bytes", "download_source")  # the bundle's own size: never in it


def build_bundle(
    out_dir: Path,
    *,
    project: str,
    target: str,
    device: str,
    runtime: str,
    model_files: dict[str, Path],
    primary_file: str,
    candidate: dict,
    metrics: dict,
    spec_hash: str,
    canary_x: np.ndarray,
    canary_y: np.ndarray,
    drift_reference: dict,
    verified_sha256: str | None = None,
    primary_format: str | None = None,
    preprocessing: dict | None = None,
) -> dict:
    """Write the bundle atomically to out_dir (replacing it) and return its manifest.

    model_files maps the name inside the bundle to the file (or directory, e.g. an .mlpackage)
    to copy. canary_y must be what the model outputs for canary_x in its runtime: the device's
    health check compares the installed model against it.
    """
    out_dir = Path(out_dir)
    if primary_file not in model_files:
        raise UserError(f"primary file '{primary_file}' is not among the model files: {', '.join(model_files)}")
    for name in model_files:
        _check_name(name)
    if len(canary_x) != len(canary_y) or len(canary_x) == 0:
        raise UserError(f"canary inputs and outputs must be non-empty and paired: {len(canary_x)} vs {len(canary_y)}")

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        for name, source in model_files.items():
            _copy(Path(source), staging / name)
        (staging / CANARY).write_bytes(canary_bytes(canary_x, canary_y))
        if preprocessing is not None:
            (staging / PREPROCESSING).write_bytes(manifest_bytes(preprocessing))
        files = file_table(staging)
        manifest = {
            "schema_version": SCHEMA_VERSION,
            "project": project,
            "target": target,
            "device": device,
            "runtime": runtime,
            "format": primary_format or format_of(primary_file),
            "model_file": primary_file,
            "model_sha256": _tree_sha256(staging / primary_file),
            "candidate": {"id": candidate.get("id"), "config": candidate.get("config", {})},
            # the artifact measured in the target's runtime when it was selected (exports derive from it)
            "verified_sha256": verified_sha256,
            "metrics": without_build_timings(metrics),
            "spec_hash": spec_hash,
            "edgeforge_version": __version__,
            "files": files,
            "canary": CANARY,
            "drift_reference": drift_reference,
        }
        if preprocessing is not None:
            manifest["preprocessing"] = PREPROCESSING
        Manifest.model_validate(_jsonable(manifest))  # the shape devices and `release` read
        (staging / MANIFEST).write_bytes(manifest_bytes(manifest))
        _replace_dir(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return json.loads(manifest_bytes(manifest))


def without_build_timings(metrics: dict) -> dict:
    """The metrics a manifest carries: all but wall-clock timings (any `*_seconds`: edgeforge records
    none, but a runtime's plug-in might), which differ between two builds of the same model and
    would make its bundle differ too. Nor the bundle's own download size (`download_bytes`), which the manifest, inside that download, cannot
    state without changing it: the release's signed metadata carries it as the target's length."""
    return {
        key: value for key, value in metrics.items() if not key.endswith(WALL_CLOCK_SUFFIX) and key not in DOWNLOAD_KEYS
    }


def manifest_bytes(manifest: dict) -> bytes:
    return (json.dumps(_jsonable(manifest), sort_keys=True, indent=2, allow_nan=False) + "\n").encode()


def format_of(filename: str) -> str:
    """The export format of a file, by its suffix (each exporter declares its own)."""
    from edgeforge.export import EXPORTERS

    suffix = Path(filename).suffix.lower()
    by_suffix = {s: exporter.name for exporter in EXPORTERS.values() for s in exporter.suffixes}
    return by_suffix.get(suffix, suffix.lstrip(".") or "unknown")


def canary_bytes(x: np.ndarray, y: np.ndarray) -> bytes:
    """An .npz with arrays x and y, byte-identical for identical arrays (np.savez stamps the time)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in (("x", x), ("y", y)):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()


def load_canary(bundle_dir: Path, manifest: dict) -> tuple[np.ndarray, np.ndarray]:
    with np.load(Path(bundle_dir) / manifest["canary"], allow_pickle=False) as canary:
        return canary["x"], canary["y"]


def file_table(directory: Path) -> dict[str, dict]:
    """sha256 and size of every file under directory except the manifest, keyed by posix path."""
    table = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        name = path.relative_to(directory).as_posix()
        if name != MANIFEST:
            table[name] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    return table


def read_manifest(bundle_dir: Path) -> dict:
    path = Path(bundle_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
        Manifest.model_validate(manifest)
        return manifest
    except FileNotFoundError:
        raise BundleError(f"{path}: no bundle manifest here") from None
    except json.JSONDecodeError as error:
        raise BundleError(f"{path}: not valid JSON ({error})") from None
    except ValidationError as error:
        raise BundleError(f"{path}: not a bundle manifest ({str(error).splitlines()[0]})") from None


def verify_bundle(bundle_dir: Path) -> dict:
    """Check every file against the manifest (nothing missing, altered or extra); return it."""
    manifest = read_manifest(bundle_dir)
    actual = file_table(Path(bundle_dir))
    expected = manifest.get("files", {})
    problems = [f"{name}: missing" for name in expected if name not in actual]
    problems += [f"{name}: not listed in the manifest" for name in actual if name not in expected and name != RELEASE_FILE]
    problems += [
        f"{name}: sha256 differs from the manifest"
        for name in expected
        if name in actual and actual[name]["sha256"] != expected[name]["sha256"]
    ]
    if problems:
        raise BundleError(f"bundle {bundle_dir} does not match its manifest: " + "; ".join(problems))
    return manifest


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _tree_sha256(path: Path) -> str:
    """sha256 of a file, or of the sorted (path, sha256) list of a directory's files."""
    if path.is_file():
        return sha256_file(path)
    listing = "".join(f"{name}\0{entry['sha256']}\n" for name, entry in file_table(path).items())
    return hashlib.sha256(listing.encode()).hexdigest()


def _check_name(name: str) -> None:
    parts = Path(name).parts
    if not parts or Path(name).is_absolute() or ".." in parts or name in (MANIFEST, CANARY, RELEASE_FILE, PREPROCESSING):
        raise UserError(f"'{name}' cannot be a file name inside a bundle")


def _copy(source: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, destination)
    elif source.is_file():
        shutil.copyfile(source, destination)
    else:
        raise UserError(f"{source}: model file not found")


def _replace_dir(staging: Path, out_dir: Path) -> None:
    if not out_dir.exists():
        os.replace(staging, out_dir)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=out_dir.parent))
    os.replace(out_dir, old / "bundle")
    os.replace(staging, out_dir)
    shutil.rmtree(old, ignore_errors=True)


def _jsonable(value):
    """Plain JSON values: numpy scalars and arrays become Python ones, NaN and inf become null."""
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Path):
        return value.as_posix()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
