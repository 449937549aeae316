"""Trained models of training recipes, memoized: the library's one way to get a candidate's model.

A recipe is its parent's model plus one more pass (`parent_recipe`), so recipes that share a prefix
of passes share its training, and each training runs exactly one pass. The search trains through
it, and the export stage reloads the selected candidate's model through it (from the memo; it
trains only if the memo was wiped).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from edgeforge.models.onnx_import import onnx_base_reason
from edgeforge.models.source import model_code_version
from edgeforge.search.candidates import TrainingRecipe, parent_recipe, recipe_passes
from edgeforge.search.codeversion import training_version
from edgeforge.search.memo import Memo, Stats, hash_of


def weights_fingerprint(model) -> str:
    return _fingerprint(model.get_weights())


def file_weights_fingerprint(path: Path) -> str:
    """`weights_fingerprint` of a tf_keras .h5 file, read with h5py: no TensorFlow import, so a search
    whose every result is in the memo never loads it. The order is Keras's own: layers as saved,
    then each layer's weights (what `get_weights()` returns)."""
    import h5py

    if not Path(path).is_file():
        from edgeforge.errors import BuildError

        raise BuildError(f"{path}: base model missing; run `dvc repro train`")
    with h5py.File(path, "r") as file:
        group = file["model_weights"] if "model_weights" in file else file
        arrays = [
            group[_text(layer)][_text(weight)][()]
            for layer in group.attrs["layer_names"]
            for weight in group[_text(layer)].attrs["weight_names"]
        ]
    return _fingerprint(arrays)


def _text(name) -> str:
    return name.decode() if isinstance(name, bytes) else str(name)


def _fingerprint(arrays) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:32]


class Trainer:
    """`trained(recipe, epochs)`: the recipe's model, trained on a memo miss only."""

    def __init__(self, spec, splits, base_model, memo: Memo, stats: Stats | None = None):
        """`base_model` is the trained base model, or the path of its .h5 file: then it is loaded only
        when a training needs it (never when every result comes from the memo)."""
        self.spec = spec
        self.splits = splits
        self._base_model = base_model
        self.memo = memo
        self.stats = stats or Stats()
        is_file = isinstance(base_model, (str, Path))
        # a user's ONNX graph no converter handles is the base as it is, with no .h5 (stages/train.py):
        # the converter's reason; its graph is in the key through model_code_version
        self.onnx_base_reason = onnx_base_reason(base_model) if is_file else None
        if self.onnx_base_reason:
            fingerprint = "onnx-base"
        else:
            fingerprint = file_weights_fingerprint(base_model) if is_file else weights_fingerprint(base_model)
        self.base_key = hash_of(fingerprint, splits.fingerprint(), training_version(), model_code_version(spec.model), spec.project.seed)
        self._models: dict[tuple, tuple] = {}

    @property
    def base_model(self):
        if self.onnx_base_reason:  # no Keras model to train or convert: why, for the candidate's failure
            from edgeforge.errors import UnsupportedOnnxOp
            from edgeforge.models.onnx_import import short_reason

            raise UnsupportedOnnxOp(short_reason(self.onnx_base_reason))
        if isinstance(self._base_model, (str, Path)):
            from edgeforge.models.training import load_base_model

            self._base_model = load_base_model(self._base_model)
        return self._base_model

    def key(self, recipe: TrainingRecipe, epochs: int | None = None) -> str:
        if recipe.is_base:  # never trained: the same model at every fidelity
            return hash_of(self.base_key, recipe.config())
        return hash_of(self.base_key, recipe.config(), self._training_settings(epochs))

    def has_trained(self, recipe: TrainingRecipe, epochs: int | None = None) -> bool:
        """Whether the recipe's model at this fidelity is in the memo (counts no hit or miss)."""
        if recipe.is_base:
            return True
        return self.memo.contains("trained", self.key(recipe, epochs))

    def fidelity(self, epochs: int | None) -> int:
        """Fine-tune epochs a training at `epochs` runs (None = full fidelity)."""
        return epochs or self.spec.search.finetune_epochs

    def distill_epochs(self, epochs: int | None) -> int:
        """A student trains from scratch for the base's epochs, scaled down with the fidelity."""
        full = self.spec.search.finetune_epochs
        # train.epochs 0 (a model file evaluated as it is) trains no base: students get the fine-tune's epochs
        return max(1, round((self.spec.train.epochs or full) * self.fidelity(epochs) / full))

    def trained(self, recipe: TrainingRecipe, epochs: int | None = None):
        """(model, record) for a recipe; trains only on a memo miss.

        `epochs` is the fidelity of the recipe's last pass; the parent is always trained in full.
        """
        if recipe.is_base:
            return self.base_model, {"epochs": 0}
        key = self.key(recipe, epochs)
        if (recipe, key) in self._models:
            return self._models[(recipe, key)]
        from edgeforge.passes.io import load_trained

        folder = self.memo.entry("trained", key)
        trained_now = folder is None
        if trained_now:
            parent_model, parent_record = self.trained(parent_recipe(recipe))
            folder = self.memo.store(
                "trained", key, lambda out: self._train(recipe, parent_model, parent_record, epochs, out)
            )
        record = json.loads((folder / "record.json").read_text())
        if trained_now:
            self.stats.trained += 1
            self.stats.train_epochs[f"{recipe.id}@{self.fidelity(epochs)}"] = record["epochs"]
        result = (load_trained(folder / "model.h5"), record)
        self._models[(recipe, key)] = result
        return result

    def load(self, recipe: TrainingRecipe, key: str):
        """The model trained under memo `key`, never training: what export converts from."""
        from edgeforge.errors import BuildError
        from edgeforge.passes.io import load_trained

        if recipe.is_base:
            return self.base_model
        folder = self.memo.entry("trained", key)
        if folder is None:
            raise BuildError(
                f"{self.memo.root}/trained/{key}: the selected candidate {recipe.id}'s trained model is not in the "
                "memo (deleted or damaged, or another memo folder); run `dvc repro -f search` to train it again"
            )
        return load_trained(folder / "model.h5")

    def untrained(self, width: float):
        """A seeded, untrained model of the spec's architecture at `width`."""
        from edgeforge.models.source import build_architecture
        from edgeforge.tfcompat import seed_everything

        from edgeforge.evaluate import get_task

        seed_everything(self.spec.project.seed)
        output_size = get_task(self.spec.model.task).output_size(self.splits)
        return build_architecture(self.spec.model, self.splits.input_shape, output_size, width=width)

    def _training_settings(self, epochs: int | None) -> dict:
        search = self.spec.search
        return {
            "finetune_epochs": epochs or search.finetune_epochs,
            "distill": search.distill.model_dump(),
            "distill_epochs": self.distill_epochs(epochs),
            "train": self.spec.train.model_dump(),
        }

    def _train(self, recipe: TrainingRecipe, parent_model, parent_record: dict, epochs: int | None, out: Path) -> dict:
        from edgeforge.evaluate import get_task
        from edgeforge.passes import TrainContext
        from edgeforge.passes.chain import apply_training_passes
        from edgeforge.passes.io import save_trained
        from edgeforge.tfcompat import seed_everything

        seed_everything(self.spec.project.seed)
        passes = recipe_passes(recipe, self.spec.search.distill.model_dump())
        # A student trains from scratch: its epochs are the base model's, scaled by the fidelity.
        pass_epochs = self.distill_epochs(epochs) if passes[-1][0] == "distill" else self.fidelity(epochs)
        task = get_task(self.spec.model.task)
        context = TrainContext(
            splits=task.training_splits(self.splits),  # anomaly_detection: normal samples, target = input
            loss=task.loss,
            teacher=self.base_model,
            epochs=pass_epochs,
            batch_size=self.spec.train.batch_size,
            learning_rate=self.spec.train.learning_rate,
            seed=self.spec.project.seed,
            model_name=self.spec.model.name or "",
            model_spec=self.spec.model,
            distill_epochs=self.distill_epochs(epochs),
            augmentation=self.spec.train.augmentation,  # in the memo key: `train` is in _training_settings
        )
        model = apply_training_passes(parent_model, passes[-1:], context)
        save_trained(model, out / "model.h5")
        # no wall-clock time: a record is the same bytes wherever and however fast it was trained
        return {
            "epochs": pass_epochs,  # what the recipe's own (last) pass trained: its fidelity
            "passes": [name for name, _ in passes],
        }
