"""ONNX Runtime (CPU execution provider): the ONNX runtime of Linux boards and hosts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from edgeforge.errors import MissingDependencyError
from edgeforge.runtimes.base import CodeSize, Runtime

if TYPE_CHECKING:  # imported where arrays are used: every stage imports the spec, and most never touch an array
    import numpy as np


def inference_session(model_bytes: bytes, *, optimize: bool = True):
    """A single-threaded CPU session; `optimize=False` keeps every intermediate tensor."""
    try:
        import onnxruntime
    except ImportError:
        raise MissingDependencyError("onnxruntime") from None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    if not optimize:
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    return onnxruntime.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


def quantization_tools():
    """ONNX Runtime's quantization module (quantize_dynamic, quantize_static)."""
    try:
        import onnxruntime.quantization
    except ImportError:
        raise MissingDependencyError("onnxruntime") from None
    return onnxruntime.quantization


class PerSampleReader:
    """ONNX Runtime's CalibrationDataReader over the calibration samples, one per call: a model
    exported with a fixed batch of one (torch.onnx.export, dynamic axes off) takes no larger batch."""

    def __init__(self, input_name: str, samples: np.ndarray):
        import numpy as np

        self._feeds = iter([{input_name: samples[i : i + 1].astype(np.float32)} for i in range(len(samples))])

    def get_next(self) -> dict | None:
        return next(self._feeds, None)


def quantize_onnx_model(model, mode: str, calibration_x: np.ndarray) -> bytes:
    """A user's float ONNX model (in the data's layout) as ONNX Runtime's post-training quantization
    makes it for `mode`: float32 as it is; float16 weights; dynamic (int8 weights, activations per
    call); int8 and int16x8 static QDQ int8 (ONNX Runtime has no int16 activations), activation
    ranges calibrated on `calibration_x` (the training split) with the settings of edgeforge's own
    ONNX export (export/onnx.py)."""
    import onnx

    from edgeforge.export.onnx import CALIBRATION_SAMPLES, quantize_for, quantize_static_int8, serialize

    model, original = onnx.ModelProto(), model
    model.CopyFrom(original)  # float16 rewrites the model in place: the caller's stays as it was
    if mode not in ("int8", "int16x8"):
        return serialize(quantize_for(model, mode, calibration_x))
    reader = PerSampleReader(model.graph.input[0].name, calibration_x[:CALIBRATION_SAMPLES])
    return serialize(quantize_static_int8(model, calibration_x, reader=reader))


class OnnxRuntime(Runtime):
    name: ClassVar[str] = "onnxruntime"
    artifact: ClassVar[str] = "onnx"
    formats: ClassVar[tuple[str, ...]] = ("onnx",)
    quantization_modes: ClassVar[tuple[str, ...]] = ("float32", "float16", "dynamic", "int8", "int16x8")
    bundle_file: ClassVar[str] = "model.onnx"
    packages: ClassVar[tuple[str, ...]] = ("onnxruntime",)
    # ONNX Runtime runs opset 17 from release 1.13 on (the Raspberry Pi wheels are newer), and 17 is
    # the newest opset whose QDQ and per-channel quantization every 1.13+ release executes.
    onnx_opset: ClassVar[int] = 17
    code_sizes: ClassVar[dict[str, CodeSize]] = {
        # onnxruntime 1.22.0 Android arm64-v8a libonnxruntime.so: 18,214,224 bytes (git-lfs
        # pointer in huggingface.co/CyberTimon/RapidRAW-Models, onnxruntimes-v1.22.0/).
        "aarch64": CodeSize(18_214_224, 0, source="onnxruntime 1.22.0 arm64 libonnxruntime.so size"),
        # Measured: onnxruntime 1.32.0 wheel, capi/libonnxruntime.so.1.32.0, x86_64.
        "x86_64": CodeSize(34_824_680, 0, source="measured: onnxruntime 1.32.0 libonnxruntime.so, x86_64"),
        "*": CodeSize(18_214_224, 0, source="onnxruntime 1.22.0 arm64 libonnxruntime.so size"),
    }

    def predict(self, model_bytes: bytes, x: np.ndarray) -> np.ndarray:
        """Scores of a float-input ONNX model, one sample per call.

        One sample per call, as the device runs it: a dynamically quantized model picks its
        activation ranges per call, so batching would change its results.
        """
        import numpy as np

        session = inference_session(model_bytes)
        input_name = session.get_inputs()[0].name
        samples = x.astype(np.float32)
        scores = [session.run(None, {input_name: samples[i : i + 1]})[0] for i in range(len(samples))]
        return np.concatenate(scores).astype(np.float32)

    def device_costs(self, model_bytes: bytes, device: Any) -> dict:
        """Latency measured here when `device` is this machine and the model is ONNX (the search
        passes its .onnx artifact; `edgeforge profile` of a .tflite keeps the prediction), else {}."""
        import numpy as np

        from edgeforge.runtimes.timing import is_this_machine, measure_latency

        if not is_this_machine(device) or model_bytes[4:8] == b"TFL3":  # a .tflite: no ONNX model to time
            return {}
        session = inference_session(model_bytes)
        feeds = {
            i.name: np.zeros([d if isinstance(d, int) and d > 0 else 1 for d in i.shape], dtype=_NUMPY_TYPES.get(i.type, "float32"))
            for i in session.get_inputs()
        }
        return measure_latency(lambda: session.run(None, feeds))

    def machine_key(self, device: Any) -> str | None:
        from edgeforge.runtimes.timing import is_this_machine, machine_fingerprint

        return machine_fingerprint() if is_this_machine(device) else None


# ONNX tensor types of model inputs, for the zero inputs a timing run feeds (NumPy dtype names)
_NUMPY_TYPES = {"tensor(float)": "float32", "tensor(int8)": "int8", "tensor(uint8)": "uint8", "tensor(int64)": "int64",
                "tensor(float16)": "float16", "tensor(int32)": "int32"}
