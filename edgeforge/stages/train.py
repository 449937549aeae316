"""Stage `train`: the base model → build/base/model.h5 and metrics.json."""

from __future__ import annotations

from edgeforge.atomic import atomic_dir, write_json
from edgeforge.data import load_splits
from edgeforge.layout import BUILD
from edgeforge.spec import load_params


def run(params: str = "params.yaml") -> None:
    from edgeforge.models.training import train_base
    from edgeforge.progress import StageProgress

    spec = load_params(params)
    splits = load_splits(BUILD.splits)
    with StageProgress(f"train {spec.model.label}", "epochs", total=spec.train.epochs) as progress:
        model, metrics = train_base(spec.model, spec.train, splits, spec.project.seed, progress=progress.update)
    with atomic_dir(BUILD.base_dir) as out:
        model.save(out / BUILD.base_model.name)
        write_json(out / "metrics.json", metrics)
    from edgeforge.evaluate import get_task

    task = get_task(spec.model.task)
    verb = "trained" if spec.train.epochs else "evaluated"
    print(f"{verb} {spec.model.label}: val {task.metric_label} {metrics[f'val_{task.metric}']:.4f}, {metrics['params']} params")
