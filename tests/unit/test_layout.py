"""One module names the paths under build/: dvc.yaml's deps and outs are exactly those paths."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from edgeforge.layout import BUILD, Layout
from tests.conftest import REPO

TARGET = "mcu"


def stage(name: str) -> dict:
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    definition = stages[name].get("do", stages[name])
    return yaml.safe_load(yaml.safe_dump(definition).replace("${key}", TARGET))


def paths(entries: list) -> list[Path]:
    """The build/ paths among a stage's deps or outs (user files such as the data are not layout's)."""
    found = [Path(next(iter(entry)) if isinstance(entry, dict) else entry) for entry in entries]
    return [path for path in found if path.parts[0] == BUILD.build.name]


def test_dvc_stage_outputs_are_the_layout_paths():
    assert paths(stage("prepare")["outs"]) == [BUILD.data_dir]
    assert paths(stage("train")["outs"]) == [BUILD.base_dir]
    assert paths(stage("search")["outs"]) == [BUILD.search_dir, BUILD.memo_out]
    assert paths(stage("select")["metrics"]) == [BUILD.selected(TARGET)]
    assert paths(stage("select")["outs"]) == [BUILD.pareto_json(TARGET), BUILD.export_plan(TARGET)]
    assert paths(stage("select")["plots"]) == [BUILD.candidates_json(TARGET), BUILD.pareto_png(TARGET)]
    assert paths(stage("export")["outs"]) == [BUILD.export_dir(TARGET)]
    assert paths(stage("package")["outs"]) == [BUILD.bundle_dir(TARGET)]
    assert paths(stage("report")["outs"]) == [BUILD.report_html]
    assert paths(stage("report")["metrics"]) == [BUILD.metrics]


def test_dvc_stage_dependencies_are_the_layout_paths():
    assert paths(stage("train")["deps"]) == [BUILD.data_dir]
    assert paths(stage("search")["deps"]) == [BUILD.data_dir, BUILD.base_dir]
    assert paths(stage("select")["deps"]) == [BUILD.search_target(TARGET)]
    # not selected.json nor the search result, which a constraint edit rewrites: the plan alone
    assert paths(stage("export")["deps"]) == [BUILD.export_plan(TARGET)]
    assert paths(stage("package")["deps"]) == [BUILD.export_dir(TARGET), BUILD.export_plan(TARGET), BUILD.data_dir]
    # the report reads every target: the folders holding the search's and the per-target outputs
    assert paths(stage("report")["deps"]) == [BUILD.search_dir, BUILD.target_dir(TARGET).parent]


def test_files_each_stage_reads_lie_inside_an_upstream_output():
    assert BUILD.splits.parent == BUILD.data_dir and BUILD.base_model.parent == BUILD.base_dir
    assert BUILD.search_target(TARGET).is_relative_to(BUILD.search_dir)
    assert BUILD.exports(TARGET).parent == BUILD.parity(TARGET).parent == BUILD.export_dir(TARGET)
    assert BUILD.manifest(TARGET).parent == BUILD.bundle_dir(TARGET)
    paths_read = (BUILD.selected(TARGET), BUILD.export_plan(TARGET), BUILD.pareto_json(TARGET), BUILD.exports(TARGET), BUILD.manifest(TARGET))
    for path in paths_read:
        assert path.is_relative_to(paths(stage("report")["deps"])[1])  # what the report reads, it depends on


def test_layout_rooted_elsewhere_prefixes_every_path(tmp_path):
    assert Layout(tmp_path).selected(TARGET) == tmp_path / BUILD.selected(TARGET)


def test_memo_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("EDGEFORGE_MEMO_DIR", raising=False)
    assert BUILD.memo_dir() == BUILD.memo_out
    monkeypatch.setenv("EDGEFORGE_MEMO_DIR", str(tmp_path))
    assert BUILD.memo_dir() == tmp_path


def test_no_module_but_layout_spells_a_build_path():
    offenders = []
    for path in sorted((REPO / "edgeforge").rglob("*.py")):
        if path.name == "layout.py":
            continue
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and ast.get_docstring(node) is not None
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                if node.value.startswith("build/") or node.value in ("build", "selected.json", "exports.json"):
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.value!r}")
    assert not offenders, "use edgeforge.layout instead:\n" + "\n".join(offenders)
