"""`edgeforge stage NAME`: what dvc.yaml runs; per-target stages need --target."""

from __future__ import annotations

import json

from edgeforge.cli import main
from edgeforge.errors import ConstraintsUnmetError
from edgeforge.layout import BUILD
from tests.fake_build import target_search, write_target


def test_stage_exits_2_when_a_per_target_stage_has_no_target(tmp_project, capsys):
    assert main(["stage", "select"]) == 2
    assert "stage 'select' runs per target: pass --target NAME" in capsys.readouterr().err


def test_stage_select_writes_the_selection_of_the_target(tmp_project, capsys):
    write_target(tmp_project, target_search({"int8_fast": {"latency_ms": 1.5}}, {"latency_ms": 3}))
    assert main(["stage", "select", "--target", "mcu"]) == 0
    assert "mcu: selected int8_fast (min_latency)" in capsys.readouterr().out
    assert json.loads((tmp_project / BUILD.selected("mcu")).read_text())["candidate"]["id"] == "int8_fast"


def test_stage_select_exits_with_the_constraints_unmet_code_when_nothing_fits(tmp_project, capsys):
    write_target(tmp_project, target_search({"int8_slow": {"latency_ms": 2.5}}, {"latency_ms": 1}))
    assert main(["stage", "select", "--target", "mcu"]) == ConstraintsUnmetError.exit_code
    err = capsys.readouterr().err
    assert err.startswith("edgeforge stage: error: target 'mcu': no candidate meets every constraint")
    assert "Traceback" not in err
