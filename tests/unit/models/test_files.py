"""model.path: your trained tf_keras file is the base model. A missing, damaged or Keras 3 file, or
one that does not fit the data, is a one-line UserError naming model.path and the fix."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from edgeforge.errors import UserError
from edgeforge.models.files import load_model_file, saved_keras_version
from edgeforge.models.source import build_architecture
from edgeforge.spec.models import ModelSpec


def tiny_model(classes: int = 3):
    from edgeforge.tfcompat import import_tf, seed_everything

    _, keras = import_tf()
    seed_everything(0)
    return keras.Sequential(
        [keras.layers.Input(shape=(16, 2)), keras.layers.Flatten(), keras.layers.Dense(classes), keras.layers.Softmax()]
    )


@pytest.fixture
def saved(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = tiny_model()
    model.save("net.h5")
    model.save("net.keras")
    return model


def test_h5_and_keras_files_load_with_their_weights(saved):
    for path in ("net.h5", "net.keras"):
        loaded = load_model_file(path, (16, 2), 3)
        for mine, theirs in zip(saved.get_weights(), loaded.get_weights()):
            np.testing.assert_array_equal(mine, theirs)
    assert saved_keras_version(__import__("pathlib").Path("net.h5")).startswith("2.")


def test_a_file_without_a_factory_has_one_width_re_initialized(saved):
    spec = ModelSpec(path="net.h5", factory_file="net.h5", weights_file="net.h5")
    fresh = build_architecture(spec, (16, 2), 3)
    assert [w.shape for w in fresh.get_weights()] == [w.shape for w in saved.get_weights()]
    assert not np.array_equal(fresh.get_weights()[0], saved.get_weights()[0])
    with pytest.raises(UserError, match="model.path: a student of width 0.5 needs your architecture code; add model.factory"):
        build_architecture(spec, (16, 2), 3, width=0.5)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda: None, "model.path: model.h5 does not exist; train and save your model there, or fix the path"),
        (lambda: open("model.h5", "wb").write(b"not hdf5 at all"), "model.path: model.h5 is not a readable Keras file"),
    ],
)
def test_missing_and_corrupt_files(tmp_path, monkeypatch, setup, message):
    monkeypatch.chdir(tmp_path)
    setup()
    with pytest.raises(UserError) as error:
        load_model_file("model.h5")
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_a_truncated_h5_is_a_user_error(saved):
    data = open("net.h5", "rb").read()
    open("cut.h5", "wb").write(data[: len(data) // 2])
    with pytest.raises(UserError, match="^model.path: cut.h5 (is not a readable Keras file|does not load in tf_keras)"):
        load_model_file("cut.h5")


def test_keras_3_metadata_is_recognized_before_loading(tmp_path, monkeypatch):
    import json
    import zipfile

    import h5py

    monkeypatch.chdir(tmp_path)
    with zipfile.ZipFile("k3.keras", "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
    with h5py.File("k3.h5", "w") as file:
        file.attrs["keras_version"] = "3.15.1"
    for path in ("k3.keras", "k3.h5"):
        with pytest.raises(UserError, match=f"^model.path: {path} was saved by Keras 3.15.1, which tf_keras cannot load; re-save"):
            load_model_file(path)


@pytest.mark.slow  # a second TensorFlow process: about 10 s
def test_a_keras_3_file_says_how_to_re_save_it(tmp_path, monkeypatch):
    """A real Keras 3 save (the `keras` package TensorFlow installs), in a subprocess: this process
    runs tf_keras."""
    import subprocess
    import sys

    monkeypatch.chdir(tmp_path)
    script = (
        "import os; os.environ.pop('TF_USE_LEGACY_KERAS', None); import keras; "
        "m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]); m.save('k3.keras'); m.save('k3.h5')"
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, env={**__import__("os").environ, "TF_USE_LEGACY_KERAS": "0"})
    for path in ("k3.keras", "k3.h5"):
        with pytest.raises(UserError, match=f"^model.path: {path} was saved by Keras 3.* re-save it with tf_keras"):
            load_model_file(path)


def test_the_file_must_fit_the_data(saved):
    with pytest.raises(UserError, match=r"takes samples shaped \(16, 2\), the data's are \(8, 2\)"):
        load_model_file("net.h5", (8, 2), 3)
    with pytest.raises(UserError, match=r"output is \(None, 3\), the data has 5 classes"):
        load_model_file("net.h5", (16, 2), 5)
    import os

    os.mkdir("empty")
    with pytest.raises(UserError, match="is a folder but not a SavedModel"):
        load_model_file("empty")


def test_the_spec_checks_the_file_route(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValidationError, match="path 'net.h5' does not exist .*; save your model there, or fix the path"):
        ModelSpec(path="net.h5", factory_file="net.h5", weights_file="net.h5")
    (tmp_path / "net.h5").write_bytes(b"")
    with pytest.raises(ValidationError, match="'factory_file' is missing: .*; add factory_file: net.h5"):
        ModelSpec(path="net.h5")
    with pytest.raises(ValidationError, match="'weights_file' is missing: .*; add weights_file: net.h5"):
        ModelSpec(path="net.h5", factory_file="net.h5")
    with pytest.raises(ValidationError, match="not a tf_keras or ONNX model; give an .h5, .keras or .onnx file or a SavedModel folder"):
        ModelSpec(path="net.pt", factory_file="net.pt", weights_file="net.pt")
    with pytest.raises(ValidationError, match="a model file has its own"):
        ModelSpec(path="net.h5", factory_file="net.h5", weights_file="net.h5", width=0.5)


def test_width_students_of_a_file_need_a_factory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.h5").write_bytes(b"")
    import yaml

    from tests.conftest import REPO

    config = yaml.safe_load((REPO / "params.yaml").read_text())
    config["model"] = {"path": "net.h5", "factory_file": "net.h5", "weights_file": "net.h5"}
    config["search"]["space"]["width"] = [1.0, 0.5]
    from edgeforge.spec.models import Spec

    with pytest.raises(ValidationError, match=r"search.space.width \[1.0, 0.5\]: width students need your architecture code; add model.factory"):
        Spec.model_validate(config)
    config["search"]["space"]["width"] = [1.0]
    config["train"]["epochs"] = 0
    assert Spec.model_validate(config).train.epochs == 0


def test_a_saved_model_folder_loads(saved):
    saved.save("net_savedmodel", save_format="tf")
    loaded = load_model_file("net_savedmodel", (16, 2), 3)
    np.testing.assert_array_equal(loaded.get_weights()[0], saved.get_weights()[0])
    assert ModelSpec(path="net_savedmodel", factory_file="net_savedmodel", weights_file="net_savedmodel").path == "net_savedmodel"
