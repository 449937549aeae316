"""Flash a deployed model needs: the model file plus the runtime code that executes it.

    flash = model bytes + base (interpreter, allocator, flatbuffer reader) + one kernel per op type

The figures are in `CODE_SIZES`, per runtime and instruction set, each with where it comes from.
Microcontroller builds link only the kernels a model registers (TFLM's MicroMutableOpResolver),
so the kernel term matters there. The other runtimes ship as one library with every kernel
(`kernel_bytes=0`): on phones, boards and hosts their code size is a constant next to gigabytes
of storage, reported so that `flash` stays comparable across targets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from edgeforge.errors import UserError


@dataclass(frozen=True)
class CodeSize:
    base_bytes: int  # interpreter, memory planner, flatbuffer reader, (for full libraries) all kernels
    kernel_bytes: int  # one op type's kernel
    optimized_kernel_bytes: int | None = None  # kernels in OPTIMIZED_OPS, when the build has them
    source: str = ""


# Kernels TFLM replaces with CMSIS-NN (Arm) or ESP-NN (Espressif) implementations. Silicon Labs'
# TFLM component (gecko_sdk, tensorflow_lite_micro_optimized_kernels): "The kernels which have
# optimized implementations are: add, conv, depthwise_conv, fully_connected, mul, pooling and softmax."
OPTIMIZED_OPS = frozenset({
    "ADD", "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MUL", "AVERAGE_POOL_2D", "MAX_POOL_2D", "SOFTMAX",
})

# TFLM on 32-bit MCUs. base: "The core runtime fits in 16 KB on an Arm Cortex M3, and with enough
# operators to run a speech keyword detection model, takes up a total of 22 KB" (TensorFlow Lite
# for Microcontrollers overview, tensorflow.org/lite/microcontrollers; tflite-micro README).
# kernel: (22 KB - 16 KB) / the 4 ops micro_speech registers (DEPTHWISE_CONV_2D, FULLY_CONNECTED,
# RESHAPE, SOFTMAX) = 1.5 KB per reference kernel. optimized: derived from sketch sizes published
# in github.com/veysiadn/acustic-emission-models (dense_model_specs.md): an all-ops build adds
# 207,736 B with Arduino's CMSIS-NN TFLM on a Nano 33 BLE but 131,504 B with reference kernels on a
# Nucleo-L432KC; the 76 KB difference over the 7 optimized kernel families is ~11 KB each, on top
# of the 1.5 KB reference kernel. These are order-of-magnitude figures: measure the linked binary
# (arm-none-eabi-size) for a final budget.
_TFLM = CodeSize(
    base_bytes=16 * 1024,
    kernel_bytes=1536,
    optimized_kernel_bytes=1536 + 11 * 1024,
    source="TFLM overview (16 KB core, 22 KB with micro_speech ops); CMSIS-NN increment derived, see comment",
)
# Cortex-M0+ has no DSP extension: CMSIS-NN falls back to plain C, so kernels stay reference-sized.
_TFLM_ARMV6M = CodeSize(
    base_bytes=16 * 1024,
    kernel_bytes=1536,
    source="TFLM overview figures (measured on Cortex-M3), no optimized kernels on armv6-m",
)

CODE_SIZES: dict[str, dict[str, CodeSize]] = {
    "tflite-micro": {"*": _TFLM, "armv6-m": _TFLM_ARMV6M},
    "tflite": {
        # LiteRT selective build for MobileNet_1.0_224 (float), arm64-v8a: tensorflow-lite.aar
        # 382,892 bytes ("Reduce LiteRT binary size", ai.google.dev/edge/litert). The smallest
        # documented LiteRT runtime (compressed AAR, 5 op kernels); a full build is larger.
        "aarch64": CodeSize(382_892, 0, source="LiteRT reduce-binary-size guide, MobileNet v1 arm64-v8a AAR"),
        # Measured: ai-edge-litert 2.3.0 wheel, libLiteRt.so (all builtin kernels + XNNPACK), x86_64.
        "x86_64": CodeSize(8_039_424, 0, source="measured: ai-edge-litert 2.3.0 libLiteRt.so, x86_64"),
        "*": CodeSize(382_892, 0, source="LiteRT reduce-binary-size guide (arm64 figure)"),
    },
    "onnxruntime": {
        # onnxruntime 1.22.0 Android arm64-v8a libonnxruntime.so: 18,214,224 bytes (git-lfs
        # pointer in huggingface.co/CyberTimon/RapidRAW-Models, onnxruntimes-v1.22.0/).
        "aarch64": CodeSize(18_214_224, 0, source="onnxruntime 1.22.0 arm64 libonnxruntime.so size"),
        # Measured: onnxruntime 1.32.0 wheel, capi/libonnxruntime.so.1.32.0, x86_64.
        "x86_64": CodeSize(34_824_680, 0, source="measured: onnxruntime 1.32.0 libonnxruntime.so, x86_64"),
        "*": CodeSize(18_214_224, 0, source="onnxruntime 1.22.0 arm64 libonnxruntime.so size"),
    },
    # Core ML is part of iOS/macOS and TensorRT of JetPack: the application ships no runtime code.
    "coreml": {"*": CodeSize(0, 0, source="system framework on iOS/macOS")},
    "tensorrt": {"*": CodeSize(0, 0, source="part of NVIDIA JetPack on the device")},
}


def runtime_code_bytes(op_types: Iterable[str], runtime: str, arch: str) -> int:
    """Flash taken by `runtime`'s code on `arch` when it registers exactly `op_types`."""
    if runtime not in CODE_SIZES:
        raise UserError(f"no code-size figures for runtime '{runtime}'; known: {', '.join(CODE_SIZES)}")
    sizes = CODE_SIZES[runtime].get(arch, CODE_SIZES[runtime]["*"])
    kernels = 0
    for op_type in set(op_types):
        optimized = sizes.optimized_kernel_bytes is not None and op_type in OPTIMIZED_OPS
        kernels += sizes.optimized_kernel_bytes if optimized else sizes.kernel_bytes
    return sizes.base_bytes + kernels


def flash_bytes(model_bytes: int, op_types: Iterable[str], runtime: str, arch: str) -> int:
    """Flash a model needs on a device: the model file plus the runtime code for its ops."""
    return model_bytes + runtime_code_bytes(op_types, runtime, arch)
