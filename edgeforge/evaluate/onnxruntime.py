"""ONNX Runtime (CPU execution provider): the ONNX runtime of Linux boards and hosts."""

from __future__ import annotations

import numpy as np

from edgeforge.errors import MissingDependencyError


def predict(model_bytes: bytes, x: np.ndarray) -> np.ndarray:
    """Scores of a float-input ONNX model, one sample per call.

    One sample per call, as the device runs it: a dynamically quantized model picks its activation
    ranges per call, so batching would change its results.
    """
    try:
        import onnxruntime
    except ImportError:
        raise MissingDependencyError("onnxruntime") from None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    samples = x.astype(np.float32)
    scores = [session.run(None, {input_name: samples[i : i + 1]})[0] for i in range(len(samples))]
    return np.concatenate(scores).astype(np.float32)
