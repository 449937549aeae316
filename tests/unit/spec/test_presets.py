"""Every device preset validates, the required ones exist, and every number has a source."""

from __future__ import annotations

import pytest
import yaml

from edgeforge.spec.device import Device
from edgeforge.spec.presets import preset_dir, preset_names
from tests.conftest import REPO

SPECS = REPO / "specs"
REQUIRED = {
    "stm32f746_disco", "nucleo_l4r5zi", "nucleo_h7a3zi", "nucleo_u575zi", "esp32_s3", "arduino_nano_33_ble",
    "nrf5340_dk", "raspberry_pi_pico", "raspberry_pi_4", "raspberry_pi_5", "jetson_orin_nano", "iphone_15_pro",
    "pixel_8", "x86_host",
}
RUNTIMES = {
    "raspberry_pi_4": ["tflite", "onnxruntime"],
    "raspberry_pi_5": ["tflite", "onnxruntime"],
    "jetson_orin_nano": ["tensorrt", "onnxruntime", "tflite"],
    "iphone_15_pro": ["coreml", "tflite"],
    "pixel_8": ["tflite"],
    "x86_host": ["tflite", "onnxruntime"],
}
NAMES = preset_names(SPECS)


def load(name: str) -> Device:
    return Device.model_validate(yaml.safe_load((preset_dir(SPECS) / f"{name}.yaml").read_text()))


def test_every_required_preset_exists():
    assert REQUIRED <= set(NAMES)


def test_an_int8_only_preset_exists():
    assert any(load(name).int8_only for name in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_preset_validates_and_is_named_after_its_file(name):
    assert load(name).name == name


@pytest.mark.parametrize("name", NAMES)
def test_preset_starts_with_a_one_line_comment(name):
    first, second = (preset_dir(SPECS) / f"{name}.yaml").read_text().splitlines()[:2]
    assert first.startswith("# ") and not second.startswith("#")


@pytest.mark.parametrize("name", NAMES)
def test_every_number_has_a_real_source(name):
    device = load(name)
    for path in device.numeric_fields():
        source = next(device.sources[key] for key in _prefixes(path) if key in device.sources)
        assert source.strip() and "PLACEHOLDER" not in source.upper(), f"{name}: {path}"


@pytest.mark.parametrize("name", NAMES)
def test_every_source_key_names_a_field(name):
    device = load(name)
    paths = device.numeric_fields() + ["int8_only"]
    for key in device.sources:
        assert any(path == key or path.startswith(key + ".") for path in paths), f"{name}: stray source '{key}'"


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_runtimes_match_the_device_class(name):
    device = load(name)
    expected = ["tflite-micro"] if device.device_class == "mcu" else RUNTIMES[name]
    assert device.runtimes == expected


@pytest.mark.parametrize("name", NAMES)
def test_int8_is_the_fastest_integer_path(name):
    for runtime, figures in load(name).throughput.items():
        rates = figures.macs_per_cycle
        assert "int8" in rates, f"{name}/{runtime}"
        assert rates.get("int16", 0) <= rates["int8"], f"{name}/{runtime}"


def _prefixes(path: str) -> list[str]:
    parts = path.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]
