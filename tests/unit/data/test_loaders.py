"""Dataset loaders (edgeforge/data): digits, npz and csv files, and the deterministic stratified split."""

from __future__ import annotations

import numpy as np
import pytest

from edgeforge.data import Splits, load_dataset, load_splits, save_splits, split_dataset
from edgeforge.errors import UserError
from edgeforge.spec.models import Dataset

CLASSES = 3


def readings(samples_per_class: int = 20, features: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Features whose first column is the class label, so a row's origin is visible after a shuffle."""
    y = np.repeat(np.arange(CLASSES), samples_per_class)
    x = np.random.default_rng(0).normal(size=(len(y), features)).astype(np.float32)
    x[:, 0] = y
    return x, y


def test_load_dataset_gives_digits_as_8x8x1_images_in_unit_range():
    x, y = load_dataset(Dataset(name="digits"))
    assert x.shape == (1797, 8, 8, 1) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert set(np.unique(y)) == set(range(10))


def test_load_dataset_reads_x_and_y_of_an_npz_file(tmp_path):
    x, y = readings()
    np.savez(tmp_path / "readings.npz", x=x.astype(np.float64), y=y.astype(np.int32))
    loaded_x, loaded_y = load_dataset(Dataset(name="npz", path="readings.npz"), root=tmp_path)
    assert loaded_x.dtype == np.float32 and loaded_y.dtype == np.int64
    np.testing.assert_array_equal(loaded_x, x)
    np.testing.assert_array_equal(loaded_y, y)


def test_load_dataset_reads_a_csv_file_with_its_label_column_anywhere(tmp_path):
    (tmp_path / "table.csv").write_text("kind,a,b\n0,1.5,2\n1,3,4.25\n2,5,6\n")
    x, y = load_dataset(Dataset(name="csv", path="table.csv", label_column="kind"), root=tmp_path)
    np.testing.assert_array_equal(x, [[1.5, 2], [3, 4.25], [5, 6]])
    np.testing.assert_array_equal(y, [0, 1, 2])


def test_load_dataset_names_the_path_when_the_file_is_missing(tmp_path):
    with pytest.raises(UserError, match=r"dataset\.path: .*absent\.npz does not exist"):
        load_dataset(Dataset(name="npz", path="absent.npz"), root=tmp_path)


def test_load_dataset_names_missing_arrays_of_an_npz_file(tmp_path):
    np.savez(tmp_path / "readings.npz", features=np.zeros((4, 2)))
    with pytest.raises(UserError, match=r"readings\.npz could not be read as npz: .*arrays \['x', 'y'\] missing"):
        load_dataset(Dataset(name="npz", path="readings.npz"), root=tmp_path)


def test_load_dataset_names_the_line_and_column_of_a_non_numeric_csv_feature(tmp_path):
    (tmp_path / "table.csv").write_text("a,label\n1.5,0\nhigh,1\n")
    with pytest.raises(UserError, match=r"table\.csv: line 3, column 'a' is 'high', not a number"):
        load_dataset(Dataset(name="csv", path="table.csv"), root=tmp_path)


def test_dataset_spec_needs_a_path_for_file_datasets():
    with pytest.raises(ValueError, match="dataset 'csv' needs 'path'"):
        Dataset(name="csv")


def test_split_dataset_is_the_same_for_the_same_seed():
    x, y = readings()
    config = Dataset(name="npz", path="readings.npz")
    assert split_dataset(x, y, config, seed=0).fingerprint() == split_dataset(x, y, config, seed=0).fingerprint()
    assert split_dataset(x, y, config, seed=0).fingerprint() != split_dataset(x, y, config, seed=1).fingerprint()


def test_split_dataset_keeps_every_sample_once_and_stratifies_each_split():
    x, y = readings(samples_per_class=20)
    splits = split_dataset(x, y, Dataset(name="npz", path="r.npz", test_fraction=0.25, val_fraction=0.2), seed=0)
    rows = np.concatenate([splits.x_train, splits.x_val, splits.x_test])
    assert sorted(map(tuple, rows.tolist())) == sorted(map(tuple, x.tolist()))
    for features, labels in ((splits.x_train, splits.y_train), (splits.x_val, splits.y_val), (splits.x_test, splits.y_test)):
        np.testing.assert_array_equal(features[:, 0], labels)  # labels travel with their rows
        assert set(np.bincount(labels, minlength=CLASSES)) == {len(labels) // CLASSES}  # equal share per class
    assert (len(splits.y_train), len(splits.y_val), len(splits.y_test)) == (36, 9, 15)
    assert splits.num_classes == CLASSES and splits.input_shape == (4,)


def test_save_splits_round_trips_through_load_splits(tmp_path):
    x, y = readings()
    splits = split_dataset(x, y, Dataset(name="npz", path="r.npz"), seed=0)
    save_splits(splits, tmp_path / "data" / "splits.npz")
    assert [path.name for path in (tmp_path / "data").iterdir()] == ["splits.npz"]  # no temporary file left
    loaded = load_splits(tmp_path / "data" / "splits.npz")
    assert isinstance(loaded, Splits) and loaded.fingerprint() == splits.fingerprint()


def test_load_splits_says_to_run_prepare_when_missing(tmp_path):
    with pytest.raises(UserError, match=r"prepared data not found; run `dvc repro prepare`"):
        load_splits(tmp_path / "splits.npz")


def test_load_splits_says_to_rerun_prepare_when_corrupt(tmp_path):
    (tmp_path / "splits.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(UserError, match=r"prepared data is corrupt .*rerun `dvc repro -f prepare`"):
        load_splits(tmp_path / "splits.npz")
