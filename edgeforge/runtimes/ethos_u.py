"""Arm Ethos-U NPU (Ethos-U55/U65/U85 beside a Cortex-M): int8 .tflite compiled by Vela, run by
TFLite Micro, whose `ethos-u` operator hands each compiled subgraph to the NPU.

What edgeforge does for an `ethos-u` target:

- **Compile.** The candidate's int8 .tflite goes through Arm's Vela compiler (`ethos-u-vela`, run as
  `python -m ethosu.vela` in a temporary directory) for the device's accelerator, system
  configuration and memory mode (`runtime_settings.ethos-u` of the preset, `EthosUSettings`).
  Vela's output is deterministic; compilations are cached in this process by model sha256 and
  settings, since `edgeforge profile`, the search and the export all ask for them.
- **Cost** (`device_costs`). Latency = Vela's cycle estimate for the NPU subgraphs at the NPU clock
  + each operator Vela leaves to the CPU, priced by the per-op latency model with the preset's
  `throughput.tflite-micro` figures (they run in TFLite Micro on the same Cortex-M) + one TFLite
  Micro operator dispatch (`op_overhead_us`) per NPU subgraph. RAM = Vela's SRAM (and DRAM) plan,
  `arena_source: vela`. Flash = the Vela-optimized model + TFLite Micro + the Ethos-U driver.
  Per-operator rows say where each operator runs and, on the NPU, its cycles (Vela's per-layer
  report, attributed to the operator whose output the layer computes); `cpu_ops` lists the
  operators that fell back to the CPU.
- **Accuracy** is measured on the int8 model in TFLite Micro (`accuracy_proxy`): Vela maps int8
  TFLite operators to the NPU without changing their int8 numerics (the model's quantization
  parameters are kept), and the compiled model cannot run without an NPU.
- **Export** (format `ethos_u`): `model_vela.tflite` plus `ethos_u/model_data.{h,cc}`, a C array of
  it for TFLite Micro. It cannot run here; parity records why and checks its structure instead.
"""

from __future__ import annotations

import configparser
import csv
import hashlib
import importlib.util
import json
import re
import subprocess
import sys
import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, field_validator

from edgeforge.errors import BuildError, ExportError, MissingDependencyError, UserError
from edgeforge.export.base import ExportContext, Exporter
from edgeforge.runtimes.base import CodeSize, NotRunnableHere, Runtime
from edgeforge.runtimes.tflite_micro import TFLM_CODE_SIZE, TfliteMicro

NAME = "ethos-u"
CUSTOM_CODE = "ethos-u"  # the custom operator Vela writes for each NPU subgraph
CPU_RUNTIME = TfliteMicro.name  # runs the operators Vela leaves to the CPU (and is the accuracy proxy)
VELA_SECTION = "edgeforge"  # the system-config and memory-mode sections of the generated vela.ini
VELA_TIMEOUT_S = 600
CACHE_ENTRIES = 64

# Ethos-U core driver (github.com/ARM-software/ethos-u-core-driver: ethosu_driver.c, the U55/U65 or
# U85 device file, PMU helpers). ESTIMATE: about 8 KB of Cortex-M code at -Os, from the size of those
# sources; Arm publishes no footprint. Measure the linked image (arm-none-eabi-size) for a budget.
DRIVER_CODE_BYTES = 8 * 1024
# TFLite Micro plus the driver; the `ethos-u` operator itself counts as one reference kernel.
ETHOS_U_CODE_SIZE = CodeSize(
    base_bytes=TFLM_CODE_SIZE.base_bytes + DRIVER_CODE_BYTES,
    kernel_bytes=TFLM_CODE_SIZE.kernel_bytes,
    optimized_kernel_bytes=TFLM_CODE_SIZE.optimized_kernel_bytes,
    source=f"{TFLM_CODE_SIZE.source}; plus the Ethos-U driver, ESTIMATE 8 KB (see DRIVER_CODE_BYTES)",
)

AcceleratorConfig = Literal[
    "ethos-u55-32", "ethos-u55-64", "ethos-u55-128", "ethos-u55-256", "ethos-u65-256", "ethos-u65-512",
    "ethos-u85-128", "ethos-u85-256", "ethos-u85-512", "ethos-u85-1024", "ethos-u85-2048",
]
VelaSection = str | dict[str, str | float | int]


class EthosUSettings(BaseModel):
    """How Vela compiles for one device (`runtime_settings.ethos-u` of a preset)."""

    model_config = ConfigDict(extra="forbid")

    accelerator_config: AcceleratorConfig = Field(description="the NPU and its MACs per cycle, as Vela names it")
    npu_clock_mhz: PositiveFloat = Field(description="NPU clock, MHz: Vela's cycles are converted to time with it")
    system_config: VelaSection = Field(
        "Ethos_U55_High_End_Embedded",
        description="Vela system configuration: a section name of Vela's Arm/vela.ini, or its keys "
        "(axi0_port, Sram_clock_scale, ...); core_clock is set from npu_clock_mhz",
    )
    memory_mode: VelaSection = Field(
        "Shared_Sram", description="Vela memory mode: a section name of Vela's Arm/vela.ini, or its keys"
    )
    optimise: Literal["Performance", "Size"] = Field("Performance", description="Vela's optimisation strategy")
    arena_cache_size_kb: PositiveFloat | None = Field(
        None, description="Vela's arena cache size (Dedicated_Sram memory modes), KiB"
    )

    @field_validator("system_config", "memory_mode")
    @classmethod
    def _check_section(cls, value: VelaSection, info) -> VelaSection:
        kind = "System_Config" if info.field_name == "system_config" else "Memory_Mode"
        if isinstance(value, dict):
            if "core_clock" in value:
                raise ValueError("core_clock comes from npu_clock_mhz; remove it from system_config")
            return value
        arm = _arm_vela_ini()
        if arm is not None and not arm.has_section(f"{kind}.{value}"):
            names = [s.split(".", 1)[1] for s in arm.sections() if s.startswith(kind + ".")]
            raise ValueError(f"'{value}' is not a {kind} of Vela's Arm/vela.ini; choose one of {', '.join(names)}")
        return value

    def cache_key(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True)


@dataclass(frozen=True)
class VelaCompilation:
    """What Vela produced for one model: the optimized .tflite and its performance report."""

    model_bytes: bytes  # the Vela-optimized .tflite
    summary: dict[str, str]  # Vela's summary CSV, one row
    layers: list[dict[str, str]]  # Vela's per-layer CSV rows, in execution order
    cpu_reasons: dict[str, str]  # output tensor name -> why Vela left that operator to the CPU
    vela_version: str


# --- export -----------------------------------------------------------------------------------


class EthosUExporter(Exporter):
    """`model_vela.tflite` and `ethos_u/model_data.{h,cc}`: the model TFLite Micro loads on the device."""

    name: ClassVar[str] = "ethos_u"

    def export(self, context: ExportContext, out_dir: Path) -> list[Path]:
        from edgeforge.cost.graph import read_graph
        from edgeforge.export.tflm_c import render_sources

        device = context.target.device
        if NAME not in device.runtimes:
            raise ExportError(
                f"format ethos_u needs a device with the {NAME} runtime; {device.name} has {', '.join(device.runtimes)}"
            )
        runtime = EthosU()
        reason = runtime.unsupported_reason(context.model_bytes)
        if reason:
            raise ExportError(f"format ethos_u: {reason}")
        compiled = compile_for_npu(context.model_bytes, runtime.device_settings(device))
        self._check_signature(context.model_bytes, compiled.model_bytes)
        vela_path = out_dir / "model_vela.tflite"
        vela_path.write_bytes(compiled.model_bytes)
        sram_bytes = round(_number(compiled.summary, "sram_memory_used") * 1024)
        header, source = render_sources(compiled.model_bytes, _resolver_op_types(read_graph(compiled.model_bytes)), sram_bytes)
        header = header.replace("by the TFLite Micro allocator", "by Vela (the NPU's SRAM plan)")
        folder = out_dir / "ethos_u"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "model_data.h").write_text(header, encoding="utf-8")
        (folder / "model_data.cc").write_text(source, encoding="utf-8")
        return [vela_path, folder / "model_data.h", folder / "model_data.cc"]

    def runner(self, paths: list[Path], context: ExportContext):
        raise NotRunnableHere(
            "the Vela-optimized model needs an Ethos-U NPU (TFLite Micro here has no NPU for its ethos-u "
            f"operator); accuracy was measured on the int8 model it was compiled from, in {CPU_RUNTIME}, "
            "whose int8 numerics Vela keeps"
        )

    def structure(self, paths: list[Path], context: ExportContext) -> dict:
        """The compiled model's operators, and that its inputs and outputs are the int8 model's."""
        from edgeforge.cost.graph import read_graph

        vela_bytes = next(path for path in paths if path.name == "model_vela.tflite").read_bytes()
        vela_graph = read_graph(vela_bytes)
        return {
            "structure": {
                "ethos_u_ops": sum(1 for op in vela_graph.operators if _on_npu(op)),
                "cpu_ops": [op.type for op in vela_graph.operators if not _on_npu(op)],
                "signature_matches": _signature(read_graph(context.model_bytes)) == _signature(vela_graph),
                "bytes": len(vela_bytes),
            }
        }

    @staticmethod
    def _check_signature(model_bytes: bytes, vela_bytes: bytes) -> None:
        from edgeforge.cost.graph import read_graph

        expected, actual = _signature(read_graph(model_bytes)), _signature(read_graph(vela_bytes))
        if expected != actual:
            raise ExportError(f"Vela changed the model's inputs/outputs from {expected} to {actual}")


def _on_npu(op) -> bool:
    """Whether an operator of a Vela-compiled graph is a subgraph Vela compiled for the NPU."""
    return op.type == "CUSTOM" and op.custom_code == CUSTOM_CODE


def _signature(graph) -> list[tuple]:
    """(shape without batch, dtype) of each input and output."""
    return [
        (tuple(graph.tensors[i].shape[1:]), graph.tensors[i].dtype) for i in (*graph.inputs, *graph.outputs)
    ]


class EthosU(Runtime):
    name: ClassVar[str] = NAME
    artifact: ClassVar[str] = "tflite"  # Vela compiles the candidate's int8 .tflite
    formats: ClassVar[tuple[str, ...]] = ("ethos_u",)
    quantization_modes: ClassVar[tuple[str, ...]] = ("int8",)
    # The compiled model needs the NPU; the int8 model it came from runs in TFLite Micro with the
    # same int8 numerics (see the module docstring).
    accuracy_proxy: ClassVar[str | None] = CPU_RUNTIME
    bundle_file: ClassVar[str] = "model_vela.tflite"
    packages: ClassVar[tuple[str, ...]] = ("ethos-u-vela",)
    code_sizes: ClassVar[dict[str, CodeSize]] = {"*": ETHOS_U_CODE_SIZE}
    needs_throughput: ClassVar[bool] = False  # latency from Vela; CPU fallback from throughput.tflite-micro
    DeviceSettings: ClassVar[type | None] = EthosUSettings
    exporters: ClassVar[tuple[type, ...]] = (EthosUExporter,)

    def unsupported_reason(self, model_bytes: bytes) -> str | None:
        from edgeforge.cost.graph import read_graph
        from edgeforge.cost.macs import op_costs

        for cost in op_costs(read_graph(model_bytes)):
            if cost.type not in ("QUANTIZE", "DEQUANTIZE") and cost.dtype not in ("int8", "uint8"):
                return (
                    f"{cost.type} #{cost.index} computes in {cost.dtype}, and the Ethos-U NPU runs int8 models "
                    "compiled by Vela; convert the model with int8 quantization (quantization: [int8])"
                )
        return None

    def measures_arena(self) -> bool:
        return True  # Vela plans the NPU's SRAM itself

    def device_costs(self, model_bytes: bytes, device: Any) -> dict:
        """Vela's latency, SRAM and flash for the model on `device` (see the module docstring)."""
        reason = self.unsupported_reason(model_bytes)
        if reason:
            raise UserError(f"runtime {NAME} cannot run this model: {reason}, or use the device's CPU runtime ({CPU_RUNTIME})")
        settings = self.device_settings(device)
        return npu_costs(model_bytes, compile_for_npu(model_bytes, settings), device, settings)

    def predicted_costs(self, model_bytes: bytes, device: Any) -> dict:
        """Vela's figures for the pre-filter too: compiling takes about a second, and the per-op
        CPU latency model knows nothing of the NPU."""
        return self.device_costs(model_bytes, device)

    def check_device(self, device: Any) -> list[str]:
        problems = super().check_device(device)
        if CPU_RUNTIME not in device.throughput:
            problems.append(
                f"runtime {NAME} prices the operators Vela leaves to the CPU with throughput.{CPU_RUNTIME}; add it"
            )
        return problems


# --- compiling --------------------------------------------------------------------------------

_compiled: OrderedDict[tuple[str, str], VelaCompilation] = OrderedDict()


def compile_for_npu(model_bytes: bytes, settings: EthosUSettings) -> VelaCompilation:
    """Vela's compilation of an int8 .tflite for `settings` (cached in this process)."""
    key = (hashlib.sha256(model_bytes).hexdigest(), settings.cache_key())
    if key in _compiled:
        _compiled.move_to_end(key)
        return _compiled[key]
    compilation = _run_vela(model_bytes, settings)
    _compiled[key] = compilation
    while len(_compiled) > CACHE_ENTRIES:
        _compiled.popitem(last=False)
    return compilation


def vela_config_text(settings: EthosUSettings) -> str:
    """The vela.ini edgeforge compiles with: the preset's system config and memory mode, resolved."""
    system = _vela_section("System_Config", settings.system_config)
    system["core_clock"] = f"{settings.npu_clock_mhz * 1e6:.0f}"
    memory = _vela_section("Memory_Mode", settings.memory_mode)
    if settings.arena_cache_size_kb is not None:
        memory["arena_cache_size"] = str(round(settings.arena_cache_size_kb * 1024))
    lines = [f"; generated by edgeforge for Vela: accelerator {settings.accelerator_config}"]
    for kind, keys in (("System_Config", system), ("Memory_Mode", memory)):
        lines += ["", f"[{kind}.{VELA_SECTION}]", *(f"{key}={value}" for key, value in keys.items())]
    return "\n".join(lines) + "\n"


def _run_vela(model_bytes: bytes, settings: EthosUSettings) -> VelaCompilation:
    _vela_package_dir()  # MissingDependencyError before anything runs
    with tempfile.TemporaryDirectory(prefix="edgeforge-vela-") as tmp:
        work = Path(tmp)
        (work / "model.tflite").write_bytes(model_bytes)
        (work / "vela.ini").write_text(vela_config_text(settings), encoding="utf-8")
        command = [
            sys.executable, "-m", "ethosu.vela", "model.tflite",
            "--accelerator-config", settings.accelerator_config,
            "--config", str(work / "vela.ini"),  # Vela looks a relative path up in its own config folder
            "--system-config", VELA_SECTION, "--memory-mode", VELA_SECTION,
            "--optimise", settings.optimise,
            "--output-dir", "out", "--verbose-performance",
        ]
        try:
            result = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=VELA_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise BuildError(f"Vela did not finish compiling the model within {VELA_TIMEOUT_S} s") from None
        log = result.stdout + result.stderr
        optimized = work / "out" / "model_vela.tflite"
        summaries = sorted((work / "out").glob("model_summary_*.csv"))
        if result.returncode != 0 or not optimized.is_file() or not summaries:
            raise BuildError(f"Vela could not compile the model for {settings.accelerator_config}: {_vela_error(log)}")
        layers_csv = work / "out" / "model_per-layer.csv"
        return VelaCompilation(
            model_bytes=optimized.read_bytes(),
            summary=_read_csv(summaries[0])[0],
            layers=_read_csv(layers_csv) if layers_csv.is_file() else [],
            cpu_reasons=_cpu_reasons(log),
            vela_version=_vela_version(),
        )


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [{key.strip(): (value or "").strip() for key, value in row.items() if key} for row in csv.DictReader(handle)]
    if not rows:
        raise BuildError(f"Vela wrote an empty report ({path.name})")
    return rows


def _vela_error(log: str) -> str:
    lines = [line.strip() for line in log.splitlines() if line.strip() and "dynamic signature" not in line]
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or ["no output"])[-1]


# "Warning (supported operators) operator: DEPTH_TO_SPACE, ofm: 'model/lambda/DepthToSpace'" then,
# on the next line, "Reason: Unsupported opType". Best effort: the reason is informative only.
_CPU_WARNING = re.compile(r"operator: (\w+), ofm: '([^']*)'\s*\n\s*Reason: ([^\n]+)")


def _cpu_reasons(log: str) -> dict[str, str]:
    return {ofm: reason.strip() for _, ofm, reason in _CPU_WARNING.findall(log)}


def _vela_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ethos-u-vela")
    except PackageNotFoundError:  # pragma: no cover - a core dependency
        return "unknown"


def _vela_package_dir() -> Path:
    spec = importlib.util.find_spec("ethosu")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError("ethos-u-vela")
    return Path(list(spec.submodule_search_locations)[0])


def _arm_vela_ini() -> configparser.ConfigParser | None:
    """Vela's own Arm/vela.ini (named system configs and memory modes), or None without Vela."""
    try:
        path = _vela_package_dir() / "config_files" / "Arm" / "vela.ini"
    except MissingDependencyError:
        return None
    parser = configparser.ConfigParser()
    parser.optionxform = str  # keep Vela's key spelling (Sram_clock_scale)
    parser.read(path, encoding="utf-8")
    return parser


def _vela_section(kind: str, value: VelaSection) -> dict[str, str]:
    """The keys of a named Arm/vela.ini section (its `inherit` chain resolved), or the given keys."""
    if isinstance(value, dict):
        return {key: str(item) for key, item in value.items()}
    arm = _arm_vela_ini()
    if arm is None:
        raise MissingDependencyError("ethos-u-vela")
    keys: dict[str, str] = {}
    section = f"{kind}.{value}"
    chain = []
    while section and section not in chain:
        chain.append(section)
        section = arm.get(section, "inherit", fallback=None)
    for name in reversed(chain):  # the inheriting section's own keys win, as in Vela
        keys.update({key: item for key, item in arm.items(name, raw=True) if key != "inherit"})
    return keys


# --- costs ------------------------------------------------------------------------------------


def npu_costs(model_bytes: bytes, compiled: VelaCompilation, device: Any, settings: EthosUSettings) -> dict:
    """`Runtime.device_costs` figures from a Vela compilation of the model (a JSON-ready dict)."""
    from edgeforge.cost.graph import read_graph
    from edgeforge.cost.latency import predict_op_latency_ms
    from edgeforge.cost.macs import op_costs

    graph = read_graph(model_bytes)
    costs = op_costs(graph)
    vela_graph = read_graph(compiled.model_bytes)
    output_name = {op.index: graph.tensors[op.outputs[0]].name for op in graph.operators if op.outputs}
    npu_subgraphs = sum(1 for op in vela_graph.operators if _on_npu(op))
    on_cpu = {vela_graph.tensors[i].name for op in vela_graph.operators if not _on_npu(op) for i in op.outputs if i >= 0}
    cycles = _cycles_per_op(compiled.layers, {name: index for index, name in output_name.items()})
    npu_hz = settings.npu_clock_mhz * 1e6
    ops, cpu_ops = [], []
    for cost in costs:
        row = {
            "index": cost.index, "type": cost.type, "dtype": cost.dtype, "macs": cost.macs,
            "params": cost.params, "output_bytes": cost.output_bytes,
        }
        if output_name.get(cost.index) in on_cpu:
            latency_ms = predict_op_latency_ms(cost.type, cost.dtype, cost.macs, cost.output_elements, device, CPU_RUNTIME)
            row.update(latency_ms=round(latency_ms, 6), target="cpu")
            why = compiled.cpu_reasons.get(output_name[cost.index])
            fallback = {"index": cost.index, "type": cost.type, "latency_ms": row["latency_ms"]}
            cpu_ops.append({**fallback, "reason": why} if why else fallback)
        else:
            op_cycles = cycles.get(cost.index, 0)
            row.update(latency_ms=round(op_cycles / npu_hz * 1e3, 6), target="npu", npu_cycles=op_cycles)
        ops.append(row)

    summary = compiled.summary
    npu_cycles = int(_number(summary, "cycles_total"))
    npu_ms = npu_cycles / npu_hz * 1e3
    cpu_ms = sum((op["latency_ms"] for op in cpu_ops), 0.0)
    dispatch_ms = npu_subgraphs * device.throughput[CPU_RUNTIME].op_overhead_us / 1e3
    sram_bytes = round(_number(summary, "sram_memory_used") * 1024)
    dram_bytes = round(_number(summary, "dram_memory_used", 0.0) * 1024)
    code_bytes = EthosU().code_bytes(_resolver_op_types(vela_graph), device.arch)
    return {
        "latency_ms": round(npu_ms + cpu_ms + dispatch_ms, 6),
        "arena_bytes": sram_bytes + dram_bytes,
        "arena_source": "vela",
        "flash_bytes": len(compiled.model_bytes) + code_bytes,
        "ops": ops,
        "cpu_ops": cpu_ops,
        "npu": {
            "compiler": f"vela {compiled.vela_version}",
            "accelerator_config": settings.accelerator_config,
            "npu_clock_mhz": settings.npu_clock_mhz,
            "system_config": settings.system_config if isinstance(settings.system_config, str) else "(preset's own)",
            "memory_mode": settings.memory_mode if isinstance(settings.memory_mode, str) else "(preset's own)",
            "npu_subgraphs": npu_subgraphs,
            "npu_ops": sum(1 for op in ops if op["target"] == "npu"),
            "cpu_ops": len(cpu_ops),
            "cycles_total": npu_cycles,
            "cycles_npu": int(_number(summary, "cycles_npu", npu_cycles)),
            "npu_latency_ms": round(npu_ms, 6),
            "cpu_latency_ms": round(cpu_ms, 6),
            "dispatch_latency_ms": round(dispatch_ms, 6),
            "sram_bytes": sram_bytes,
            "dram_bytes": dram_bytes,
            "off_chip_flash_bytes": round(_number(summary, "off_chip_flash_memory_used", 0.0) * 1024),
            "vela_model_bytes": len(compiled.model_bytes),
            "code_bytes": code_bytes,
        },
        "notes": [
            "accuracy is measured on the int8 model in TFLite Micro: Vela maps int8 TFLite operators to the NPU "
            "without changing their int8 numerics",
            f"latency = Vela's {npu_cycles:,} NPU cycles at {settings.npu_clock_mhz:g} MHz"
            f" + {len(cpu_ops)} CPU-fallback op(s) priced with throughput.{CPU_RUNTIME} at {device.clock_mhz:g} MHz"
            f" + {npu_subgraphs} NPU dispatch(es) of {device.throughput[CPU_RUNTIME].op_overhead_us:g} us",
            "arena = Vela's SRAM plan of the NPU's feature maps; TFLite Micro's own structures come on top",
        ],
    }


def _cycles_per_op(layers: list[dict[str, str]], op_of_output: dict[str, int]) -> dict[int, int]:
    """NPU cycles per original operator: Vela's per-layer rows, each given to the operator whose
    output the row (or the next named row) computes; a lowered operator (a softmax becomes ~26
    elementwise layers) ends with the layer that writes its output tensor."""
    cycles: dict[int, int] = {}
    pending = 0
    for layer in layers:
        pending += int(_number(layer, "Op Cycles", 0.0))
        index = op_of_output.get(layer.get("Name", ""))
        if index is not None:
            cycles[index] = cycles.get(index, 0) + pending
            pending = 0
    if pending and cycles:  # trailing layers with no named output: the last operator seen
        last = max(cycles)
        cycles[last] += pending
    return cycles


def _number(row: dict[str, str], key: str, default: float | None = None) -> float:
    value = row.get(key, "")
    try:
        return float(value)
    except ValueError:
        if default is not None:
            return default
        raise BuildError(
            f"Vela's report has no number '{key}' (got {value!r}); is ethos-u-vela {_vela_version()} supported?"
        ) from None


def _resolver_op_types(vela_graph) -> list[str]:
    """Operator types of the compiled model as TFLite Micro registers them (ETHOS_U -> AddEthosU)."""
    return list(dict.fromkeys("ETHOS_U" if _on_npu(op) else op.type for op in vela_graph.operators))
