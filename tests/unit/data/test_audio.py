"""Audio folders (edgeforge/data/audio.py): Speech Commands layout, wav format checks, background
noise mixed into training clips only, and the frontend's features per split."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgeforge.data import inspect_dataset, prepare_dataset
from edgeforge.data.audio import fit_clip, mix_background
from edgeforge.errors import DataError
from edgeforge.spec.models import AudioFrontend, Dataset
from tests.unit.data.synthetic import tones_wav_dir, write_wav


def test_inspect_audio_reads_headers_and_gives_the_frontend_output_shape(tmp_path):
    tones_wav_dir(tmp_path / "speech", per_class=14)
    header = inspect_dataset(Dataset(name="audio_dir", path="speech"), root=tmp_path, model_name="ds_cnn")
    assert header.input_shape == (49, 40, 1)  # 1 s, 30 ms frames every 20 ms, 40 mel bins
    assert header.class_names == ["high", "low"]  # _background_noise_ is not a class


def test_a_wav_file_of_another_format_is_named_with_the_conversion(tmp_path):
    tones_wav_dir(tmp_path / "speech", per_class=14)
    write_wav(tmp_path / "speech/low/stereo.wav", np.zeros(8000), rate=8000, channels=2)
    with pytest.raises(DataError, match=r"speech/low/stereo\.wav: 2 channel\(s\), 16-bit, 8000 Hz; .*sox in\.wav -r 16000 -c 1 -b 16"):
        inspect_dataset(Dataset(name="audio_dir", path="speech"), root=tmp_path)


def test_a_file_that_is_not_wav_is_named(tmp_path):
    tones_wav_dir(tmp_path / "speech", per_class=14)
    (tmp_path / "speech/low/bad.wav").write_bytes(b"RIFF....WAVEjunk")
    with pytest.raises(DataError, match=r"speech/low/bad\.wav could not be read as wav"):
        inspect_dataset(Dataset(name="audio_dir", path="speech"), root=tmp_path)


def test_fit_clip_pads_and_cuts():
    assert fit_clip(np.ones(3, np.float32), 5).tolist() == [1, 1, 1, 0, 0]
    assert fit_clip(np.arange(8, dtype=np.float32), 5).tolist() == [0, 1, 2, 3, 4]


def test_mix_background_is_seeded_and_bounded():
    clips = np.zeros((50, 100), np.float32)
    noise = [np.ones(400, np.float32)]
    config = AudioFrontend(background_volume=0.2, background_fraction=0.5)
    mixed = mix_background(clips, noise, config, np.random.default_rng(0))
    again = mix_background(clips, noise, config, np.random.default_rng(0))
    np.testing.assert_array_equal(mixed, again)
    touched = (mixed != 0).any(axis=1)
    assert 10 < touched.sum() < 40  # about half the clips
    assert mixed.max() <= 0.2


def test_prepare_mixes_noise_into_training_clips_only_and_ships_a_verified_frontend(tmp_path):
    tones_wav_dir(tmp_path / "speech", per_class=14)
    loud = Dataset(name="audio_dir", path="speech", frontend={"background_volume": 1.0, "background_fraction": 1.0})
    quiet = Dataset(name="audio_dir", path="speech", frontend={"background_volume": 0.0})
    noisy, clean = prepare_dataset(loud, 0, root=tmp_path), prepare_dataset(quiet, 0, root=tmp_path)
    assert not np.array_equal(noisy.splits.x_train, clean.splits.x_train)
    np.testing.assert_array_equal(noisy.splits.x_test, clean.splits.x_test)
    np.testing.assert_array_equal(noisy.splits.x_val, clean.splits.x_val)
    frontend = noisy.info["preprocessing"]["frontend"]
    assert frontend["output_shape"] == [49, 40, 1] and frontend["model_file"] == "frontend.tflite"
    assert noisy.frontend_model[4:8] == b"TFL3"
    assert {check["runtime"] for check in frontend["parity"]} == {"tflite", "tflite-micro"}
    assert all(check["max_abs_diff"] <= check["tolerance"] for check in frontend["parity"])
    json.dumps(noisy.info)  # info.json must be plain JSON
