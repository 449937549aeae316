"""Energy per inference and average power at a duty cycle, from a device's power figures.

The presets give two numbers (specs/device/<name>.yaml, `power`): `active_mw` while an inference
runs and `idle_mw` between inferences (the sleep state an always-on application would use).

Error bars: energy is latency times a fixed power, so a predicted energy carries the latency's
relative error (`energy_error` = `latency_error`, see edgeforge.cost.latency.latency_fields); the
power figures themselves have no error estimate. `benchmarks/latency_model.py` checks predicted
energy against published energy per inference where a held-out point has one (MLPerf Tiny v0.5).
"""

from __future__ import annotations

from edgeforge.errors import UserError
from edgeforge.spec.device import Device


def energy_mj(latency_ms: float, device: Device) -> float:
    """Energy of one inference in millijoules: latency × active power."""
    _check_latency(latency_ms)
    return latency_ms * device.power.active_mw / 1000


def avg_power_mw(latency_ms: float, device: Device, inference_hz: float) -> float:
    """Average power in mW when running `inference_hz` inferences per second, idling in between.

    The duty cycle is latency × rate. If one inference takes longer than the period
    (latency_ms > 1000 / inference_hz) the device can never idle: the duty cycle is capped at 1
    and the result is the active power (the requested rate is then not achievable).
    """
    _check_latency(latency_ms)
    if inference_hz <= 0:
        raise UserError(f"inference_hz must be positive, got {inference_hz}")
    duty = min(1.0, latency_ms * inference_hz / 1000)
    return duty * device.power.active_mw + (1 - duty) * device.power.idle_mw


def _check_latency(latency_ms: float) -> None:
    if latency_ms < 0:
        raise UserError(f"latency_ms must not be negative, got {latency_ms}")


def energy_upper_bound_mj(latency_ms: float, device: Device, error: float | None) -> float:
    """The conservative energy of one inference: energy × (1 + the latency's relative error)."""
    return energy_mj(latency_ms, device) * (1 + (error or 0.0))
