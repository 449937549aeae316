from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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


def _forget_module(package: str) -> None:
    """Drop a project's factory module from the import cache, so no later test imports this copy."""
    for name in [name for name in sys.modules if name == package or name.startswith(package + ".")]:
        del sys.modules[name]


def test_init_with_model_factory_scaffolds_a_spec_and_a_starter_module_that_validate(tmp_path, monkeypatch, capsys):
    import yaml

    root = tmp_path / "own_code"
    assert main(["init", str(root), "--model-factory", "init_nets.conv:build"]) == 0
    spec = yaml.safe_load((root / "specs/model/conv.yaml").read_text())
    assert spec == {"factory": "init_nets.conv:build", "factory_file": "init_nets/conv.py", "weights_file": "init_nets/conv.py"}
    assert "  - model: conv\n" in (root / "specs/config.yaml").read_text()
    assert "def build(input_shape, num_classes, width=1.0, dropout=0.0):" in (root / "init_nets/conv.py").read_text()
    git = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=True)
    assert git.stdout == ""  # the starter module and the preset are in the first commit
    monkeypatch.chdir(root)
    assert main(["validate"]) == 0
    assert main(["compose", "--check"]) == 0
    assert yaml.safe_load((root / "params.yaml").read_text())["model"]["factory"] == "init_nets.conv:build"

    from edgeforge.models.factory import build_from_factory

    monkeypatch.setattr(sys, "path", list(sys.path))
    try:
        for shape in ((8, 8, 1), (64, 3), (6,)):  # the starter builds for images, time series and tables
            base = build_from_factory("init_nets.conv:build", shape, 10, width=1.0, dropout=0.1)
            student = build_from_factory("init_nets.conv:build", shape, 10, width=0.5, dropout=0.1)
            assert base.output_shape == (None, 10) and student.count_params() < base.count_params()
    finally:
        _forget_module("init_nets")


def test_init_with_model_path_names_the_file_until_it_is_saved(tmp_path, monkeypatch, capsys):
    import yaml

    root = tmp_path / "own_file"
    assert main(["init", str(root), "--no-git", "--model-path", "models/net.h5"]) == 0
    assert "save your model as" in capsys.readouterr().out
    spec = yaml.safe_load((root / "specs/model/net.yaml").read_text())
    assert spec == {"path": "models/net.h5", "factory_file": "models/net.h5", "weights_file": "models/net.h5"}
    monkeypatch.chdir(root)
    assert main(["validate"]) == 2
    assert "specs/model/net.yaml: model: path 'models/net.h5' does not exist" in capsys.readouterr().err

    from edgeforge.models import build_model

    (root / "models").mkdir()
    build_model("tiny_cnn", (8, 8, 1), 10).save(root / "models/net.h5")
    assert main(["validate"]) == 0
    params = yaml.safe_load((root / "params.yaml").read_text())
    assert params["search"]["space"]["width"] == [1.0]  # a file has one width: no students without a factory
    assert params["train"]["epochs"] == 0  # evaluate the trained file as it is
    assert params["model"]["path"] == "models/net.h5"


def test_init_with_factory_and_path_keeps_width_students(tmp_path, monkeypatch):
    import yaml

    root = tmp_path / "both"
    assert main(["init", str(root), "--no-git", "--model-factory", "nets:build", "--model-path", "weights/net.keras"]) == 0
    spec = yaml.safe_load((root / "specs/model/nets.yaml").read_text())
    assert spec == {"factory": "nets:build", "path": "weights/net.keras", "factory_file": "nets.py", "weights_file": "weights/net.keras"}
    params = yaml.safe_load((root / "params.yaml").read_text())
    assert params["search"]["space"]["width"] == [1.0, 0.5]  # the factory builds the students
    assert params["train"]["epochs"] > 0


def test_init_names_a_preset_apart_from_the_registry_ones(tmp_path):
    root = tmp_path / "clash"
    assert main(["init", str(root), "--no-git", "--model-factory", "tiny_cnn:build"]) == 0
    assert "  - model: my_tiny_cnn\n" in (root / "specs/config.yaml").read_text()
    assert "name: tiny_cnn" in (root / "specs/model/tiny_cnn.yaml").read_text()  # the registry preset is untouched


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--model-path", "../trained/net.h5", "--model-path ../trained/net.h5: give a path inside the project"),
        ("--model-factory", "nets.conv", "--model-factory 'nets.conv' is not 'pkg.module:function'"),
    ],
)
def test_init_refuses_a_model_option_it_cannot_scaffold(tmp_path, capsys, option, value, message):
    assert main(["init", str(tmp_path / "refused"), "--no-git", option, value]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "refused").exists()


def test_init_with_an_onnx_path_turns_the_training_passes_off(tmp_path):
    import yaml

    root = tmp_path / "own_onnx"
    assert main(["init", str(root), "--no-git", "--model-path", "models/model.onnx"]) == 0
    params = yaml.safe_load((root / "params.yaml").read_text())
    space = params["search"]["space"]
    assert (space["width"], space["sparsity"], space["clusters"], space["qat"]) == ([1.0], [0.0], [0], [False])
    assert params["train"]["epochs"] == 0 and params["model"]["path"] == "models/model.onnx"
