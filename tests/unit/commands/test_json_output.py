"""`--json` output is always valid JSON, and numeric arguments refuse NaN and infinity."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from edgeforge.cli import main
from edgeforge.commands import finite_float, positive_float, print_json


def strict_loads(text: str):
    return json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))


def test_print_json_writes_non_finite_numbers_as_null(capsys):
    print_json({"nan": float("nan"), "inf": [float("inf"), -np.inf], "array": np.array([1.5, np.nan]),
                "scalar": np.float32(0.25), "nested": {"tuple": (1, float("nan"))}})
    assert strict_loads(capsys.readouterr().out) == {
        "nan": None, "inf": [None, None], "array": [1.5, None], "scalar": 0.25, "nested": {"tuple": [1, None]},
    }


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "NaN", "Infinity", "1e999", "abc"])
def test_finite_float_refuses_what_is_not_a_finite_number(text):
    with pytest.raises(argparse.ArgumentTypeError):
        finite_float(text)


@pytest.mark.parametrize("text", ["0", "-1", "-0.5"])
def test_positive_float_refuses_zero_and_below(text):
    with pytest.raises(argparse.ArgumentTypeError, match="must be above 0"):
        positive_float(text)


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-3"])
def test_profile_refuses_an_inference_rate_that_is_not_positive_and_finite(tmp_project, capsys, value):
    model = tmp_project / "model.tflite"
    model.write_bytes(b"unused")
    with pytest.raises(SystemExit) as exit_:
        main(["profile", str(model), "--device", "stm32f746_disco", "--json", "--inference-hz", value])
    assert exit_.value.code == 2 and "--inference-hz" in capsys.readouterr().err


def test_devices_json_is_strict_json(tmp_project, capsys):
    assert main(["devices", "--json"]) == 0
    assert {device["name"] for device in strict_loads(capsys.readouterr().out)} >= {"stm32f746_disco", "raspberry_pi_4"}
