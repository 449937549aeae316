"""Seeded synthetic keywords in the Speech Commands layout: data/speech_commands/<word>/*.wav
(16 kHz mono 16-bit, 1 s) plus `_background_noise_/`. No download: `dvc repro` builds it as its
first stage, and prepare turns the clips into MFCCs with the spec's frontend (docs/data.md).

Each "word" is two or three sounds (vowels: harmonics of a pitch shaped by two formants; an "s":
a hiss), spoken at a random pitch, speed, onset and loudness, by speakers whose formants differ,
over room noise, so classes overlap a little. Replace this
stage with the real Speech Commands data (README.md).
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

SEED = 0
RATE_HZ = 16000
CLIPS_PER_WORD = 60
# word -> its two sounds, each (first formant Hz, second formant Hz); 0, 0 is a hiss (an "s")
WORDS = {
    "yes": ((300.0, 2300.0), (550.0, 1800.0), (0.0, 0.0)),
    "no": ((280.0, 1000.0), (500.0, 900.0)),
    "up": ((650.0, 1200.0), (400.0, 1100.0)),
    "down": ((700.0, 1100.0), (350.0, 2000.0)),
}
ROOT = Path("data/speech_commands")


def sound(rng: np.random.Generator, formants: tuple[float, float], pitch_hz: float, samples: int) -> np.ndarray:
    """A voiced sound: harmonics of the pitch shaped by two formant peaks (a vowel), or a hiss."""
    if formants == (0.0, 0.0):
        hiss = rng.normal(0, 1, samples)
        return 0.5 * (hiss - np.convolve(hiss, np.ones(3) / 3, mode="same"))  # high-passed: energy above 3 kHz
    t = np.arange(samples) / RATE_HZ
    voiced = np.zeros(samples)
    for k in range(1, int(4000 / pitch_hz)):
        frequency = k * pitch_hz
        gain = sum(np.exp(-0.5 * ((frequency - f) / 120.0) ** 2) for f in formants)
        voiced += gain * np.sin(2 * np.pi * frequency * t + rng.uniform(0, 2 * np.pi))
    return voiced / (np.abs(voiced).max() + 1e-9)


def word_clip(rng: np.random.Generator, sounds) -> np.ndarray:
    clip = np.zeros(RATE_HZ)
    speed = rng.uniform(0.8, 1.2)  # spoken faster or slower
    pitch_hz = rng.uniform(100, 220)  # a lower or higher voice
    shift = rng.uniform(0.9, 1.1)  # formants move with the speaker
    pieces = []
    for formants in sounds:
        samples = int(RATE_HZ * 0.2 * speed)
        envelope = np.sqrt(np.clip(np.sin(np.pi * np.arange(samples) / samples), 0, None))  # rounded onset and decay
        pieces.append(envelope * sound(rng, (formants[0] * shift, formants[1] * shift), pitch_hz, samples))
    spoken = np.concatenate(pieces)
    onset = int(rng.integers(0, RATE_HZ - len(spoken)))
    clip[onset:onset + len(spoken)] = rng.uniform(0.2, 0.6) * spoken
    return clip + rng.normal(0, 0.01, RATE_HZ)


def write_wav(path: Path, samples: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(RATE_HZ)
        handle.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def main() -> None:
    rng = np.random.default_rng(SEED)
    for word, sounds in WORDS.items():
        for i in range(CLIPS_PER_WORD):
            write_wav(ROOT / word / f"{i:04d}.wav", word_clip(rng, sounds))
    # 10 s of brown-ish room noise and a 50 Hz hum, mixed into training clips by prepare
    noise = np.cumsum(rng.normal(0, 1, 10 * RATE_HZ))
    noise = 0.3 * (noise - np.convolve(noise, np.ones(400) / 400, mode="same")) / 40
    write_wav(ROOT / "_background_noise_" / "room.wav", noise)
    hum = 0.2 * np.sin(2 * np.pi * 50 * np.arange(10 * RATE_HZ) / RATE_HZ) + rng.normal(0, 0.02, 10 * RATE_HZ)
    write_wav(ROOT / "_background_noise_" / "hum.wav", hum)
    print(f"{ROOT}: {CLIPS_PER_WORD} clips each of {', '.join(WORDS)}, 2 background recordings")


if __name__ == "__main__":
    main()
