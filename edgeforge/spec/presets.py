"""Device presets on disk: the project's specs/device/, else the ones edgeforge ships."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from edgeforge.errors import SpecError, UserError
from edgeforge.spec.device import Device
from edgeforge.spec.diagnostics import describe_yaml_error, did_you_mean
from edgeforge.templates import project_template


def preset_dir(specs_dir: str | Path = "specs") -> Path:
    local = Path(specs_dir) / "device"
    return local if local.is_dir() else project_template() / "specs" / "device"


def preset_names(specs_dir: str | Path = "specs") -> list[str]:
    return sorted(path.stem for path in preset_dir(specs_dir).glob("*.yaml"))


def load_preset(name: str, specs_dir: str | Path = "specs") -> Device:
    path = preset_dir(specs_dir) / f"{name}.yaml"
    if not path.is_file():
        names = preset_names(specs_dir)
        hint = did_you_mean(name, names)
        raise UserError(f"unknown device '{name}'; {hint + ' ' if hint else ''}valid: {', '.join(names)}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise SpecError([describe_yaml_error(str(path), error)]) from None
    if not isinstance(data, dict):
        raise SpecError([f"{path}: a device preset is a mapping of keys (name, class, cpu, ...), not {type(data).__name__}"])
    try:
        return Device.model_validate(data)
    except ValidationError as error:
        problems = [
            f"{path}: {'.'.join(map(str, e['loc'])) or '(top level)'}: {e['msg'].removeprefix('Value error, ')}"
            for e in error.errors()
        ]
        raise SpecError(problems) from None


def load_presets(specs_dir: str | Path = "specs") -> list[Device]:
    return [load_preset(name, specs_dir) for name in preset_names(specs_dir)]
