"""prepare_dataset (edgeforge/data/loaders.py): the checked split, per-channel normalization from
the train split only, and an info.json that records the data's hash and class names."""

from __future__ import annotations

import numpy as np
import pytest

from edgeforge.data import prepare_dataset
from edgeforge.data.splits import normalize_splits, split_dataset
from edgeforge.errors import DataError
from edgeforge.spec.models import AudioFrontend, Dataset
from tests.unit.data.synthetic import motion_windows


def save_motion(tmp_path, per_class: int = 15, scale=(1.0, 10.0, 100.0)):
    x, y = motion_windows(per_class=per_class)
    x = x * np.asarray(scale, np.float32) + np.asarray([0.0, 5.0, -50.0], np.float32)
    np.savez(tmp_path / "har.npz", x=x, y=y)
    return x, y


def test_prepare_records_classes_shape_and_the_data_files_hash(tmp_path):
    import hashlib

    save_motion(tmp_path)
    info = prepare_dataset(Dataset(name="npz", path="har.npz"), 0, root=tmp_path).info
    assert info["class_names"] == ["idle", "run", "walk"] and info["num_classes"] == 3
    assert info["input_shape"] == [128, 3]
    assert info["source"] == {"kind": "npz", "path": "har.npz", "sha256": hashlib.sha256((tmp_path / "har.npz").read_bytes()).hexdigest()}
    assert info["preprocessing"] == {"normalize": None, "frontend": None}


def test_prepare_hash_changes_with_one_byte_of_a_data_folder(tmp_path):
    from tests.unit.data.synthetic import bars_image_dir

    bars_image_dir(tmp_path / "images")
    config = Dataset(name="image_dir", path="images", image_size=[8, 8])
    before = prepare_dataset(config, 0, root=tmp_path).info["source"]["sha256"]
    image = tmp_path / "images/vertical/000.png"
    data = bytearray(image.read_bytes())
    data[-13] ^= 1  # inside the IEND chunk's CRC: the file differs, the pixels do not
    image.write_bytes(bytes(data))
    (tmp_path / "images/.DS_Store").write_bytes(b"not data")  # hidden files are not data
    assert prepare_dataset(config, 0, root=tmp_path).info["source"]["sha256"] != before


def test_normalization_uses_train_statistics_per_channel_and_ships_them(tmp_path):
    save_motion(tmp_path)
    raw = prepare_dataset(Dataset(name="npz", path="har.npz"), 0, root=tmp_path)
    normalized = prepare_dataset(Dataset(name="npz", path="har.npz", normalize=True), 0, root=tmp_path)
    params = normalized.info["preprocessing"]["normalize"]
    mean, std = np.array(params["mean"], np.float32), np.array(params["std"], np.float32)
    np.testing.assert_allclose(mean, raw.splits.x_train.mean(axis=(0, 1)), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(std, raw.splits.x_train.std(axis=(0, 1)), rtol=1e-5)
    np.testing.assert_allclose(normalized.splits.x_train.mean(axis=(0, 1)), 0, atol=1e-5)
    np.testing.assert_allclose(normalized.splits.x_train.std(axis=(0, 1)), 1, rtol=1e-4)
    # the device applies (x - mean) / std to its raw input and gets what the model was tested on
    np.testing.assert_allclose((raw.splits.x_test - mean) / std, normalized.splits.x_test, rtol=1e-6)


def test_normalize_splits_leaves_a_constant_channel_at_zero():
    x = np.ones((30, 4, 2), np.float32)
    x[:, :, 1] = np.random.default_rng(0).normal(size=(30, 4))
    y = np.repeat([0, 1, 2], 10)
    splits, params = normalize_splits(split_dataset(x, y, Dataset(name="npz", path="a.npz", test_fraction=0.3, val_fraction=0.3), 0))
    assert params["std"][0] == 1.0
    assert np.all(splits.x_test[..., 0] == 0) and np.isfinite(splits.x_test).all()


def test_prepare_refuses_nan_features_before_the_split(tmp_path):
    x, y = motion_windows(per_class=15)
    x[7, 3, 1] = np.nan
    np.savez(tmp_path / "har.npz", x=x, y=y)
    with pytest.raises(DataError, match=r"har\.npz: 1 samples hold NaN or inf values \(first: sample 7, NaN\)"):
        prepare_dataset(Dataset(name="npz", path="har.npz"), 0, root=tmp_path, origin="params.yaml")


def test_prepare_refuses_a_model_that_cannot_take_the_data(tmp_path):
    np.savez(tmp_path / "table.npz", x=np.random.default_rng(0).random((45, 6)), y=np.repeat([0, 1, 2], 15))
    with pytest.raises(DataError, match=r"model\.name: model 'ds_cnn' takes samples shaped \(T, C\) or \(H, W, C\), the data's are \(6,\)"):
        prepare_dataset(Dataset(name="npz", path="table.npz"), 0, root=tmp_path, model_name="ds_cnn")


def test_audio_info_carries_the_frontend_parameters_the_device_needs(tmp_path):
    from tests.unit.data.synthetic import tones_wav_dir

    tones_wav_dir(tmp_path / "speech", per_class=14, background=False)
    config = Dataset(name="audio_dir", path="speech", frontend=AudioFrontend(features="mfcc", mfcc_count=12))
    frontend = prepare_dataset(config, 0, root=tmp_path).info["preprocessing"]["frontend"]
    assert frontend["features"] == "mfcc" and frontend["output_shape"] == [49, 12, 1]
    assert (frontend["frame_samples"], frontend["stride_samples"], frontend["fft_length"]) == (480, 320, 512)
    assert "background_volume" not in frontend  # a training-time setting, not the device's
