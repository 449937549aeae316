from __future__ import annotations

import numpy as np
import pytest

from edgeforge.bundle.telemetry import TelemetryLog, read_telemetry
from edgeforge.errors import UserError


def test_telemetry_round_trips_features_classes_and_latency(tmp_path):
    log = TelemetryLog(tmp_path / "telemetry.jsonl", target="sbc", version=3)
    log.record(np.zeros((2, 4)), np.array([[0.1, 0.9], [0.8, 0.2]]), latency_ms=1.25)
    log.record(np.ones((1, 4)), np.array([[0.3, 0.7]]), latency_ms=2.0)
    telemetry = read_telemetry(tmp_path / "telemetry.jsonl", target="sbc")
    assert telemetry.features.shape == (3, 4)
    assert telemetry.classes.tolist() == [1, 0, 1]
    assert telemetry.latency_summary()["max"] == 2.0


def test_read_telemetry_keeps_only_the_requested_target(tmp_path):
    path = tmp_path / "telemetry.jsonl"
    TelemetryLog(path, target="sbc").record(np.zeros((1, 4)), np.array([[1.0, 0.0]]), 1.0)
    TelemetryLog(path, target="mcu").record(np.ones((5, 4)), np.array([[1.0, 0.0]] * 5), 1.0)
    assert read_telemetry(path, target="sbc").samples == 1
    with pytest.raises(UserError, match="no telemetry records for target 'phone'"):
        read_telemetry(path, target="phone")


def test_read_telemetry_names_the_bad_line(tmp_path):
    path = tmp_path / "telemetry.jsonl"
    TelemetryLog(path).record(np.zeros((1, 4)), np.array([[1.0, 0.0]]), 1.0)
    with open(path, "a") as file:
        file.write("{truncated\n")
    with pytest.raises(UserError, match="telemetry.jsonl:2: not a JSON telemetry record"):
        read_telemetry(path)


def test_telemetry_for_install_requires_an_installed_model(tmp_path):
    with pytest.raises(UserError, match="no model installed yet"):
        TelemetryLog.for_install(tmp_path)


def test_telemetry_log_writes_strict_json_even_for_nan_inputs(tmp_path):
    import json

    path = tmp_path / "telemetry.jsonl"
    TelemetryLog(path, target="sbc").record(np.array([[0.5, np.nan, np.inf, 1.0]]), np.array([[0.2, 0.8]]), float("nan"))
    record = json.loads(path.read_text(), parse_constant=lambda name: pytest.fail(f"{name} written"))
    assert record["features"] == [[0.5, None, None, 1.0]] and "latency_ms" not in record
    with pytest.raises(UserError, match="telemetry.jsonl:1: feature value None is not a finite number"):
        read_telemetry(path)


def test_read_telemetry_names_a_binary_file(tmp_path):
    path = tmp_path / "telemetry.jsonl"
    path.write_bytes(b'{"features": [[1.0]]}\n\xff\xfe\x00garbage')
    with pytest.raises(UserError, match="telemetry.jsonl:2: not text"):
        read_telemetry(path)
