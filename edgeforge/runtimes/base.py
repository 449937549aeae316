"""The Runtime interface: one runtime, one module, everything edgeforge needs to know about it.

A runtime says what it loads and runs, and how a candidate is measured and costed in it::

    class MyRuntime(Runtime):
        name: ClassVar[str] = "my-runtime"              # what specs write: `runtime: my-runtime`
        artifact: ClassVar[str] = "onnx"                # the search converts candidates to .onnx
        formats: ClassVar[tuple[str, ...]] = ("onnx",)  # exports a device with it can load
        quantization_modes: ClassVar[tuple[str, ...]] = ("float32", "int8")
        packages: ClassVar[tuple[str, ...]] = ("my-runtime-wheel",)  # its measurements depend on them
        code_sizes: ClassVar[dict[str, CodeSize]] = {"*": CodeSize(2_000_000, 0, source="...")}

        def predict(self, model_bytes, x):
            ...  # scores of float inputs, computed in the runtime

Register the class in `edgeforge.runtimes.RUNTIMES` (one line). Everything else reads it: the spec
(which names, formats and modes are valid), evaluation (`predict`), cost (`code_bytes`,
`device_costs`), the search (`artifact`, `accuracy_proxy`), export parity and the bundle's canary.

Defaults cover a CPU runtime whose latency comes from the device preset's `throughput.<name>`
figures and whose memory is the planner's estimate; a runtime overrides what it knows better:
TFLite Micro measures its arena, the Ethos-U NPU takes latency and SRAM from the Vela compiler.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from edgeforge.errors import NotRunnableHere

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class CodeSize:
    """Flash taken by a runtime's code: its base plus one kernel per op type the model uses."""

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


class Runtime:
    """One runtime; see the module docstring. Subclasses set the class attributes."""

    name: ClassVar[str]
    artifact: ClassVar[str] = "tflite"  # format of the file the search converts a candidate to
    formats: ClassVar[tuple[str, ...]]  # export formats a device with this runtime can load
    quantization_modes: ClassVar[tuple[str, ...]]  # PTQ modes it executes
    # A runtime with no interpreter on a build host: the runtime whose accuracy on the same model
    # stands in for it (reported as a proxy).
    accuracy_proxy: ClassVar[str | None] = None
    bundle_file: ClassVar[str] = "model.tflite"  # the file a device with this runtime loads
    packages: ClassVar[tuple[str, ...]] = ()  # Python distributions its measurements depend on
    # edgeforge modules or packages besides its own module that its measurements depend on (memo keys)
    measurement_code: ClassVar[tuple[str, ...]] = ()
    onnx_opset: ClassVar[int | None] = None  # the ONNX opset it reads, for runtimes that load ONNX
    code_sizes: ClassVar[dict[str, CodeSize]]  # by instruction set; "*" for any other
    needs_throughput: ClassVar[bool] = True  # latency from the preset's throughput.<name> figures
    # Settings a device preset gives this runtime (`runtime_settings.<name>`), or None for none.
    DeviceSettings: ClassVar[type | None] = None
    # Exporters (`edgeforge.export.base.Exporter`) of formats only this runtime loads, kept in its
    # module; `edgeforge.export.EXPORTERS` merges them with the modules of edgeforge/export/.
    exporters: ClassVar[tuple[type, ...]] = ()

    def predict(self, model_bytes: bytes, x: np.ndarray) -> np.ndarray:
        """Scores (N, outputs) of float inputs x (N, ...): quantize and dequantize as a device would."""
        raise NotRunnableHere(f"runtime '{self.name}' cannot run models on this machine")

    def runs_here(self) -> bool:
        """Whether `predict` works on this machine (else `accuracy_proxy` stands in)."""
        return type(self).predict is not Runtime.predict

    def unsupported_reason(self, model_bytes: bytes) -> str | None:
        """Why this runtime cannot run the model, when that is known without running it."""
        return None

    def code_bytes(self, op_types: Iterable[str], arch: str) -> int:
        """Flash taken by the runtime's code on `arch` when it registers exactly `op_types`."""
        sizes = self.code_sizes.get(arch, self.code_sizes["*"])
        kernels = 0
        for op_type in set(op_types):
            optimized = sizes.optimized_kernel_bytes is not None and op_type in OPTIMIZED_OPS
            kernels += sizes.optimized_kernel_bytes if optimized else sizes.kernel_bytes
        return sizes.base_bytes + kernels

    def device_artifact(self, model_bytes: bytes, target: Any, held_out_x: np.ndarray | None = None) -> bytes:
        """The file a device of `target` (a spec Target) loads, made from the converted artifact.

        The default ships the artifact as converted. A runtime may rewrite it for the target
        without changing what it computes (TFLite Micro adds its offline memory plan, checked for
        bit-identical outputs on `held_out_x`): the search measures the accuracy of the converted
        artifact and every device figure of this file, and selects and exports this file."""
        return model_bytes

    def measures_arena(self) -> bool:
        """Whether `device_costs` measures the arena (else the planner's estimate is reported)."""
        return False

    def device_costs(self, model_bytes: bytes, device: Any) -> dict:
        """Figures this runtime measures or compiles itself for `device`, overriding the analytic ones.

        Keys it may return: `arena_bytes` (+ `arena_source`), `latency_ms`, `flash_bytes`, `ops`
        (per-op latency), `notes`; a runtime that can plan its arena offline adds
        `arena_default_bytes`, `arena_planned_bytes` and `arena_lower_bound_bytes` (which of them
        counts follows `targets.<T>.memory_plan`). The default measures nothing: {}.
        """
        return {}

    def machine_key(self, device: Any) -> str | None:
        """What else `device_costs` depends on beyond the model and device: this machine's
        fingerprint when the runtime measures on it (runtimes/timing.py), else None. The search
        memoizes device costs under it."""
        return None

    def predicted_costs(self, model_bytes: bytes, device: Any) -> dict:
        """Figures the search's pre-filter should use instead of the analytic ones (same keys as
        `device_costs`); {} by default: the analytic prediction is close enough to decide."""
        return {}

    def predicted_flash_saving_bytes(self, model_bytes: bytes, settings: dict, target: Any) -> int:
        """Flash the target's `device_artifact` step is predicted to save on a candidate with these
        search `settings` (e.g. clusters) whose dense structure is `model_bytes`: the pre-filter
        subtracts it. 0 by default: the file a device loads is the converted one."""
        return 0

    def reserved_ram_bytes(self, arena_bytes: int) -> int:
        """RAM the application reserves for a model whose arena is `arena_bytes`: what the `ram_kb`
        constraint judges and what an exported header declares. The arena itself by default."""
        return arena_bytes

    def device_settings(self, device: Any) -> Any:
        """The device preset's validated settings for this runtime (None when it takes none)."""
        if self.DeviceSettings is None:
            return None
        return self.DeviceSettings.model_validate(device.runtime_settings.get(self.name, {}))

    def check_device(self, device: Any) -> list[str]:
        """Problems with a device preset that lists this runtime (missing figures or settings)."""
        problems = []
        if self.needs_throughput and self.name not in device.throughput:
            problems.append(f"runtime {self.name} has no throughput figures; add throughput.{self.name}")
        if self.DeviceSettings is not None:
            from pydantic import ValidationError

            try:
                self.device_settings(device)
            except ValidationError as error:
                problems += [
                    f"runtime_settings.{self.name}.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()
                ]
        return problems

    def __repr__(self) -> str:
        return f"<runtime {self.name}>"
