"""Run a planned model and its unplanned original in TFLite Micro's interpreter, same inputs,
and compare every output bit for bit.

An offline plan changes where tensors live and in which order operators run, never what they
compute: the reference kernels must give identical bytes. Inputs: held-out samples when the
caller has them (quantized as a device would), plus seeded random inputs across each input's
range (so models without a dataset, `edgeforge profile any.tflite`, are checked too).
"""

from __future__ import annotations

import hashlib

import numpy as np

from edgeforge.cost.arena import generous_arena_size
from edgeforge.cost.graph import read_graph
from edgeforge.errors import BuildError

HELD_OUT_SAMPLES = 16  # held-out samples run through both models, at most
RANDOM_SAMPLES = 4  # seeded random inputs run through both models


def verification_inputs(model_bytes: bytes, held_out: np.ndarray | None = None) -> list[tuple[str, list[np.ndarray]]]:
    """[(what the sample is, one array per model input)] to run both models on."""
    interpreter = _interpreter(model_bytes)
    details = [interpreter.get_input_details(i) for i in range(len(read_graph(model_bytes).inputs))]
    samples = []
    if held_out is not None and len(details) == 1:
        from edgeforge.runtimes.quantization import quantize

        detail = details[0]
        shape = tuple(int(d) for d in detail["shape"])
        scale, zero_point = _quantization(detail)
        for k, sample in enumerate(held_out[:HELD_OUT_SAMPLES]):
            if sample.size != int(np.prod(shape)):
                break  # not this model's input (the caller's data has another shape)
            samples.append((f"held-out sample {k}", [quantize(sample.reshape(shape), detail["dtype"], scale, zero_point)]))
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(model_bytes).digest()[:8], "little"))
    for k in range(RANDOM_SAMPLES):
        samples.append((f"random input {k}", [_random_input(rng, detail) for detail in details]))
    return samples


def compare_outputs(reference_bytes: bytes, planned_bytes: bytes, samples: list[tuple[str, list[np.ndarray]]]) -> str | None:
    """None when both models give identical output bytes on every sample, else what differs."""
    reference, planned = _interpreter(reference_bytes), _interpreter(planned_bytes)
    outputs = len(read_graph(reference_bytes).outputs)
    for name, arrays in samples:
        for interpreter in (reference, planned):
            for index, array in enumerate(arrays):
                interpreter.set_input(array, index)
            interpreter.invoke()
        for index in range(outputs):
            expected, got = reference.get_output(index), planned.get_output(index)
            if expected.shape != got.shape or expected.tobytes() != got.tobytes():
                difference = np.abs(expected.astype(np.float64) - got.astype(np.float64)).max() if expected.shape == got.shape else "shape"
                return f"output {index} differs on {name} (largest difference {difference})"
    return None


def _interpreter(model_bytes: bytes):
    from tflite_micro.python.tflite_micro import runtime

    try:
        return runtime.Interpreter.from_bytes(model_bytes, arena_size=generous_arena_size(read_graph(model_bytes)))
    except (RuntimeError, ValueError) as error:
        raise BuildError(f"TFLite Micro cannot run this model: {str(error).strip().splitlines()[0]}") from None


def _quantization(detail: dict) -> tuple[float, int]:
    params = detail.get("quantization_parameters") or {}
    scales, zero_points = params.get("scales"), params.get("zero_points")
    if scales is not None and len(scales):
        return float(scales[0]), int(zero_points[0])
    return 0.0, 0


def _random_input(rng: np.random.Generator, detail: dict) -> np.ndarray:
    shape, dtype = tuple(int(d) for d in detail["shape"]), np.dtype(detail["dtype"])
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    return rng.standard_normal(shape).astype(dtype)
