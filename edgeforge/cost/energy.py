"""Energy per inference and average power at a duty cycle, from a device's power figures.

The presets give two numbers (specs/device/<name>.yaml, `power`): `active_mw` while an inference
runs and `idle_mw` between inferences (the sleep state an always-on application would use).
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
