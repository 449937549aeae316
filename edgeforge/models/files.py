"""Your trained model file as the base model: `model.path` (.h5, .keras saved by tf_keras, or a
SavedModel folder; an .onnx file goes through models/onnx_import.py).

Files saved by Keras 3 (`keras>=3`, the default `tf.keras` of TensorFlow >= 2.16) do not load in
tf_keras, which TF-MOT needs; they are recognized before loading and get a way to re-save them.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from edgeforge.errors import UserError
from edgeforge.models.factory import check_output

KEY = "model.path"
RESAVE = (
    "re-save it with tf_keras: build the same model with `import tf_keras as keras` "
    "(or TF_USE_LEGACY_KERAS=1), load the weights with model.load_weights(...), then model.save('net.h5')"
)


def saved_keras_version(path: Path) -> str | None:
    """The Keras version that wrote the file, where the file records it."""
    if path.suffix == ".keras":
        with zipfile.ZipFile(path) as archive:
            if "metadata.json" in archive.namelist():
                return str(json.loads(archive.read("metadata.json")).get("keras_version", "")) or None
        return None
    if path.suffix in (".h5", ".hdf5"):
        import h5py

        with h5py.File(path, "r") as file:
            version = file.attrs.get("keras_version")
        return version.decode() if isinstance(version, bytes) else (str(version) if version is not None else None)
    return None


def load_model_file(path: str | Path, input_shape=None, num_classes: int | None = None, root: str | Path = ".", sample_x=None):
    """The tf_keras model in `path` (relative to `root`), checked against the data when given.

    An ONNX file becomes its channels-last tf_keras twin, checked against ONNX Runtime on
    `sample_x` when given (the train stage gives the validation split; the search's structure-only
    models skip the check)."""
    from edgeforge.tfcompat import import_tf

    if str(path).lower().endswith(".onnx"):
        return load_onnx_file(path, input_shape, num_classes, root, sample_x)
    full = Path(root) / path
    if not full.exists():
        raise UserError(f"{KEY}: {path} does not exist; train and save your model there, or fix the path")
    if full.is_dir() and not (full / "saved_model.pb").is_file():
        raise UserError(f"{KEY}: {path} is a folder but not a SavedModel (no saved_model.pb); give an .h5/.keras file or a SavedModel folder")
    try:
        version = saved_keras_version(full)
    except (OSError, zipfile.BadZipFile, ValueError, json.JSONDecodeError) as error:
        raise UserError(f"{KEY}: {path} is not a readable Keras file ({_one_line(error)}); save the model again") from None
    if version and version.split(".")[0].isdigit() and int(version.split(".")[0]) >= 3:
        raise UserError(f"{KEY}: {path} was saved by Keras {version}, which tf_keras cannot load; {RESAVE}")
    _, keras = import_tf()
    try:
        model = keras.models.load_model(full, compile=False)
    except Exception as error:  # h5py, JSON and Keras all raise their own kinds for damaged files
        raise UserError(
            f"{KEY}: {path} does not load in tf_keras ({type(error).__name__}: {_one_line(error)}); "
            "save the model again with tf_keras (a custom layer must be registered with keras.saving.register_keras_serializable)"
        ) from None
    if input_shape is not None:
        expected = tuple(int(d) for d in input_shape)
        got = tuple(model.inputs[0].shape[1:]) if len(model.inputs) == 1 else None
        if got != expected:
            raise UserError(f"{KEY}: {path} takes samples shaped {got}, the data's are {expected}; save a model for the data's shape")
    if num_classes is not None:
        check_output(model, num_classes, f"{KEY}: {path}")
    return model


def load_onnx_file(path, input_shape, num_classes, root=".", sample_x=None):
    """The tf_keras twin of the ONNX model in `path` (the base every TFLite candidate is made
    from), after its parity check against ONNX Runtime on `sample_x` (printed; beyond the
    tolerance a UserError)."""
    from edgeforge.models.onnx_import import check_parity, keras_from_onnx

    if input_shape is None:
        raise ValueError("an ONNX model.path needs the data's input_shape")
    model, onnx_model = keras_from_onnx(path, input_shape, root)
    if num_classes is not None:
        check_output(model, num_classes, f"{KEY}: {path}")
    if sample_x is None:
        return model
    parity = check_parity(model, onnx_model, sample_x, str(path))
    print(f"{KEY}: {path}: converted for TFLite; max |difference| to ONNX Runtime {parity['max_abs_diff']:.3g} on {parity['samples']} samples")
    return model


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())[:200] or type(error).__name__
