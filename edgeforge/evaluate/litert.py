"""LiteRT (ai-edge-litert): the TFLite runtime of phones and Linux boards."""

from __future__ import annotations

import numpy as np

from edgeforge.evaluate.quantization import dequantize, quantize

BATCH = 256


def predict(model_bytes: bytes, x: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model_bytes, num_threads=1)
    input_detail = interpreter.get_input_details()[0]
    outputs = []
    for start in range(0, len(x), BATCH):
        batch = x[start : start + BATCH]
        interpreter.resize_tensor_input(input_detail["index"], batch.shape)
        interpreter.allocate_tensors()
        input_detail = interpreter.get_input_details()[0]
        output_detail = interpreter.get_output_details()[0]
        scale, zero_point = input_detail["quantization"]
        interpreter.set_tensor(input_detail["index"], quantize(batch, input_detail["dtype"], scale, zero_point))
        interpreter.invoke()
        scale, zero_point = output_detail["quantization"]
        outputs.append(dequantize(interpreter.get_tensor(output_detail["index"]), scale, zero_point))
    return np.concatenate(outputs)
