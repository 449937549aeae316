"""Save and load the Keras model a training pass returns, so the search can memoize it.

The file is Keras HDF5 (architecture JSON + weights), which, unlike the zipped `.keras` format,
is byte-identical for identical weights, so DVC sees no change when nothing changed.

Loading rebuilds the architecture inside TF-MOT's `quantize_scope` and assigns every weight by
name. That is what lets cluster-preserving QAT models load at all: their configs serialize as
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
            config = archive.attrs["model_config"]
            model = keras.models.model_from_json(config.decode() if isinstance(config, bytes) else config)
            saved = saved_weights(archive["model_weights"])
    except (OSError, KeyError, ValueError) as error:
        raise ModelFileError(f"{path}: not a trained Keras model ({error}); rerun the stage that trains it") from None
    missing = [weight.name for weight in model.weights if weight.name not in saved]
    if missing:
        raise ModelFileError(f"{path}: weights {missing} are missing; rerun the stage that trains it")
    for weight in model.weights:
        weight.assign(saved[weight.name])
    return model


def saved_weights(group) -> dict:
    """Every weight array in a Keras HDF5 'model_weights' group, by variable name."""
    weights = {}
    for layer_name in group.attrs["layer_names"]:
        layer = group[layer_name.decode() if isinstance(layer_name, bytes) else layer_name]
        for name in layer.attrs["weight_names"]:
            name = name.decode() if isinstance(name, bytes) else name
            weights[name] = layer[name][()]
    return weights
