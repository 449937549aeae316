"""Audio folders in the Speech Commands layout, turned into features by the frontend.

    data/speech/
      yes/  0a7c2a8d_nohash_0.wav ...        one folder per word (class)
      no/   ...
      _background_noise_/  white_noise.wav   optional: long recordings mixed into training clips

Every wav file must be PCM 16-bit mono at frontend.sample_rate_hz (read with the standard
`wave` module; convert others with e.g. `sox in.wav -r 16000 -c 1 -b 16 out.wav`). Clips are
scaled to [-1, 1] and zero-padded or cut to frontend.clip_ms. Before the frontend, a seeded
share (background_fraction) of the *training* clips gets a random stretch of a random
background recording at a random gain up to background_volume; validation and test clips stay
clean. Speech Commands' validation_list.txt/testing_list.txt are not read: edgeforge splits
with its own seeded, stratified split.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from edgeforge.data.checks import Where
from edgeforge.data.frontend import compute_features, frontend_shape
from edgeforge.data.images import class_folders
from edgeforge.data.source import Header, Source
from edgeforge.spec.models import AudioFrontend

BACKGROUND_FOLDER = "_background_noise_"
BATCH_CLIPS = 512  # clips per frontend batch: bounds memory on large data sets


def read_audio_dir(path: Path, config: AudioFrontend, where: Where) -> Source:
    """The wav paths (features come per split, in `featurize`) and their classes."""
    classes = class_folders(path, where, (".wav",), "wav")
    files = [str(file) for files in classes.values() for file in files]
    y = np.concatenate([np.full(len(files), label, dtype=np.int64) for label, files in enumerate(classes.values())])
    for file in files:
        _check_format(Path(file), config, where)
    background = [read_wav(file, config, where) for file in _background_files(path, config, where)]
    return Source(x=np.asarray(files), y=y, class_names=list(classes), extras={"background": background})


def inspect_audio_dir(path: Path, config: AudioFrontend, where: Where) -> Header:
    source = read_audio_dir(path, config, where)  # headers only: reading a wav's header is cheap
    return Header(input_shape=frontend_shape(config).output_shape, y=source.y, class_names=source.class_names)


def featurize(files: np.ndarray, config: AudioFrontend, where: Where, background: list[np.ndarray] = (), seed: int = 0) -> np.ndarray:
    """Frontend features of the wav files, with background noise mixed in when `background` is given."""
    shape = frontend_shape(config)
    rng = np.random.default_rng(seed)
    batches = []
    for start in range(0, len(files), BATCH_CLIPS):
        clips = np.stack([fit_clip(read_wav(Path(f), config, where), shape.clip_samples) for f in files[start:start + BATCH_CLIPS]])
        if background:
            clips = mix_background(clips, background, config, rng)
        batches.append(compute_features(clips, config))
    if not batches:
        return np.zeros((0, *shape.output_shape), np.float32)
    return np.concatenate(batches)


def read_wav(file: Path, config: AudioFrontend, where: Where) -> np.ndarray:
    """Samples of a 16-bit mono wav file as float32 in [-1, 1]."""
    handle = _open(file, config, where)
    with handle:
        frames = handle.readframes(handle.getnframes())
    return np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0


def fit_clip(samples: np.ndarray, length: int) -> np.ndarray:
    """Zero-padded at the end, or cut, to `length` samples."""
    if len(samples) >= length:
        return samples[:length]
    return np.pad(samples, (0, length - len(samples)))


def mix_background(clips: np.ndarray, background: list[np.ndarray], config: AudioFrontend, rng: np.random.Generator) -> np.ndarray:
    mixed = clips.copy()
    length = clips.shape[1]
    for i in range(len(clips)):
        if rng.random() >= config.background_fraction:
            continue
        noise = background[int(rng.integers(len(background)))]
        if len(noise) < length:
            noise = np.resize(noise, length)  # a short recording loops
        offset = int(rng.integers(len(noise) - length + 1))
        mixed[i] = np.clip(clips[i] + rng.uniform(0, config.background_volume) * noise[offset:offset + length], -1.0, 1.0)
    return mixed


def _background_files(path: Path, config: AudioFrontend, where: Where) -> list[Path]:
    folder = path / BACKGROUND_FOLDER
    if not folder.is_dir():
        return []
    files = sorted(p for p in folder.glob("*.wav") if p.is_file())
    for file in files:
        _check_format(file, config, where)
    return files


def _open(file: Path, config: AudioFrontend, where: Where) -> wave.Wave_read:
    try:
        handle = wave.open(str(file), "rb")
    except (wave.Error, EOFError, OSError) as error:
        raise where.error("path", f"{where.show(file)} could not be read as wav: {error}; replace or remove it") from None
    found = (handle.getnchannels(), handle.getsampwidth(), handle.getframerate())
    wanted = (1, 2, config.sample_rate_hz)
    if found != wanted:
        handle.close()
        raise where.error(
            "path",
            f"{where.show(file)}: {found[0]} channel(s), {8 * found[1]}-bit, {found[2]} Hz; edgeforge reads 16-bit mono "
            f"at frontend.sample_rate_hz {config.sample_rate_hz}: convert it (sox in.wav -r {config.sample_rate_hz} -c 1 -b 16 out.wav) "
            "or set dataset.frontend.sample_rate_hz",
        )
    return handle


def _check_format(file: Path, config: AudioFrontend, where: Where) -> None:
    _open(file, config, where).close()
