"""Inference telemetry: what a deployed model saw and answered, appended to a JSON-lines file.

One line per `record` call (a batch or a single sample):

    {"time": "...Z", "target": "sbc", "version": 3, "latency_ms": 1.8,
     "features": [[...], ...], "classes": [7, ...]}

`features` are the input's summary features (edgeforge.monitor.drift.summary_features, the same
function that built the bundle's drift reference); `classes` are the predicted classes (argmax
of the outputs) when the model is a classifier. An application records on the device:

    log = TelemetryLog.for_install("/opt/model")          # target and version of the active slot
    start = time.perf_counter(); scores = run(x)
    log.record(x, scores, latency_ms=(time.perf_counter() - start) * 1000)

and `edgeforge monitor telemetry.jsonl --target sbc` compares it with the reference.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from edgeforge.errors import UserError
from edgeforge.monitor.drift import class_labels, summary_features

TELEMETRY_FILE = "telemetry.jsonl"
MAX_CLASS = 2**31  # a predicted class index beyond this is a corrupt record, not a model output


class TelemetryLog:
    """Appends inference records to path; inputs are the float inputs, before any quantization."""

    def __init__(self, path: Path, *, target: str | None = None, version: int | None = None):
        self.path = Path(path)
        self.target = target
        self.version = version

    @classmethod
    def for_install(cls, install_dir: Path) -> TelemetryLog:
        """A log in INSTALL_DIR/telemetry.jsonl tagged with the active release."""
        from edgeforge.bundle.updater import active_slot, read_slot

        release = read_slot(install_dir, active_slot(install_dir))
        if release is None:
            raise UserError(f"{install_dir}: no model installed yet; run `edgeforge device update`")
        return cls(Path(install_dir) / TELEMETRY_FILE, target=release.target, version=release.version)

    def record(self, inputs: np.ndarray, outputs: np.ndarray, latency_ms: float) -> None:
        """Record one inference call; inputs and outputs carry a leading batch axis."""
        features, _ = summary_features(inputs)
        labels = class_labels(np.asarray(outputs))
        line = {
            "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "target": self.target,
            "version": self.version,
            # strict JSON: a NaN or infinite input is written as null (monitor names its line)
            "features": [[value if math.isfinite(value) else None for value in row] for row in np.round(features, 6).tolist()],
        }
        if math.isfinite(float(latency_ms)):  # a failed timing is left out, not written as NaN
            line["latency_ms"] = round(float(latency_ms), 4)
        if labels is not None:
            line["classes"] = labels.tolist()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as file:
            file.write(json.dumps(line, allow_nan=False) + "\n")


@dataclass(frozen=True)
class Telemetry:
    features: np.ndarray  # (samples, features)
    classes: np.ndarray | None  # (samples,) predicted classes, None when never recorded
    latency_ms: np.ndarray  # one per record call
    incomplete_line: int | None = None  # a last line without its newline, skipped: still being written

    @property
    def samples(self) -> int:
        return len(self.features)

    def latency_summary(self) -> dict[str, float]:
        if not len(self.latency_ms):
            return {}
        p50, p95 = np.percentile(self.latency_ms, [50, 95])
        return {"p50": round(float(p50), 3), "p95": round(float(p95), 3), "max": round(float(self.latency_ms.max()), 3)}


def read_telemetry(path: Path, *, target: str | None = None) -> Telemetry:
    """All records of path (those of target only, when records name their target).

    Every line is checked (a JSON object; `features` rows of finite numbers, all of one width;
    `classes` non-negative integers, one per row; `latency_ms` a finite number): a malformed one
    is a UserError naming the file and line, never a traceback or a silently skewed report. Only
    an unparsable last line without its newline is skipped (`incomplete_line`): the application
    is appending it while we read.
    """
    path = Path(path)
    features, classes, latencies = [], [], []
    width, incomplete = None, None
    text = _text(path)
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line, parse_constant=_refuse_constant)
        except json.JSONDecodeError:
            if number == len(lines) and not text.endswith("\n"):
                incomplete = number  # the application is appending it right now
                continue
            raise UserError(f"{where}: not a JSON telemetry record (truncated or corrupt line)") from None
        except ValueError as error:  # NaN or Infinity: Python writes them, JSON has no such values
            raise UserError(f"{where}: {error}; telemetry values must be finite numbers") from None
        if not isinstance(record, dict):
            raise UserError(f"{where}: not a telemetry record (a JSON object with 'features')")
        if target and record.get("target") not in (None, target):
            continue
        rows = _feature_rows(record, where)
        if rows and width is None:
            width = len(rows[0])
        if rows and len(rows[0]) != width:
            raise UserError(f"{where}: {len(rows[0])} features per sample; earlier lines have {width}")
        features.extend(rows)
        classes.extend(_classes(record, len(rows), where))
        if "latency_ms" in record:
            latency = record["latency_ms"]
            if not _is_number(latency) or latency < 0:
                raise UserError(f"{where}: latency_ms must be a finite number of at least 0, not {latency!r}")
            latencies.append(latency)
    if not features:
        raise UserError(f"{path}: no telemetry records" + (f" for target '{target}'" if target else ""))
    labels = np.asarray(classes, dtype=np.int64) if len(classes) == len(features) else None
    return Telemetry(np.asarray(features, dtype=np.float64), labels, np.asarray(latencies, dtype=np.float64), incomplete)


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such telemetry file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a directory, not a telemetry file") from None
    except UnicodeDecodeError as error:
        line = path.read_bytes()[: error.start].count(b"\n") + 1
        raise UserError(f"{path}:{line}: not text (telemetry is JSON lines); is this the right file?") from None
    except OSError as error:
        raise UserError(f"{path}: cannot read the telemetry file ({error.strerror})") from None


def _feature_rows(record: dict, where: str) -> list[list[float]]:
    rows = record.get("features")
    if rows is None:
        raise UserError(f"{where}: the record has no 'features'")
    if not isinstance(rows, list) or not all(isinstance(row, list) and row for row in rows):
        raise UserError(f"{where}: 'features' must be a list of samples, each a non-empty list of numbers")
    for row in rows:
        if len(row) != len(rows[0]):
            raise UserError(f"{where}: samples of {len(rows[0])} and {len(row)} features in one record")
        for value in row:
            if not _is_number(value):
                raise UserError(f"{where}: feature value {value!r} is not a finite number")
    return rows


def _classes(record: dict, samples: int, where: str) -> list[int]:
    if "classes" not in record:
        return []
    values = record["classes"]
    if not isinstance(values, list) or len(values) != samples:
        raise UserError(f"{where}: 'classes' must list one predicted class per sample ({samples})")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_CLASS:
            raise UserError(f"{where}: class {value!r} is not a class index (an integer from 0)")
    return values


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")
