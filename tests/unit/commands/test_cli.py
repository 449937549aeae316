"""The CLI contract: exit codes, one-line errors without tracebacks, JSON outputs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from edgeforge.cli import main
from tests.conftest import REPO

REQUIRED_PRESETS = {
    "stm32f746_disco", "nucleo_l4r5zi", "nucleo_h7a3zi", "nucleo_u575zi", "esp32_s3", "arduino_nano_33_ble",
    "nrf5340_dk", "raspberry_pi_pico", "raspberry_pi_4", "raspberry_pi_5", "jetson_orin_nano",
    "iphone_15_pro", "pixel_8", "x86_host",
}


def test_validate_exits_0_on_repo_specs(tmp_project, capsys):
    assert main(["validate"]) == 0
    assert "is valid" in capsys.readouterr().out


def test_validate_exits_2_with_one_line_error_on_misspelt_key(tmp_project, capsys):
    tmp_project.edit("specs/config.yaml", {"targets.mcu.constraints.ram_kbb": 64})
    assert main(["validate"]) == 2
    err = capsys.readouterr().err
    assert "specs/config.yaml: targets.mcu.constraints.ram_kbb: unknown key; did you mean 'ram_kb'?" in err
    assert "Traceback" not in err


def test_compose_check_exits_1_when_params_stale(tmp_project, capsys):
    assert main(["compose"]) == 0
    assert main(["compose", "--check"]) == 0
    tmp_project.edit("specs/config.yaml", {"targets.mcu.constraints.latency_ms": 2})
    assert main(["compose", "--check"]) == 1
    assert "params.yaml is stale" in capsys.readouterr().err


def test_compose_check_exits_1_when_params_missing(tmp_project):
    assert main(["compose", "--check"]) == 1


def test_compose_with_override_writes_it(tmp_project):
    assert main(["compose", "targets.mcu.constraints.ram_kb=128"]) == 0
    assert "ram_kb: 128" in (tmp_project / "params.yaml").read_text()


def test_schema_is_json_schema_with_descriptions(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "Spec"
    assert "targets" in schema["properties"]
    assert schema["$defs"]["Constraints"]["properties"]["ram_kb"]["description"]


def test_devices_json_lists_required_presets_with_sources(tmp_project, capsys):
    assert main(["devices", "--json"]) == 0
    devices = json.loads(capsys.readouterr().out)
    names = {device["name"] for device in devices}
    assert REQUIRED_PRESETS <= names
    for device in devices:
        assert {"name", "class", "cpu", "clock_mhz", "ram_kb", "flash_kb", "runtimes", "sources"} <= set(device)
        assert device["sources"], device["name"]


def test_devices_table_names_every_preset(tmp_project, capsys):
    assert main(["devices"]) == 0
    out = capsys.readouterr().out
    for name in REQUIRED_PRESETS:
        assert name in out


def test_help_does_not_import_tensorflow():
    code = "import sys; from edgeforge.cli import main\ntry:\n main(['--help'])\nexcept SystemExit: pass\nprint('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().endswith("False")


def test_a_command_line_naming_a_command_imports_that_command_alone():
    # each dvc stage is an `edgeforge stage ...` process: the other commands' imports are waste there
    code = (
        "import sys; from edgeforge.cli import build_parser\n"
        "build_parser(sys.argv[1:]).parse_args(sys.argv[1:])\n"
        "print(sorted(m for m in sys.modules if m.startswith('edgeforge.commands.')))"
    )
    result = subprocess.run([sys.executable, "-c", code, "-v", "stage", "select", "--target", "mcu"],
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "['edgeforge.commands.stage']"


@pytest.mark.parametrize("argv", [["--help"], ["--help", "stage"], ["stag"]])
def test_help_and_a_misspelt_command_list_every_command(argv, capsys):
    from edgeforge.cli import COMMANDS

    with pytest.raises(SystemExit):
        main(argv)
    out = capsys.readouterr()
    assert all(name in out.out + out.err for name in COMMANDS)


@pytest.mark.parametrize("argv", [["validate"], ["compose"], ["devices"]])
def test_user_errors_exit_2_outside_a_project(tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "device").mkdir()
    (tmp_path / "specs" / "device" / "broken.yaml").write_text("name: broken\nclass: mcu\n")
    assert main(argv) == 2


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert "edgeforge 0." in capsys.readouterr().out


@pytest.mark.parametrize("command", ["validate", "devices"])
def test_light_commands_do_not_import_tensorflow(tmp_project, command):
    code = f"import sys; from edgeforge.cli import main\nassert main([{command!r}]) == 0\nprint('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().endswith("False")


def test_the_committed_params_yaml_is_composed_from_the_committed_specs(monkeypatch, capsys):
    """`make demo` starts with `edgeforge compose --check`: an edit to specs/ (a device preset's
    re-fitted throughput) must come with its recomposed params.yaml."""
    monkeypatch.chdir(REPO)
    assert main(["compose", "--check"]) == 0, capsys.readouterr()
