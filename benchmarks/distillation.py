"""Does distillation help? A width-0.5 student distilled from the base model vs the same student
trained on the labels alone, on digits, over 3 seeds.

Both students share the architecture (tiny_cnn at width 0.5), initial weights, epochs, batch
size and learning rate (the `train` section of specs/config.yaml); only the loss differs. Accuracy is
measured on the test split in LiteRT, after a float32 TFLite conversion. Prints one row per seed
and the mean; whichever wins, wins.

    python benchmarks/distillation.py [--epochs 30] [--temperature 4] [--soft-weight 0.7]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np
import yaml

DEFAULT_SPEC = Path(__file__).resolve().parent.parent / "specs" / "config.yaml"
SEEDS = (0, 1, 2)
STUDENT_WIDTH = 0.5


def main() -> None:
    from edgeforge.spec.models import Distillation, Train

    train, distillation = Train(**yaml.safe_load(DEFAULT_SPEC.read_text())["train"]), Distillation()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=train.epochs, help="epochs of teacher and students")
    parser.add_argument("--temperature", type=float, default=distillation.temperature)
    parser.add_argument("--soft-weight", type=float, default=distillation.soft_weight)
    args = parser.parse_args()

    from edgeforge.data.loaders import load_dataset, split_dataset
    from edgeforge.passes import TrainContext
    from edgeforge.passes.distill import Distill
    from edgeforge.spec.models import Dataset

    dataset = Dataset(name="digits")
    splits = split_dataset(*load_dataset(dataset), dataset, seed=0)
    distill = Distill({"width": STUDENT_WIDTH, "temperature": args.temperature, "soft_weight": args.soft_weight})
    print(f"tiny_cnn on digits, {args.epochs} epochs, lr {train.learning_rate}, {distill}")
    print(f"{'seed':>4}  {'teacher':>8}  {'distilled':>9}  {'labels only':>11}  {'seconds':>7}")
    rows = []
    for seed in SEEDS:
        started = time.perf_counter()
        context = TrainContext(splits, None, args.epochs, train.batch_size, train.learning_rate, seed)
        teacher = train_on_labels(1.0, context)
        distilled = distill.apply(teacher, dataclasses.replace(context, teacher=teacher))
        row = [accuracy(model, splits) for model in (teacher, distilled, train_on_labels(STUDENT_WIDTH, context))]
        rows.append(row)
        print(f"{seed:>4}  {row[0]:>8.4f}  {row[1]:>9.4f}  {row[2]:>11.4f}  {time.perf_counter() - started:>7.1f}")
    teacher, distilled, labels_only = np.mean(rows, axis=0)
    print(f"{'mean':>4}  {teacher:>8.4f}  {distilled:>9.4f}  {labels_only:>11.4f}")
    winner = "distillation" if distilled > labels_only else "labels only" if labels_only > distilled else "neither"
    print(f"winner: {winner} ({distilled - labels_only:+.4f} mean accuracy for distillation)")


def train_on_labels(width: float, context):
    """tiny_cnn at `width`, seeded as Distill seeds its student, trained with cross-entropy."""
    from edgeforge.models import build_model
    from edgeforge.passes.finetune import fine_tune
    from edgeforge.tfcompat import seed_everything

    seed_everything(context.seed)
    model = build_model("tiny_cnn", context.splits.input_shape, context.splits.num_classes, width=width)
    fine_tune(model, context)
    return model


def accuracy(model, splits) -> float:
    from edgeforge.runtimes import evaluate_model
    from edgeforge.passes.ptq import PostTrainingQuantization

    model_bytes = PostTrainingQuantization({"mode": "float32"}).convert(model, splits.x_train)
    return evaluate_model(model_bytes, splits.x_test, splits.y_test, "tflite").accuracy


if __name__ == "__main__":
    main()
