"""Save and load the Keras model a training pass returns, so the search can memoize it.

The file is Keras HDF5 (architecture JSON + weights), which, unlike the zipped `.keras` format,
is byte-identical for identical weights, so DVC sees no change when nothing changed.

Loading rebuilds the architecture inside TF-MOT's `quantize_scope` and assigns every layer's
weights by name. That is what lets cluster-preserving QAT models load at all: their configs serialize as
plain QAT configs, so Keras' own loader rejects the extra centroid and index variables. The
rebuilt model is plain QAT with the same kernels (CQAT writes the clustered values into the
kernel itself), so it converts and predicts the same; it is for conversion and evaluation, not
for more cluster-preserving training.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from edgeforge.errors import ModelFileError
from edgeforge.tfcompat import import_tf


def save_trained(model, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "HDF5 is legacy": it is the deterministic one
        model.save(tmp, save_format="h5", include_optimizer=False)
    os.replace(tmp, path)


def load_trained(path: str | Path):
    import h5py
    import tensorflow_model_optimization as tfmot

    _, keras = import_tf()
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: trained model not found; rerun the stage that trains it")
    try:
        with h5py.File(path, "r") as archive, tfmot.quantization.keras.quantize_scope():
            model = keras.models.model_from_json(_text(archive.attrs["model_config"]))
            saved = saved_weights(archive["model_weights"])
    except (OSError, KeyError, ValueError) as error:
        raise ModelFileError(f"{path}: not a trained Keras model ({error}); rerun the stage that trains it") from None
    for layer in model.layers:
        stored = saved.get(layer.name, {})
        missing = [short_name(weight.name) for weight in layer.weights if short_name(weight.name) not in stored]
        if missing:
            raise ModelFileError(
                f"{path}: layer '{layer.name}' lacks weights {missing}; rerun the stage that trains it"
            )
        for weight in layer.weights:
            weight.assign(stored[short_name(weight.name)])
    return model


def saved_weights(group) -> dict[str, dict]:
    """{layer name: {weight name: array}} from a Keras HDF5 'model_weights' group."""
    weights: dict[str, dict] = {}
    for layer_name in map(_text, group.attrs["layer_names"]):
        layer = group[layer_name]
        stored = weights.setdefault(layer_name, {})
        for name in map(_text, layer.attrs["weight_names"]):
            stored.setdefault(short_name(name), layer[name][()])
    return weights


def short_name(variable_name: str) -> str:
    """'kernel' of 'quant_conv2d/kernel:0'. Scopes differ between the saved and the rebuilt model
    (a stripped model's kernels are plain 'kernel:0'); names within one layer do not."""
    return variable_name.split("/")[-1].split(":")[0]


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value
