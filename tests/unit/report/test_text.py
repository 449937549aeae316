"""The text report: a summary row per target, the chosen candidate's metrics against its limits,
laid out to fit an 80-column terminal without cutting a name."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from edgeforge.report import build_report
from edgeforge.report.text import print_report
from tests.fake_build import target_search, write_target

LONG_ID = "w0.25-s0.75-c16-qat-int16x8"  # the longest id a default-sized space makes


def render(report: dict, width: int = 200) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    print_report(report, console)
    return console.file.getvalue()


def table_rows(text: str, title: str, stacked: bool = False) -> list[list[str]]:
    """The body rows of the table under `title`, one list of cells per row. `stacked`: rows are
    separated by lines and a cell may span several lines (joined here with spaces)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if title in line)
    groups, current = [], []
    for line in lines[start + 1:]:
        if line.startswith(("├", "└")):
            groups.append(current)
            current = []
            if line.startswith("└"):
                break
        elif line.startswith("│"):
            current.append([cell.strip() for cell in line.strip()[1:-1].split("│")])
    body = groups[1:]  # the first group is the header
    if not stacked:
        return [cells for group in body for cells in group]
    return [[" ".join(part for part in parts if part) for parts in zip(*group)] for group in body]


def row(rows: list[list[str]], first_cell: str) -> list[str]:
    return next(cells for cells in rows if cells[0] == first_cell)


def test_print_report_names_the_chosen_candidate_of_each_feasible_target(tmp_path, write_build):
    write_build()
    text = render(build_report(tmp_path))
    overview = table_rows(text, "one verified model per target", stacked=True)
    assert row(overview, "mcu") == ["mcu", "stm32f746_disco tflite-micro", "int8_fast all constraints met"]
    assert "mcu: int8_fast (objective min_latency)" in text


def test_print_report_shows_metrics_with_units_against_their_limits(tmp_path, write_build):
    write_build(sbc=False)
    detail = table_rows(render(build_report(tmp_path)), "mcu: int8_fast")
    assert row(detail, "latency") == ["latency", "1.500 ms", "latency_ms 3", "yes"]
    assert row(detail, "arena") == ["arena", "40.0 KiB", "", ""]
    assert row(detail, "RAM reserved") == ["RAM reserved", "40.0 KiB", "ram_kb 64", "yes"]
    assert row(detail, "energy") == ["energy", "0.5000 mJ", "", ""]  # no limit set on energy


def test_print_report_explains_a_target_without_a_feasible_candidate(tmp_path, write_build):
    write_build()
    text = render(build_report(tmp_path))
    assert row(table_rows(text, "one verified model per target", stacked=True), "sbc")[2] == "- no feasible candidate"
    assert "target 'sbc': no candidate meets every constraint" in text
    assert "to make it feasible: raise latency_ms to 1.5" in text


def test_print_report_ends_with_the_search_counts(tmp_path, write_build):
    write_build()
    last = render(build_report(tmp_path)).strip().splitlines()[-1]
    assert last == "search (exhaustive): 4 candidates in the space, 3 evaluated, 2 trained, 1 memo hits, 0 pruned analytically"


def test_print_report_lists_what_a_partial_build_misses(tmp_path, write_build):
    write_build(sbc=False)
    text = render(build_report(tmp_path))
    assert "missing: mcu: build/targets/mcu/export/parity.json is missing: run `dvc repro export@mcu`" in text


@pytest.fixture
def long_names_build(tmp_path):
    """Two targets with long device and candidate names, and ops as the report gives them."""
    limits = {"ram_kb": 64, "latency_ms": 3, "min_accuracy": 0.9}
    for target in ("microcontroller", "raspberry"):
        result = target_search({LONG_ID: {"latency_ms": 1.5}}, limits, target=target)
        result = result.model_copy(update={"device": "coral_dev_board_micro"})  # the longest preset name
        write_target(tmp_path, result, chosen=LONG_ID)
    from edgeforge.atomic import write_json
    from edgeforge.layout import Layout

    write_json(Layout(tmp_path).search_summary, {"space_size": 96, "evaluated": 40, "trained": 12, "memo_hits": 3})
    report = build_report(tmp_path)
    report["targets"]["microcontroller"]["ops"] = [
        {"index": i, "type": op, "dtype": "int16", "macs": 12_345_678, "params": 123_456, "output_bytes": 1_048_576,
         "latency_ms": 12.3456, "live_bytes": 2_000_000, "peak": i == 1}
        for i, op in enumerate(["DEPTHWISE_CONV_2D", "CONV_2D", "FULLY_CONNECTED"])
    ]
    return report


def test_print_report_fits_80_columns_without_cutting_a_name(long_names_build):
    text = render(long_names_build, width=80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text
    overview = table_rows(text, "one verified model per target", stacked=True)
    assert row(overview, "microcontroller") == [
        "microcontroller", "coral_dev_board_micro tflite-micro", f"{LONG_ID} all constraints met",
    ]
    ops = table_rows(text, "per-operator cost")
    assert [cells[1] for cells in ops] == ["DEPTHWISE_CONV_2D", "CONV_2D ▲", "FULLY_CONNECTED"]
    assert row(ops, "0")[3:] == ["12.3M", "123k", "1.05M", "12.3456"]
    assert "▲ sets the arena peak: 2,000,000 bytes live" in text


def test_print_report_names_failed_candidates_and_an_exhausted_budget(tmp_path, write_build):
    from edgeforge.atomic import write_json
    from edgeforge.layout import Layout
    from tests.unit.report.conftest import SUMMARY

    mcu = write_build(sbc=False)
    broken = mcu.candidates[0].model_copy(update={"metrics": None, "checks": [], "feasible": False,
                                                  "failure": "TF-MOT cannot wrap Conv1D"})
    write_target(tmp_path, mcu.model_copy(update={"candidates": [broken, *mcu.candidates[1:]]}), chosen="int8_fast")
    write_json(Layout(tmp_path).search_summary, {**SUMMARY, "budget_exhausted": True,
                                                 "unevaluated_per_target": {"mcu": 18}})
    report = build_report(tmp_path)
    assert report["targets"]["mcu"]["failed"] == {"fp32_big": "TF-MOT cannot wrap Conv1D"}
    text = render(report)
    assert "mcu: fp32_big failed: TF-MOT cannot wrap Conv1D" in text
    assert "1 failed; the training budget ran out with up to 18 combinations per target never evaluated" in text


def test_the_reports_say_why_a_more_accurate_candidate_as_fast_was_passed_over(tmp_path):
    from html import escape

    from edgeforge.atomic import write_json
    from edgeforge.layout import Layout
    from edgeforge.report.html import render_html
    from edgeforge.report.markdown import render_markdown
    from edgeforge.search.candidates import Candidate

    plain, clustered = Candidate(width=0.25, quantization="int8"), Candidate(width=0.25, clusters=16, quantization="int8")
    result = target_search({plain.id: {"accuracy": 0.955556, "samples": 360},
                            clustered.id: {"accuracy": 0.961111, "samples": 360}}, {"min_accuracy": 0.9})
    configs = {plain.id: plain.config(), clustered.id: clustered.config()}
    result = result.model_copy(update={"candidates": [
        entry.model_copy(update={"config": configs[entry.id]}) for entry in result.candidates]})
    write_target(tmp_path, result, chosen=plain.id)
    write_json(Layout(tmp_path).search_summary, {"space_size": 2, "evaluated": 2, "trained": 1, "converted": 2, "measured": 2, "memo_hits": 0})
    report = build_report(tmp_path)
    note = report["targets"]["mcu"]["choice_note"]
    assert note.startswith(f"{plain.id} (95.56%) is chosen over 1 more accurate candidate(s) as good on min_latency")
    assert " ".join(render(report).split()).count(" ".join(note.split())) == 1
    assert note in render_markdown(report) and escape(note) in render_html(report)
    [passed_over] = [row for row in report["targets"]["mcu"]["candidates"] if row["id"] == clustered.id]
    assert "within one standard error" in passed_over["reason"]
