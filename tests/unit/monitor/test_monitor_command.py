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


def _lines(path, *records) -> str:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return str(path)


GOOD = {"target": "sbc", "features": [[0.1, 0.2, 0.3, 0.4]], "classes": [1], "latency_ms": 1.0}


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ([GOOD, '{"target": "sbc", "feat'], "telemetry.jsonl:2: not a JSON telemetry record"),
        ([GOOD, {**GOOD, "features": [[float("nan")] * 4]}], "telemetry.jsonl:2: NaN is not valid JSON"),
        ([{**GOOD, "features": [[0.1, None, 0.3, 0.4]]}], "telemetry.jsonl:1: feature value None is not a finite number"),
        ([GOOD, {**GOOD, "features": [[0.1, 0.2]]}], "telemetry.jsonl:2: 2 features per sample; earlier lines have 4"),
        ([{**GOOD, "features": "abc"}], "telemetry.jsonl:1: 'features' must be a list of samples"),
        ([{"target": "sbc"}], "telemetry.jsonl:1: the record has no 'features'"),
        (["[1, 2]"], "telemetry.jsonl:1: not a telemetry record"),
        ([{**GOOD, "classes": [-1]}], "telemetry.jsonl:1: class -1 is not a class index"),
        ([{**GOOD, "classes": [2.5]}], "telemetry.jsonl:1: class 2.5 is not a class index"),
        ([{**GOOD, "classes": [7]}], "predicted class 7 is outside the model's 3 classes"),
        ([{**GOOD, "latency_ms": "fast"}], "telemetry.jsonl:1: latency_ms must be a finite number"),
    ],
    ids=["torn-line", "nan", "null", "width", "not-a-list", "no-features", "not-an-object", "negative-class",
         "float-class", "unknown-class", "latency"],
)
def test_monitor_exits_2_naming_the_malformed_line(bundle, tmp_path, monkeypatch, capsys, records, message):
    telemetry = _lines(tmp_path / "telemetry.jsonl", *records)
    argv = ["monitor", telemetry, "--target", "sbc", "--build-dir", str(bundle), "--plot", str(tmp_path / "d.png")]
    assert _main(argv, monkeypatch) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_monitor_skips_an_incomplete_last_line_being_written(bundle, tmp_path, monkeypatch, capsys):
    telemetry = _telemetry(tmp_path / "telemetry.jsonl", shift=0.0)
    with open(telemetry, "a") as file:
        file.write('{"target": "sbc", "features": [[0.1, ')  # the application is appending it
    argv = ["monitor", str(telemetry), "--target", "sbc", "--build-dir", str(bundle)]
    assert _main(argv, monkeypatch) == 0
    assert "telemetry.jsonl:11: incomplete last line skipped" in capsys.readouterr().err


@pytest.mark.parametrize("threshold", ["nan", "inf", "-1", "0", "high"])
def test_monitor_refuses_a_threshold_that_is_not_a_finite_positive_psi(bundle, tmp_path, monkeypatch, capsys, threshold):
    telemetry = _telemetry(tmp_path / "telemetry.jsonl", shift=2.0)
    argv = ["monitor", str(telemetry), "--target", "sbc", "--build-dir", str(bundle), "--threshold", threshold]
    with pytest.raises(SystemExit) as exit_:
        _main(argv, monkeypatch)
    assert exit_.value.code == 2 and "--threshold" in capsys.readouterr().err


def test_compare_refuses_a_nan_threshold(bundle):
    from edgeforge.bundle.package import read_manifest

    reference = read_manifest(bundle / "targets/sbc/bundle")["drift_reference"]
    with pytest.raises(ValueError, match="finite PSI above 0"):
        compare(reference, np.zeros((5, 4)), threshold=float("nan"))


def test_monitor_exits_2_not_1_when_the_bundle_does_not_verify(bundle, tmp_path, monkeypatch, capsys):
    (bundle / "targets/sbc/bundle/manifest.json").write_text('{"schema_version": 1, "trunc')
    telemetry = _telemetry(tmp_path / "telemetry.jsonl", shift=0.0)
    assert _main(["monitor", str(telemetry), "--target", "sbc", "--build-dir", str(bundle)], monkeypatch) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_monitor_exits_2_not_1_on_an_unexpected_error(bundle, tmp_path, monkeypatch, capsys):
    from edgeforge.monitor import drift

    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(drift, "compare", broken)
    telemetry = _telemetry(tmp_path / "telemetry.jsonl", shift=0.0)
    assert _main(["monitor", str(telemetry), "--target", "sbc", "--build-dir", str(bundle)], monkeypatch) == 2
    assert "ZeroDivisionError: division by zero" in capsys.readouterr().err


def test_monitor_help_documents_its_exit_status(monkeypatch, capsys):
    with pytest.raises(SystemExit):
        _main(["monitor", "--help"], monkeypatch)
    out = capsys.readouterr().out
    assert "0  no drift" in out and "1  drift" in out and "2  bad input or any error" in out
