"""Accuracy per class of the chosen model: named from prepare's class names (indices without them),
in the report's JSON, text, Markdown and HTML, from the metrics the search measured."""

from __future__ import annotations

import io
import json

from rich.console import Console

from edgeforge.atomic import write_json
from edgeforge.layout import Layout
from edgeforge.report import build_report
from edgeforge.report.classes import class_rows, read_class_names
from edgeforge.report.html import render_html
from edgeforge.report.markdown import render_markdown
from edgeforge.report.text import print_report
from tests.fake_build import target_search, write_target

PER_CLASS = {"class_accuracy": [1.0, 0.8, None], "class_samples": [12, 10, 0]}


def write_chosen(root, class_names: list[str] | None) -> None:
    """A build whose mcu target chose a model with per-class figures, and prepare's info.json."""
    result = target_search({"int8": {"accuracy": 0.909091, **PER_CLASS}}, {"min_accuracy": 0.5})
    write_target(root, result, chosen="int8")
    write_json(Layout(root).search_summary, {"space_size": 1, "evaluated": 1, "trained": 1, "converted": 1,
                                             "measured": 1, "memo_hits": 0})
    if class_names is not None:
        write_json(Layout(root).data_dir / "info.json", {"class_names": class_names, "num_classes": len(class_names)})


def test_class_rows_name_each_class_and_keep_a_class_the_split_lacks():
    rows = class_rows({"accuracy": 0.9, **PER_CLASS}, ["idle", "run", "walk"])
    assert rows == [
        {"index": 0, "name": "idle", "accuracy": 1.0, "samples": 12},
        {"index": 1, "name": "run", "accuracy": 0.8, "samples": 10},
        {"index": 2, "name": "walk", "accuracy": None, "samples": 0},
    ]


def test_class_rows_go_by_index_without_matching_names():
    assert [row["name"] for row in class_rows(PER_CLASS, None)] == ["0", "1", "2"]
    assert [row["name"] for row in class_rows(PER_CLASS, ["only", "two"])] == ["0", "1", "2"]


def test_class_rows_are_empty_for_metrics_without_per_class_figures():
    assert class_rows({"accuracy": 0.9}, ["a", "b"]) == [] and class_rows(None, None) == []


def test_read_class_names_is_none_without_info_json(tmp_path):
    assert read_class_names(tmp_path) is None
    (tmp_path / "info.json").write_text(json.dumps({"class_names": ["cat", "dog"]}))
    assert read_class_names(tmp_path) == ["cat", "dog"]


def test_report_json_text_markdown_and_html_show_accuracy_per_named_class(tmp_path):
    write_chosen(tmp_path, ["idle", "run", "walk"])
    report = build_report(tmp_path)
    assert [(row["name"], row["accuracy"]) for row in report["targets"]["mcu"]["per_class"]] == [
        ("idle", 1.0), ("run", 0.8), ("walk", None)]
    json.dumps(report)  # `report --json` prints it

    console = Console(file=io.StringIO(), width=120, color_system=None)
    print_report(report, console)
    text = console.file.getvalue()
    assert "mcu: accuracy per class" in text
    lines = {line.split("│")[1].strip(): line for line in text.splitlines() if line.count("│") == 4}
    assert "0.8000" in lines["run"] and "10" in lines["run"] and "1.0000" in lines["idle"] and "-" in lines["walk"]

    markdown = render_markdown(report)
    assert "| run | 0.8000 | 10 |" in markdown and "| walk | - | 0 |" in markdown

    html = render_html(report)
    assert "<h3>Accuracy per class</h3>" in html
    assert '<tr><th>run</th><td class="num">0.8000</td><td class="num">10</td></tr>' in html


def test_report_shows_class_indices_when_the_data_has_no_names(tmp_path):
    write_chosen(tmp_path, class_names=None)
    report = build_report(tmp_path)
    assert [row["name"] for row in report["targets"]["mcu"]["per_class"]] == ["0", "1", "2"]
    assert '<tr><th>1</th><td class="num">0.8000</td>' in render_html(report)


def test_report_has_no_per_class_section_without_per_class_figures(tmp_path, write_build):
    write_build()
    report = build_report(tmp_path)
    assert report["targets"]["mcu"]["per_class"] == []
    assert "Accuracy per class" not in render_html(report)
    assert "accuracy per class" not in render_markdown(report).lower()
