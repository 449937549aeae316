"""The chosen model's accuracy per class, by name: its metrics' `class_accuracy` and `class_samples`
(measured in the runtime that verified it, from the same predictions as its accuracy) joined with
the class names prepare recorded (build/data/info.json)."""

from __future__ import annotations

import json
from pathlib import Path


def class_rows(metrics: dict | None, class_names: list[str] | None) -> list[dict]:
    """[{index, name, accuracy, samples}] per class, or [] when the metrics have none (another task,
    an older build). A class without names (or with names that do not match) goes by its index."""
    accuracies = (metrics or {}).get("class_accuracy")
    if not accuracies:
        return []
    samples = metrics.get("class_samples") or [None] * len(accuracies)
    names = class_names if class_names and len(class_names) == len(accuracies) else [str(i) for i in range(len(accuracies))]
    return [
        {"index": index, "name": name, "accuracy": accuracy, "samples": count}
        for index, (name, accuracy, count) in enumerate(zip(names, accuracies, samples))
    ]


def read_class_names(data_dir: Path) -> list[str] | None:
    """The class names of prepare's info.json, or None when it is missing or has none."""
    path = Path(data_dir) / "info.json"
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("class_names")
    except (OSError, ValueError):
        return None  # a report of a partial build: the rows go by index


def format_class_accuracy(row: dict) -> str:
    return "-" if row["accuracy"] is None else f"{row['accuracy']:.4f}"
