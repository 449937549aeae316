"""Memo keys per kind: each memo entry is keyed by the code that produces it, and only by it."""

from __future__ import annotations

import shutil

import pytest

from edgeforge.runtimes import RUNTIMES
from edgeforge.search import codeversion
from tests.conftest import REPO


@pytest.fixture
def package_copy(tmp_path, monkeypatch):
    """A copy of the edgeforge sources that codeversion hashes instead of the real ones."""
    root = tmp_path / "edgeforge"
    shutil.copytree(REPO / "edgeforge", root, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(codeversion, "PACKAGE_ROOT", root)
    codeversion.code_version.cache_clear()
    yield root
    codeversion.code_version.cache_clear()


def versions() -> dict[str, str]:
    codeversion.code_version.cache_clear()
    return {
        "trained": codeversion.training_version(),
        "converted tflite": codeversion.conversion_version("tflite"),
        "converted onnx": codeversion.conversion_version("onnx"),
        **{f"measured {name}": codeversion.measurement_version(runtime) for name, runtime in RUNTIMES.items()},
    }


def changed_by(root, relative: str) -> set[str]:
    before = versions()
    with open(root / relative, "a") as source:
        source.write("\n# an edit\n")
    after = versions()
    return {kind for kind in before if before[kind] != after[kind]}


def test_editing_an_exporter_changes_no_memo_key(package_copy):
    assert changed_by(package_copy, "export/tensorrt.py") == set()
    assert changed_by(package_copy, "export/tflm_c.py") == set()


def test_editing_a_pass_retrains_everything(package_copy):
    assert "trained" in changed_by(package_copy, "passes/prune.py")


def test_editing_the_onnx_converter_reconverts_only_onnx(package_copy):
    assert changed_by(package_copy, "export/onnx.py") == {"converted onnx"}


def test_editing_a_runtime_remeasures_only_in_that_runtime_and_those_it_stands_in_for(package_copy):
    changed = changed_by(package_copy, "runtimes/onnx_runtime.py")
    assert "trained" not in changed and "converted tflite" not in changed
    assert {"measured onnxruntime", "measured tensorrt"} <= changed
    assert "measured tflite-micro" not in changed


def test_editing_the_memory_planner_remeasures_only_in_tflite_micro_and_those_it_stands_in_for(package_copy):
    changed = changed_by(package_copy, "memory/packing.py")
    assert {"measured tflite-micro", "measured ethos-u"} <= changed
    assert not changed & {"trained", "converted tflite", "measured tflite", "measured onnxruntime"}
