"""TFLite Micro's Python interpreter: the reference kernels and the real arena allocator of MCUs."""

from __future__ import annotations

import numpy as np

from edgeforge.errors import BuildError
from edgeforge.evaluate.quantization import dequantize, quantize


def load(model_bytes: bytes, arena_size: int | None = None):
    from tflite_micro.python.tflite_micro import runtime

    try:
        return runtime.Interpreter.from_bytes(model_bytes, arena_size=arena_size or max(len(model_bytes) * 10, 1 << 20))
    except RuntimeError as error:
        raise BuildError(f"TFLite Micro cannot run this model: {str(error).strip().splitlines()[0]}") from None


def predict(model_bytes: bytes, x: np.ndarray) -> np.ndarray:
    interpreter = load(model_bytes)
    input_detail = interpreter.get_input_details(0)
    output_detail = interpreter.get_output_details(0)
    in_scale, in_zero = _quant_params(input_detail)
    out_scale, out_zero = _quant_params(output_detail)
    outputs = []
    for sample in x:  # TFLM runs batch 1, as on the device
        interpreter.set_input(quantize(sample[np.newaxis], input_detail["dtype"], in_scale, in_zero), 0)
        interpreter.invoke()
        outputs.append(dequantize(interpreter.get_output(0), out_scale, out_zero))
    return np.concatenate(outputs)


def _quant_params(detail: dict) -> tuple[float, int]:
    params = detail.get("quantization_parameters") or {}
    scales, zeros = params.get("scales"), params.get("zero_points")
    if scales is not None and len(scales):
        return float(scales[0]), int(zeros[0])
    return 0.0, 0
