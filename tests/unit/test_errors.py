"""The error contract: every exception class lives in `edgeforge.errors`, drawn in its docstring
with its real parent and exit code, and commands raise them instead of exiting by hand."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import types
from pathlib import Path

import pytest

import edgeforge
from edgeforge import errors
from edgeforge.cli import main

PACKAGE = Path(edgeforge.__file__).parent
CLI_SOURCES = sorted((PACKAGE / "commands").glob("*.py")) + [PACKAGE / "cli.py"]
# A line of the drawing: tree prefix, class name, two or more spaces, what it means.
DRAWING_LINE = re.compile(r"^    (?P<prefix>[ │├└─]*)(?P<name>[A-Z]\w+) {2,}(?P<meaning>.*)$")
SIGINT_EXIT = 130  # the shell's code for Ctrl-C; cli.main returns it for KeyboardInterrupt


def exception_classes_defined_in(module: types.ModuleType) -> list[type[BaseException]]:
    return [
        cls for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, BaseException) and cls.__module__ == module.__name__
    ]


def stray_exception_classes(modules: list[types.ModuleType]) -> list[str]:
    """`module.Class` for every exception class defined outside edgeforge.errors."""
    return [
        f"{module.__name__}.{cls.__name__}"
        for module in modules if module is not errors
        for cls in exception_classes_defined_in(module)
    ]


def drawing(docstring: str) -> dict[str, tuple[str | None, str]]:
    """{class name: (parent name, meaning)} from the tree drawn in a module docstring."""
    drawn, parents = {}, []
    for line in docstring.splitlines():
        match = DRAWING_LINE.match(line)
        if not match:
            continue
        depth = len(match["prefix"]) // 4
        del parents[depth:]
        drawn[match["name"]] = (parents[-1] if parents else None, match["meaning"])
        parents.append(match["name"])
    return drawn


def exits_by_hand(source: str, filename: str) -> list[str]:
    """Lines that end the process or return a failure code instead of raising an EdgeforgeError:
    any SystemExit or sys.exit/exit/quit/os._exit call (outside the `__main__` guard), and in a
    command's `run` any return other than `return 0` (cli.main may return 0 and the SIGINT code)."""
    tree = ast.parse(source, filename)
    main_guard = {
        id(node) for statement in tree.body
        if isinstance(statement, ast.If) and "__main__" in ast.unparse(statement.test)
        for node in ast.walk(statement)
    }
    problems = []
    for node in ast.walk(tree):
        if id(node) in main_guard:
            continue
        if isinstance(node, ast.Name) and node.id == "SystemExit":
            problems.append((node.lineno, "SystemExit"))
        if isinstance(node, ast.Call) and ast.unparse(node.func) in ("sys.exit", "exit", "quit", "os._exit"):
            problems.append((node.lineno, ast.unparse(node)))
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef) or function.name not in ("run", "main"):
            continue
        for node in ast.walk(function):
            if not isinstance(node, ast.Return):
                continue
            value = node.value
            is_zero = isinstance(value, ast.Constant) and type(value.value) is int and value.value == 0
            if function.name == "run" and not is_zero:
                problems.append((node.lineno, f"run returns {ast.unparse(value) if value else 'None'}, not 0"))
            is_int = isinstance(value, ast.Constant) and type(value.value) is int
            if function.name == "main" and is_int and value.value not in (0, SIGINT_EXIT):
                problems.append((node.lineno, f"main returns {value.value} by hand"))
    return [f"{filename}:{line}: {problem}" for line, problem in sorted(problems)]


@pytest.fixture(scope="module")
def all_modules() -> list[types.ModuleType]:
    """Every module of edgeforge, imported (cheap: heavy libraries are imported inside functions)."""
    names = [info.name for info in pkgutil.walk_packages(edgeforge.__path__, "edgeforge.")]
    return [edgeforge] + [importlib.import_module(name) for name in names]


def test_every_exception_class_is_defined_in_errors(all_modules):
    assert len(all_modules) > 50  # the walk reached the subpackages
    assert stray_exception_classes(all_modules) == []


def test_stray_exception_classes_finds_one_defined_elsewhere():
    module = types.ModuleType("edgeforge.fake")
    exec("class FakeError(Exception):\n    pass\nclass NotAnError:\n    pass", module.__dict__)
    assert stray_exception_classes([module, errors]) == ["edgeforge.fake.FakeError"]


def test_errors_docstring_draws_every_class_under_its_real_parent():
    drawn = drawing(errors.__doc__)
    defined = {cls.__name__: cls for cls in exception_classes_defined_in(errors)}
    assert set(drawn) == set(defined)
    for name, (parent, _) in drawn.items():
        base = defined[name].__bases__[0]
        assert (base.__name__ if base is not Exception else None) == parent, name


def test_errors_docstring_exit_codes_match_the_classes():
    for name, (_, meaning) in drawing(errors.__doc__).items():
        code = re.match(r"exit (\d+)", meaning)
        if code:
            assert getattr(errors, name).exit_code == int(code[1]), name


def test_drawing_reads_parents_from_the_tree():
    doc = "    Root      r\n    ├── Child     c\n    │   └── Leaf      l\n    └── Other     o\n"
    assert drawing(doc) == {"Root": (None, "r"), "Child": ("Root", "c"), "Leaf": ("Child", "l"), "Other": ("Root", "o")}


@pytest.mark.parametrize("path", CLI_SOURCES, ids=lambda path: path.name)
def test_commands_raise_instead_of_exiting_by_hand(path):
    assert exits_by_hand(path.read_text(), path.name) == []


def test_exits_by_hand_flags_each_way_of_exiting():
    source = '''
import sys

def run(args):
    if args.a:
        raise SystemExit("no")
    if args.b:
        sys.exit(2)
    if args.c:
        return 2
    return 1 if args.d else 0

def main():
    return 2

if __name__ == "__main__":
    sys.exit(main())
'''
    assert [problem.split(": ", 1)[1] for problem in exits_by_hand(source, "bad.py")] == [
        "SystemExit",
        "sys.exit(2)",
        "run returns 2, not 0",
        "run returns 1 if args.d else 0, not 0",
        "main returns 2 by hand",
    ]


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["stage", "export"], 2, "edgeforge stage: error: stage 'export' runs per target: pass --target NAME"),
        (["compose", "--check", "targets.mcu.constraints.ram_kb=1"], 2, "edgeforge compose: error: --check takes no overrides"),
    ],
    ids=["stage-without-target", "compose-check-with-overrides"],
)
def test_command_error_exits_with_its_class_code_and_one_line(argv, code, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == code
    err = capsys.readouterr().err
    assert err.startswith(message) and len(err.strip().splitlines()) == 1
