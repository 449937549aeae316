"""Device presets: what a board or phone has, and where each number comes from."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, PositiveFloat, model_validator

from edgeforge.runtimes import RUNTIMES
from edgeforge.spec.base import StrictModel

# The runtime names the spec accepts: those of the registry (edgeforge/runtimes/).
Runtime = Literal[tuple(RUNTIMES)]  # type: ignore[valid-type]
DType = Literal["int8", "int16", "float16", "float32"]


class Power(StrictModel):
    active_mw: PositiveFloat = Field(description="power drawn while running inference, mW")
    idle_mw: float = Field(ge=0, description="power drawn between inferences (sleep/idle), mW")


class Throughput(StrictModel):
    """How fast one runtime runs on this device: the inputs of the per-op latency model."""

    macs_per_cycle: dict[DType, PositiveFloat] = Field(
        description="sustained multiply-accumulates per CPU cycle, by the dtype of the op's weights/inputs"
    )
    op_overhead_us: float = Field(ge=0, description="fixed cost of invoking one operator, µs")


class Device(StrictModel):
    """A device preset (specs/device/<name>.yaml). Every number carries a `sources` entry."""

    name: str = Field(description="preset name, the file's stem")
    device_class: Literal["mcu", "sbc", "phone", "gpu", "host"] = Field(
        alias="class", description="mcu | sbc | phone | gpu | host"
    )
    cpu: str = Field(description="processor, e.g. 'Arm Cortex-M7'")
    arch: str = Field(description="instruction set, e.g. armv7e-m, aarch64, x86_64")
    clock_mhz: PositiveFloat = Field(description="CPU clock the throughput figures assume, MHz")
    ram_kb: PositiveFloat = Field(description="RAM available to the application, KiB")
    flash_kb: PositiveFloat = Field(description="storage for code and model, KiB")
    int8_only: bool = Field(False, description="the accelerator/runtime only executes int8 models")
    runtimes: list[Runtime] = Field(min_length=1, description="runtimes that run on this device")
    power: Power = Field(description="power draw, for energy per inference and average power")
    throughput: dict[Runtime, Throughput] = Field(description="latency-model figures per runtime")
    runtime_settings: dict[Runtime, dict[str, Any]] = Field(
        default_factory=dict,
        description="settings a runtime needs for this device (e.g. the NPU configuration of ethos-u), "
        "checked by the runtime",
    )
    sources: dict[str, str] = Field(
        description="citation for each number: key is a dotted field path (or a prefix of one)"
    )

    @model_validator(mode="after")
    def _check_consistency(self) -> Device:
        problems = [problem for name in self.runtimes for problem in RUNTIMES[name].check_device(self)]
        if problems:
            raise ValueError("; ".join(problems))
        unsourced = [path for path in self.numeric_fields() if not self._has_source(path)]
        if unsourced:
            raise ValueError(
                f"numbers without a source: {', '.join(unsourced)}; add a 'sources' entry for each"
            )
        return self

    def runs_mode(self, runtime: str, mode: str) -> bool:
        """Whether `runtime` on this device runs PTQ `mode`: the runtime executes it, and, when its
        latency comes from this preset's throughput figures, they price the mode's kernels."""
        from edgeforge.passes.ptq import KERNEL_DTYPE

        if mode not in RUNTIMES[runtime].quantization_modes or (self.int8_only and mode != "int8"):
            return False
        figures = self.throughput.get(runtime)
        return not RUNTIMES[runtime].needs_throughput or (figures is not None and KERNEL_DTYPE[mode] in figures.macs_per_cycle)

    def numeric_fields(self) -> list[str]:
        paths = ["clock_mhz", "ram_kb", "flash_kb", "power.active_mw", "power.idle_mw"]
        for runtime, figures in self.throughput.items():
            paths += [f"throughput.{runtime}.macs_per_cycle.{dtype}" for dtype in figures.macs_per_cycle]
            paths.append(f"throughput.{runtime}.op_overhead_us")
        for runtime, settings in self.runtime_settings.items():
            paths += [
                f"runtime_settings.{runtime}.{key}" for key, value in settings.items()
                if isinstance(value, (int, float)) and not isinstance(value, bool)
            ]
        return paths

    def _has_source(self, path: str) -> bool:
        parts = path.split(".")
        return any(".".join(parts[:i]) in self.sources for i in range(1, len(parts) + 1))
