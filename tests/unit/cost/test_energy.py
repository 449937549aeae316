"""Energy per inference and average power at a duty cycle."""

from __future__ import annotations

import pytest

from edgeforge.cost.energy import avg_power_mw, energy_mj
from edgeforge.errors import UserError
from edgeforge.spec.device import Device


@pytest.fixture
def device() -> Device:
    return Device.model_validate({
        "name": "test_board", "class": "mcu", "cpu": "test core", "arch": "armv7e-m",
        "clock_mhz": 100, "ram_kb": 256, "flash_kb": 1024, "runtimes": ["tflite-micro"],
        "power": {"active_mw": 50, "idle_mw": 2},
        "throughput": {"tflite-micro": {"macs_per_cycle": {"int8": 0.5}, "op_overhead_us": 10}},
        "sources": {"clock_mhz": "test", "ram_kb": "test", "flash_kb": "test", "power": "test", "throughput": "test"},
    })


def test_energy_is_latency_times_active_power(device):
    assert energy_mj(20.0, device) == pytest.approx(1.0)  # 20 ms at 50 mW


def test_energy_of_zero_latency_is_zero(device):
    assert energy_mj(0.0, device) == 0.0


def test_avg_power_weights_active_and_idle_by_duty_cycle(device):
    # 10 ms every 100 ms: 10% at 50 mW, 90% at 2 mW
    assert avg_power_mw(10.0, device, inference_hz=10) == pytest.approx(0.1 * 50 + 0.9 * 2)


def test_avg_power_is_idle_power_as_the_rate_goes_to_zero(device):
    assert avg_power_mw(10.0, device, inference_hz=1e-6) == pytest.approx(2, rel=1e-6)


def test_avg_power_caps_duty_at_one_when_latency_exceeds_the_period(device):
    # 200 ms inferences requested 10 times a second: the device never idles
    assert avg_power_mw(200.0, device, inference_hz=10) == pytest.approx(50)


@pytest.mark.parametrize("rate", [0, -1.5])
def test_avg_power_rejects_non_positive_rate(device, rate):
    with pytest.raises(UserError, match="inference_hz must be positive"):
        avg_power_mw(10.0, device, inference_hz=rate)


def test_negative_latency_is_a_user_error(device):
    with pytest.raises(UserError, match="latency_ms"):
        energy_mj(-1.0, device)


def test_energy_upper_bound_carries_the_latency_error(device):
    from edgeforge.cost.energy import energy_upper_bound_mj

    assert energy_upper_bound_mj(10.0, device, 0.25) == pytest.approx(1.25 * energy_mj(10.0, device))
    assert energy_upper_bound_mj(10.0, device, None) == pytest.approx(energy_mj(10.0, device))
