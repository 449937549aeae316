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


# Op kinds with a rate of their own (edgeforge.cost.latency.OP_KINDS names which ops each covers).
OpKind = Literal["conv", "pointwise", "depthwise", "fully_connected", "transpose_conv", "conv_3d", "batch_matmul"]


class Throughput(StrictModel):
    """How fast one runtime runs on this device: the inputs of the per-op latency model
    (edgeforge/cost/latency.py). `op_rates` and `bytes_per_cycle` are calibrated per core and
    runtime (benchmarks/fit_latency.py regenerates them from benchmarks/latency_reference.yaml);
    `macs_per_cycle` is the default for any MAC op without a calibrated rate."""

    calibration: str | None = Field(
        None, description="the pooled fit (core/runtime group of benchmarks/latency_reference.yaml) these figures come from"
    )
    macs_per_cycle: dict[DType, PositiveFloat] = Field(
        description="default multiply-accumulates per CPU cycle, by the dtype of the op's inputs: "
        "used for MAC ops whose kind has no calibrated rate in op_rates"
    )
    op_rates: dict[OpKind, dict[DType, PositiveFloat]] = Field(
        default_factory=dict,
        description="calibrated multiply-accumulates per CPU cycle by op kind and dtype "
        "(conv = kxk convolution, pointwise = 1x1 convolution)",
    )
    bytes_per_cycle: dict[DType, PositiveFloat] = Field(
        default_factory=dict,
        description="calibrated bytes moved per CPU cycle by memory-bound ops (pooling, elementwise, "
        "activations, softmax, reshape, quantize...), by dtype; without it such an op is priced as one "
        "MAC per output element",
    )
    op_overhead_us: float = Field(ge=0, description="fixed cost of invoking one operator, µs")
    latency_error: float | None = Field(
        None, ge=0, description="relative error of predicted latency on held-out measurements "
        "(0.18 = ±18%); conservative constraints use latency × (1 + latency_error)"
    )


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
            paths += [
                f"throughput.{runtime}.op_rates.{kind}.{dtype}" for kind, rates in figures.op_rates.items() for dtype in rates
            ]
            paths += [f"throughput.{runtime}.bytes_per_cycle.{dtype}" for dtype in figures.bytes_per_cycle]
            paths.append(f"throughput.{runtime}.op_overhead_us")
            if figures.latency_error is not None:
                paths.append(f"throughput.{runtime}.latency_error")
        for runtime, settings in self.runtime_settings.items():
            paths += [
                f"runtime_settings.{runtime}.{key}" for key, value in settings.items()
                if isinstance(value, (int, float)) and not isinstance(value, bool)
            ]
        return paths

    def _has_source(self, path: str) -> bool:
        parts = path.split(".")
        return any(".".join(parts[:i]) in self.sources for i in range(1, len(parts) + 1))
