"""Stage `train`: the base model → build/base/model.h5 and metrics.json.

A user's ONNX graph that edgeforge's converter cannot turn into tf_keras (an op it does not handle)
is the base as it is: build/base/model.onnx, evaluated in ONNX Runtime, with the converter's
reason in metrics.json; the search then fails its TFLite candidates with that reason (docs/onnx.md)."""

from __future__ import annotations

from edgeforge.atomic import atomic_dir, write_json
from edgeforge.data import load_splits
from edgeforge.errors import UnsupportedOnnxOp
from edgeforge.layout import BUILD
from edgeforge.spec import load_params


def run(params: str = "params.yaml") -> None:
    from edgeforge.evaluate import get_task
    from edgeforge.models.onnx_import import is_onnx_path
    from edgeforge.models.training import train_base
    from edgeforge.progress import StageProgress

    spec = load_params(params)
    splits = load_splits(BUILD.splits)
    task = get_task(spec.model.task)
    try:
        with StageProgress(f"train {spec.model.label}", "epochs", total=spec.train.epochs) as progress:
            model, metrics = train_base(spec.model, spec.train, splits, spec.project.seed, progress=progress.update)
    except UnsupportedOnnxOp as unsupported:
        if not is_onnx_path(spec.model.path):
            raise
        keep_onnx_base(spec, splits, task, str(unsupported))
        return
    with atomic_dir(BUILD.base_dir) as out:
        model.save(out / BUILD.base_model.name)
        write_json(out / "metrics.json", metrics)
    verb = "trained" if spec.train.epochs else "evaluated"
    print(f"{verb} {spec.model.label}: val {task.metric_label} {metrics[f'val_{task.metric}']:.4f}, {metrics['params']} params")


def keep_onnx_base(spec, splits, task, reason: str) -> None:
    """The ONNX graph itself as the base model, evaluated in ONNX Runtime."""
    from edgeforge.models.onnx_import import ONNX_BASE_FILE, onnx_base, short_reason

    model_bytes, metrics = onnx_base(spec.model.path, splits, task, reason)
    with atomic_dir(BUILD.base_dir) as out:
        (out / ONNX_BASE_FILE).write_bytes(model_bytes)
        write_json(out / "metrics.json", metrics)
    print(f"{short_reason(reason)}; the ONNX graph is the base model, for ONNX Runtime targets only")
    print(f"evaluated {spec.model.label} in ONNX Runtime: val {task.metric_label} {metrics[f'val_{task.metric}']:.4f}, {metrics['params']} params")
