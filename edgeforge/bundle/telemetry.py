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
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from edgeforge.errors import UserError
from edgeforge.monitor.drift import class_labels, summary_features

TELEMETRY_FILE = "telemetry.jsonl"


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
            "latency_ms": round(float(latency_ms), 4),
            "features": np.round(features, 6).tolist(),
        }
        if labels is not None:
            line["classes"] = labels.tolist()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as file:
            file.write(json.dumps(line) + "\n")


@dataclass(frozen=True)
class Telemetry:
    features: np.ndarray  # (samples, features)
    classes: np.ndarray | None  # (samples,) predicted classes, None when never recorded
    latency_ms: np.ndarray  # one per record call

    @property
    def samples(self) -> int:
        return len(self.features)

    def latency_summary(self) -> dict[str, float]:
        if not len(self.latency_ms):
            return {}
        p50, p95 = np.percentile(self.latency_ms, [50, 95])
        return {"p50": round(float(p50), 3), "p95": round(float(p95), 3), "max": round(float(self.latency_ms.max()), 3)}


def read_telemetry(path: Path, *, target: str | None = None) -> Telemetry:
    """All records of path (those of target only, when records name their target)."""
    path = Path(path)
    features, classes, latencies = [], [], []
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        raise UserError(f"{path}: no such telemetry file") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise UserError(f"{path}:{number}: not a JSON telemetry record") from None
        if target and record.get("target") not in (None, target):
            continue
        features.extend(record["features"])
        classes.extend(record.get("classes", []))
        if "latency_ms" in record:
            latencies.append(record["latency_ms"])
    if not features:
        raise UserError(f"{path}: no telemetry records" + (f" for target '{target}'" if target else ""))
    labels = np.asarray(classes, dtype=np.int64) if len(classes) == len(features) else None
    return Telemetry(np.asarray(features, dtype=np.float64), labels, np.asarray(latencies, dtype=np.float64))
