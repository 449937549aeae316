"""Image folders (edgeforge/data/images.py): a folder per class, resized, grayscale or RGB, with
seeded augmentation of the training split only."""

from __future__ import annotations

import numpy as np
import pytest

from edgeforge.data import inspect_dataset, load_dataset, prepare_dataset
from edgeforge.data.images import augment_images
from edgeforge.errors import DataError
from edgeforge.spec.models import Dataset
from tests.unit.data.synthetic import bars_image_dir


@pytest.mark.parametrize(("color", "channels"), [("grayscale", 1), ("rgb", 3)])
def test_image_folder_gives_resized_images_in_unit_range_and_folder_names_as_classes(tmp_path, color, channels):
    bars_image_dir(tmp_path / "images", per_class=16, size=20)
    config = Dataset(name="image_dir", path="images", image_size=[12, 10], color=color)
    x, y = load_dataset(config, root=tmp_path)
    assert x.shape == (32, 12, 10, channels) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    np.testing.assert_array_equal(np.bincount(y), [16, 16])
    header = inspect_dataset(config, root=tmp_path, model_name="tiny_cnn")
    assert header.input_shape == (12, 10, channels) and header.class_names == ["horizontal", "vertical"]


def test_image_classes_are_learnable_from_the_pixels(tmp_path):
    """Horizontal bars vary along rows, vertical ones along columns: the loaded pixels show it."""
    bars_image_dir(tmp_path / "images", per_class=16, size=20)
    x, y = load_dataset(Dataset(name="image_dir", path="images", image_size=[20, 20]), root=tmp_path)
    row_spread = x[..., 0].mean(axis=2).std(axis=1)  # brightness per row, spread over rows
    assert (row_spread[y == 0] > row_spread[y == 1]).all()


def test_augment_images_adds_seeded_variants_and_keeps_the_originals():
    x = np.random.default_rng(0).random((4, 10, 10, 1)).astype(np.float32)
    y = np.array([0, 1, 0, 1])
    first, labels = augment_images(x, y, copies=2, seed=0)
    again, _ = augment_images(x, y, copies=2, seed=0)
    other, _ = augment_images(x, y, copies=2, seed=1)
    assert first.shape == (12, 10, 10, 1) and labels.tolist() == [0, 1, 0, 1] * 3
    np.testing.assert_array_equal(first[:4], x)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert 0.0 <= first.min() and first.max() <= 1.0


def test_prepare_augments_the_train_split_only(tmp_path):
    bars_image_dir(tmp_path / "images", per_class=16, size=16)
    plain = prepare_dataset(Dataset(name="image_dir", path="images", image_size=[16, 16]), 0, root=tmp_path).splits
    augmented = prepare_dataset(
        Dataset(name="image_dir", path="images", image_size=[16, 16], augment_copies=2), 0, root=tmp_path
    ).splits
    assert len(augmented.y_train) == 3 * len(plain.y_train)
    np.testing.assert_array_equal(augmented.x_test, plain.x_test)
    np.testing.assert_array_equal(augmented.x_val, plain.x_val)


def test_a_stray_file_in_a_class_folder_is_named(tmp_path):
    bars_image_dir(tmp_path / "images", per_class=16)
    (tmp_path / "images/vertical/notes.txt").write_text("not an image")
    with pytest.raises(DataError, match=r"images/vertical/notes\.txt: not a png/jpg/jpeg file; remove it or move it"):
        inspect_dataset(Dataset(name="image_dir", path="images"), root=tmp_path)


def test_an_unreadable_image_is_named(tmp_path):
    bars_image_dir(tmp_path / "images", per_class=16)
    (tmp_path / "images/vertical/broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match=r"images/vertical/broken\.png could not be read as an image"):
        load_dataset(Dataset(name="image_dir", path="images"), root=tmp_path)


def test_a_single_class_folder_is_not_a_classification_data_set(tmp_path):
    bars_image_dir(tmp_path / "images", per_class=16)
    import shutil

    shutil.rmtree(tmp_path / "images/vertical")
    with pytest.raises(DataError, match=r"1 class folder\(s\) with image files \(found horizontal\); a classifier needs at least 2"):
        inspect_dataset(Dataset(name="image_dir", path="images"), root=tmp_path)
