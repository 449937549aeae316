"""Seeded synthetic accelerometer windows: data/motion.npz with x (N, 128, 3) float32 at 50 Hz
and y, the activity names. No download: `dvc repro` builds it as its first stage.

Each activity has its own gait frequency, amplitude and axis pattern (gravity stays on z), with
sensor noise, a random phase and a random tilt per window, so a small 1-D CNN learns it in a few
epochs but not perfectly. Replace this stage with the real data (README.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SEED = 0
SAMPLE_HZ = 50
STEPS = 128  # 2.56 s windows, as UCI HAR's
PER_CLASS = 150
# activity -> (gait frequency Hz, amplitude g per axis x, y, z)
ACTIVITIES = {
    "idle": (0.3, (0.02, 0.02, 0.02)),
    "walking": (1.8, (0.25, 0.15, 0.35)),
    "running": (2.8, (0.6, 0.3, 0.9)),
    "stairs": (1.4, (0.2, 0.3, 0.5)),
}


def windows(seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(STEPS) / SAMPLE_HZ
    xs, ys = [], []
    for name, (hz, amplitude) in ACTIVITIES.items():
        for _ in range(PER_CLASS):
            rate = hz * rng.uniform(0.85, 1.15)  # people walk at different paces
            phase = rng.uniform(0, 2 * np.pi, 3)
            gait = np.asarray(amplitude) * np.sin(2 * np.pi * rate * t[:, None] + phase)
            gait += 0.3 * np.asarray(amplitude) * np.sin(4 * np.pi * rate * t[:, None] + phase)  # heel strike harmonic
            tilt = rng.normal(0, 0.1, 3)
            gravity = np.array([0.0, 0.0, 1.0]) + tilt
            xs.append(gravity + gait + rng.normal(0, 0.08, (STEPS, 3)))
            ys.append(name)
    return np.asarray(xs, np.float32), np.asarray(ys)


def main() -> None:
    x, y = windows()
    out = Path("data/motion.npz")
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, x=x, y=y)
    print(f"{out}: {len(y)} windows of {STEPS} x 3, classes {', '.join(ACTIVITIES)}")


if __name__ == "__main__":
    main()
