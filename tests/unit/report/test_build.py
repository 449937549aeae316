"""`build_report`: one dict of what each target chose, why and at what cost, read from build/."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeforge.atomic import write_json
from edgeforge.errors import BuildError, UserError
from edgeforge.layout import Layout
from edgeforge.report import build_report
from tests.unit.report.conftest import EXPORTED, MCU_LIMITS, finish_mcu


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
    assert pareto["binding"]["constraint"] == "ram_kb"
    assert "ram_bytes" in pareto["fronts"]  # ram_kb limits the RAM reserved


def test_build_report_computes_the_pareto_fronts_when_select_has_not_written_them(tmp_path, write_build):
    write_build(sbc=False)
    pareto = build_report(tmp_path)["targets"]["mcu"]["pareto"]
    assert pareto["json"] is None and pareto["chosen"] == "int8_fast"
    assert sorted(point["id"] for point in pareto["points"]) == ["fp32_big", "int8_fast", "int8_slow"]


def test_build_report_names_the_file_and_stage_when_a_target_result_is_malformed(tmp_path, write_build):
    write_build(sbc=False)
    broken = Layout(tmp_path).search_target("mcu")
    broken.write_text('{"target": "mcu"}')
    with pytest.raises(BuildError, match=r"mcu\.json: not a valid TargetSearch .*run `dvc repro -f search`"):
        build_report(tmp_path)


def test_build_report_of_a_complete_build_misses_nothing(tmp_path, write_build):
    write_build()
    finish_mcu(tmp_path)
    report = build_report(tmp_path)
    assert report["missing"] == [] and report["targets"]["mcu"]["missing"] == []
    assert report["targets"]["sbc"]["missing"] == []  # infeasible: explained, not missing


def test_build_report_names_the_stage_to_run_for_each_missing_output(tmp_path, write_build):
    write_build(sbc=False)
    (tmp_path / "build/targets/mcu/export/exports.json").unlink()
    assert build_report(tmp_path)["targets"]["mcu"]["missing"] == [
        "build/targets/mcu/export/exports.json is missing: run `dvc repro export@mcu` (or see why it failed)",
    ]
    write_build(sbc=False)
    finish_mcu(tmp_path, parity=False, bundle=False)
    missing = build_report(tmp_path)["targets"]["mcu"]["missing"]
    assert [line.split(" is missing: run ")[1].split("`")[1] for line in missing] == [
        "dvc repro export@mcu", "dvc repro package@mcu",
    ]
    assert missing[0].startswith("build/targets/mcu/export/parity.json")


def test_build_report_says_select_did_not_run_when_a_candidate_is_feasible(tmp_path, write_build):
    write_build(sbc=False)
    for path in (tmp_path / "build/targets/mcu").glob("**/*.json"):
        path.unlink()
    mcu = build_report(tmp_path)["targets"]["mcu"]
    assert mcu["feasible"] is False and "explanation" not in mcu
    assert mcu["missing"] == ["build/targets/mcu/selected.json is missing: run `dvc repro select@mcu` (or see why it failed)"]
    assert [row["id"] for row in mcu["candidates"] if row["status"] == "feasible"] == ["int8_fast", "int8_slow"]


def test_build_report_lists_exported_and_bundled_files_with_sizes_and_sha256(tmp_path, write_build):
    import hashlib

    write_build(sbc=False)
    finish_mcu(tmp_path)
    files = build_report(tmp_path)["targets"]["mcu"]["files"]
    exported = {Path(f["path"]).name: f for f in files["exports"]}
    data = EXPORTED["tflm/model_data.cc"]
    assert exported["model_data.cc"] == {
        "format": "tflm_c", "path": "build/targets/mcu/export/tflm/model_data.cc",
        "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
    }
    assert [f["name"] for f in files["bundle"]] == ["model.tflite", "model_data.cc", "model_data.h"]
    assert files["bundle"][1]["sha256"] == hashlib.sha256(data).hexdigest()


def test_build_report_adds_the_failures_and_budget_to_the_search_summary(tmp_path, write_build):
    write_build()
    search = build_report(tmp_path)["search"]
    assert search["failed"] == 0 and search["budget"] is None  # no params.yaml: no budget known


def test_build_report_checks_only_real_constraints_of_an_infeasible_target(tmp_path):
    from edgeforge.report.html import render_html
    from edgeforge.report.markdown import render_markdown
    from tests.fake_build import target_search, write_target

    limits = {"latency_ms": 1, "avg_power_mw": 5, "inference_hz": 10}  # inference_hz is a setting, not a limit
    write_target(tmp_path, target_search({"int8_fast": {"latency_ms": 1.5, "avg_power_mw": 9.0}}, limits, target="sbc"))
    write_json(Layout(tmp_path).search_summary, {"space_size": 1, "evaluated": 1, "trained": 0, "memo_hits": 0})
    report = build_report(tmp_path)
    assert set(report["targets"]["sbc"]["constraints"]) == {"latency_ms", "avg_power_mw"}
    assert "avg_power_mw" in render_html(report) and "no feasible candidate" in render_markdown(report)
