"""Runtime interface: turn model bytes and float inputs into class scores, in the real runtime.

A runtime module provides `predict(model_bytes, x) -> scores` where x is float32 (N, ...) and
scores float32 (N, classes); it quantizes inputs and dequantizes outputs itself, the way an
application on the device would. Register it in RUNTIMES.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from edgeforge.evaluate import litert, onnxruntime, tflm


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    samples: int


RUNTIMES: dict[str, Callable[[bytes, np.ndarray], np.ndarray]] = {
    "tflite": litert.predict,
    "tflite-micro": tflm.predict,
    "onnxruntime": onnxruntime.predict,
}


def predict(model_bytes: bytes, x: np.ndarray, runtime: str) -> np.ndarray:
    try:
        run = RUNTIMES[runtime]
    except KeyError:
        raise ValueError(f"no evaluator for runtime '{runtime}'; have {', '.join(RUNTIMES)}") from None
    return run(model_bytes, x)


def evaluate_model(model_bytes: bytes, x: np.ndarray, y: np.ndarray, runtime: str) -> Evaluation:
    scores = predict(model_bytes, x, runtime)
    accuracy = float(np.mean(np.argmax(scores, axis=1) == y))
    return Evaluation(accuracy=round(accuracy, 6), samples=len(y))
