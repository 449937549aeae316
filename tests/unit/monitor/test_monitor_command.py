from __future__ import annotations

import json

import numpy as np
import pytest

from edgeforge import cli
from edgeforge.bundle.package import build_bundle
from edgeforge.bundle.telemetry import TelemetryLog
from edgeforge.monitor.drift import compare, drift_reference_from
from edgeforge.monitor.plot import plot_drift


def _main(argv, monkeypatch) -> int:
    if "monitor" not in cli.COMMANDS:
        monkeypatch.setattr(cli, "COMMANDS", [*cli.COMMANDS, "monitor"])
    return cli.main(argv)


@pytest.fixture
def bundle(tmp_path):
    rng = np.random.default_rng(0)
    x_train, y_train = rng.normal(size=(1000, 4)), rng.integers(0, 3, 1000)
    (tmp_path / "model.tflite").write_bytes(b"model")
    build_bundle(
        tmp_path / "build" / "targets" / "sbc" / "bundle", project="p", target="sbc", device="raspberry_pi_4",
        runtime="tflite", model_files={"model.tflite": tmp_path / "model.tflite"}, primary_file="model.tflite",
        candidate={"id": "c"}, metrics={}, spec_hash="h", canary_x=x_train[:2], canary_y=np.eye(3)[:2],
        drift_reference=drift_reference_from(x_train, y_train),
    )
    return tmp_path / "build"


def _telemetry(path, shift: float):
    rng = np.random.default_rng(1)
    log = TelemetryLog(path, target="sbc", version=1)
    for _ in range(10):
        x = rng.normal(size=(50, 4)) + shift
        log.record(x, np.eye(3)[rng.integers(0, 3, 50)], latency_ms=2.0)
    return path


def test_monitor_exits_0_and_writes_a_plot_without_drift(bundle, tmp_path, monkeypatch, capsys):
    telemetry = _telemetry(tmp_path / "telemetry.jsonl", shift=0.0)
    assert _main(["monitor", str(telemetry), "--target", "sbc", "--build-dir", str(bundle)], monkeypatch) == 0
    out = capsys.readouterr().out
    assert out.startswith("sbc: ok") and "latency ms p50 2.0" in out
    assert (tmp_path / "telemetry.jsonl.drift.png").read_bytes().startswith(b"\x89PNG")


def test_monitor_exits_1_on_drift_above_the_threshold(bundle, tmp_path, monkeypatch, capsys):
    telemetry = _telemetry(tmp_path / "telemetry.jsonl", shift=2.0)
    argv = ["monitor", str(telemetry), "--target", "sbc", "--build-dir", str(bundle), "--json", "--plot", str(tmp_path / "d.png")]
    assert _main(argv, monkeypatch) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "drift" and report["max_psi"] > 0.25 and report["samples"] == 500
    assert (tmp_path / "d.png").exists()


def test_monitor_exits_2_when_the_bundle_is_missing(tmp_path, monkeypatch, capsys):
    telemetry = _telemetry(tmp_path / "telemetry.jsonl", shift=0.0)
    assert _main(["monitor", str(telemetry), "--target", "mcu", "--build-dir", str(tmp_path / "build")], monkeypatch) == 2
    assert "no bundle of target 'mcu' here" in capsys.readouterr().err


def test_plot_drift_writes_a_png_without_class_panel(tmp_path):
    reference = drift_reference_from(np.random.default_rng(0).normal(size=(100, 3)), np.zeros(100))
    report = compare(reference, np.random.default_rng(1).normal(size=(100, 3)))
    assert plot_drift(report, tmp_path / "plots" / "drift.png").read_bytes().startswith(b"\x89PNG")
