from __future__ import annotations

import yaml

from edgeforge.spec.compose import compose, params_are_current, render_params, write_params


def test_compose_writes_params_equal_to_what_dvc_hydra_writes(tmp_project):
    from dvc.utils.hydra import compose_and_dump

    composition = compose("specs")
    write_params(composition.config, "params.yaml")
    compose_and_dump("dvc_params.yaml", str(tmp_project / "specs"), None, "config", str(tmp_project), [])
    assert (tmp_project / "params.yaml").read_text() == (tmp_project / "dvc_params.yaml").read_text()


def test_compose_applies_package_override_for_device(tmp_project):
    composition = compose("specs", ["device@targets.sbc.device=stm32f746_disco"])
    assert composition.config["targets"]["sbc"]["device"]["name"] == "stm32f746_disco"
    assert composition.choices["device@targets.sbc.device"] == "stm32f746_disco"


def test_compose_applies_value_override(tmp_project):
    composition = compose("specs", ["targets.mcu.constraints.ram_kb=128"])
    assert composition.config["targets"]["mcu"]["constraints"]["ram_kb"] == 128


def test_params_are_current_false_when_spec_edited(tmp_project):
    write_params(compose("specs").config, "params.yaml")
    assert params_are_current("specs", "params.yaml")
    tmp_project.edit("specs/config.yaml", {"targets.mcu.constraints.latency_ms": 2})
    assert not params_are_current("specs", "params.yaml")


def test_params_are_current_ignores_formatting(tmp_project):
    config = compose("specs").config
    (tmp_project / "params.yaml").write_text(yaml.safe_dump(config, sort_keys=True, default_flow_style=True))
    assert params_are_current("specs", "params.yaml")


def test_render_params_is_deterministic(tmp_project):
    assert render_params(compose("specs").config) == render_params(compose("specs").config)
