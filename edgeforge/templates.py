"""Where the project template (specs/, dvc.yaml, ...) lives: in the wheel, or in a source checkout."""

from __future__ import annotations

from pathlib import Path

TEMPLATE_FILES = ("specs", "dvc.yaml", "params.yaml")


def project_template() -> Path:
    packaged = Path(__file__).parent / "_project_template"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent  # source checkout: the repo is itself a project
