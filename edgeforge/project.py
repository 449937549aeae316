"""Scaffold a new edgeforge project: specs/, params.yaml, dvc.yaml, git and DVC with Hydra on."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from edgeforge.errors import UserError
from edgeforge.spec.compose import compose, validate, write_params
from edgeforge.templates import project_template

# build/ holds the memo too; .edgeforge-memo/ is where docs/sweeps.md puts a memo shared by experiments.
GITIGNORE = "/build/\n/.edgeforge-memo/\n/dvc_plots/\n__pycache__/\n/outputs/\n/multirun/\n"
FIRST_COMMIT = "edgeforge init"
# A fixed identity for the scaffold's first commit when the user has none configured (CI, containers).
COMMIT_IDENTITY = ("-c", "user.name=edgeforge", "-c", "user.email=edgeforge@localhost")


def init_project(directory: str | Path, *, git: bool = True) -> Path:
    """Create `directory` as a project that validates and builds straight away."""
    root = Path(directory)
    if root.exists() and any(root.iterdir()):
        raise UserError(f"{root}: directory is not empty; choose a new directory")
    template = project_template()
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(template / "specs", root / "specs")
    shutil.copy2(template / "dvc.yaml", root / "dvc.yaml")
    (root / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
    composition = compose(root / "specs")
    validate(composition)
    write_params(composition.config, root / "params.yaml")
    if git:
        _run(["git", "init", "-q"], root)
    _run([sys.executable, "-m", "dvc", "init", "-q"] + ([] if git else ["--no-scm"]), root)
    enable_dvc_hydra(root)
    if git:  # `dvc exp run --queue` needs a commit to base experiments on
        _run(["git", "add", "-A"], root)
        _run(["git", *_identity(root), "commit", "-q", "-m", FIRST_COMMIT], root)
    return root


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
