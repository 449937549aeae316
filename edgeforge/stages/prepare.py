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


def for_task(task_name: str, prepared, origin: str):
    """The prepared data with its labels in the order `model.task` reads them (anomaly_detection:
    0 normal, 1 anomaly), checked to suit the task (both kinds in the validation and test splits)."""
    from dataclasses import replace

    import numpy as np

    from edgeforge.errors import DataError
    from edgeforge.evaluate import get_task

    task = get_task(task_name)
    names = prepared.info["class_names"]
    try:
        ordered = task.label_order(names)
    except ValueError as error:
        raise DataError(f"{origin}: model.task: {error}") from None
    if ordered != names:
        relabel = np.array([ordered.index(name) for name in names], dtype=prepared.splits.y_train.dtype)
        splits = prepared.splits
        splits = replace(splits, y_train=relabel[splits.y_train], y_val=relabel[splits.y_val], y_test=relabel[splits.y_test])
        prepared = replace(prepared, splits=splits, info={**prepared.info, "class_names": ordered})
    problem = task.splits_problem(prepared.splits)
    if problem:
        raise DataError(f"{origin}: model.task: {problem}")
    return prepared


def run(params: str = "params.yaml") -> None:
    spec = load_params(params)
    prepared = prepare_dataset(spec.dataset, spec.project.seed, origin=params, model_name=spec.model.name)
    prepared = for_task(spec.model.task, prepared, params)
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
