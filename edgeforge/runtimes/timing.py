"""Latency measured in a real runtime on the build machine, for devices that *are* this machine.

A preset of class `host` (x86_host) describes the build machine itself, so the runtimes that run
here (LiteRT, ONNX Runtime) time the model instead of predicting it: WARMUP invokes first
(allocation, caches, XNNPACK's weight packing), then REPEATS timed invokes; the latency is their
median and the spread half the range between the 10th and 90th percentiles. The result names the
machine (`machine_fingerprint`): measurements are memoized per model and machine, and never enter
files that must rebuild byte for byte (see edgeforge.cost.latency.reproducible_metrics).
"""

from __future__ import annotations

import hashlib
import platform
import statistics
import time
from collections.abc import Callable
from functools import cache
from typing import Any

WARMUP = 5
REPEATS = 30
MIN_SECONDS = 0.2  # time at least this long, so a sub-millisecond model gets enough repeats
MAX_REPEATS = 2000

# platform.machine() spellings of the `arch` a preset writes
_ARCH_ALIASES = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64"}


def is_this_machine(device: Any) -> bool:
    """Whether `device` is the build machine: a `host` preset of this machine's instruction set."""
    return device.device_class == "host" and device.arch == _ARCH_ALIASES.get(platform.machine().lower(), platform.machine().lower())


@cache
def machine_fingerprint() -> str:
    """A short id of this machine's CPU model, core count and instruction set (not of its load)."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), cpu)
    except OSError:
        pass
    import os

    described = f"{platform.machine()}|{cpu}|{os.cpu_count()}"
    return f"{cpu or platform.machine()} x{os.cpu_count()} ({hashlib.sha256(described.encode()).hexdigest()[:12]})"


def measure_latency(invoke: Callable[[], object], *, warmup: int = WARMUP, repeats: int = REPEATS) -> dict:
    """Time `invoke` (one inference): {latency_ms (median), latency_spread_ms, latency_repeats,
    latency_source: measured, latency_machine}."""
    for _ in range(warmup):
        invoke()
    samples: list[float] = []
    started = time.perf_counter()
    while len(samples) < MAX_REPEATS and (len(samples) < repeats or time.perf_counter() - started < MIN_SECONDS):
        start = time.perf_counter()
        invoke()
        samples.append((time.perf_counter() - start) * 1e3)
    deciles = statistics.quantiles(samples, n=10)
    return {
        "latency_ms": round(statistics.median(samples), 6),
        "latency_spread_ms": round((deciles[-1] - deciles[0]) / 2, 6),
        "latency_repeats": len(samples),
        "latency_source": "measured",
        "latency_machine": machine_fingerprint(),
    }
