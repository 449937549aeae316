"""Scaffold a new edgeforge project: specs/, params.yaml, dvc.yaml, git and DVC with Hydra on."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

import yaml

from edgeforge.errors import SpecError, UserError
from edgeforge.spec.compose import compose, validate, write_params
from edgeforge.templates import project_template, starter_factory

# build/ holds the memo too; .edgeforge-memo/ is where docs/sweeps.md puts a memo shared by experiments.
GITIGNORE = "/build/\n/.edgeforge-memo/\n/dvc_plots/\n__pycache__/\n/outputs/\n/multirun/\n"
FIRST_COMMIT = "edgeforge init"
# A fixed identity for the scaffold's first commit when the user has none configured (CI, containers).
COMMIT_IDENTITY = ("-c", "user.name=edgeforge", "-c", "user.email=edgeforge@localhost")


def init_project(
    directory: str | Path, *, git: bool = True, model_factory: str | None = None, model_path: str | None = None
) -> Path:
    """Create `directory` as a project that validates and builds straight away.

    With `model_factory` ('pkg.module:function') and/or `model_path` (a tf_keras file, relative to the
    project), the spec uses your model instead of the registry's (README "Bring your own model"): a
    model preset in specs/model/ selected in specs/config.yaml, and a starter module for the factory.
    A model file that is not there yet is only named: `edgeforge validate` says so until it is."""
    root = Path(directory)
    _check_model_options(model_factory, model_path)
    if root.exists() and any(root.iterdir()):
        raise UserError(f"{root}: directory is not empty; choose a new directory")
    template = project_template()
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(template / "specs", root / "specs")
    shutil.copy2(template / "dvc.yaml", root / "dvc.yaml")
    (root / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
    if model_factory or model_path:
        scaffold_own_model(root, model_factory, model_path)
    composition = compose(root / "specs")
    _validate_scaffold(root, composition, model_path)
    write_params(composition.config, root / "params.yaml")
    if git:
        _run(["git", "init", "-q"], root)
    _run([sys.executable, "-m", "dvc", "init", "-q"] + ([] if git else ["--no-scm"]), root)
    enable_dvc_hydra(root)
    if git:  # `dvc exp run --queue` needs a commit to base experiments on
        _run(["git", "add", "-A"], root)
        _run(["git", *_identity(root), "commit", "-q", "-m", FIRST_COMMIT], root)
    return root


def _validate_scaffold(root: Path, composition, model_path: str | None) -> None:
    """Validate the new project's spec, except that a model file may still be missing."""
    with contextlib.chdir(root):  # the spec's model files are relative to the project root
        try:
            validate(composition)
        except SpecError as error:
            missing = model_path is not None and not Path(model_path).exists()
            if not (missing and len(error.problems) == 1 and "does not exist" in error.problems[0]):
                raise


def _check_model_options(model_factory: str | None, model_path: str | None) -> None:
    from edgeforge.spec.models import _FACTORY_REF

    if model_factory is not None and not _FACTORY_REF.match(model_factory):
        raise UserError(f"--model-factory '{model_factory}' is not 'pkg.module:function'; write e.g. 'models.net:build'")
    if model_factory and (model_path or "").endswith(".onnx"):
        raise UserError("--model-factory with an ONNX --model-path: an ONNX model is used as it is (no width students); drop one")
    if model_path is not None:
        path = PurePosixPath(Path(model_path).as_posix())
        if path.is_absolute() or ".." in path.parts:
            raise UserError(
                f"--model-path {model_path}: give a path inside the project (dvc.yaml depends on it), e.g. models/net.h5; "
                "copy the file there after init"
            )


def scaffold_own_model(root: Path, model_factory: str | None, model_path: str | None) -> str:
    """Write specs/model/<name>.yaml for your model (and the factory's starter module where it is
    missing), select it in specs/config.yaml, and return <name>.

    <name> is the factory's module (`nets.conv:build` → conv) or else the file's stem (net.h5 → net)."""
    module, _, function = (model_factory or "").partition(":")
    source = f"{module.replace('.', '/')}.py" if model_factory else None
    name = module.rpartition(".")[2] if model_factory else Path(model_path).name.split(".")[0]
    if (root / "specs" / "model" / f"{name}.yaml").exists():  # a registry preset has that name
        name = f"my_{name}"
    spec_file = f"specs/model/{name}.yaml"
    model: dict = {}
    if model_factory:
        model["factory"] = model_factory
    if model_path:
        model["path"] = Path(model_path).as_posix()
    # dvc.yaml's train (and search) stages depend on these two files: the README names them per route
    model["factory_file"] = source or model["path"]
    model["weights_file"] = model.get("path", source)
    header = f"# Your model (edgeforge init): {_route(model_factory, model_path)}.\n"
    (root / spec_file).write_text(header + yaml.safe_dump(model, sort_keys=False), encoding="utf-8")
    if source and not (root / source).exists():
        (root / source).parent.mkdir(parents=True, exist_ok=True)
        (root / source).write_text(starter_factory(function, spec_file), encoding="utf-8")
    _edit_spec(root / "specs" / "config.yaml", r"^(\s*- model: )\S+", rf"\g<1>{name}")
    if model_path and not model_factory:
        # A file has one width (no code to build students), and epochs 0 evaluates it as it is; an
        # ONNX file is never trained, so every training-time pass is off too.
        onnx = model_path.endswith(".onnx")
        for key, off in _passes_a_file_cannot_take(onnx).items():
            why = "an ONNX model is not trained" if onnx else "a model file has one width: add model.factory for smaller students"
            _edit_spec(root / "specs" / "search" / "default.yaml", rf"^(\s*{key}: ).*$", rf"\g<1>{json.dumps([off])}  # {why}")
        use = "as it is" if onnx else "as it is; > 0 fine-tunes it on the data"
        _edit_spec(root / "specs" / "config.yaml", r"^(\s*epochs: ).*$", rf"\g<1>0  # evaluate {model['path']} {use}")
    return name


def _passes_a_file_cannot_take(onnx: bool) -> dict:
    """search.space keys to leave at their off value for a model file without a factory: {key: off}."""
    from edgeforge.passes import PASSES

    settings = [cls.search for cls in PASSES.values() if cls.trains]
    return {setting.key: setting.off for setting in settings if onnx or setting.key == "width"}


def _route(model_factory: str | None, model_path: str | None) -> str:
    if model_factory and model_path:
        return f"the weights in {model_path}, and {model_factory} to build the width students"
    if model_factory:
        return f"the tf_keras model {model_factory} builds, trained from scratch"
    return f"the trained tf_keras model in {model_path}"


def _edit_spec(path: Path, pattern: str, replacement: str) -> None:
    """One line of a template spec file changed in place, so that its comments stay."""
    text, count = re.subn(pattern, replacement, path.read_text(encoding="utf-8"), count=1, flags=re.MULTILINE)
    if count != 1:  # the template changed under us: say what to fix rather than scaffold a wrong spec
        raise UserError(f"{path}: no line matches {pattern!r}; edgeforge's project template changed, update edgeforge/project.py")
    path.write_text(text, encoding="utf-8")


def _identity(root: Path) -> tuple[str, ...]:
    """The user's git identity if they have one, else edgeforge's (so the first commit never fails)."""
    configured = subprocess.run(["git", "config", "user.email"], cwd=root, capture_output=True, text=True)
    return () if configured.stdout.strip() else COMMIT_IDENTITY


def enable_dvc_hydra(root: Path) -> None:
    """Let `dvc exp run -S` compose specs/ the way `edgeforge compose` does."""
    for key, value in (("hydra.enabled", "true"), ("hydra.config_dir", "specs"), ("hydra.config_name", "config")):
        _run([sys.executable, "-m", "dvc", "config", key, value], root)


def _run(command: list[str], cwd: Path) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise UserError(f"`{' '.join(command)}` failed in {cwd}: {result.stderr.strip()}")
