"""Generated anomaly-detection data: vibration-like frames of a machine.

Normal frames are sums of three sinusoids at the machine's harmonics (random amplitude and phase)
plus noise; anomalous frames add what a fault adds, faintly (the noise hides some): an extra
off-harmonic frequency or a few impulsive spikes. Labels: 0 normal, 1 anomaly."""

from __future__ import annotations

import numpy as np

HARMONICS = (2, 5, 9)  # cycles per frame


def vibration_frames(normal: int = 240, anomalous: int = 60, length: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(length) / length
    total = normal + anomalous
    frames = np.zeros((total, length))
    for harmonic in HARMONICS:
        amplitude = rng.uniform(0.5, 1.0, size=(total, 1))
        phase = rng.uniform(0, 2 * np.pi, size=(total, 1))
        frames += amplitude * np.sin(2 * np.pi * harmonic * t + phase)
    frames += rng.normal(0, 0.2, size=frames.shape)
    labels = np.r_[np.zeros(normal), np.ones(anomalous)].astype(np.int64)
    for row in range(normal, total):
        if row % 2:  # a bearing fault: an extra frequency between the harmonics
            frames[row] += rng.uniform(0.2, 0.45) * np.sin(2 * np.pi * rng.uniform(13, 20) * t + rng.uniform(0, 2 * np.pi))
        else:  # impacts: a few spikes
            spikes = rng.choice(length, size=3, replace=False)
            frames[row, spikes] += rng.choice([-1, 1], size=3) * rng.uniform(0.5, 1.0, size=3)
    order = rng.permutation(total)
    return frames[order].astype(np.float32), labels[order]
