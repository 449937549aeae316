"""Small generated data sets of each kind (no downloads), shared by the unit and functional tests.

Each class is easy to tell apart (a frequency, a bar's orientation, a tone), so a model trained
for a few epochs gets well above chance, and a test that breaks the data pipeline shows up.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

MOTIONS = ("idle", "walk", "run")
MOTION_HZ = {"idle": 0.5, "walk": 2.0, "run": 4.5}  # dominant frequency of each activity
SAMPLE_HZ = 50


def motion_windows(per_class: int = 20, steps: int = 128, channels: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Accelerometer-like windows (N, steps, channels) float32 and their activity names."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps) / SAMPLE_HZ
    xs, ys = [], []
    for name in MOTIONS:
        for _ in range(per_class):
            phase = rng.uniform(0, 2 * np.pi, channels)
            window = np.sin(2 * np.pi * MOTION_HZ[name] * t[:, None] + phase) + 0.2 * rng.normal(size=(steps, channels))
            xs.append(window)
            ys.append(name)
    return np.asarray(xs, np.float32), np.asarray(ys)


def motion_recording_csv(path: Path, segment_rows: int = 200, segments_per_class: int = 2, seed: int = 0) -> Path:
    """A continuous 3-axis recording: label runs of `segment_rows` rows, activities interleaved."""
    rng = np.random.default_rng(seed)
    lines = ["ax,ay,az,activity"]
    for _ in range(segments_per_class):
        for name in MOTIONS:
            t = np.arange(segment_rows) / SAMPLE_HZ
            for row in np.sin(2 * np.pi * MOTION_HZ[name] * t[:, None] + rng.uniform(0, 6, 3)) + 0.2 * rng.normal(size=(segment_rows, 3)):
                lines.append(",".join(f"{v:.4f}" for v in row) + f",{name}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def bars_image_dir(path: Path, per_class: int = 16, size: int = 20, seed: int = 0) -> Path:
    """PNG (and a few JPEG) images in class folders: a bright horizontal or vertical bar on noise."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for name in ("horizontal", "vertical"):
        folder = Path(path) / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = rng.integers(0, 60, (size, size, 3))
            at = int(rng.integers(3, size - 3))
            if name == "horizontal":
                pixels[at - 2:at + 2, :, :] = 230
            else:
                pixels[:, at - 2:at + 2, :] = 230
            image = Image.fromarray(pixels.astype(np.uint8), "RGB")
            image.save(folder / (f"{i:03d}.jpg" if i % 4 == 3 else f"{i:03d}.png"))
    return Path(path)


WORDS = {"low": 440.0, "high": 1760.0}


def write_wav(path: Path, samples: np.ndarray, rate: int = 16000, channels: int = 1, width_bytes: int = 2) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(channels)
        handle.setsampwidth(width_bytes)
        handle.setframerate(rate)
        handle.writeframes(np.repeat(pcm, channels).tobytes() if channels > 1 else pcm.tobytes())
    return path


def tones_wav_dir(path: Path, per_class: int = 14, rate: int = 16000, seconds: float = 1.0, background: bool = True, seed: int = 0) -> Path:
    """Speech Commands layout: a folder per 'word' (a tone burst of its pitch), plus _background_noise_."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate * seconds)) / rate
    for name, hz in WORDS.items():
        for i in range(per_class):
            center = rng.uniform(0.3, 0.7) * seconds
            burst = np.exp(-((t - center) / 0.15) ** 2) * np.sin(2 * np.pi * hz * rng.uniform(0.95, 1.05) * t)
            write_wav(Path(path) / name / f"clip{i:02d}_nohash_0.wav", 0.6 * burst + 0.02 * rng.normal(size=t.size), rate)
    if background:
        write_wav(Path(path) / "_background_noise_" / "white_noise.wav", 0.3 * rng.normal(size=3 * rate), rate)
    return Path(path)
