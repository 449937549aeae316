"""Core ML: Apple's runtime on iOS and macOS. It runs only there, so a build host measures the
accuracy of the same candidate's TFLite model in LiteRT (converted from the same Keras model)."""

from __future__ import annotations

from typing import ClassVar

from edgeforge.runtimes.base import CodeSize, Runtime


class CoreML(Runtime):
    name: ClassVar[str] = "coreml"
    artifact: ClassVar[str] = "tflite"
    formats: ClassVar[tuple[str, ...]] = ("coreml",)
    quantization_modes: ClassVar[tuple[str, ...]] = ("float32", "float16", "dynamic", "int8", "int16x8")
    accuracy_proxy: ClassVar[str | None] = "tflite"
    bundle_file: ClassVar[str] = "model.mlpackage"
    # Part of iOS/macOS: the application ships no runtime code.
    code_sizes: ClassVar[dict[str, CodeSize]] = {"*": CodeSize(0, 0, source="system framework on iOS/macOS")}
