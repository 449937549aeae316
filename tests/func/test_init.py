from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from edgeforge.cli import main


def test_init_creates_a_project_that_validates(tmp_path, monkeypatch, capsys):
    assert main(["init", str(tmp_path / "demo")]) == 0
    root = tmp_path / "demo"
    for name in ("specs/config.yaml", "specs/device/stm32f746_disco.yaml", "params.yaml", "dvc.yaml", ".gitignore", ".dvc/config", ".git"):
        assert (root / name).exists(), name
    assert "enabled = true" in (root / ".dvc/config").read_text()
    assert "config_dir = specs" in (root / ".dvc/config").read_text()
    monkeypatch.chdir(root)
    assert main(["validate"]) == 0
    assert main(["compose", "--check"]) == 0


def test_init_refuses_a_non_empty_directory(tmp_path, capsys):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    assert main(["init", str(tmp_path / "taken")]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"


def test_dvc_hydra_composes_the_same_params(tmp_path):
    root = tmp_path / "demo"
    assert main(["init", str(root)]) == 0
    expected = (root / "params.yaml").read_text()
    from dvc.utils.hydra import compose_and_dump

    compose_and_dump(str(root / "dvc_params.yaml"), str(root / "specs"), None, "config", str(root), [])
    assert Path(root / "dvc_params.yaml").read_text() == expected


def test_init_commits_so_experiments_can_be_queued_in_a_fresh_project(tmp_path):
    root = tmp_path / "demo"
    assert main(["init", str(root)]) == 0
    git = lambda *args: subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout
    assert git("log", "--format=%s").strip() == "edgeforge init"
    assert git("status", "--porcelain") == ""  # everything the scaffold wrote is committed
    (root / ".edgeforge-memo" / "trained").mkdir(parents=True)
    (root / ".edgeforge-memo" / "trained" / "entry").write_text("x")
    assert git("status", "--porcelain") == ""  # a shared memo folder is ignored
    queued = subprocess.run(
        [sys.executable, "-m", "dvc", "exp", "run", "--queue", "-S", "targets.mcu.constraints.ram_kb=64"],
        cwd=root, capture_output=True, text=True,
    )
    assert queued.returncode == 0, queued.stderr
    status = subprocess.run([sys.executable, "-m", "dvc", "queue", "status"], cwd=root, capture_output=True, text=True)
    assert "Queued" in status.stdout
