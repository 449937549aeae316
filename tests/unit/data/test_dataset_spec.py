"""The `dataset` section of the spec (edgeforge/spec/models.py: Dataset, AudioFrontend): each kind's
keys, paths that fit the kind, and frontend parameters that make sense; and the dataset presets."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from edgeforge.spec.models import AudioFrontend, Dataset
from tests.conftest import REPO


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "npz"}, "dataset 'npz' needs 'path' (the data file to load)"),
        ({"name": "image_dir"}, "dataset 'image_dir' needs 'path' (the data folder to load)"),
        ({"name": "npz", "path": "specs/dataset/digits.yaml"}, "dataset 'npz' needs 'path' to an .npz file"),
        ({"name": "audio_dir", "path": "data/clips.npz"}, "dataset 'audio_dir' needs 'path' to a folder"),
        ({"name": "npz", "path": "a.npz", "window": 64}, "'window' applies to dataset csv only, not 'npz'; remove it"),
        ({"name": "csv", "path": "a.csv", "image_size": [8, 8]}, "'image_size' applies to dataset image_dir only"),
        ({"name": "image_dir", "path": "img", "frontend": {"features": "mfcc"}}, "'frontend' applies to dataset audio_dir only"),
        ({"name": "csv", "path": "a.csv", "stride": 32}, "'stride' needs 'window'"),
        ({"name": "image_dir", "path": "img", "image_size": [32]}, "at least 2 items"),
    ],
)
def test_dataset_refuses_keys_and_paths_that_do_not_fit_its_kind(fields, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        Dataset(**fields)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"upper_hz": 9000}, "above the Nyquist frequency; use at most 8000"),
        ({"lower_hz": 4000, "upper_hz": 3000}, "lower_hz 4000 must be below upper_hz 3000"),
        ({"mfcc_count": 50, "mel_bins": 40}, "mfcc_count 50 exceeds mel_bins 40"),
        ({"stride_ms": 40, "window_ms": 30}, "stride_ms 40 exceeds window_ms 30"),
        ({"window_ms": 2000}, "longer than the clip"),
    ],
)
def test_audio_frontend_refuses_inconsistent_parameters(fields, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        AudioFrontend(**fields)


def test_digits_needs_no_path_in_the_library_and_its_preset_names_itself():
    import yaml

    assert Dataset(name="digits").path is None
    preset = yaml.safe_load((REPO / "specs/dataset/digits.yaml").read_text())
    assert preset["path"] == "specs/dataset/digits.yaml"


@pytest.mark.parametrize("preset", ["digits", "motion_npz", "motion_csv", "images", "keywords"])
def test_dataset_presets_validate(preset):
    import yaml

    Dataset.model_validate(yaml.safe_load((REPO / f"specs/dataset/{preset}.yaml").read_text()))


def test_prepare_stage_depends_on_the_dataset_path_in_dvc_yaml():
    import yaml

    prepare = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]["prepare"]
    assert "${dataset.path}" in prepare["deps"]
    assert {"dataset", "model", "project.seed"} <= set(prepare["params"])  # model: model.name is absent for your own model


def test_a_dumped_dataset_validates_again():
    """The Dask executor and tests re-validate `model_dump()`s, which carry every default."""
    from edgeforge.spec.models import Dataset

    dataset = Dataset(name="digits", path="specs/dataset/digits.yaml")
    assert Dataset.model_validate(dataset.model_dump()) == dataset
