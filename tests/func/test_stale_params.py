"""`dvc repro` never builds from a params.yaml that is stale against specs/."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from edgeforge.cli import main

pytestmark = pytest.mark.slow


def dvc(root, *args):
    return subprocess.run([sys.executable, "-m", "dvc", *args], cwd=root, capture_output=True, text=True)


def test_a_spec_edit_without_compose_stops_the_build_with_the_fix(tmp_path, monkeypatch):
    root = tmp_path / "demo"
    assert main(["init", str(root)]) == 0
    first = dvc(root, "repro", "compose")
    assert first.returncode == 0, first.stderr
    again = dvc(root, "repro", "compose")  # no edit: nothing runs
    assert again.returncode == 0 and "didn't change, skipping" in again.stdout

    config = root / "specs" / "config.yaml"
    data = yaml.safe_load(config.read_text())
    data["targets"]["mcu"]["constraints"]["ram_kb"] = 64
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    stale = dvc(root, "repro", "compose")
    assert stale.returncode != 0
    assert "params.yaml is stale against specs/: run `edgeforge compose`, then `dvc repro` again" in stale.stderr + stale.stdout

    monkeypatch.chdir(root)
    assert main(["compose"]) == 0
    fixed = dvc(root, "repro", "compose")
    assert fixed.returncode == 0, fixed.stderr


def test_inside_dvc_exp_run_the_params_dvc_composed_are_trusted(tmp_project, monkeypatch, capsys):
    from edgeforge.stages import compose

    (tmp_project / "params.yaml").write_text("project: {name: overridden}\n")
    monkeypatch.setenv("DVC_EXP_NAME", "exp-1")
    compose.run()
    assert "composed by `dvc exp run`" in capsys.readouterr().out
