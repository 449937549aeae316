"""The self-contained HTML page: every target, its Pareto plot and candidates; what a partial build
is missing; nothing fetched from the network; the same bytes for the same build."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from edgeforge.report import build_report
from edgeforge.report.html import render_html, write_html
from tests.unit.report.conftest import finish_mcu

VOID = {"meta", "br", "img", "input", "link", "hr", "line", "circle", "rect", "polygon", "polyline", "path"}


class Structure(HTMLParser):
    """Tags still open at the end (an unclosed element), and every URL the page would load."""

    def __init__(self):
        super().__init__()
        self.open: list[str] = []
        self.loads: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.loads += [attrs[key] for key in ("src", "data") if key in attrs]
        if tag == "link":
            self.loads.append(attrs.get("href", ""))
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if tag not in VOID:
            assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1] if self.open else None}>"
            self.open.pop()


def structure(page: str) -> Structure:
    parser = Structure()
    parser.feed(page)
    parser.close()
    return parser


def sections(page: str) -> dict[str, str]:
    """target -> its section's HTML."""
    found = re.findall(r'<section class="target" id="target-([^"]+)" data-target="[^"]+">(.*?)</section>', page, re.S)
    return dict(found)


def test_html_has_a_section_per_target_with_its_choice_plot_and_candidates(tmp_path, write_build):
    write_build()
    finish_mcu(tmp_path)
    page = render_html(build_report(tmp_path))
    by_target = sections(page)
    assert sorted(by_target) == ["mcu", "sbc"]
    assert '<code class="chosen-id">int8_fast</code>' in by_target["mcu"]
    assert "No feasible candidate." in by_target["sbc"] and "to make it feasible: raise latency_ms" in by_target["sbc"]
    for name in ("mcu", "sbc"):
        assert by_target[name].count('<svg class="pareto-plot"') == 1
    assert [row for row in re.findall(r'data-candidate="([^"]+)"', by_target["mcu"])] == ["int8_fast", "int8_slow", "fp32_big"]


def test_html_matrix_colours_each_constraint_pass_or_fail_with_its_headroom(tmp_path, write_build):
    write_build()
    page = render_html(build_report(tmp_path))
    matrix = page.split('<section id="matrix">')[1].split("</section>")[0]
    mcu, sbc = re.findall(r"<tr data-target=.*?</tr>", matrix)
    assert mcu.count('<td class="ok" title=') == 3  # ram_kb, latency_ms, min_accuracy all met
    assert "<b>1.5 ms</b> / 3 ms<br>headroom +50% · pass" in mcu
    assert "<b>0.9500</b> / 0.9<br>headroom +0.0500 · pass" in mcu
    assert '<td class="bad">limit 1 ms<br>not met</td>' in sbc and "no feasible candidate" in sbc


def test_html_lists_parity_and_the_shipped_files_with_sha256(tmp_path, write_build):
    import hashlib

    write_build(sbc=False)
    finish_mcu(tmp_path)
    page = render_html(build_report(tmp_path))
    assert "accuracy_drop ≤ 0.01: pass" in page and "99.70%" in page
    assert hashlib.sha256(b"#pragma once\n").hexdigest() in page
    assert page.count("<td>bundle</td>") == 3


def test_html_of_a_partial_build_renders_what_exists_and_lists_what_is_missing(tmp_path, write_build):
    write_build()  # no parity, no bundle: export and package have not run
    (tmp_path / "build/targets/mcu/export/exports.json").unlink()
    page = render_html(build_report(tmp_path))
    missing = page.split('<section class="missing" id="missing">')[1].split("</section>")[0]
    assert "mcu: build/targets/mcu/export/exports.json is missing: run `dvc repro export@mcu`" in missing
    assert sorted(sections(page)) == ["mcu", "sbc"]
    assert "No exported files yet." in sections(page)["mcu"]
    assert structure(page).open == []


def test_html_is_self_contained_well_nested_and_reproducible(tmp_path, write_build):
    write_build()
    finish_mcu(tmp_path)
    page = render_html(build_report(tmp_path))
    parsed = structure(page)
    assert parsed.open == [] and parsed.loads == []
    assert "<script" not in page and not re.search(r'(href|src)="(https?:)?//', page)
    assert render_html(build_report(tmp_path)) == page


def test_html_escapes_text_from_the_build(tmp_path, write_build):
    write_build(sbc=False)
    report = build_report(tmp_path)
    report["targets"]["mcu"]["candidates"][0]["reason"] = "<script>alert(1)</script>"
    page = render_html(report)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_write_html_replaces_the_file_and_leaves_no_temporary_behind(tmp_path, write_build):
    write_build()
    out = tmp_path / "out" / "report.html"
    write_html(build_report(tmp_path), out)
    write_html(build_report(tmp_path), out)
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.html"]
    assert out.read_text().startswith("<!DOCTYPE html>")


def test_html_says_which_candidate_was_passed_over_when_its_export_failed(tmp_path, write_build):
    from edgeforge.outputs import Exports, Fallback, read_output, write_output
    from edgeforge.layout import Layout

    write_build(sbc=False)
    path = Layout(tmp_path).exports("mcu")
    exports = read_output(Exports, path)
    write_output(path, exports.model_copy(update={
        "fallbacks": [Fallback(candidate="fp32_big", format="tflm_c", reason="arena over the limit")],
    }))
    section = sections(render_html(build_report(tmp_path)))["mcu"]
    assert "Passed over <code>fp32_big</code>: its tflm_c export failed (arena over the limit)." in section
