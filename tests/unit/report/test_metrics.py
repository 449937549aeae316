"""build/metrics.json, the short columns of `dvc exp show`, and the report stage that writes it."""

from __future__ import annotations

import json

from edgeforge.layout import BUILD
from edgeforge.report import build_report
from edgeforge.report.metrics import headline_metrics


def test_headline_metrics_are_keyed_by_figure_then_target(tmp_path, write_build):
    write_build()
    metrics = headline_metrics(build_report(tmp_path))
    assert metrics == {
        "chosen": {"mcu": "int8_fast", "sbc": "none feasible"},
        "accuracy": {"mcu": 0.95}, "latency_ms": {"mcu": 1.5}, "ram_kb": {"mcu": 40.0}, "flash_kb": {"mcu": 120.0},
        "trainings": 2,
    }


def test_report_stage_writes_the_page_and_the_metrics(tmp_path, write_build, monkeypatch):
    from edgeforge.stages import report

    write_build()
    monkeypatch.chdir(tmp_path)
    report.run(params="params.yaml")  # absent: the page has no per-layer costs, nothing else is lost
    page = BUILD.report_html.read_text()
    assert page.startswith("<!DOCTYPE html>") and '<code class="chosen-id">int8_fast</code>' in page
    assert json.loads(BUILD.metrics.read_text())["chosen"]["mcu"] == "int8_fast"
    assert sorted(p.name for p in BUILD.build.iterdir()) == ["metrics.json", "report.html", "search", "targets"]


def test_headline_ram_is_what_the_ram_kb_constraint_limits(tmp_path, write_build):
    write_build(sbc=False)
    report = build_report(tmp_path)
    report["targets"]["mcu"]["metrics"]["ram_bytes"] = 48 * 1024  # arena + the runtime's margin
    assert headline_metrics(report)["ram_kb"] == {"mcu": 48.0}
