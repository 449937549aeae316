"""Stage `prepare`: load the data set and split it deterministically → build/data/splits.npz."""

from __future__ import annotations

from edgeforge.atomic import atomic_dir, write_json
from edgeforge.data import load_dataset, save_splits, split_dataset
from edgeforge.layout import BUILD
from edgeforge.spec import load_params


def run(params: str = "params.yaml") -> None:
    spec = load_params(params)
    x, y = load_dataset(spec.dataset)
    splits = split_dataset(x, y, spec.dataset, spec.project.seed)
    with atomic_dir(BUILD.data_dir) as out:
        save_splits(splits, out / BUILD.splits.name)
        write_json(out / "info.json", {
            "input_shape": list(splits.input_shape),
            "num_classes": splits.num_classes,
            "train": len(splits.y_train), "val": len(splits.y_val), "test": len(splits.y_test),
        })
    print(f"prepared {spec.dataset.name}: {len(splits.y_train)} train / {len(splits.y_val)} val / {len(splits.y_test)} test")
