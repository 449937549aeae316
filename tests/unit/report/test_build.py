"""`build_report`: one dict of what each target chose, why and at what cost, read from build/."""

from __future__ import annotations

import pytest

from edgeforge.atomic import write_json
from edgeforge.errors import BuildError, UserError
from edgeforge.layout import Layout
from edgeforge.report import build_report
from tests.unit.report.conftest import MCU_LIMITS


def test_build_report_says_to_run_dvc_repro_when_nothing_was_built(tmp_path):
    with pytest.raises(UserError, match=r"no build results here; run `dvc repro` first"):
        build_report(tmp_path)


def test_build_report_gives_the_chosen_candidate_with_its_metrics_and_constraints(tmp_path, write_build):
    write_build()
    mcu = build_report(tmp_path)["targets"]["mcu"]
    assert mcu["feasible"] is True
    assert mcu["candidate"] == {"id": "int8_fast", "config": {"quantization": "int8"}}
    assert (mcu["device"], mcu["runtime"], mcu["objective"]) == ("stm32f746_disco", "tflite-micro", "min_latency")
    assert mcu["metrics"]["latency_ms"] == 1.5
    assert set(mcu["constraints"]) == set(MCU_LIMITS)
    assert mcu["constraints"]["latency_ms"] == {"limit": 3.0, "value": 1.5, "ok": True}
    assert mcu["ops"] is None  # no params.yaml and no model file: nothing to profile


def test_build_report_gives_one_artifact_per_format(tmp_path, write_build):
    write_build()
    artifacts = build_report(tmp_path)["targets"]["mcu"]["artifacts"]
    assert artifacts == {"tflite": "build/targets/mcu/export/model.tflite", "tflm_c": "build/targets/mcu/export/tflm"}


def test_build_report_explains_a_target_without_a_feasible_candidate(tmp_path, write_build):
    write_build()
    sbc = build_report(tmp_path)["targets"]["sbc"]
    assert sbc["feasible"] is False and sbc["candidate"] is None and sbc["artifacts"] == {}
    assert sbc["constraints"] == {"latency_ms": {"limit": 1, "value": None, "ok": False}}
    assert "target 'sbc': no candidate meets every constraint" in sbc["explanation"]
    (relaxation,) = sbc["relaxations"]
    assert relaxation["candidate"] == "int8_fast"
    assert list(relaxation["set"]) == ["latency_ms"] and relaxation["set"]["latency_ms"] >= 1.5


def test_build_report_lists_each_candidate_once_with_its_verdict_per_target(tmp_path, write_build):
    write_build()
    candidates = {c["id"]: c for c in build_report(tmp_path)["candidates"]}
    assert sorted(candidates) == ["fp32_big", "int8_fast", "int8_slow"]
    assert candidates["int8_fast"]["by_target"]["mcu"]["feasible"] is True
    assert candidates["int8_fast"]["by_target"]["sbc"]["feasible"] is False
    assert candidates["fp32_big"]["by_target"] == {"mcu": {"metrics": candidates["fp32_big"]["metrics"], "feasible": False}}


def test_build_report_fills_search_defaults_of_older_summaries(tmp_path, write_build):
    write_build()
    search = build_report(tmp_path)["search"]
    assert search["strategy"] == "exhaustive" and search["pruned_analytically"] == 0
    assert search["space_size"] == 4


def test_build_report_includes_the_pareto_fronts_when_select_wrote_them(tmp_path, write_build):
    from edgeforge.search.pareto import target_fronts

    mcu = write_build(sbc=False)
    write_json(Layout(tmp_path).pareto_json("mcu"), target_fronts(mcu, "int8_fast"))
    pareto = build_report(tmp_path)["targets"]["mcu"]["pareto"]
    assert pareto["json"] == "build/targets/mcu/pareto.json"
    assert pareto["binding"] == "ram_kb"
    assert "arena_bytes" in pareto["fronts"]


def test_build_report_names_the_file_and_stage_when_a_target_result_is_malformed(tmp_path, write_build):
    write_build(sbc=False)
    broken = Layout(tmp_path).search_target("mcu")
    broken.write_text('{"target": "mcu"}')
    with pytest.raises(BuildError, match=r"mcu\.json: not a valid TargetSearch .*run `dvc repro -f search`"):
        build_report(tmp_path)
