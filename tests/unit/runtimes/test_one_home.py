"""A runtime lives in one module: its name is written in at most three files of the package."""

from __future__ import annotations

import ast
from pathlib import Path

from edgeforge.export import EXPORTERS
from edgeforge.runtimes import RUNTIMES
from tests.conftest import REPO

MAX_FILES = 3  # its module, the registry, one spec place
# Calls whose string argument names a runtime (`predict(model, x, "tflite")`, `get_runtime(...)`).
RUNTIME_CALLS = {"get_runtime", "predict", "evaluate_model", "measured", "profile_model", "accuracy"}


def runtime_literals(tree: ast.AST, name: str, also_a_format: bool) -> list[int]:
    """Lines where `name` is written as a runtime. A name that is also a format counts only where
    the code uses it as a runtime: compared with, passed as or keyed by a runtime."""
    lines = []
    for node in ast.walk(tree):
        if not also_a_format:
            if isinstance(node, ast.Constant) and node.value == name:
                lines.append(node.lineno)
            continue
        candidates = []
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any("runtime" in ast.unparse(operand) for operand in operands):
                candidates += operands
        elif isinstance(node, ast.keyword) and node.arg and "runtime" in node.arg:
            candidates.append(node.value)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in RUNTIME_CALLS:
            candidates += node.args
        elif isinstance(node, ast.Subscript) and "RUNTIMES" in ast.unparse(node.value):
            candidates.append(node.slice)
        lines += [c.lineno for c in candidates if isinstance(c, ast.Constant) and c.value == name]
    return lines


def files_naming(name: str) -> list[str]:
    found = []
    for path in sorted((REPO / "edgeforge").rglob("*.py")):
        if path.parent.name == "export" and path.stem == name:
            continue  # the exporter of the format with the same name
        if runtime_literals(ast.parse(path.read_text()), name, also_a_format=name in EXPORTERS):
            found.append(path.relative_to(REPO).as_posix())
    return found


def test_each_runtime_name_is_written_in_at_most_three_files():
    too_many = {name: files for name in RUNTIMES if len(files := files_naming(name)) > MAX_FILES}
    assert not too_many, f"runtime names spread over more than {MAX_FILES} files: {too_many}"


def test_the_count_sees_a_runtime_written_as_a_runtime():
    code = 'if target.runtime == "tflite": predict(model, x, "tflite")\nformats = ["tflite"]'
    assert runtime_literals(ast.parse(code), "tflite", also_a_format=True) == [1, 1]
    assert runtime_literals(ast.parse('x = "tflite-micro"'), "tflite-micro", also_a_format=False) == [1]


def test_every_runtime_module_is_registered_and_named_after_itself():
    for name, runtime in RUNTIMES.items():
        assert runtime.name == name
        module = Path(type(runtime).__module__.replace(".", "/") + ".py")
        assert (REPO / module).is_file() and module.parent == Path("edgeforge/runtimes")
