"""`edgeforge report --markdown`: a pull-request comment of the build."""

from __future__ import annotations

from edgeforge.report import build_report
from edgeforge.report.markdown import render_markdown


def table_rows(text: str, header: str) -> list[list[str]]:
    """The body rows of the Markdown table whose header row starts with `header`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {header} |"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def test_markdown_summarises_each_target_in_one_table(tmp_path, write_build):
    write_build()
    text = render_markdown(build_report(tmp_path))
    assert table_rows(text, "target") == [
        ["mcu", "stm32f746_disco", "tflite-micro", "`int8_fast`", "✅ all constraints met"],
        ["sbc", "stm32f746_disco", "tflite-micro", "-", "❌ no feasible candidate"],
    ]


def test_markdown_gives_the_chosen_metrics_against_limits_and_explains_an_infeasible_target(tmp_path, write_build):
    write_build()
    text = render_markdown(build_report(tmp_path))
    assert ["latency", "1.500 ms", "latency_ms 3", "✅"] in table_rows(text, "metric")
    assert "### sbc: no feasible candidate\n\n```\ntarget 'sbc': no candidate meets every constraint" in text
    assert "<details><summary>mcu: 3 candidates</summary>" in text
    assert text.rstrip().endswith("0 pruned analytically")


def test_markdown_lists_what_a_partial_build_misses_and_escapes_pipes(tmp_path, write_build):
    write_build(sbc=False)
    report = build_report(tmp_path)
    report["targets"]["mcu"]["candidates"][0]["reason"] = "a | b"
    text = render_markdown(report)
    assert "> **Incomplete build.** Missing:\n> - mcu: build/targets/mcu/export/parity.json is missing" in text
    assert "a \\| b" in text
