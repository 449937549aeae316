"""Stage `train`: the base model → build/base/model.h5 and metrics.json."""

from __future__ import annotations

from pathlib import Path

from edgeforge.data import load_splits
from edgeforge.spec import load_params
from edgeforge.atomic import atomic_dir, write_json

OUT = Path("build/base")


def run(params: str = "params.yaml") -> None:
    from rich.progress import Progress

    from edgeforge.models.training import train_base

    spec = load_params(params)
    splits = load_splits("build/data/splits.npz")
    with Progress(transient=True) as bar:
        task = bar.add_task(f"training {spec.model.name}", total=spec.train.epochs)
        model, metrics = train_base(spec.model, spec.train, splits, spec.project.seed,
                                    progress=lambda epoch: bar.update(task, completed=epoch))
    with atomic_dir(OUT) as out:
        model.save(out / "model.h5")
        write_json(out / "metrics.json", metrics)
    print(f"trained {spec.model.name}: val accuracy {metrics['val_accuracy']:.4f}, {metrics['params']} params")


def load_base_model(path: str | Path = OUT / "model.h5"):
    from edgeforge.errors import BuildError
    from edgeforge.tfcompat import import_tf

    path = Path(path)
    if not path.is_file():
        raise BuildError(f"{path}: base model missing; run `dvc repro train`")
    _, keras = import_tf()
    return keras.models.load_model(path, compile=False)
