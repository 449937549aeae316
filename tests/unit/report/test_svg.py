"""The inline SVG charts: every candidate a mark, the chosen one a star, limits as dashed lines."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html import unescape

import pytest

from edgeforge.report.svg import HEIGHT, MARGIN, WIDTH, arena_svg, nice_ticks, pareto_svg
from edgeforge.search.pareto import target_fronts
from tests.fake_build import target_search

SVG = "{http://www.w3.org/2000/svg}"
LIMITS = {"ram_kb": 64, "latency_ms": 3, "min_accuracy": 0.9}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed XML, or this raises


def fronts(limits=LIMITS, **overrides):
    candidates = {
        "fp32_big": {"arena_bytes": 200 * 1024, "latency_ms": 1.0, "accuracy": 0.97},
        "int8_fast": {"arena_bytes": 40 * 1024, "latency_ms": 1.5, "accuracy": 0.95},
        "int8_small": {"arena_bytes": 20 * 1024, "latency_ms": 2.5, "accuracy": 0.93},
        "int8_dominated": {"arena_bytes": 50 * 1024, "latency_ms": 2.0, "accuracy": 0.92},
        **overrides,
    }
    return target_fronts(target_search(candidates, limits), "int8_fast")


@pytest.mark.parametrize(("low", "high"), [(0, 1), (0.913, 0.958), (73.7, 128), (0.71, 2.0), (0, 49152), (5, 5)])
def test_nice_ticks_cover_the_range_in_round_equal_steps(low, high):
    ticks = nice_ticks(low, high)
    assert ticks[0] <= low and ticks[-1] >= high and 2 <= len(ticks) <= 12
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:])}
    assert len(steps) == 1
    mantissa = float(f"{steps.pop():e}".split("e")[0])
    assert mantissa in (1.0, 2.0, 2.5, 5.0)


def test_pareto_svg_draws_every_measured_candidate_once_and_the_chosen_as_a_star():
    svg = parse(pareto_svg(fronts()))
    circles = svg.findall(f".//{SVG}circle")
    titles = sorted(c.find(f"{SVG}title").text.split(" ")[0] for c in circles)
    assert titles == ["fp32_big", "int8_dominated", "int8_fast", "int8_small"]
    classes = {c.find(f"{SVG}title").text.split(" ")[0]: c.get("class") for c in circles}
    assert classes["fp32_big"] == "point front infeasible"  # the most accurate, but over the RAM limit
    assert classes["int8_dominated"] == "point feasible"  # int8_fast is smaller and more accurate
    assert classes["int8_small"] == "point front feasible"
    fills = {c.find(f"{SVG}title").text.split(" ")[0]: c.get("fill") for c in circles}
    assert fills["fp32_big"] == "white" and fills["int8_small"] != "white"  # infeasible: a hollow mark
    (star,) = svg.findall(f".//{SVG}polygon[@class='chosen']")
    assert star.find(f"{SVG}title").text == "int8_fast (chosen)"
    assert svg.get("data-target") == "mcu"


def test_pareto_svg_draws_the_resource_limit_where_it_lies_on_the_x_axis():
    svg = pareto_svg(fronts())
    root = parse(svg)
    vertical = [l for l in root.findall(f".//{SVG}line[@class='limit']") if l.get("x1") == l.get("x2")]
    (limit,) = vertical
    # x axis: ram_kb from its first to its last tick, across the plot area
    ticks = [float(t.text) for t in root.findall(f".//{SVG}text") if t.get("y") == str(HEIGHT - MARGIN["bottom"] + 17)]
    x = MARGIN["left"] + (64 - ticks[0]) / (ticks[-1] - ticks[0]) * (WIDTH - MARGIN["left"] - MARGIN["right"])
    assert float(limit.get("x1")) == pytest.approx(x, abs=0.01)
    assert "ram_kb ≤ 64" in svg and "accuracy ≥ 0.9" in svg


def test_pareto_svg_of_an_anomaly_detector_names_roc_auc_and_draws_its_floor():
    svg = pareto_svg(fronts(limits={"ram_kb": 64, "min_auc": 0.94}), quality="ROC AUC")
    floors = [l for l in parse(svg).findall(f".//{SVG}line[@class='limit']") if l.get("y1") == l.get("y2")]
    assert len(floors) == 1
    assert "ROC AUC ≥ 0.94" in svg and "accuracy" not in svg


def test_pareto_svg_draws_the_floor_an_allowed_drop_leaves_below_the_base():
    svg = pareto_svg(fronts(limits={"ram_kb": 64, "max_auc_drop": 0.03}), base_accuracy=0.97, quality="ROC AUC")
    assert "ROC AUC ≥ 0.94" in svg


def test_pareto_svg_names_a_limit_far_off_the_chart_instead_of_squashing_the_points():
    svg = pareto_svg(fronts(limits={"ram_kb": 64 * 1024}))
    assert "ram_kb limit 65536 KB: off the chart" in svg
    assert not [l for l in parse(svg).findall(f".//{SVG}line[@class='limit']") if l.get("x1") == l.get("x2")]


def test_pareto_svg_escapes_names_and_says_when_nothing_was_measured():
    data = fronts()
    data["points"][0]["id"] = data["chosen"] = "<b>&"
    assert "&lt;b&gt;&amp;" in pareto_svg(data)
    parse(pareto_svg(data))
    empty = {**data, "points": []}
    assert "no measured candidate to plot" in pareto_svg(empty)


def test_arena_svg_draws_one_bar_per_operator_and_marks_the_peak():
    arena = {
        "timeline": [{"index": i, "type": t, "live_bytes": b} for i, (t, b) in
                     enumerate([("CONV_2D", 1088), ("MAX_POOL_2D", 1280), ("FULLY_CONNECTED", 144)])],
        "peak_op": 1, "planned_bytes": 1280, "edgeforge_bytes": 1280, "edgeforge_kept": False,
    }
    root = parse(arena_svg(arena, "mcu"))
    bars = root.findall(f".//{SVG}rect")
    assert len(bars) == 3
    assert [b.get("class") for b in bars] == ["bar", "bar peak", "bar"]
    heights = [float(b.get("height")) for b in bars]
    assert heights[1] == max(heights) and heights[0] / heights[1] == pytest.approx(1088 / 1280, rel=1e-3)
    assert "TFLite Micro's plan = edgeforge plan: 1,280 bytes" in unescape(arena_svg(arena, "mcu"))


def test_arena_svg_shows_edgeforge_plan_beside_tflite_micro_plan_when_they_differ():
    arena = {"timeline": [{"index": 0, "type": "ADD", "live_bytes": 900}], "peak_op": 0,
             "planned_bytes": 1500, "edgeforge_bytes": 1000, "edgeforge_kept": True}
    svg = unescape(arena_svg(arena, "mcu"))
    assert "TFLite Micro's plan: 1,500 bytes" in svg and "edgeforge plan: 1,000 bytes" in svg
    assert len(re.findall(r'class="plan"', svg)) == 2
