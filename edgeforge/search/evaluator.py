"""Train, convert and measure candidates, each step memoized by the hash of what it depends on.

Three memo kinds, each reused by everything that shares its inputs:
- trained:   a training recipe (width, sparsity, clusters, qat) applied to the base model;
- converted: a trained model through one PTQ mode → .tflite bytes and weight statistics;
- measured:  .tflite bytes run in one runtime on the held-out split → accuracy (and TFLM's arena).
Per-device costs (latency, energy, flash) are analytic and recomputed: they cost microseconds.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

from edgeforge.data import Splits
from edgeforge.errors import BuildError
from edgeforge.search.candidates import Candidate, TrainingRecipe, parent_recipe, recipe_passes
from edgeforge.search.memo import Memo, hash_of
from edgeforge.spec.models import Spec, Target

# The code whose behaviour is baked into memo entries: changing it invalidates them.
CODE_PACKAGES = ("passes", "models", "evaluate", "data", "export")
VERSIONED_DEPENDENCIES = (
    "tensorflow-cpu", "tf-keras", "tensorflow-model-optimization", "ai-edge-litert", "tflite-micro",
    "onnx", "onnxruntime", "tf2onnx",
)
# Runtimes with no interpreter on a build host: accuracy comes from the runtime that loads the
# same artifact here (TensorRT builds its engine from the ONNX model; Core ML converts from the
# same Keras model as LiteRT), and the metrics say which one it was.
ACCURACY_PROXY = {"tensorrt": "onnxruntime", "coreml": "tflite"}
ONNX_RUNTIMES = ("onnxruntime", "tensorrt")


def code_version() -> str:
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for package in CODE_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    digest.update((root / "tfcompat.py").read_bytes())
    for dependency in VERSIONED_DEPENDENCIES:
        try:
            digest.update(f"{dependency}=={metadata.version(dependency)}".encode())
        except metadata.PackageNotFoundError:
            pass
    return digest.hexdigest()[:16]


def weights_fingerprint(model) -> str:
    digest = hashlib.sha256()
    for array in model.get_weights():
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:32]


@dataclass
class Stats:
    trained: int = 0
    converted: int = 0
    measured: int = 0
    train_epochs: dict[str, int] = field(default_factory=dict)


class Evaluator:
    """Everything the search needs to turn a candidate into measured metrics."""

    def __init__(self, spec: Spec, splits: Splits, base_model, memo: Memo):
        self.spec = spec
        self.splits = splits
        self.base_model = base_model
        self.memo = memo
        self.stats = Stats()
        self._base_key = hash_of(
            weights_fingerprint(base_model), splits.fingerprint(), code_version(), spec.model.name, spec.project.seed
        )
        self._models: dict[tuple, object] = {}
        samples = spec.search.eval_samples
        self.x_eval = splits.x_test[:samples] if samples else splits.x_test
        self.y_eval = splits.y_test[:samples] if samples else splits.y_test

    # -- training ------------------------------------------------------------------------------
    def trained_key(self, recipe: TrainingRecipe, epochs: int | None = None) -> str:
        if recipe.is_base:  # never trained: the same model at every fidelity
            return hash_of(self._base_key, recipe.config())
        return hash_of(self._base_key, recipe.config(), self._training_settings(epochs))

    def has_trained(self, recipe: TrainingRecipe, epochs: int | None = None) -> bool:
        """Whether the recipe's model at this fidelity is in the memo (counts no hit or miss)."""
        if recipe.is_base:
            return True
        return (Path(self.memo.root) / "trained" / self.trained_key(recipe, epochs) / "done").is_file()

    def _training_settings(self, epochs: int | None) -> dict:
        search = self.spec.search
        return {
            "finetune_epochs": epochs or search.finetune_epochs,
            "distill": search.distill.model_dump(),
            "distill_epochs": self.distill_epochs(epochs),
            "train": self.spec.train.model_dump(),
        }

    def trained(self, recipe: TrainingRecipe, epochs: int | None = None):
        """(model, record) for a recipe; trains only on a memo miss.

        A recipe is its parent's model plus one more pass (see `parent_recipe`), so recipes that
        share a prefix of passes share its training, and each training runs exactly one pass.
        `epochs` is the fidelity of that last pass; the parent is always trained in full.
        """
        if recipe.is_base:
            return self.base_model, {"train_seconds": 0.0, "epochs": 0}
        key = self.trained_key(recipe, epochs)
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

    def fidelity(self, epochs: int | None) -> int:
        """Fine-tune epochs a training at `epochs` runs (None = full fidelity)."""
        return epochs or self.spec.search.finetune_epochs

    def distill_epochs(self, epochs: int | None) -> int:
        """A student trains from scratch for the base's epochs, scaled down with the fidelity."""
        full = self.spec.search.finetune_epochs
        return max(1, round(self.spec.train.epochs * self.fidelity(epochs) / full))

    def _train(self, recipe: TrainingRecipe, parent_model, parent_record: dict, epochs: int | None, out: Path) -> dict:
        from edgeforge.passes import TrainContext
        from edgeforge.passes.chain import apply_training_passes
        from edgeforge.passes.io import save_trained
        from edgeforge.tfcompat import seed_everything

        seed_everything(self.spec.project.seed)
        passes = recipe_passes(recipe, self.spec.search.distill.model_dump())
        # A student trains from scratch: its epochs are the base model's, scaled by the fidelity.
        pass_epochs = self.distill_epochs(epochs) if passes[-1][0] == "distill" else self.fidelity(epochs)
        context = TrainContext(
            splits=self.splits,
            teacher=self.base_model,
            epochs=pass_epochs,
            batch_size=self.spec.train.batch_size,
            learning_rate=self.spec.train.learning_rate,
            seed=self.spec.project.seed,
            model_name=self.spec.model.name,
            distill_epochs=self.distill_epochs(epochs),
        )
        model, seconds = apply_training_passes(parent_model, passes[-1:], context)
        save_trained(model, out / "model.h5")
        return {
            "train_seconds": round(seconds + parent_record["train_seconds"], 3),
            "epochs": pass_epochs,  # what the recipe's own (last) pass trained: its fidelity
            "passes": [name for name, _ in passes],
        }

    # -- conversion ----------------------------------------------------------------------------
    def converted(self, candidate: Candidate, epochs: int | None = None) -> tuple[bytes, dict]:
        """(.tflite bytes, record with weight statistics) for a candidate."""
        key = hash_of(self.trained_key(candidate.training, epochs), candidate.quantization)
        folder = self.memo.entry("converted", key)
        if folder is None:
            model, train_record = self.trained(candidate.training, epochs)
            folder = self.memo.store("converted", key, lambda out: self._convert(candidate, model, train_record, out))
            self.stats.converted += 1
        return (folder / "model.tflite").read_bytes(), json.loads((folder / "record.json").read_text())

    def _convert(self, candidate: Candidate, model, train_record: dict, out: Path) -> dict:
        from edgeforge.cost.weights import compressed_bytes, weight_stats
        from edgeforge.passes.ptq import PostTrainingQuantization

        started = time.perf_counter()
        model_bytes = PostTrainingQuantization({"mode": candidate.quantization}).convert(model, self.splits.x_train)
        (out / "model.tflite").write_bytes(model_bytes)
        return {
            "sha256": hashlib.sha256(model_bytes).hexdigest(),
            "model_bytes": len(model_bytes),
            "compressed_bytes": compressed_bytes(model_bytes),
            **weight_stats(model_bytes),
            "train_seconds": train_record["train_seconds"],
            "epochs": train_record["epochs"],
            "convert_seconds": round(time.perf_counter() - started, 3),
        }

    def converted_onnx(self, candidate: Candidate, epochs: int | None = None) -> tuple[bytes, dict]:
        """(.onnx bytes, record) for a candidate, for targets that run ONNX."""
        key = hash_of(self.trained_key(candidate.training, epochs), candidate.quantization, "onnx")
        folder = self.memo.entry("converted", key)
        if folder is None:
            model, _ = self.trained(candidate.training, epochs)
            folder = self.memo.store("converted", key, lambda out: self._convert_onnx(candidate, model, out))
            self.stats.converted += 1
        return (folder / "model.onnx").read_bytes(), json.loads((folder / "record.json").read_text())

    def _convert_onnx(self, candidate: Candidate, model, out: Path) -> dict:
        from edgeforge.export.onnx import OPSET_BY_RUNTIME, onnx_bytes_for

        model_bytes = onnx_bytes_for(model, candidate.quantization, self.splits.x_train, OPSET_BY_RUNTIME["onnxruntime"])
        (out / "model.onnx").write_bytes(model_bytes)
        return {"sha256": hashlib.sha256(model_bytes).hexdigest(), "model_bytes": len(model_bytes)}

    def artifact(self, candidate: Candidate, runtime: str, epochs: int | None = None) -> tuple[bytes, str, dict]:
        """(bytes, file suffix, record) of what the target's runtime loads."""
        if runtime in ONNX_RUNTIMES:
            model_bytes, record = self.converted_onnx(candidate, epochs)
            return model_bytes, ".onnx", record
        model_bytes, record = self.converted(candidate, epochs)
        return model_bytes, ".tflite", record

    def measured_for(self, candidate: Candidate, runtime: str, epochs: int | None = None) -> dict:
        """The candidate's artifact for `runtime`, measured in that runtime (or its ACCURACY_PROXY)."""
        artifact_bytes, _, _ = self.artifact(candidate, runtime, epochs)
        accuracy_runtime = ACCURACY_PROXY.get(runtime, runtime)
        return {**self.measured(artifact_bytes, accuracy_runtime), "accuracy_runtime": accuracy_runtime}

    def untrained_converted(self, width: float, mode: str) -> bytes:
        """.tflite bytes of a seeded, untrained model at `width` in PTQ `mode`: the structure (and so
        the size, arena and latency) every trained model of that width and mode will have."""
        key = hash_of("untrained", self.spec.model.model_dump(), width, mode, self.splits.fingerprint(), code_version(), self.spec.project.seed)
        folder = self.memo.entry("structure", key)
        if folder is None:
            folder = self.memo.store("structure", key, lambda out: self._convert_untrained(width, mode, out))
        return (folder / "model.tflite").read_bytes()

    def _convert_untrained(self, width: float, mode: str, out: Path) -> None:
        from edgeforge.models import build_model
        from edgeforge.passes.ptq import PostTrainingQuantization
        from edgeforge.tfcompat import seed_everything

        seed_everything(self.spec.project.seed)
        model = build_model(
            self.spec.model.name, self.splits.input_shape, self.splits.num_classes, width=width, dropout=self.spec.model.dropout
        )
        (out / "model.tflite").write_bytes(PostTrainingQuantization({"mode": mode}).convert(model, self.splits.x_train))

    # -- measurement in the real runtime -------------------------------------------------------
    def measured(self, model_bytes: bytes, runtime: str) -> dict:
        """Accuracy on the held-out split in `runtime` (+ the measured arena for TFLite Micro)."""
        key = hash_of(hashlib.sha256(model_bytes).hexdigest(), runtime, self.splits.fingerprint(), code_version(), len(self.y_eval))
        record = self.memo.record("measured", key)
        if record is None:
            self.memo.store("measured", key, lambda out: self._measure(model_bytes, runtime))
            self.stats.measured += 1
            record = self.memo.record("measured", key)
            self.memo.hits -= 1  # reading back what we just wrote is not a hit
        return record

    def _measure(self, model_bytes: bytes, runtime: str) -> dict:
        from edgeforge.evaluate import evaluate_model

        result = evaluate_model(model_bytes, self.x_eval, self.y_eval, runtime)
        record = {"accuracy": result.accuracy, "samples": result.samples}
        if runtime == "tflite-micro":
            from edgeforge.cost.arena import measure_arena_bytes

            record["arena_bytes"] = measure_arena_bytes(model_bytes)
        return record

    # -- per-target metrics --------------------------------------------------------------------
    def target_metrics(self, candidate: Candidate, target: Target, base_accuracy: float, epochs: int | None = None) -> dict:
        """Every metric of the candidate (trained at fidelity `epochs`) on the target's device and runtime."""
        from edgeforge.cost.profile import profile_model

        from edgeforge.cost.flash import flash_bytes
        from edgeforge.cost.graph import read_graph

        tflite_bytes, record = self.converted(candidate, epochs)
        artifact_bytes, suffix, artifact_record = self.artifact(candidate, target.runtime, epochs)
        measured = self.measured_for(candidate, target.runtime, epochs)
        # Costs come from the TFLite graph (same layers, same MACs); flash counts the file shipped.
        profile = profile_model(
            tflite_bytes,
            target.device,
            target.runtime,
            inference_hz=target.constraints.inference_hz,
            measured_arena_bytes=measured.get("arena_bytes"),
        )
        if suffix != ".tflite":
            profile["flash_bytes"] = flash_bytes(len(artifact_bytes), read_graph(tflite_bytes).op_types, target.runtime, target.device.arch)
        metrics = {
            "accuracy": measured["accuracy"],
            "accuracy_runtime": measured["accuracy_runtime"],
            "accuracy_drop": round(base_accuracy - measured["accuracy"], 6),
            "model_bytes": artifact_record["model_bytes"],
            "compressed_bytes": record["compressed_bytes"],
            "weight_sparsity": record["weight_sparsity"],
            "max_unique_weights": record["max_unique_weights"],
            "train_seconds": record["train_seconds"],
            "epochs": record["epochs"],
            "params": profile["params"],
            "macs": profile["macs"],
            "flash_bytes": profile["flash_bytes"],
            "arena_bytes": profile["arena_bytes"],
            "arena_source": profile["arena_source"],
            "latency_ms": profile["latency_ms"],
            "energy_mj": profile["energy_mj"],
        }
        if "avg_power_mw" in profile:
            metrics["avg_power_mw"] = profile["avg_power_mw"]
        return metrics


def check_for_failure(call):
    """Run `call`, turning a build failure into (None, reason) so the search goes on."""
    try:
        return call(), None
    except BuildError as error:
        return None, str(error)
