"""TFLite Micro: the interpreter of microcontrollers. Its Python wheel runs the reference kernels
and the real arena allocator, so accuracy and the tensor arena are measured, not estimated.

With `targets.<T>.memory_plan: offline` (the default) the file a device loads carries edgeforge's
operator order and offline memory plan (`edgeforge.memory`), verified in this interpreter; the
search measures that file's arena, and exports ship the same bytes. `memory_plan: tflm` keeps
TFLite Micro's own planner.

With `targets.<T>.compression: lut` (the default) that file first has its clustered int8 weights
LUT-compressed (`edgeforge.runtimes.tflm_compression`: per tensor, only where smaller, outputs
verified bit-identical), then the memory plan is made for the compressed model, whose DECODE
outputs the allocator places in the arena like any other tensor. Flash, arena and latency are
read from that file; `device_costs["compression"]` says what was compressed, or why not."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

from edgeforge.errors import BuildError
from edgeforge.runtimes.base import CodeSize, Runtime
from edgeforge.runtimes.quantization import dequantize, quantize

if TYPE_CHECKING:  # imported where arrays are used: every stage imports the spec, and most never touch an array
    import numpy as np

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
# DECODE (a LUT-compressed model's custom op TFLM_DECODE, read as op type CUSTOM) counts as one
# reference kernel, 1.5 KB. ESTIMATE: no published size; decode.cc + decode_state_lut.cc are a
# few hundred lines of plain C (a bit-unpacking loop per index width), like the kernels above.
TFLM_CODE_SIZE = CodeSize(
    base_bytes=16 * 1024,
    kernel_bytes=1536,
    optimized_kernel_bytes=1536 + 11 * 1024,
    source="TFLM overview (16 KB core, 22 KB with micro_speech ops); CMSIS-NN increment derived, see comment",
)
# Cortex-M0+ has no DSP extension: CMSIS-NN falls back to plain C, so kernels stay reference-sized.
TFLM_ARMV6M_CODE_SIZE = CodeSize(
    base_bytes=16 * 1024,
    kernel_bytes=1536,
    source="TFLM overview figures (measured on Cortex-M3), no optimized kernels on armv6-m",
)


# The arena is measured by the 64-bit host build of TFLite Micro, whose persistent structs are
# larger than on a 32-bit MCU; the margin covers allocator differences between TFLM versions. The
# application reserves arena + margin (the C header's kTensorArenaSize), so `ram_kb` judges that.
ARENA_MARGIN = 0.10
ARENA_EXTRA_BYTES = 1024


def load_interpreter(model_bytes: bytes, arena_size: int | None = None):
    """TFLite Micro's interpreter for the model, with a generous arena unless one is given."""
    from tflite_micro.python.tflite_micro import runtime

    try:
        return runtime.Interpreter.from_bytes(model_bytes, arena_size=arena_size or max(len(model_bytes) * 10, 1 << 20))
    except RuntimeError as error:
        raise BuildError(f"TFLite Micro cannot run this model: {str(error).strip().splitlines()[0]}") from None


class TfliteMicro(Runtime):
    name: ClassVar[str] = "tflite-micro"
    artifact: ClassVar[str] = "tflite"
    formats: ClassVar[tuple[str, ...]] = ("tflite", "tflm_c")
    # TFLite Micro cannot allocate float16 or dynamic-range (hybrid) models.
    quantization_modes: ClassVar[tuple[str, ...]] = ("float32", "int8", "int16x8")
    bundle_file: ClassVar[str] = "model.tflite"
    packages: ClassVar[tuple[str, ...]] = ("tflite-micro",)
    # the offline memory plan and the LUT compression it verifies and measures
    measurement_code: ClassVar[tuple[str, ...]] = ("memory", "runtimes/tflm_compression.py")
    code_sizes: ClassVar[dict[str, CodeSize]] = {"*": TFLM_CODE_SIZE, "armv6-m": TFLM_ARMV6M_CODE_SIZE}

    def predict(self, model_bytes: bytes, x: np.ndarray) -> np.ndarray:
        # TFLite Micro trusts the flatbuffer: a corrupt one may crash it, so it runs in a worker
        # process (a crash is a CorruptModelError), after the flatbuffer parses here.
        from edgeforge.cost.graph import read_graph
        from edgeforge.cost.isolated import run_isolated

        read_graph(model_bytes)
        return run_isolated(_predict, model_bytes, x)

    def measures_arena(self) -> bool:
        return True

    def device_artifact(self, model_bytes: bytes, target: Any, held_out_x: np.ndarray | None = None) -> bytes:
        """With `compression: lut`, the model with its clustered int8 weights LUT-compressed; then with
        `memory_plan: offline`, edgeforge's operator order and offline memory plan. Each step is
        verified against its input on `held_out_x` (bit-identical outputs); one that fails a check
        (with a warning) or saves nothing leaves the model as it is. Like `predict`, TFLite Micro
        runs in a worker process."""
        compression = getattr(target, "compression", "lut")
        memory_plan = getattr(target, "memory_plan", "offline")
        if compression != "lut" and memory_plan != "offline":
            return model_bytes
        from edgeforge.cost.graph import read_graph
        from edgeforge.cost.isolated import run_isolated
        from edgeforge.memory.verify import HELD_OUT_SAMPLES

        read_graph(model_bytes)
        held_out = held_out_x[:HELD_OUT_SAMPLES] if held_out_x is not None else None
        decode_bytes = self.decode_code_bytes(target.device.arch)
        shipped, warning = run_isolated(
            _device_model, model_bytes, held_out, compression == "lut", memory_plan == "offline", decode_bytes
        )
        _warn(warning)
        return shipped

    def predicted_flash_saving_bytes(self, model_bytes: bytes, settings: dict, target: Any) -> int:
        """With `compression: lut`, what LUT compression of a clustered int8/int16x8 candidate saves
        at most (`tflm_compression.predicted_saving_bytes`), net of the DECODE kernel."""
        clusters = settings.get("clusters") or 0
        if getattr(target, "compression", "lut") != "lut" or settings.get("quantization") not in ("int8", "int16x8"):
            return 0
        from edgeforge.runtimes.tflm_compression import predicted_saving_bytes

        return predicted_saving_bytes(model_bytes, clusters, self.decode_code_bytes(target.device.arch))

    def decode_code_bytes(self, arch: str) -> int:
        """Flash the DECODE kernel adds on `arch` (a reference kernel: no optimized DECODE)."""
        return self.code_sizes.get(arch, self.code_sizes["*"]).kernel_bytes

    def reserved_ram_bytes(self, arena_bytes: int) -> int:
        """The arena plus edgeforge's margin, rounded up to TFLite Micro's 16-byte alignment."""
        return int(math.ceil((arena_bytes * (1 + ARENA_MARGIN) + ARENA_EXTRA_BYTES) / 16) * 16)

    def device_costs(self, model_bytes: bytes, device: Any) -> dict:
        """The arena TFLite Micro's own allocator records for the model as it is (`arena_bytes`, the
        same on every device), beside TFLite Micro's own plan (`arena_default_bytes`), edgeforge's
        verified offline plan (`arena_planned_bytes`) and the lower bound of its operator order
        (`arena_lower_bound_bytes`), all measured or derived on the allocator's figures. Like
        `predict`, in a worker process."""
        from edgeforge.cost.graph import read_graph
        from edgeforge.cost.isolated import run_isolated

        read_graph(model_bytes)
        costs = run_isolated(_device_costs, model_bytes, self.decode_code_bytes(device.arch))
        _warn(costs["memory_plan"]["warning"])
        return costs

    def predicted_costs(self, model_bytes: bytes, device: Any) -> dict:
        """The pre-filter's arena: TFLite Micro's greedy plan replayed (`arena_bytes`), and the head
        of edgeforge's offline plan computed the same way (`arena_planned_bytes`), each with the
        estimated persistent tail. Neither runs TFLite Micro."""
        from edgeforge.cost.arena import estimate_arena
        from edgeforge.cost.graph import read_graph
        from edgeforge.memory import plan_memory, plan_refusal

        graph = read_graph(model_bytes)
        estimate = estimate_arena(graph)
        planned_head = estimate.planned_bytes if plan_refusal(graph) else plan_memory(graph).head_bytes
        return {
            "arena_bytes": estimate.total_bytes,
            "arena_planned_bytes": min(planned_head, estimate.planned_bytes) + estimate.persistent_bytes,
        }


def _predict(model_bytes: bytes, x: np.ndarray) -> np.ndarray:
    import numpy as np

    interpreter = load_interpreter(model_bytes)
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


def _device_model(
    model_bytes: bytes, held_out: np.ndarray | None, compress: bool, plan: bool, decode_code_bytes: int
) -> tuple[bytes, str | None]:
    """Compress, then plan: the plan must place the DECODE outputs, so it is made for the model
    that ships (TFLite Micro's allocator accepts an offline plan on a compressed model)."""
    from edgeforge.memory import apply_memory_plan
    from edgeforge.runtimes.tflm_compression import compress_weights

    warnings = []
    if compress:
        compressed = compress_weights(model_bytes, held_out, decode_code_bytes)
        if compressed.reason.startswith("compressed outputs are not bit-identical"):
            warnings.append(f"LUT compression not kept: {compressed.reason}")
        model_bytes = compressed.model_bytes
    if plan:
        outcome = apply_memory_plan(model_bytes, held_out)
        model_bytes = outcome.model_bytes
        warnings += [outcome.warning] if outcome.warning else []
    return model_bytes, "; ".join(warnings) or None


def _warn(warning: str | None) -> None:
    """Repeat here a warning the worker process gave (a plan that failed a check)."""
    if warning:
        import warnings

        warnings.warn(warning, stacklevel=3)


def _device_costs(model_bytes: bytes, decode_code_bytes: int) -> dict:
    from edgeforge.memory import apply_memory_plan
    from edgeforge.runtimes.tflm_compression import compression_summary

    outcome = apply_memory_plan(model_bytes)
    return {
        "compression": compression_summary(model_bytes, decode_code_bytes),
        "arena_bytes": outcome.as_given.total_bytes,
        "arena_source": "measured",
        "arena_default_bytes": outcome.default.total_bytes,
        "arena_planned_bytes": outcome.shipped.total_bytes,
        "arena_lower_bound_bytes": outcome.lower_bound_bytes,
        "memory_plan": outcome.summary(),
    }


def _quant_params(detail: dict) -> tuple[float, int]:
    params = detail.get("quantization_parameters") or {}
    scales, zeros = params.get("scales"), params.get("zero_points")
    if scales is not None and len(scales):
        return float(scales[0]), int(zeros[0])
    return 0.0, 0
