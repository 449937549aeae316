"""Data checks (edgeforge/data/checks.py): labels, class sizes, values and the model's input, each a
one-line DataError naming the spec file, the key, the data and the fix."""

from __future__ import annotations

import numpy as np
import pytest

from edgeforge.data.checks import (
    Where,
    check_class_sizes,
    check_finite,
    check_model_input,
    encode_labels,
    min_samples_per_class,
)
from edgeforge.errors import DataError, UserError

WHERE = Where(origin="specs/dataset/har.yaml", path="data/har.npz")


def test_encode_labels_numbers_sorted_names_from_zero():
    y, names = encode_labels(np.array(["walk", "run", "walk", "idle"]), WHERE)
    assert names == ["idle", "run", "walk"]
    np.testing.assert_array_equal(y, [2, 1, 2, 0])
    assert y.dtype == np.int64


def test_encode_labels_keeps_integer_classes_and_names_them_by_number():
    y, names = encode_labels(np.array([1, 0, 2, 1], dtype=np.int32), WHERE)
    np.testing.assert_array_equal(y, [1, 0, 2, 1])
    assert names == ["0", "1", "2"]


def test_encode_labels_accepts_whole_floats():
    y, _ = encode_labels(np.array([0.0, 1.0, 1.0]), WHERE)
    np.testing.assert_array_equal(y, [0, 1, 1])


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.array([0.0, 0.5, 1.0]), r"label of sample 1 in 'y' is 0\.5, not an integer class"),
        (np.array([0.0, np.nan, 1.0]), r"label of sample 1 in 'y' is nan"),
        (np.array([0, 1, 3]), r"integer labels must be 0\.\.N-1 with every class present; found 0, 1, 3 \(2 missing\)"),
        (np.array([-1, 0, 1]), r"integer labels must be 0\.\.N-1 .*found -1, 0, 1"),
        (np.array(["walk", "walk"]), r"2 samples of one class \('walk'\); a classifier needs at least 2 classes"),
        (np.array(["walk", " ", "run"]), r"sample 1 has an empty label"),
        (np.array([True, False]), r"labels 'y' are bool"),
        (np.zeros((3, 2)), r"labels 'y' must be one per sample \(shape \(N,\)\), found shape \(3, 2\)"),
    ],
)
def test_encode_labels_refuses_unusable_labels_naming_file_and_key(labels, message):
    with pytest.raises(DataError, match=message) as raised:
        encode_labels(labels, WHERE)
    assert str(raised.value).startswith("specs/dataset/har.yaml: dataset.path: ")
    assert "\n" not in str(raised.value) and isinstance(raised.value, UserError)


def test_min_samples_per_class_puts_one_in_each_split():
    assert min_samples_per_class(0.2, 0.1) == 13  # val gets 8% of a class: 13 samples round to one
    assert min_samples_per_class(0.5, 0.5) == 4


def test_check_class_sizes_names_the_smallest_class_and_the_fix():
    y = np.array([0] * 20 + [1] * 5)
    with pytest.raises(DataError, match=r"class 'run' has 5 samples; .* needs at least 13 per class .*raise dataset\.test_fraction"):
        check_class_sizes(y, ["walk", "run"], 0.2, 0.1, WHERE)
    check_class_sizes(np.array([0] * 13 + [1] * 13), ["walk", "run"], 0.2, 0.1, WHERE)


def test_check_finite_names_how_many_samples_and_the_first():
    x = np.zeros((6, 4, 2), np.float32)
    x[3, 1, 0] = np.inf
    x[5, 0, 1] = np.nan
    with pytest.raises(DataError, match=r"2 samples hold NaN or inf values \(first: sample 3, inf\)"):
        check_finite(x, WHERE)
    check_finite(np.zeros((2, 3), np.float32), WHERE)


def test_check_model_input_says_expected_and_actual_shape():
    with pytest.raises(DataError, match=r"model\.name: model 'tiny_cnn' takes samples shaped \(T, C\) or \(H, W, C\), the data's are \(4,\)"):
        check_model_input("tiny_cnn", (4,), WHERE)
    check_model_input("tiny_cnn", (128, 3), WHERE)
    check_model_input("mlp", (4,), WHERE)


def test_where_shows_files_under_the_path_as_the_user_wrote_it(tmp_path):
    where = Where(origin="params.yaml", path="data/images", base=tmp_path / "data/images")
    assert where.show(tmp_path / "data/images/cat/001.png") == "data/images/cat/001.png"
    assert where.show(tmp_path / "data/images") == "data/images"
