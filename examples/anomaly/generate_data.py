"""Seeded synthetic machine vibration: data/vibration/run_*.csv, continuous 2-axis recordings at
1 kHz of a motor, labelled `normal` or `anomalous` per stretch. No download: `dvc repro` builds it
as its first stage, and prepare cuts the recordings into windows (docs/data.md: csv).

A healthy motor vibrates at its shaft rate (22-28 Hz) and twice that, over noise. The anomalies
are the classic faults: a bearing defect (periodic impacts that ring at a resonance), imbalance
(a stronger shaft-rate component) and looseness (many shaft harmonics). The autoencoder trains on
the normal windows only; the anomalous ones score it (ROC AUC) and set its threshold. See
README.md for MIMII.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SEED = 0
RATE_HZ = 1000
RUNS = 8
STRETCH_ROWS = 1024  # one operating state: about 1 s
STRETCHES_PER_RUN = 8  # alternating normal and one of the faults
FAULTS = ("bearing", "imbalance", "looseness")
ROOT = Path("data/vibration")


def stretch(rng: np.random.Generator, fault: str | None) -> np.ndarray:
    t = np.arange(STRETCH_ROWS) / RATE_HZ
    shaft_hz = rng.uniform(22, 28)
    phase = rng.uniform(0, 2 * np.pi, 2)
    signal = 0.5 * np.sin(2 * np.pi * shaft_hz * t[:, None] + phase) + 0.2 * np.sin(4 * np.pi * shaft_hz * t[:, None] + 2 * phase)
    if fault == "bearing":  # impacts at the outer-race defect rate, ringing at ~180 Hz
        impacts = np.zeros(STRETCH_ROWS)
        impacts[(np.arange(0, 1, 1 / (3.6 * shaft_hz)) * RATE_HZ).astype(int)] = rng.uniform(0.6, 1.0)
        ring = np.exp(-np.arange(40) / 8) * np.sin(2 * np.pi * 180 * np.arange(40) / RATE_HZ)
        signal += np.convolve(impacts, ring)[:STRETCH_ROWS, None] * np.array([1.0, 0.6])
    elif fault == "imbalance":
        signal += rng.uniform(0.2, 0.4) * np.sin(2 * np.pi * shaft_hz * t[:, None] + phase)
    elif fault == "looseness":
        for k in range(3, 8):
            signal += rng.uniform(0.04, 0.1) * np.sin(2 * np.pi * k * shaft_hz * t[:, None] + rng.uniform(0, 6, 2))
    return signal + rng.normal(0, 0.15, (STRETCH_ROWS, 2))


def main() -> None:
    rng = np.random.default_rng(SEED)
    ROOT.mkdir(parents=True, exist_ok=True)
    for run in range(RUNS):
        lines = ["vx,vy,state"]
        for i in range(STRETCHES_PER_RUN):
            fault = None if i % 2 == 0 else FAULTS[int(rng.integers(len(FAULTS)))]
            state = "normal" if fault is None else "anomalous"
            lines += [f"{x:.4f},{y:.4f},{state}" for x, y in stretch(rng, fault)]
        (ROOT / f"run_{run:02d}.csv").write_text("\n".join(lines) + "\n")
    print(f"{ROOT}: {RUNS} recordings of {STRETCHES_PER_RUN} x {STRETCH_ROWS} rows, normal and anomalous")


if __name__ == "__main__":
    main()
