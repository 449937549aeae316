"""Compose specs/ with Hydra, validate with pydantic, and write params.yaml as DVC would."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from edgeforge.errors import SpecError, UserError
from edgeforge.spec.models import Spec

# The error messages (spec/diagnostics.py) are imported where an error is described: a stage that
# loads a valid params.yaml never pays for them.

CONFIG_NAME = "config"
# libyaml's safe loader where PyYAML has it: every stage reads params.yaml, ten times faster so
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Composition:
    """The composed config and what it was made of, so errors can name the file a value came from."""

    config: dict[str, Any]
    specs_dir: Path
    choices: dict[str, str] = field(default_factory=dict)  # e.g. {"device@targets.mcu.device": "esp32_s3"}
    overrides: list[str] = field(default_factory=list)

    def origin_of(self, loc: tuple[str | int, ...]) -> str:
        """The spec file (or the command line) that set the value at `loc`, as far as we can tell."""
        dotted = ".".join(str(part) for part in loc)
        for override in self.overrides:
            key = override.lstrip("+~").split("=", 1)[0]
            if "@" not in key and (dotted == key or dotted.startswith(key + ".")):
                return "command-line override"
        best: tuple[int, str] | None = None
        for group_key, choice in self.choices.items():
            group, _, package = group_key.partition("@")
            package = package or group
            if group.startswith("hydra") or choice is None:
                continue
            prefix = package.split(".")
            if list(map(str, loc[: len(prefix)])) != prefix:
                continue
            path = self.specs_dir / group / f"{choice}.yaml"
            rest = [str(part) for part in loc[len(prefix):]]
            if _yaml_has_key(path, rest) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), str(path))
        if best:
            return _relative(best[1])
        return _relative(str(self.specs_dir / f"{CONFIG_NAME}.yaml"))


def compose(specs_dir: str | Path = "specs", overrides: list[str] | None = None) -> Composition:
    """Compose `specs_dir/config.yaml` with Hydra overrides (no validation)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    specs_dir = Path(specs_dir).resolve()
    if not (specs_dir / f"{CONFIG_NAME}.yaml").is_file():
        raise UserError(
            f"{_relative(str(specs_dir))}: no {CONFIG_NAME}.yaml here; run edgeforge in a project "
            "directory (one with specs/), or create one with `edgeforge init DIR`"
        )
    overrides = list(overrides or [])
    try:
        with initialize_config_dir(config_dir=str(specs_dir), version_base=None):
            cfg = hydra_compose(config_name=CONFIG_NAME, overrides=overrides, return_hydra_config=True)
            choices = dict(OmegaConf.to_container(cfg.hydra.runtime.choices))
        spec_cfg = OmegaConf.masked_copy(cfg, [key for key in cfg if key != "hydra"])
        config = OmegaConf.to_container(spec_cfg, resolve=True)
    except (HydraException, OmegaConfBaseException) as error:
        raise SpecError([_describe_hydra_error(specs_dir, error)]) from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        from edgeforge.spec.diagnostics import describe_yaml_error

        raise SpecError([describe_yaml_error(_yaml_source(specs_dir, error), error)]) from None
    return Composition(config=config, specs_dir=specs_dir, choices=choices, overrides=overrides)


def validate(composition: Composition) -> Spec:
    try:
        return Spec.model_validate(composition.config)
    except ValidationError as error:
        from edgeforge.spec.diagnostics import describe_validation_error

        raise SpecError(describe_validation_error(error, composition.origin_of)) from None


def compose_spec(specs_dir: str | Path = "specs", overrides: list[str] | None = None) -> tuple[Spec, Composition]:
    composition = compose(specs_dir, overrides)
    return validate(composition), composition


def render_params(config: dict[str, Any]) -> str:
    """params.yaml text, byte for byte what `dvc exp run` writes through its Hydra integration."""
    from omegaconf import OmegaConf

    return OmegaConf.to_yaml(OmegaConf.create(config))


def write_params(config: dict[str, Any], path: str | Path = "params.yaml") -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render_params(config), encoding="utf-8")
    os.replace(tmp, path)


def load_params(path: str | Path = "params.yaml") -> Spec:
    """Validate a params.yaml (written by `edgeforge compose` or by `dvc exp run -S`)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: not found; run `edgeforge compose` to write it from specs/")
    try:
        config = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        from edgeforge.spec.diagnostics import describe_yaml_error

        raise SpecError([describe_yaml_error(str(path), error) + "; run `edgeforge compose` to write it again"]) from None
    if config is not None and not isinstance(config, dict):
        raise SpecError([f"{path}: holds a YAML {type(config).__name__}, not the spec; run `edgeforge compose` to write it again"])
    try:
        return Spec.model_validate(config or {})
    except ValidationError as error:
        from edgeforge.spec.diagnostics import describe_validation_error

        raise SpecError(describe_validation_error(error, lambda loc: str(path))) from None


def params_are_current(specs_dir: str | Path, params_path: str | Path) -> bool:
    """True when params.yaml holds what the specs compose to (compared as data, not text)."""
    composition = compose(specs_dir)
    validate(composition)
    params_path = Path(params_path)
    if not params_path.is_file():
        return False
    return yaml.safe_load(params_path.read_text(encoding="utf-8")) == composition.config


def _describe_hydra_error(specs_dir: Path, error: Exception) -> str:
    from edgeforge.spec.diagnostics import did_you_mean, field_names_at

    message = str(error).strip()
    missing = re.search(r"Could not find '([^']+)'.*?Available options in '([^']+)':\n(.*?)(?:\nConfig search path|$)", message, re.S)
    if missing:
        wanted = missing.group(1).split("/")[-1]
        group = missing.group(2)
        options = [line.strip() for line in missing.group(3).splitlines() if line.strip()]
        hint = did_you_mean(wanted, options)
        return (
            f"{_relative(str(specs_dir / group))}/: no preset '{wanted}' in group '{group}'; "
            f"{hint + ' ' if hint else ''}available: {', '.join(options)}"
        )
    unknown = re.search(r"Could not override '([^']+)'", message)
    if unknown:
        *parents, key = unknown.group(1).split(".")
        valid = field_names_at(tuple(parents))
        hint = did_you_mean(key, valid) or (f"valid keys: {', '.join(valid)}" if valid else "")
        return f"command-line override: {unknown.group(1)}: unknown key; {hint}"
    return f"{_relative(str(specs_dir))}: {message.splitlines()[0]}"


def _yaml_has_key(path: Path, keys: list[str]) -> bool:
    try:
        node: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return False
    for key in keys:
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return False
    return True


def _yaml_source(specs_dir: Path, error: Exception) -> str:
    """The spec file a YAML error comes from (its mark names it), else the spec directory."""
    mark = getattr(error, "problem_mark", None)
    name = getattr(mark, "name", None)
    if name and not name.startswith("<"):
        return _relative(name)
    if isinstance(error, UnicodeDecodeError):
        for path in sorted(specs_dir.rglob("*.yaml")):
            try:
                path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                return _relative(str(path))
    return _relative(str(specs_dir))


def _relative(path: str) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return path
