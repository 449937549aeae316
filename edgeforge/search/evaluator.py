"""Turn a candidate into measured metrics on a target, every step memoized (see `search/memo.py`).

The evaluator puts together the library's parts, each keyed by the code that produces it:
- `Trainer`   (search/trainer.py):     a training recipe applied to the base model;
- `Converter` (search/conversion.py):  a trained model in one PTQ mode, as the artifact the
                                       target's runtime loads (.tflite or .onnx);
- `Measurer`  (search/measurement.py): that artifact run in the runtime (or the runtime that stands
                                       in for it) on the held-out split, and the runtime's own
                                       device figures (TFLite Micro's arena, Vela's cycles);
- `candidate_metrics` (cost/metrics.py): the metrics, with the analytic costs (latency, energy, flash).
"""

from __future__ import annotations

import hashlib

from edgeforge.errors import BuildError
from edgeforge.runtimes import get_runtime
from edgeforge.search.candidates import Candidate, TrainingRecipe
from edgeforge.search.conversion import SUFFIXES, Converter
from edgeforge.search.measurement import Measurer
from edgeforge.search.memo import Memo, Stats
from edgeforge.search.trainer import Trainer
from edgeforge.spec.models import Spec, Target

__all__ = ["Evaluator", "Stats", "check_for_failure"]


class Evaluator:
    """Everything the search needs to turn a candidate into measured metrics."""

    def __init__(self, spec: Spec, splits, base_model, memo: Memo):
        self.spec = spec
        self.splits = splits
        self.memo = memo
        self.stats = Stats()
        self.trainer = Trainer(spec, splits, base_model, memo, self.stats)
        self.converter = Converter(self.trainer, memo, self.stats)
        self.measurer = Measurer(memo, splits, spec.search.eval_samples, self.stats, spec.model.task)
        self.bundle_data = None  # bundle/download.py BundleData: preprocessing.json and companions

    @property
    def base_model(self):
        return self.trainer.base_model

    # -- training (see Trainer) ------------------------------------------------------------------
    def trained(self, recipe: TrainingRecipe, epochs: int | None = None):
        return self.trainer.trained(recipe, epochs)

    def has_trained(self, recipe: TrainingRecipe, epochs: int | None = None) -> bool:
        return self.trainer.has_trained(recipe, epochs)

    def fidelity(self, epochs: int | None) -> int:
        return self.trainer.fidelity(epochs)

    # -- conversion ------------------------------------------------------------------------------
    def converted(self, candidate: Candidate, epochs: int | None = None) -> tuple[bytes, dict]:
        """(.tflite bytes, record with weight statistics): what every cost figure is read from."""
        return self.converter.converted(candidate, "tflite", epochs)

    def artifact(
        self, candidate: Candidate, runtime: str, epochs: int | None = None, target: Target | None = None
    ) -> tuple[bytes, str, dict]:
        """(bytes, file suffix, record) of what the target's runtime loads: the converted artifact,
        or with `target` the file its device loads (`Runtime.device_artifact`, e.g. TFLite Micro's
        offline memory plan), suffixed `.<runtime><suffix>` when that differs from the converted one."""
        artifact = get_runtime(runtime).artifact
        model_bytes, record = self.converter.converted(candidate, artifact, epochs)
        if target is not None:
            device_bytes = self.measurer.device_artifact(model_bytes, runtime, target)
            if device_bytes != model_bytes:
                record = {**record, "sha256": hashlib.sha256(device_bytes).hexdigest(), "model_bytes": len(device_bytes)}
                return device_bytes, f".{runtime}{SUFFIXES[artifact]}", record
        return model_bytes, SUFFIXES[artifact], record

    def reference(self) -> tuple[bytes, str]:
        """(bytes, runtime) of the base model in float32, what accuracy_drop is measured against."""
        return self.converter.reference()

    def untrained_converted(self, width: float, mode: str) -> bytes:
        return self.converter.untrained(width, mode)

    # -- measurement in the real runtime ---------------------------------------------------------
    def measured(self, model_bytes: bytes, runtime: str) -> dict:
        """Accuracy on the held-out split in `runtime`."""
        return self.measurer.accuracy(model_bytes, runtime)

    def measured_for(
        self, candidate: Candidate, runtime: str, epochs: int | None = None, target: Target | None = None
    ) -> dict:
        """The candidate's artifact for `runtime` (with `target`, the very file its device loads:
        compressed, memory-planned), measured in that runtime (or its accuracy proxy)."""
        artifact_bytes, _, _ = self.artifact(candidate, runtime, epochs, target)
        accuracy_runtime = get_runtime(runtime).accuracy_proxy or runtime
        return {**self.measured(artifact_bytes, accuracy_runtime), "accuracy_runtime": accuracy_runtime}

    # -- per-target metrics ----------------------------------------------------------------------
    def target_metrics(self, candidate: Candidate, target: Target, base_accuracy: float, epochs: int | None = None) -> dict:
        """Every metric of the candidate (trained at fidelity `epochs`) on the target's device and runtime."""
        from edgeforge.cost.metrics import candidate_metrics

        # the .tflite; for an ONNX base with no TFLite twin, the .onnx (conversion.py `cost_source`)
        tflite_bytes, conversion = self.converter.cost_source(candidate, get_runtime(target.runtime).artifact, epochs)
        artifact_bytes, _, _ = self.artifact(candidate, target.runtime, epochs, target)
        if get_runtime(target.runtime).artifact == "tflite":
            tflite_bytes = artifact_bytes  # the device's own file (its memory plan, say): costs are read from it
        metrics = candidate_metrics(
            tflite_bytes=tflite_bytes,
            conversion=conversion,
            artifact_bytes=artifact_bytes,
            accuracy=self.measured_for(candidate, target.runtime, epochs, target),
            # the runtime's own figures for the file it loads (ONNX Runtime times the .onnx)
            device_costs=self.measurer.device_costs(artifact_bytes, target.runtime, target.device),
            target=target,
            base_accuracy=base_accuracy,
        )
        return self._with_download(candidate, target, artifact_bytes, metrics)

    def _with_download(self, candidate: Candidate, target: Target, artifact_bytes: bytes, metrics: dict) -> dict:
        """`download_bytes`: the archive the release would publish for this candidate's bundle."""
        from edgeforge.bundle.download import predicted_download_bytes

        names = [name for name, spec_target in self.spec.targets.items() if spec_target is target]
        names = names or [name for name, spec_target in self.spec.targets.items() if spec_target == target]
        if not names:  # a target outside the spec (a profile): the model file alone, gzipped
            return metrics
        size, source = predicted_download_bytes(
            spec=self.spec, target_name=names[0], candidate=candidate, artifact_bytes=artifact_bytes,
            metrics=metrics, splits=self.splits, data=self.bundle_data, memo=self.memo,
        )
        return {**metrics, "download_bytes": size, "download_source": source}


def check_for_failure(call):
    """Run `call`, turning a build failure into (None, reason) so the search goes on."""
    try:
        return call(), None
    except BuildError as error:
        return None, str(error)
