"""The incremental-build guarantees of DESIGN §3, each checked with real `dvc repro` runs."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from edgeforge.cli import main
from tests.func.shell import BIN, dvc, run, stages_run

pytestmark = pytest.mark.slow


def summary(root: Path) -> dict:
    return json.loads((root / "build/search/summary.json").read_text())


def compose(root: Path, *overrides: str) -> None:
    cwd = os.getcwd()
    os.chdir(root)
    try:
        assert main(["compose", *overrides]) == 0
    finally:
        os.chdir(cwd)


def edit_yaml(path: Path, updates: dict) -> None:
    data = yaml.safe_load(path.read_text())
    for dotted, value in updates.items():
        node = data
        *parents, last = dotted.split(".")
        for key in parents:
            node = node[key]
        node[last] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def make_project(root: Path, space: str = "quantization: [float32, int8]") -> Path:
    """A fresh project with a small, quick spec (its search space: `space`, one YAML line per key),
    built once with `dvc repro`."""
    assert main(["init", str(root)]) == 0
    edit_yaml(root / "specs/config.yaml", {"train.epochs": 6, "targets.mcu.constraints.latency_ms": 5, "targets.mcu.constraints.ram_kb": 16})
    (root / "specs/search/default.yaml").write_text(
        "strategy: exhaustive\nspace:\n" + "".join(f"  {line}\n" for line in space.splitlines())
    )
    compose(root)
    run("git", "add", "-A", cwd=root)
    run("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init", cwd=root)
    dvc("repro", cwd=root)
    return root


@pytest.fixture(scope="module")
def built_project(tmp_path_factory) -> Path:
    return make_project(tmp_path_factory.mktemp("built") / "project")


@pytest.fixture
def project(built_project, tmp_path) -> Path:
    """A private copy of the built project (git, DVC cache, build/ and memo included)."""
    copy = tmp_path / "project"
    shutil.copytree(built_project, copy, symlinks=True)
    return copy


def test_full_build_produces_every_target_output(built_project):
    for target in ("mcu", "sbc"):
        folder = built_project / "build/targets" / target
        assert (folder / "selected.json").is_file()
        assert (folder / "export/model.tflite").is_file()
        assert (folder / "bundle/manifest.json").is_file()
    assert (built_project / "build/targets/mcu/export/tflm/model_data.cc").is_file()


def test_report_json_contract(built_project):
    report = json.loads(run(str(BIN / "edgeforge"), "report", "--json", cwd=built_project).stdout)
    assert {"space_size", "evaluated", "trained", "memo_hits"} <= set(report["search"])
    for name, target in report["targets"].items():
        assert {"feasible", "candidate", "metrics", "constraints", "artifacts"} <= set(target)
        assert target["feasible"] and {"id", "config"} <= set(target["candidate"])
        for metric in ("accuracy", "model_bytes", "flash_bytes", "arena_bytes", "latency_ms", "energy_mj"):
            assert metric in target["metrics"], metric
        for path in target["artifacts"].values():
            assert (built_project / path).exists() and not Path(path).is_absolute()
        assert all(check["ok"] for check in target["constraints"].values())
    assert report["targets"]["mcu"]["metrics"]["arena_source"] == "measured"
    assert report["candidates"] and {"id", "config", "metrics", "artifact"} <= set(report["candidates"][0])


def test_generated_tflm_sources_compile(built_project, tmp_path):
    folder = built_project / "build/targets/mcu/export/tflm"
    header = (folder / "model_data.h").read_text()
    assert "alignas(16)" in (folder / "model_data.cc").read_text()
    assert "kTensorArenaSize" in header and "RegisterModelOps" in header
    run("g++", "-std=c++17", "-c", str(folder / "model_data.cc"), "-o", str(tmp_path / "model.o"), cwd=folder)
    # Instantiate the resolver template against a stand-in with TFLM's method names.
    ops = [line.split("resolver.")[1].split("(")[0] for line in header.splitlines() if "resolver.Add" in line]
    stand_in = "struct Resolver {" + "".join(f" int {op}() {{ return 0; }}" for op in ops) + " };\n"
    (tmp_path / "use.cc").write_text(
        f'#include "{folder}/model_data.h"\n{stand_in}int main() {{ Resolver r; return RegisterModelOps(r) ? 0 : 1; }}\n'
    )
    run("g++", "-std=c++17", str(tmp_path / "use.cc"), str(tmp_path / "model.o"), "-o", str(tmp_path / "use"), cwd=tmp_path)
    assert run(str(tmp_path / "use"), cwd=tmp_path).returncode == 0


def test_noop_repro_runs_no_stage(project):
    result = dvc("repro", cwd=project)
    assert stages_run(result.stdout) == set()
    assert "didn't change, skipping" in result.stdout


def test_constraint_edit_retrains_and_reevaluates_nothing(project):
    compose(project, "targets.mcu.constraints.latency_ms=3")
    result = dvc("repro", cwd=project)
    ran = stages_run(result.stdout)
    assert "train" not in ran and "prepare" not in ran
    assert "search" in ran
    assert summary(project)["trained"] == 0
    assert summary(project)["converted"] == 0
    assert summary(project)["measured"] == 0


def test_a_constraint_edit_that_keeps_the_choice_keeps_export_and_bundle(project):
    """export@T and package@T depend on select@T's export plan, not on the search result: an edit
    that keeps the choice and the fallbacks leaves the plan's bytes, so DVC skips both and the
    bundle is the one built before (its spec hash leaves the limits out: devices get no new release
    of the same model); the report follows the edit; forcing either stage gives the very same files.
    Any other edit of the target, even one no figure depends on (a device's source note), changes the
    plan's target hash and repackages."""
    from edgeforge.bundle.download import spec_hash
    from edgeforge.outputs import SELECTION_SETTINGS, target_sha256
    from edgeforge.spec import load_params

    def tree(folder: Path) -> dict[str, bytes]:
        return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}

    plan = (project / "build/targets/mcu/export_plan.json").read_bytes()
    exported = tree(project / "build/targets/mcu/export")
    bundle = tree(project / "build/targets/mcu/bundle")
    compose(project, "targets.mcu.constraints.latency_ms=5.0001")
    ran = stages_run(dvc("repro", cwd=project).stdout)
    assert {"search", "select@mcu", "report"} <= ran
    assert not {"export@mcu", "package@mcu", "select@sbc", "export@sbc", "package@sbc"} & ran
    assert (project / "build/targets/mcu/export_plan.json").read_bytes() == plan
    assert tree(project / "build/targets/mcu/export") == exported
    assert tree(project / "build/targets/mcu/bundle") == bundle
    spec = load_params(project / "params.yaml")
    search = json.loads((project / "build/search/targets/mcu.json").read_text())
    assert search["target_sha256"] == target_sha256(spec.targets["mcu"])  # what the report depends on
    build_hash = target_sha256(spec.targets["mcu"], without=SELECTION_SETTINGS)
    assert json.loads(plan)["target_build_sha256"] == build_hash  # what package@T depends on
    manifest = json.loads((project / "build/targets/mcu/bundle/manifest.json").read_text())
    assert manifest["spec_hash"] == spec_hash(spec, "mcu")  # the edited spec's: the limits are not in it
    report = json.loads(run(str(BIN / "edgeforge"), "report", "--json", cwd=project).stdout)
    assert report["targets"]["mcu"]["constraints"]["latency_ms"]["limit"] == 5.0001

    dvc("repro", "-f", "-s", "export@mcu", cwd=project)
    dvc("repro", "-f", "-s", "package@mcu", cwd=project)
    assert tree(project / "build/targets/mcu/export") == exported
    assert tree(project / "build/targets/mcu/bundle") == bundle
    assert stages_run(dvc("repro", cwd=project).stdout) == set()

    compose(project, "targets.mcu.constraints.latency_ms=5.0001", "targets.mcu.device.sources.clock_mhz=datasheet")
    assert "package@mcu" in stages_run(dvc("repro", cwd=project).stdout)
    manifest = json.loads((project / "build/targets/mcu/bundle/manifest.json").read_text())
    assert manifest["spec_hash"] == spec_hash(load_params(project / "params.yaml"), "mcu") != spec_hash(spec, "mcu")


def test_new_quantization_mode_evaluates_only_new_candidates(project):
    before = summary(project)
    compose(project, "search.space.quantization=[float32,int8,int16x8]")
    dvc("repro", cwd=project)
    after = summary(project)
    assert after["space_size"] == before["space_size"] + 1
    assert after["trained"] == 0
    assert after["converted"] == 1  # the one new candidate
    assert after["measured"] == 2  # ...measured in LiteRT (sbc) and TFLite Micro (mcu)


def test_editing_one_target_leaves_the_other_untouched(project):
    compose(project, "targets.sbc.constraints.latency_ms=3")
    ran = stages_run(dvc("repro", cwd=project).stdout)
    assert not {"select@mcu", "export@mcu", "package@mcu"} & ran
    assert "train" not in ran


def test_dvc_exp_run_composes_through_hydra(project):
    result = dvc("exp", "run", "-S", "targets.mcu.constraints.latency_ms=4", cwd=project)
    ran = stages_run(result.stdout)
    assert "train" not in ran and "prepare" not in ran
    params = (project / "params.yaml").read_text()
    assert "latency_ms: 4" in params
    shown = dvc("exp", "show", "--json", cwd=project).stdout
    assert "latency_ms" in shown


def test_compose_check_fails_on_stale_params(project):
    edit_yaml(project / "specs/config.yaml", {"targets.mcu.constraints.latency_ms": 6})
    result = run(str(BIN / "edgeforge"), "compose", "--check", cwd=project, check=False)
    assert result.returncode == 1
    assert "stale" in result.stderr


def test_clean_builds_give_byte_identical_outputs(built_project, tmp_path):
    """Every file a build writes, the memo and the search's results included, and so dvc.lock: no
    wall-clock time (a training's cost is its epochs), host data or generated names in any of them."""
    again = make_project(tmp_path / "again")
    for target in ("mcu", "sbc"):
        first = (built_project / "build/targets" / target / "export/model.tflite").read_bytes()
        second = (again / "build/targets" / target / "export/model.tflite").read_bytes()
        assert first == second, target

    def tree(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted((root / "build").rglob("*")) if p.is_file()}

    first, second = tree(built_project), tree(again)
    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []
    assert (built_project / "dvc.lock").read_text() == (again / "dvc.lock").read_text()


def test_a_failing_export_falls_back_to_the_next_candidate(project, monkeypatch):
    """The selected candidate's tflite export fails (as a converter would): the target ships the next
    selectable candidate instead, and the bundle and exports.json say which and why."""
    from edgeforge import export
    from edgeforge.errors import ExportError
    from edgeforge.export.tflite import TfliteExporter
    from edgeforge.stages import export as export_stage
    from edgeforge.stages import package as package_stage

    monkeypatch.chdir(project)
    selected = json.loads((project / "build/targets/sbc/selected.json").read_text())["candidate"]["id"]

    class RefusesTheSelected(TfliteExporter):
        def export(self, context, out_dir):
            if context.candidate_config == json.loads((project / "build/targets/sbc/selected.json").read_text())["candidate"]["config"]:
                raise ExportError("the converter rejects this model")
            return super().export(context, out_dir)

    monkeypatch.setitem(export.EXPORTERS, "tflite", RefusesTheSelected)
    export_stage.run("sbc")
    exports = json.loads((project / "build/targets/sbc/export/exports.json").read_text())
    assert exports["candidate"] != selected
    assert exports["fallbacks"] == [{"candidate": selected, "format": "tflite", "reason": "the converter rejects this model"}]
    package_stage.run("sbc")
    manifest = json.loads((project / "build/targets/sbc/bundle/manifest.json").read_text())
    assert manifest["candidate"]["id"] == exports["candidate"]
    assert manifest["verified_sha256"] == exports["selection"]["sha256"]


def test_a_search_served_by_the_memo_never_imports_tensorflow(project):
    """A constraint edit re-runs the search on memo hits only: no TensorFlow, no training."""
    compose(project, "targets.mcu.constraints.latency_ms=3")
    probe = (
        "import sys\n"
        "from edgeforge.stages import search\n"
        "search.run()\n"
        "heavy = sorted(m for m in ('tensorflow', 'tf_keras', 'tensorflow_model_optimization') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    result = run(sys.executable, "-c", probe, cwd=project)
    assert "HEAVY []" in result.stdout, result.stdout
    assert summary(project)["trained"] == 0


def test_predicted_download_is_the_archive_release_publishes(built_project, tmp_path):
    """`download_kb` limits what a device downloads: the search's `download_bytes` of the chosen
    candidate is the length of the archive `edgeforge release` publishes for its bundle (the MCU's
    bundle carries the TFLM C sources too, the SBC's the .tflite alone)."""
    from edgeforge.bundle.keys import init_keys
    from edgeforge.bundle.release import find_bundles, release
    from edgeforge.report import build_report

    init_keys(tmp_path / "keys")
    published = release(tmp_path / "keys", tmp_path / "repo", find_bundles(built_project / "build"))
    lengths = {path: entry["length"] for path, entry in
               json.loads((tmp_path / "repo/metadata/1.targets.json").read_text())["signed"]["targets"].items()}
    report = build_report(built_project)
    assert {entry.target for entry in published} == {"mcu", "sbc"}
    for entry in published:
        metrics = json.loads((built_project / "build/targets" / entry.target / "selected.json").read_text())["metrics"]
        [stored] = (tmp_path / "repo/targets" / entry.target).glob("*.bundle.tar.gz")
        assert metrics["download_source"] == "bundle"
        assert metrics["download_bytes"] == stored.stat().st_size == lengths[entry.path], entry.target
        assert report["targets"][entry.target]["metrics"]["download_bytes"] == metrics["download_bytes"]
    files = json.loads((built_project / "build/targets/mcu/bundle/manifest.json").read_text())["files"]
    assert {"model.tflite", "model_data.cc", "model_data.h"} <= set(files)
