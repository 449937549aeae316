"""tests/unit/ mirrors the package: every package under edgeforge/ has tests/unit/<package>/ with
tests in it (top-level modules are tested at the top of tests/unit/)."""

from __future__ import annotations

from pathlib import Path

import edgeforge

PACKAGE = Path(edgeforge.__file__).parent
UNIT_TESTS = Path(__file__).parent


def package_dirs(package: Path) -> list[Path]:
    """Sub-packages of `package`, as paths relative to it: every folder holding Python modules
    (with or without an __init__.py: edgeforge/search/ is a namespace package)."""
    folders = {path.parent for path in package.rglob("*.py") if "__pycache__" not in path.parts}
    return sorted(folder.relative_to(package) for folder in folders if folder != package)


def untested_packages(package: Path, unit_tests: Path) -> list[str]:
    """Sub-packages with no tests/unit/<package>/test_*.py."""
    return [
        relative.as_posix() for relative in package_dirs(package)
        if not any((unit_tests / relative).glob("test_*.py"))
    ]


def test_every_package_has_a_unit_test_folder_with_tests():
    assert package_dirs(PACKAGE), "found no packages: is edgeforge where this test thinks it is?"
    assert untested_packages(PACKAGE, UNIT_TESTS) == []


def test_untested_packages_names_a_package_without_tests(tmp_path):
    package, unit_tests = tmp_path / "pkg", tmp_path / "unit"
    for module in ("cli.py", "data/__init__.py", "data/loaders.py", "search/engine.py", "passes/onnx/quantize.py"):
        (package / module).parent.mkdir(parents=True, exist_ok=True)
        (package / module).write_text("")
    (unit_tests / "data").mkdir(parents=True)
    (unit_tests / "data" / "test_loaders.py").write_text("")
    (unit_tests / "search").mkdir()
    (unit_tests / "search" / "helpers.py").write_text("")  # not a test module
    assert untested_packages(package, unit_tests) == ["passes/onnx", "search"]
