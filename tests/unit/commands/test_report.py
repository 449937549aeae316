"""`edgeforge report`: the build's report as JSON or tables, and what to run when there is none."""

from __future__ import annotations

import json

from edgeforge.atomic import write_json
from edgeforge.cli import main
from edgeforge.layout import BUILD
from tests.fake_build import target_search, write_target

SUMMARY = {"space_size": 2, "evaluated": 2, "trained": 1, "memo_hits": 0}


def write_build(root) -> None:
    result = target_search({"int8_fast": {"latency_ms": 1.5}, "int8_slow": {"latency_ms": 2.5}}, {"latency_ms": 3})
    write_target(root, result, chosen="int8_fast", formats={
        "tflite": [(BUILD.export_dir("mcu") / "model.tflite").as_posix()],
    })
    write_json(root / BUILD.search_summary, SUMMARY)


def test_report_exits_2_and_says_to_run_dvc_repro_without_a_build(tmp_project, capsys):
    assert main(["report"]) == 2
    assert "no build results here; run `dvc repro` first" in capsys.readouterr().err


def test_report_json_gives_each_target_its_chosen_candidate(tmp_project, capsys):
    write_build(tmp_project)
    assert main(["report", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"targets", "search", "parity", "candidates"}
    assert report["targets"]["mcu"]["candidate"]["id"] == "int8_fast"
    assert [candidate["id"] for candidate in report["candidates"]] == ["int8_fast", "int8_slow"]


def test_report_table_names_the_chosen_candidate(tmp_project, capsys):
    write_build(tmp_project)
    assert main(["report"]) == 0
    assert "int8_fast" in capsys.readouterr().out
