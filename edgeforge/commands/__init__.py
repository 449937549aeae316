"""CLI subcommands: each module has `add_parser(subparsers)` and `run(args) -> int`.

`run` returns 0 or raises an `edgeforge.errors` class, which sets the exit code; it never
calls `sys.exit` or returns another code (tests/unit/test_errors.py checks).

The helpers below are shared by the commands: `print_json` (every `--json` output is valid JSON:
no NaN or Infinity, which `json.dumps` writes by default and JSON parsers refuse) and the
argparse types that refuse NaN and infinity in numeric arguments.
"""

from __future__ import annotations

import argparse
import json
import math


def print_json(payload, **dumps_options) -> None:
    """Print `payload` as strict JSON: non-finite floats become null, NumPy values plain ones."""
    print(json.dumps(finite_json(payload), allow_nan=False, **{"indent": 2, **dumps_options}))


def finite_json(value):
    """`value` with NaN and infinity replaced by None, tuples by lists and NumPy scalars and arrays
    by Python values, recursively (what strict JSON can hold)."""
    if isinstance(value, dict):
        return {key if isinstance(key, str) else str(key): finite_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(item) for item in value]
    if hasattr(value, "tolist") and type(value).__module__ == "numpy":  # ndarray, np.float32, ...
        return finite_json(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def finite_float(text: str) -> float:
    """argparse type: a finite number (float() alone takes 'nan' and 'inf')."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"'{text}' is not a finite number")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number above 0."""
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be above 0")
    return value


def non_negative_float(text: str) -> float:
    """argparse type: a finite number of at least 0."""
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be at least 0")
    return value
