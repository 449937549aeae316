"""The text report: a summary row per target, the chosen candidate's metrics against its limits."""

from __future__ import annotations

import io

from rich.console import Console

from edgeforge.report import build_report
from edgeforge.report.text import print_report


def render(report: dict) -> str:
    console = Console(file=io.StringIO(), width=200, color_system=None)
    print_report(report, console)
    return console.file.getvalue()


def row(text: str, first_cell: str) -> list[str]:
    """The cells of the first table row whose first cell is `first_cell`."""
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
        if line.startswith("│") and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row '{first_cell}' in:\n{text}")


def test_print_report_names_the_chosen_candidate_of_each_feasible_target(tmp_path, write_build):
    write_build()
    text = render(build_report(tmp_path))
    assert row(text, "mcu") == ["mcu", "stm32f746_disco", "tflite-micro", "int8_fast", "all constraints met"]
    assert "mcu: int8_fast (objective min_latency)" in text


def test_print_report_shows_metrics_with_units_against_their_limits(tmp_path, write_build):
    write_build(sbc=False)
    text = render(build_report(tmp_path))
    assert row(text, "latency") == ["latency", "1.500 ms", "latency_ms 3", "yes"]
    assert row(text, "arena RAM") == ["arena RAM", "40.0 KiB", "ram_kb 64", "yes"]
    assert row(text, "energy") == ["energy", "0.5000 mJ", "", ""]  # no limit set on energy


def test_print_report_explains_a_target_without_a_feasible_candidate(tmp_path, write_build):
    write_build()
    text = render(build_report(tmp_path))
    assert row(text, "sbc")[3:] == ["-", "no feasible candidate"]
    assert "target 'sbc': no candidate meets every constraint" in text
    assert "to make it feasible: raise latency_ms to 1.5" in text


def test_print_report_ends_with_the_search_counts(tmp_path, write_build):
    write_build()
    last = render(build_report(tmp_path)).strip().splitlines()[-1]
    assert last == "search (exhaustive): 4 candidates in the space, 3 evaluated, 2 trained, 1 memo hits, 0 pruned analytically"
