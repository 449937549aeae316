"""The build's report in a real browser, and its DVC plots, on one project built with `dvc repro`.

The browser tests open build/report.html in headless Chromium (Debian's `chromium` package;
`.ci/run` installs it) and skip, saying so, where it is not installed. They check that the page
logs nothing to the console, that every target and its chosen candidate are in the rendered DOM,
that the browser lays out one Pareto plot per target with marks in it, and they save a screenshot
under the test's tmp dir.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.func.shell import BIN, dvc, run
from tests.func.test_pipeline import make_project

pytestmark = pytest.mark.slow

CHROMIUM = next((path for name in ("chromium", "chromium-browser", "google-chrome") if (path := shutil.which(name))), None)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed: `apt-get install chromium` (.ci/run does this as root)"
)
TARGETS = ("mcu", "sbc")
# Appended to a copy of the page (the report itself has no script): the size the browser gave each
# SVG and how many marks it holds, written into the DOM that --dump-dom prints.
PROBE = """<script>
for (const svg of document.querySelectorAll("svg")) {
  const box = svg.getBoundingClientRect();
  svg.setAttribute("data-drawn", Math.round(box.width) + "x" + Math.round(box.height));
  svg.setAttribute("data-marks", svg.querySelectorAll("circle, polygon, rect").length);
}
</script>"""


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A project built with `dvc repro`, its lock committed (the baseline `dvc plots diff` compares to)."""
    root = make_project(tmp_path_factory.mktemp("report") / "project")
    run("git", "add", "dvc.lock", cwd=root)
    run("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "build", cwd=root)
    return root


@pytest.fixture
def project(built, tmp_path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(built, copy, symlinks=True)
    return copy


class Elements(HTMLParser):
    """Every element of a DOM as (tag, attributes, the id of the target section it lies in)."""

    def __init__(self):
        super().__init__()
        self.elements: list[tuple[str, dict, str | None]] = []
        self.sections: list[str | None] = []
        self.text_by_target: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        section = self.sections[-1] if self.sections else None
        if tag == "section":
            section = attrs.get("data-target")
            self.sections.append(section)
        self.elements.append((tag, attrs, section))

    def handle_endtag(self, tag):
        if tag == "section" and self.sections:
            self.sections.pop()

    def handle_data(self, data):
        if self.sections and self.sections[-1]:
            self.text_by_target.setdefault(self.sections[-1], []).append(data)


def elements(dom: str) -> Elements:
    parser = Elements()
    parser.feed(dom)
    return parser


def open_in_chromium(page: Path, screenshot: Path | None = None) -> tuple[str, list[str]]:
    """(the DOM as Chromium rendered it, the lines it logged from the page's console)."""
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0"]
    result = subprocess.run([*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    if screenshot is not None:
        shot = subprocess.run(
            [*flags, "--hide-scrollbars", "--window-size=1280,4200", f"--screenshot={screenshot}", page.as_uri()],
            capture_output=True, text=True, timeout=180,
        )
        assert shot.returncode == 0 and screenshot.is_file(), shot.stderr[-2000:]
    return result.stdout, console


def probed(page: Path, out: Path) -> Path:
    out.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    return out


def chosen_ids(root: Path) -> dict[str, str]:
    from edgeforge.layout import Layout
    from edgeforge.outputs import Exports, read_output

    return {t: read_output(Exports, Layout(root).exports(t)).selection.candidate.id for t in TARGETS}


def test_the_default_build_writes_the_report_page_and_the_headline_metrics(built):
    page = (built / "build/report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    lock = (built / "dvc.lock").read_text()
    assert "build/report.html" in lock and "build/metrics.json" in lock  # DVC outputs of the report stage
    metrics = json.loads((built / "build/metrics.json").read_text())
    assert metrics["chosen"] == chosen_ids(built)
    assert dvc("repro", cwd=built).stdout.count("Running stage") == 0  # the report stage is cached too


def test_the_report_command_writes_the_same_bytes_as_the_pipeline(built, tmp_path):
    run(str(BIN / "edgeforge"), "report", "--html", str(tmp_path / "again.html"), cwd=built)
    assert (tmp_path / "again.html").read_bytes() == (built / "build/report.html").read_bytes()


@needs_chromium
def test_chromium_renders_every_target_its_choice_pareto_plot_and_layer_table(built, tmp_path):
    screenshot = tmp_path / "report.png"
    dom, console = open_in_chromium(probed(built / "build/report.html", tmp_path / "report.html"), screenshot)
    assert console == []
    found = elements(dom)
    for target, chosen in chosen_ids(built).items():
        text = " ".join(found.text_by_target.get(target, []))
        assert chosen in text, f"{target}: chosen {chosen} not in its section"
        plots = [attrs for tag, attrs, _ in found.elements
                 if tag == "svg" and attrs.get("class") == "pareto-plot" and attrs.get("data-target") == target]
        assert len(plots) == 1
        assert plots[0]["data-drawn"] == "600x340" and int(plots[0]["data-marks"]) >= 1
        assert any(tag == "table" and attrs.get("class") == "layers" and section == target
                   for tag, attrs, section in found.elements)
    from PIL import Image

    with Image.open(screenshot) as image:
        assert image.size == (1280, 4200)
        colors = image.convert("RGB").getcolors(maxcolors=1 << 20)
    # the chosen candidate's star (#d97706) is painted in some pixels: the plots were drawn
    assert sum(count for count, rgb in colors if rgb == (0xD9, 0x77, 0x06)) > 20


@needs_chromium
def test_the_console_check_catches_a_page_that_logs_errors(tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><p>page</p><script>undefinedFunction();</script>")
    _, console = open_in_chromium(broken)
    assert any("Uncaught ReferenceError" in line for line in console)


@needs_chromium
def test_a_partial_build_renders_what_exists_and_lists_what_is_missing(project, tmp_path):
    shutil.rmtree(project / "build/targets/sbc/export")  # as if export@sbc had failed
    shutil.rmtree(project / "build/targets/sbc/bundle")
    result = run(str(BIN / "edgeforge"), "report", "--html", cwd=project)
    assert "incomplete build" in result.stdout
    dom, console = open_in_chromium(project / "build/report.html", tmp_path / "partial.png")
    assert console == []
    assert "build/targets/sbc/export/exports.json is missing: run `dvc repro export@sbc`" in dom
    found = elements(dom)
    assert {section for _, _, section in found.elements if section} == set(TARGETS)
    assert "Traceback" not in dom


def test_dvc_plots_show_renders_the_pareto_data_of_every_target(built, tmp_path):
    shown = json.loads(dvc("plots", "show", "--json", cwd=built).stdout)["data"]
    for target, chosen in chosen_ids(built).items():
        (plot,) = [p for p in shown[f"build/targets/{target}/candidates.json"] if p["type"] == "vega"]
        rows = plot["content"]["data"]["values"]
        assert {row["candidate"]: row["status"] for row in rows}[chosen] == "chosen"
        assert plot["content"]["encoding"]["x"]["field"] == "cost" and plot["content"]["encoding"]["y"]["field"] == "accuracy"
        assert any(p["type"] == "image" for p in shown[f"build/targets/{target}/pareto.png"])
    html = dvc("plots", "show", "-o", str(tmp_path / "plots"), cwd=built)
    assert html.returncode == 0 and (tmp_path / "plots/index.html").is_file()


def test_dvc_plots_diff_overlays_two_experiments(project):
    # experiments that rerun only package and report (a project name is in the bundle): quick, and
    # DVC still reads each one's candidates.json from its own commit
    for name in ("alpha", "beta"):
        dvc("exp", "run", "-n", name, "-S", f"project.name=digits-{name}", cwd=project)
    diff = json.loads(dvc("plots", "diff", "alpha", "beta", "--json", cwd=project).stdout)["data"]
    for target, chosen in chosen_ids(project).items():
        (plot,) = [p for p in diff[f"build/targets/{target}/candidates.json"] if p["type"] == "vega"]
        assert sorted(plot["revisions"]) == ["alpha", "beta"]
        rows = plot["content"]["data"]["values"]
        assert {(row["rev"], row["candidate"]) for row in rows if row["status"] == "chosen"} == {
            ("alpha", chosen), ("beta", chosen),
        }
    # the documented `dvc exp show` view (docs/sweeps.md): the headline columns and nothing else
    shown = dvc("exp", "show", "--csv", "--drop", ".*", "--keep",
                r"Experiment|(build/metrics\.json:)?(chosen|accuracy|latency_ms|ram_kb|flash_kb|trainings)\b",
                cwd=project).stdout.splitlines()
    columns = shown[0].split(",")
    assert columns[0] == "Experiment" and "chosen.mcu" in columns and "latency_ms.sbc" in columns
    assert len(columns) == 1 + 5 * len(TARGETS) + 1
    assert {line.split(",")[0] for line in shown[1:]} >= {"alpha", "beta"}
