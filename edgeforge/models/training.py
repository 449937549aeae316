"""Train the base model: seeded, deterministic, on the prepared split."""

from __future__ import annotations

import time

from edgeforge.data import Splits
from edgeforge.models.source import build_architecture
from edgeforge.spec.models import ModelSpec, Train
from edgeforge.tfcompat import import_tf, seed_everything


def compile_classifier(model, learning_rate: float) -> None:
    _, keras = import_tf()
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )


def train_base(model_spec: ModelSpec, train: Train, splits: Splits, seed: int, progress=None):
    """(trained model, metrics). Same seed and data → bit-identical weights."""
    _, keras = import_tf()
    seed_everything(seed)
    if model_spec.path:  # your trained model: its weights are the base, fine-tuned when epochs > 0
        from edgeforge.models.files import load_model_file

        model = load_model_file(model_spec.path, splits.input_shape, splits.num_classes)
    else:
        model = build_architecture(model_spec, splits.input_shape, splits.num_classes)
    compile_classifier(model, train.learning_rate)
    callbacks = [keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: progress(epoch + 1))] if progress else []
    started = time.perf_counter()
    if train.epochs:
        model.fit(
            splits.x_train, splits.y_train, epochs=train.epochs, batch_size=train.batch_size,
            validation_data=(splits.x_val, splits.y_val), verbose=0, callbacks=callbacks,
        )
    seconds = time.perf_counter() - started
    _, val_accuracy = model.evaluate(splits.x_val, splits.y_val, verbose=0)
    return model, {"val_accuracy": round(float(val_accuracy), 6), "params": model.count_params(), "train_seconds": round(seconds, 2)}


def load_base_model(path):
    """The trained base model the `train` stage wrote."""
    from pathlib import Path

    from edgeforge.errors import BuildError

    path = Path(path)
    if not path.is_file():
        raise BuildError(f"{path}: base model missing; run `dvc repro train`")
    _, keras = import_tf()
    return keras.models.load_model(path, compile=False)
