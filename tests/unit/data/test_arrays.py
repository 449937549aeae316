"""npz and CSV data (edgeforge/data/arrays.py): time-series windows, string labels, recordings cut
into windows that never straddle a label change, and header-only inspection."""

from __future__ import annotations

import numpy as np
import pytest

from edgeforge.data import inspect_dataset, load_dataset
from edgeforge.errors import DataError
from edgeforge.spec.models import Dataset
from tests.unit.data.synthetic import MOTIONS, motion_recording_csv, motion_windows


def test_npz_time_series_windows_keep_their_shape_and_string_labels_become_classes(tmp_path):
    x, names = motion_windows(per_class=15)
    np.savez(tmp_path / "har.npz", x=x, y=names)
    loaded_x, y = load_dataset(Dataset(name="npz", path="har.npz"), root=tmp_path)
    assert loaded_x.shape == (45, 128, 3) and loaded_x.dtype == np.float32
    assert sorted(set(y.tolist())) == [0, 1, 2]
    np.testing.assert_array_equal(np.array(sorted(MOTIONS))[y], names)  # index i is the i-th sorted name


def test_inspect_npz_reads_shapes_and_labels_only(tmp_path):
    x, names = motion_windows(per_class=15)
    np.savez(tmp_path / "har.npz", x=x, y=names)
    header = inspect_dataset(Dataset(name="npz", path="har.npz"), root=tmp_path, model_name="tiny_cnn")
    assert header.input_shape == (128, 3) and header.class_names == ["idle", "run", "walk"]


def test_npz_with_object_labels_says_how_to_save_them(tmp_path):
    x, _ = motion_windows(per_class=15)
    np.savez(tmp_path / "har.npz", x=x, y=np.array([{"a": 1}] * len(x), dtype=object))
    with pytest.raises(DataError, match=r"har\.npz: .*allow_pickle.*save labels as integers or np\.array\(names, dtype=str\)"):
        inspect_dataset(Dataset(name="npz", path="har.npz"), root=tmp_path)


def test_npz_with_fewer_labels_than_samples_is_refused(tmp_path):
    np.savez(tmp_path / "har.npz", x=np.zeros((10, 4, 2)), y=np.zeros(9, int))
    with pytest.raises(DataError, match=r"x has 10 samples but y has shape \(9,\); give one label per sample"):
        load_dataset(Dataset(name="npz", path="har.npz"), root=tmp_path)


def test_csv_string_labels_map_to_class_indices_not_garbage(tmp_path):
    """The reported bug: 'walk'/'run' labels became -9223372036854775808."""
    rows = "\n".join(f"{i},{i % 3},{['walk', 'run'][i % 2]}" for i in range(40))
    (tmp_path / "table.csv").write_text("a,b,label\n" + rows + "\n")
    x, y = load_dataset(Dataset(name="csv", path="table.csv"), root=tmp_path)
    assert x.shape == (40, 2)
    np.testing.assert_array_equal(y, [1, 0] * 20)  # run = 0, walk = 1


def test_csv_recording_is_cut_into_windows_inside_each_label_run(tmp_path):
    motion_recording_csv(tmp_path / "rec.csv", segment_rows=100, segments_per_class=2)
    config = Dataset(name="csv", path="rec.csv", label_column="activity", window=40, stride=20)
    x, y = load_dataset(config, root=tmp_path)
    # each 100-row run gives windows at 0, 20, 40, 60: four, never one across two activities
    assert x.shape == (3 * 2 * 4, 40, 3) and np.bincount(y).tolist() == [8, 8, 8]
    table = np.loadtxt(tmp_path / "rec.csv", delimiter=",", skiprows=1, usecols=(0, 1, 2), dtype=np.float32)
    np.testing.assert_array_equal(x[0], table[0:40])
    np.testing.assert_array_equal(x[1], table[20:60])
    np.testing.assert_array_equal(x[4], table[100:140])  # the second run starts a fresh window


def test_csv_folder_holds_one_recording_per_file(tmp_path):
    motion_recording_csv(tmp_path / "recordings/a.csv", segment_rows=60, segments_per_class=1, seed=0)
    motion_recording_csv(tmp_path / "recordings/b.csv", segment_rows=60, segments_per_class=1, seed=1)
    config = Dataset(name="csv", path="recordings", label_column="activity", window=30, test_fraction=0.5, val_fraction=0.5)
    x, y = load_dataset(config, root=tmp_path)
    assert x.shape == (2 * 3 * 2, 30, 3)  # two windows per run: none across the two files
    header = inspect_dataset(config, root=tmp_path)
    assert header.input_shape == (30, 3) and np.bincount(header.y).tolist() == [4, 4, 4]


def test_csv_window_longer_than_every_run_says_so(tmp_path):
    motion_recording_csv(tmp_path / "rec.csv", segment_rows=50, segments_per_class=1)
    with pytest.raises(DataError, match=r"dataset\.window: rec\.csv: no run of rows with one label is 64 rows long \(longest: 50\); lower dataset\.window"):
        load_dataset(Dataset(name="csv", path="rec.csv", label_column="activity", window=64), root=tmp_path)


def test_csv_line_with_missing_cells_is_named(tmp_path):
    (tmp_path / "table.csv").write_text("a,b,label\n1,2,0\n3,1\n")
    with pytest.raises(DataError, match=r"table\.csv: line 3 has 2 cells, the header 3; fix that line"):
        load_dataset(Dataset(name="csv", path="table.csv"), root=tmp_path)


def test_inspect_csv_finds_a_missing_label_column_from_the_header(tmp_path):
    (tmp_path / "table.csv").write_text("a,b,kind\n1,2,0\n")
    with pytest.raises(DataError, match=r"dataset\.label_column: table\.csv: no column 'label' \(columns: a, b, kind\)"):
        inspect_dataset(Dataset(name="csv", path="table.csv"), root=tmp_path)



def test_inspect_csv_counts_windows_per_class_from_the_labels_alone(tmp_path):
    motion_recording_csv(tmp_path / "rec.csv", segment_rows=100, segments_per_class=4)
    config = Dataset(name="csv", path="rec.csv", label_column="activity", window=40, stride=20)
    header = inspect_dataset(config, root=tmp_path)
    assert header.input_shape == (40, 3) and np.bincount(header.y).tolist() == [16, 16, 16]
    few = Dataset(name="csv", path="rec.csv", label_column="activity", window=40, stride=40)  # 2 per run: 8 per class
    with pytest.raises(DataError, match=r"class 'idle' has 8 samples; the split .* needs at least 13 per class"):
        inspect_dataset(few, root=tmp_path)
