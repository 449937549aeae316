"""`edgeforge report`: the build's report as JSON, tables, Markdown or an HTML page, and what to run
when there is none."""

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
    assert set(report) == {"project", "targets", "search", "parity", "candidates", "missing"}
    assert report["targets"]["mcu"]["candidate"]["id"] == "int8_fast"
    assert [candidate["id"] for candidate in report["candidates"]] == ["int8_fast", "int8_slow"]


def test_report_table_names_the_chosen_candidate(tmp_project, capsys):
    write_build(tmp_project)
    assert main(["report"]) == 0
    assert "int8_fast" in capsys.readouterr().out


def test_report_html_writes_the_page_to_build_report_html_by_default(tmp_project, capsys):
    write_build(tmp_project)
    assert main(["report", "--html"]) == 0
    page = (tmp_project / BUILD.report_html).read_text()
    assert '<code class="chosen-id">int8_fast</code>' in page
    out = capsys.readouterr().out
    assert out.startswith(f"wrote {BUILD.report_html}") and "incomplete build: 2 missing" in out  # no parity, no bundle


def test_report_html_writes_where_it_is_told(tmp_project, capsys):
    write_build(tmp_project)
    assert main(["report", "--html", "pages/mcu.html"]) == 0
    assert (tmp_project / "pages/mcu.html").read_text().startswith("<!DOCTYPE html>")
    assert not (tmp_project / BUILD.report_html).exists()


def test_report_markdown_prints_a_pull_request_comment(tmp_project, capsys):
    write_build(tmp_project)
    assert main(["report", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## edgeforge build") and "| mcu | stm32f746_disco | tflite-micro | `int8_fast` |" in out


def test_report_takes_one_format_at_a_time(tmp_project, capsys):
    import pytest

    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--json", "--markdown"])
    assert exit_info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_report_html_without_a_build_says_what_to_run_and_writes_nothing(tmp_project, capsys):
    assert main(["report", "--html"]) == 2
    assert "no build results here; run `dvc repro` first" in capsys.readouterr().err
    assert not (tmp_project / BUILD.report_html).exists()
