"""Turn pydantic's validation errors into compiler-style lines: `file: key.path: what; fix`."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable

from pydantic import BaseModel, ValidationError


def did_you_mean(wanted: str, choices: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(str(wanted), list(choices), n=1, cutoff=0.5)
    return f"did you mean '{close[0]}'?" if close else ""


def describe_yaml_error(path: str, error: Exception) -> str:
    """One line for a spec file YAML cannot read: `file:line:column: invalid YAML: what`."""
    mark = getattr(error, "problem_mark", None)
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
    if isinstance(error, UnicodeDecodeError):
        return f"{path}: not UTF-8 text (byte {error.start}); is this a YAML spec file?"
    what = getattr(error, "problem", None) or str(error).splitlines()[0]
    context = getattr(error, "context", None)
    return f"{where}: invalid YAML: {what}" + (f" ({context})" if context else "")


def describe_validation_error(
    error: ValidationError, origin_of: Callable[[tuple], str]
) -> list[str]:
    from edgeforge.spec.models import Spec

    lines = []
    for problem in error.errors():
        loc = tuple(problem["loc"])
        dotted = ".".join(str(part) for part in loc) or "(top level)"
        lines.append(f"{origin_of(loc)}: {dotted}: {_explain(problem, loc, Spec)}")
    return lines


def _explain(problem: dict, loc: tuple, root: type[BaseModel]) -> str:
    kind = problem["type"]
    if kind == "extra_forbidden":
        valid = _field_names(_type_at(root, loc[:-1]))
        hint = did_you_mean(str(loc[-1]), valid)
        return f"unknown key; {hint or 'valid keys: ' + ', '.join(valid)}"
    if kind == "missing":
        return "required key is missing; add it"
    if kind in ("literal_error", "enum"):
        expected = problem.get("ctx", {}).get("expected", "")
        choices = [choice.strip(" '") for choice in expected.replace(" or ", ",").split(",")]
        hint = did_you_mean(str(problem["input"]), choices)
        return f"'{problem['input']}' is not valid; {hint + ' ' if hint else ''}choose one of: {', '.join(choices)}"
    message = problem["msg"].removeprefix("Value error, ")
    return message[0].lower() + message[1:] if message else kind


def field_names_at(loc: tuple) -> list[str]:
    """Valid keys of the spec section at `loc` (empty if `loc` is not a section)."""
    from edgeforge.spec.models import Spec

    return _field_names(_type_at(Spec, loc))


def _type_at(root: type, loc: tuple) -> type | None:
    """The annotation of the spec field at `loc` (walking models, dicts and lists)."""
    current: typing.Any = root
    for part in loc:
        current = _unwrap_optional(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = _field_by_name(current, str(part))
            if field is None:
                return None
            current = field.annotation
        elif typing.get_origin(current) is dict:
            current = typing.get_args(current)[1]
        elif typing.get_origin(current) is list:
            current = typing.get_args(current)[0]
        else:
            return None
    return _unwrap_optional(current)


def _field_by_name(model: type[BaseModel], name: str):
    for field_name, field in model.model_fields.items():
        if name in (field_name, field.alias):
            return field
    return None


def _field_names(model: typing.Any) -> list[str]:
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [field.alias or name for name, field in model.model_fields.items()]
    return []


def _unwrap_optional(annotation: typing.Any) -> typing.Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation
