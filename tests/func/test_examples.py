"""The example projects under examples/ are self-contained: each validates, generates its data with
its own DVC stage (no download) and composes to the params.yaml it ships. Their full `dvc repro`
takes minutes each (README.md of each example gives the measured time), too long for the suite."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tests.func.shell import BIN, run

pytestmark = pytest.mark.slow

EXAMPLES = {"motion": "data/motion.npz", "keyword_spotting": "data/speech_commands", "anomaly": "data/vibration"}
BUILD_OUTPUTS = ("build", "data", "dvc.lock", ".dvc/tmp", ".dvc/cache")  # what a local build leaves


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_generates_its_data_validates_and_composes_to_its_params(name, tmp_path):
    source = REPO / "examples" / name
    root = tmp_path / name
    shutil.copytree(source, root, ignore=lambda folder, names: [n for n in names if (Path(folder) / n).relative_to(source).as_posix() in BUILD_OUTPUTS])
    run("git", "init", "-q", cwd=root)  # DVC needs a git repository; in a clone the example sits in edgeforge's

    stages = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]
    assert list(stages)[:3] == ["generate", "compose", "prepare"]
    assert stages["prepare"]["deps"] == ["${dataset.path}"]
    assert stages["generate"]["outs"] == [EXAMPLES[name]]

    run(sys.executable, "-m", "dvc", "repro", "generate", cwd=root)
    assert (root / EXAMPLES[name]).exists()
    validated = run(str(BIN / "edgeforge"), "validate", cwd=root).stdout
    assert "ok: specs/config.yaml is valid" in validated
    run(str(BIN / "edgeforge"), "compose", "--check", cwd=root)  # the shipped params.yaml is current
    params = yaml.safe_load((root / "params.yaml").read_text())
    assert params["dataset"]["path"] == EXAMPLES[name]
    ignored = (source / ".gitignore").read_text().split()
    assert {"/build/", "/data/"} <= set(ignored)  # build outputs stay out of git


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_pipeline_is_the_project_pipeline_after_its_generate_stage(name):
    """An example runs the pipeline `edgeforge init` scaffolds (the repository's dvc.yaml), with
    only its data-generating stage in front: a change to the pipeline must reach the examples."""
    example = yaml.safe_load((REPO / "examples" / name / "dvc.yaml").read_text())
    project = yaml.safe_load((REPO / "dvc.yaml").read_text())
    generate = example["stages"].pop("generate")
    assert generate["outs"] == [EXAMPLES[name]]
    assert example == project


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_device_presets_are_copies_of_the_shipped_presets(name):
    """An example carries the presets it uses so that it stands alone; a re-fit of the presets
    (benchmarks/fit_latency.py --write) must reach the copies too."""
    copies = sorted((REPO / "examples" / name / "specs" / "device").glob("*.yaml"))
    assert copies
    for copy in copies:
        assert copy.read_text() == (REPO / "specs" / "device" / copy.name).read_text(), f"{copy} differs from specs/device/"
