"""Nothing silently accepted: NaN, infinity, 64-bit overflow, empty or blank strings and broken
YAML are refused everywhere in specs and presets, each with one line naming the file and key."""

from __future__ import annotations

import pytest

from edgeforge.cli import main
from edgeforge.errors import SpecError
from edgeforge.spec import compose_spec
from edgeforge.spec.presets import load_preset

PRESET = "specs/device/stm32f746_disco.yaml"


def problems_of(overrides=()) -> str:
    with pytest.raises(SpecError) as raised:
        compose_spec("specs", list(overrides))
    return str(raised.value)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.learning_rate=inf", "train.learning_rate: input should be a finite number"),
        ("train.learning_rate=nan", "train.learning_rate: input should be a finite number"),
        ("targets.mcu.constraints.latency_ms=inf", "targets.mcu.constraints.latency_ms: input should be a finite number"),
        ("targets.mcu.constraints.min_accuracy=nan", "targets.mcu.constraints.min_accuracy: input should be a finite number"),
        ("targets.mcu.device.clock_mhz=inf", "targets.mcu.device.clock_mhz: input should be a finite number"),
        ("train.epochs=100000000000000000000000", "train.epochs: 100000000000000000000000 is too large"),
        ("project.seed=-1", "project.seed: input should be greater than or equal to 0"),
        ("project.seed=4294967296", "project.seed: input should be less than 4294967296"),
        ("project.name=''", "project.name: string should have at least 1 character"),
        ("targets.mcu.device.sources.clock_mhz=''", "targets.mcu.device.sources.clock_mhz: string should have at least 1 character"),
        ("targets.mcu.device.sources.clock_mhz='  '", "targets.mcu.device.sources: blank string at clock_mhz"),
    ],
)
def test_spec_refuses_non_finite_huge_and_empty_values(tmp_project, override, message):
    assert message in problems_of([override])


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("clock_mhz: 216", "clock_mhz: .inf"), "clock_mhz: Input should be a finite number"),
        (("ram_kb: 320", "ram_kb: .nan"), "ram_kb: Input should be a finite number"),
        (("active_mw: 330", "active_mw: .inf"), "power.active_mw: Input should be a finite number"),
        (("sources:", "runtime_settings:\n  tflite-micro: {arena_margin: .nan}\nsources:\n  runtime_settings: cited"),
         "runtime_settings: nan at tflite-micro.arena_margin is not a finite number"),
        (('  ram_kb: "STM32F746NG', '  ram_kb: ""\n  ram_kb_unused: "STM32F746NG'), "sources.ram_kb: String should have at least 1 character"),
        (("name: stm32f746_disco", "name: ''"), "name: String should have at least 1 character"),
    ],
    ids=["inf-clock", "nan-ram", "inf-power", "nan-in-runtime-settings", "empty-source", "empty-name"],
)
def test_preset_refuses_non_finite_and_empty_values(tmp_project, edit, message):
    path = tmp_project / PRESET
    text = path.read_text()
    assert edit[0] in text
    path.write_text(text.replace(edit[0], edit[1], 1))
    with pytest.raises(SpecError) as raised:
        load_preset("stm32f746_disco")
    assert message in str(raised.value) and str(raised.value).startswith(str(path.relative_to(tmp_project)))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name: x\n bad: [\n", "stm32f746_disco.yaml:2:5: invalid YAML: mapping values are not allowed here"),
        (b"\x89PNG\r\n\x1a\n\xff\xfe", "stm32f746_disco.yaml: not UTF-8 text"),
        (b"- a list\n", "a device preset is a mapping of keys"),
    ],
    ids=["syntax", "binary", "not-a-mapping"],
)
def test_a_preset_yaml_cannot_read_is_one_line_naming_the_file(tmp_project, capsys, content, message):
    (tmp_project / PRESET).write_bytes(content)
    assert main(["devices"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("project: {name: x\n", "specs/config.yaml:2:1: invalid YAML"),
        ("project:\n\tname: x\n", "specs/config.yaml:2:1: invalid YAML: found character '\\t'"),
    ],
    ids=["unclosed", "tab"],
)
def test_a_spec_yaml_cannot_read_is_one_line_with_file_line_and_column(tmp_project, capsys, content, message):
    (tmp_project / "specs/config.yaml").write_text(content)
    assert main(["validate"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_a_binary_spec_file_is_named(tmp_project, capsys):
    (tmp_project / "specs/config.yaml").write_bytes(b"\xff\xfe\x00\x01 not yaml")
    assert main(["validate"]) == 2
    assert "specs/config.yaml: not UTF-8 text" in capsys.readouterr().err


def test_garbage_params_file_is_one_line_and_says_to_compose(tmp_project, capsys):
    (tmp_project / "params.yaml").write_text("{{{")
    assert main(["stage", "prepare"]) == 2
    err = capsys.readouterr().err
    assert "params.yaml:" in err and "invalid YAML" in err and "edgeforge compose" in err
    assert len(err.strip().splitlines()) == 1
