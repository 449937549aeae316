"""LiteRT (ai-edge-litert): the TFLite runtime of phones and Linux boards (name `tflite`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from edgeforge.runtimes.base import CodeSize, Runtime
from edgeforge.runtimes.quantization import dequantize, quantize

if TYPE_CHECKING:  # imported where arrays are used: every stage imports the spec, and most never touch an array
    import numpy as np

BATCH = 256


class LiteRT(Runtime):
    name: ClassVar[str] = "tflite"
    artifact: ClassVar[str] = "tflite"
    formats: ClassVar[tuple[str, ...]] = ("tflite",)
    quantization_modes: ClassVar[tuple[str, ...]] = ("float32", "float16", "dynamic", "int8", "int16x8")
    bundle_file: ClassVar[str] = "model.tflite"
    packages: ClassVar[tuple[str, ...]] = ("ai-edge-litert",)
    code_sizes: ClassVar[dict[str, CodeSize]] = {
        # LiteRT selective build for MobileNet_1.0_224 (float), arm64-v8a: tensorflow-lite.aar
        # 382,892 bytes ("Reduce LiteRT binary size", ai.google.dev/edge/litert). The smallest
        # documented LiteRT runtime (compressed AAR, 5 op kernels); a full build is larger.
        "aarch64": CodeSize(382_892, 0, source="LiteRT reduce-binary-size guide, MobileNet v1 arm64-v8a AAR"),
        # Measured: ai-edge-litert 2.3.0 wheel, libLiteRt.so (all builtin kernels + XNNPACK), x86_64.
        "x86_64": CodeSize(8_039_424, 0, source="measured: ai-edge-litert 2.3.0 libLiteRt.so, x86_64"),
        "*": CodeSize(382_892, 0, source="LiteRT reduce-binary-size guide (arm64 figure)"),
    }

    def predict(self, model_bytes: bytes, x: np.ndarray) -> np.ndarray:
        import numpy as np
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

    def device_costs(self, model_bytes: bytes, device: Any) -> dict:
        """Latency measured here when `device` is this machine (runtimes/timing.py), else {}."""
        import numpy as np

        from edgeforge.runtimes.timing import is_this_machine, measure_latency

        if not is_this_machine(device):
            return {}
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_content=model_bytes, num_threads=1)  # the preset times one thread
        interpreter.allocate_tensors()
        for detail in interpreter.get_input_details():
            interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], dtype=detail["dtype"]))
        return measure_latency(interpreter.invoke)

    def machine_key(self, device: Any) -> str | None:
        from edgeforge.runtimes.timing import is_this_machine, machine_fingerprint

        return machine_fingerprint() if is_this_machine(device) else None
