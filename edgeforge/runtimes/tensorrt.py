"""TensorRT: NVIDIA's runtime on Jetson boards. It builds its engine from the ONNX model on the
device, so a build host measures the accuracy of that ONNX model in ONNX Runtime."""

from __future__ import annotations

from typing import ClassVar

from edgeforge.runtimes.base import CodeSize, Runtime


class TensorRT(Runtime):
    name: ClassVar[str] = "tensorrt"
    artifact: ClassVar[str] = "onnx"
    formats: ClassVar[tuple[str, ...]] = ("tensorrt", "onnx")
    quantization_modes: ClassVar[tuple[str, ...]] = ("float32", "float16", "dynamic", "int8", "int16x8")
    accuracy_proxy: ClassVar[str | None] = "onnxruntime"
    bundle_file: ClassVar[str] = "model.onnx"
    # TensorRT's ONNX parser: 8.5 (JetPack 5.1) and 8.6 (JetPack 6.0) stop at opset 17; 10.x reads
    # it too, so one model serves every JetPack an Orin Nano runs.
    onnx_opset: ClassVar[int] = 17
    # Part of NVIDIA JetPack: the application ships no runtime code.
    code_sizes: ClassVar[dict[str, CodeSize]] = {"*": CodeSize(0, 0, source="part of NVIDIA JetPack on the device")}
