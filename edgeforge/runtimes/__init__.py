"""The runtime registry: one module per runtime, registered here by name (see `base.Runtime`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from edgeforge.runtimes.base import CodeSize, NotRunnableHere, Runtime
from edgeforge.runtimes.coreml import CoreML
from edgeforge.runtimes.ethos_u import EthosU
from edgeforge.runtimes.onnx_runtime import OnnxRuntime
from edgeforge.runtimes.tensorrt import TensorRT
from edgeforge.runtimes.tflite import LiteRT
from edgeforge.runtimes.tflite_micro import TfliteMicro

if TYPE_CHECKING:  # NumPy is imported where arrays are: stages that only read results skip it
    import numpy as np

RUNTIMES: dict[str, Runtime] = {
    cls.name: cls() for cls in (LiteRT, TfliteMicro, OnnxRuntime, CoreML, TensorRT, EthosU)
}

__all__ = [
    "RUNTIMES", "CodeSize", "Evaluation", "NotRunnableHere", "Runtime",
    "evaluate_model", "get_runtime", "predict", "runtime_for_bundle", "runtime_for_format",
]


def get_runtime(name: str) -> Runtime:
    from edgeforge.errors import UserError

    try:
        return RUNTIMES[name]
    except KeyError:
        raise UserError(f"unknown runtime '{name}'; runtimes: {', '.join(RUNTIMES)}") from None


def runtime_for_format(fmt: str) -> Runtime | None:
    """The first registered runtime that loads files of format `fmt` and runs them on this machine
    (LiteRT for .tflite, ONNX Runtime for .onnx), or None."""
    for runtime in RUNTIMES.values():
        if fmt in runtime.formats and runtime.runs_here():
            return runtime
    return None


def runtime_for_bundle(fmt: str, runtime_name: str) -> Runtime | None:
    """The runtime that records and checks a bundle's canary outputs here: the target's own when it
    runs here and loads `fmt` (TFLite Micro runs LUT-compressed weights, which LiteRT refuses),
    else the first that loads `fmt` (`runtime_for_format`), else None."""
    own = RUNTIMES.get(runtime_name)
    if own is not None and fmt in own.formats and own.runs_here():
        return own
    return runtime_for_format(fmt)


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    samples: int


def predict(model_bytes: bytes, x: np.ndarray, runtime: str) -> np.ndarray:
    """Scores of float inputs `x` computed by `runtime` (see `Runtime.predict`)."""
    return get_runtime(runtime).predict(model_bytes, x)


def evaluate_model(model_bytes: bytes, x: np.ndarray, y: np.ndarray, runtime: str) -> Evaluation:
    import numpy as np

    scores = predict(model_bytes, x, runtime)
    accuracy = float(np.mean(np.argmax(scores, axis=1) == y))
    return Evaluation(accuracy=round(accuracy, 6), samples=len(y))
