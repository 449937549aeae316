"""Code versions for memo keys: each kind of memo entry is keyed by the code that produces it.

A trained model's key covers the code that trains it (models, passes, data), a conversion's key the
converter, a measurement's key the runtime. So editing an exporter never retrains anything, and
editing a runtime re-measures without retraining.
"""

from __future__ import annotations

import functools
import hashlib
from importlib import metadata
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent

TRAINING_CODE = ("models", "passes", "data", "tfcompat.py", "search/trainer.py")
TRAINING_DEPENDENCIES = ("tensorflow-cpu", "tf-keras", "tensorflow-model-optimization")
TFLITE_CONVERSION_CODE = ("passes/ptq.py", "cost/weights.py", "cost/graph.py", "tfcompat.py")
TFLITE_CONVERSION_DEPENDENCIES = ("tensorflow-cpu", "ai-edge-litert")
ONNX_CONVERSION_CODE = ("export/onnx.py",)
ONNX_CONVERSION_DEPENDENCIES = ("onnx", "tf2onnx")  # and ONNX Runtime's quantization tools: see below
MEASUREMENT_CODE = ("runtimes/base.py", "runtimes/quantization.py", "cost/arena.py", "cost/graph.py", "evaluate")


@functools.cache
def code_version(paths: tuple[str, ...], dependencies: tuple[str, ...] = ()) -> str:
    """Hash of the sources under `paths` (files or packages, relative to edgeforge/) and the
    installed versions of `dependencies`."""
    digest = hashlib.sha256()
    for relative in paths:
        path = PACKAGE_ROOT / relative
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            digest.update(file.relative_to(PACKAGE_ROOT).as_posix().encode())
            digest.update(file.read_bytes())
    for dependency in dependencies:
        try:
            digest.update(f"{dependency}=={metadata.version(dependency)}".encode())
        except metadata.PackageNotFoundError:
            pass
    return digest.hexdigest()[:16]


def training_version() -> str:
    return code_version(TRAINING_CODE, TRAINING_DEPENDENCIES)


def conversion_version(artifact: str) -> str:
    if artifact == "onnx":
        from edgeforge.runtimes.onnx_runtime import OnnxRuntime

        return code_version(ONNX_CONVERSION_CODE + ("runtimes/onnx_runtime.py",), ONNX_CONVERSION_DEPENDENCIES + OnnxRuntime.packages)
    return code_version(TFLITE_CONVERSION_CODE, TFLITE_CONVERSION_DEPENDENCIES)


def measurement_version(runtime) -> str:
    """The runtime's own module and packages (and its accuracy proxy's), plus what every measurement shares."""
    from edgeforge.runtimes import get_runtime

    runtimes = [runtime] + ([get_runtime(runtime.accuracy_proxy)] if runtime.accuracy_proxy else [])
    modules = tuple(type(r).__module__.removeprefix("edgeforge.").replace(".", "/") + ".py" for r in runtimes)
    modules += tuple(path for r in runtimes for path in r.measurement_code)
    return code_version(modules + MEASUREMENT_CODE, tuple(package for r in runtimes for package in r.packages))
