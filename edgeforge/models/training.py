"""Train the base model: seeded, deterministic, on the prepared split, for the spec's task
(`model.task`: a classifier on every sample, or an autoencoder on the normal ones, target = input)."""

from __future__ import annotations


from edgeforge.data import Splits
from edgeforge.models.augmentation import fit_data
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


def compile_for_task(model, learning_rate: float, task) -> None:
    """Adam with the task's loss (a classifier also tracks Keras's accuracy, its val figure)."""
    if task.name == "classification":
        compile_classifier(model, learning_rate)
        return
    _, keras = import_tf()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=task.loss)


def train_base(model_spec: ModelSpec, train: Train, splits: Splits, seed: int, progress=None):
    """(trained model, metrics). Same seed and data → bit-identical weights."""
    from edgeforge.evaluate import get_task

    _, keras = import_tf()
    task = get_task(model_spec.task)
    seed_everything(seed)
    if model_spec.path:  # your trained model: its weights are the base, fine-tuned when epochs > 0
        from edgeforge.models.files import load_model_file

        model = load_model_file(model_spec.path, splits.input_shape, task.output_size(splits), sample_x=splits.x_val)
    else:
        model = build_architecture(model_spec, splits.input_shape, task.output_size(splits))
    compile_for_task(model, train.learning_rate, task)
    fit_splits = task.training_splits(splits)  # anomaly_detection: normal samples, target = input
    callbacks = [keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: progress(epoch + 1))] if progress else []
    if train.epochs:
        model.fit(
            **fit_data(fit_splits.x_train, fit_splits.y_train, train.batch_size, train.augmentation, seed),
            epochs=train.epochs, validation_data=(fit_splits.x_val, fit_splits.y_val), verbose=0, callbacks=callbacks,
        )
    # no wall-clock time in build/base/metrics.json: two builds of the same model record the same bytes
    return model, {**task.keras_quality(model, splits), "params": model.count_params()}


def load_base_model(path):
    """The trained base model the `train` stage wrote."""
    from pathlib import Path

    from edgeforge.errors import BuildError

    path = Path(path)
    if not path.is_file():
        raise BuildError(f"{path}: base model missing; run `dvc repro train`")
    _, keras = import_tf()
    return keras.models.load_model(path, compile=False)
