"""Stage `prepare`: check the data, split it deterministically → build/data/.

    splits.npz       the six arrays (x/y of train, val, test), model-ready
    info.json        shapes, class names, the data's sha256, the preprocessing the device repeats
    frontend.tflite  audio_dir only: the feature frontend the bundle ships (parity in info.json)
"""

from __future__ import annotations

from edgeforge.atomic import atomic_dir, write_json
from edgeforge.data import prepare_dataset, save_splits
from edgeforge.layout import BUILD
from edgeforge.spec import load_params

INFO = "info.json"
FRONTEND = "frontend.tflite"


def run(params: str = "params.yaml") -> None:
    spec = load_params(params)
    prepared = prepare_dataset(spec.dataset, spec.project.seed, origin=params, model_name=spec.model.name)
    splits = prepared.splits
    with atomic_dir(BUILD.data_dir) as out:
        save_splits(splits, out / BUILD.splits.name)
        write_json(out / INFO, prepared.info)
        if prepared.frontend_model is not None:
            (out / FRONTEND).write_bytes(prepared.frontend_model)
    classes = ", ".join(prepared.info["class_names"][:8]) + (", ..." if prepared.info["num_classes"] > 8 else "")
    print(
        f"prepared {spec.dataset.name}: {len(splits.y_train)} train / {len(splits.y_val)} val / {len(splits.y_test)} test, "
        f"samples {splits.input_shape}, {prepared.info['num_classes']} classes ({classes})"
    )
