import math
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

# Beyond int64 no library below (NumPy, TensorFlow) can hold the number: it can only be a typo.
MAX_INT = 2**63 - 1


class StrictModel(BaseModel):
    """Base of every spec section: unknown keys are errors, values are checked on assignment.

    Nothing is silently accepted: every number is finite (no NaN or infinity, also inside free-form
    mappings such as a device's `runtime_settings`), integers fit in 64 bits, and every string,
    a dict key included, is non-empty and not blank (a `sources` entry of "" cites nothing).
    """

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, validate_assignment=True, allow_inf_nan=False, str_min_length=1
    )

    @field_validator("*", mode="after")
    @classmethod
    def _check_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        problem = value_problem(value)
        if problem:
            raise ValueError(problem)
        return value


def value_problem(value: Any, path: str = "") -> str | None:
    """Why `value` (a scalar, or a list or dict of them, nested) is not a usable spec value: a NaN
    or infinite float, an integer beyond 64 bits, a blank string. Spec sections (models) check
    themselves."""
    where = f" at {path}" if path else ""
    if isinstance(value, bool) or isinstance(value, BaseModel):
        return None
    if isinstance(value, str):
        return f"blank string{where}; write a value or remove the key" if value and not value.strip() else None
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value}{where} is not a finite number; use a finite value"
    if isinstance(value, int) and abs(value) > MAX_INT:
        return f"{value}{where} is too large (at most {MAX_INT})"
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        problem = value_problem(item, f"{path}.{key}" if path else str(key))
        if problem:
            return problem
    return None
