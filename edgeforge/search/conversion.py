"""Candidates converted to the artifact their runtime loads (.tflite or .onnx), memoized.

The runtime's `artifact` picks the converter: the TFLite converter with the candidate's PTQ mode
(`passes.ptq`), or tf2onnx with ONNX Runtime's quantization tools (`export.onnx`); a user's ONNX
model (`model.path: *.onnx`) is its own .onnx artifact, quantized by ONNX Runtime. A conversion's
memo key covers the trained model's key and the converter's code, never the exporters'.

When that ONNX graph has an op no converter handles, the base is the graph itself (stages/train.py):
there is no .tflite, so a TFLite conversion fails with the converter's reason (UnsupportedOnnxOp, a
BuildError: that candidate fails for that target), and the costs of an ONNX Runtime candidate are
read from its .onnx (`cost_source`; cost/onnx_graph.py).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from edgeforge.errors import UnsupportedOnnxOp
from edgeforge.models.onnx_import import is_onnx_path, short_reason
from edgeforge.search.candidates import Candidate
from edgeforge.search.codeversion import conversion_version, training_version
from edgeforge.search.memo import Memo, Stats, hash_of
from edgeforge.search.trainer import Trainer

SUFFIXES = {"tflite": ".tflite", "onnx": ".onnx"}


class Converter:
    def __init__(self, trainer: Trainer, memo: Memo, stats: Stats):
        self.trainer = trainer
        self.memo = memo
        self.stats = stats

    def converted(self, candidate: Candidate, artifact: str = "tflite", epochs: int | None = None) -> tuple[bytes, dict]:
        """(model bytes, record) of the candidate as an `artifact` file (tflite | onnx)."""
        if artifact == "tflite" and self.trainer.onnx_base_reason:
            raise UnsupportedOnnxOp(short_reason(self.trainer.onnx_base_reason))
        trained_key = self.trainer.key(candidate.training, epochs)
        if artifact == "tflite":
            key = hash_of(trained_key, candidate.quantization, conversion_version(artifact))
        else:
            key = hash_of(trained_key, candidate.quantization, artifact, conversion_version(artifact))
        folder = self.memo.entry("converted", key)
        if folder is None:
            if artifact == "onnx" and is_onnx_path(self.trainer.spec.model.path) and candidate.training.is_base:
                convert = self._quantize_users_onnx  # the user's graph itself: no Keras model to load
            else:
                model, train_record = self.trainer.trained(candidate.training, epochs)
                to_artifact = self._convert_tflite if artifact == "tflite" else self._convert_onnx

                def convert(candidate, out):
                    return to_artifact(candidate, model, train_record, out)
            folder = self.memo.store("converted", key, lambda out: convert(candidate, out))
            self.stats.converted += 1
        model_bytes = (folder / f"model{SUFFIXES[artifact]}").read_bytes()
        return model_bytes, json.loads((folder / "record.json").read_text())

    def cost_source(self, candidate: Candidate, artifact: str = "tflite", epochs: int | None = None) -> tuple[bytes, dict]:
        """(bytes, record) of the model every cost figure of the candidate is read from, for a
        runtime that loads `artifact`: its .tflite (same layers and MACs as any other artifact of it),
        or, when the base is an ONNX graph with no TFLite twin, the `artifact` itself."""
        if artifact != "tflite" and self.trainer.onnx_base_reason:
            return self.converted(candidate, artifact, epochs)
        return self.converted(candidate, "tflite", epochs)

    def reference(self) -> tuple[bytes, str]:
        """(bytes, runtime) of the base model in float32, what `accuracy_drop` is measured against:
        its .tflite in LiteRT, or an ONNX base (no TFLite twin) in ONNX Runtime."""
        from edgeforge.runtimes import runtime_for_format

        if self.trainer.onnx_base_reason:
            model_bytes, _ = self.converted(Candidate(), "onnx")
            return model_bytes, runtime_for_format("onnx").name
        model_bytes, _ = self.converted(Candidate(), "tflite")
        return model_bytes, runtime_for_format("tflite").name

    def untrained(self, width: float, mode: str) -> bytes:
        """.tflite bytes of a seeded, untrained model at `width` in PTQ `mode`: the structure (and so
        the size, arena and latency) every trained model of that width and mode will have."""
        from edgeforge.models.source import model_code_version

        spec = self.trainer.spec
        key = hash_of(
            "untrained", spec.model.model_dump(), model_code_version(spec.model), width, mode, self.trainer.splits.fingerprint(),
            training_version(), conversion_version("tflite"), spec.project.seed,
        )
        folder = self.memo.entry("structure", key)
        if folder is None:
            folder = self.memo.store("structure", key, lambda out: self._convert_untrained(width, mode, out))
        return (folder / "model.tflite").read_bytes()

    def _convert_tflite(self, candidate: Candidate, model, train_record: dict, out: Path) -> dict:
        from edgeforge.cost.weights import compressed_bytes, weight_stats
        from edgeforge.passes.ptq import PostTrainingQuantization

        model_bytes = PostTrainingQuantization({"mode": candidate.quantization}).convert(model, self.trainer.splits.x_train)
        (out / "model.tflite").write_bytes(model_bytes)
        return {
            "sha256": hashlib.sha256(model_bytes).hexdigest(),
            "model_bytes": len(model_bytes),
            "compressed_bytes": compressed_bytes(model_bytes),
            **weight_stats(model_bytes),
            "epochs": train_record["epochs"],
        }

    def _convert_onnx(self, candidate: Candidate, model, train_record: dict, out: Path) -> dict:
        from edgeforge.export.onnx import DEFAULT_OPSET, onnx_bytes_for

        model_bytes = onnx_bytes_for(model, candidate.quantization, self.trainer.splits.x_train, DEFAULT_OPSET)
        (out / "model.onnx").write_bytes(model_bytes)
        return {"sha256": hashlib.sha256(model_bytes).hexdigest(), "model_bytes": len(model_bytes)}

    def _quantize_users_onnx(self, candidate: Candidate, out: Path) -> dict:
        """The user's own ONNX graph (in the data's layout), quantized by ONNX Runtime; its record
        carries what a .tflite conversion's does, read from the .onnx (the costs of an ONNX base are)."""
        from edgeforge.cost.onnx_graph import onnx_weight_stats
        from edgeforge.cost.weights import compressed_bytes
        from edgeforge.models.onnx_import import data_layout_onnx, load_onnx
        from edgeforge.runtimes.onnx_runtime import quantize_onnx_model

        path, splits = self.trainer.spec.model.path, self.trainer.splits
        onnx_model = data_layout_onnx(load_onnx(path), splits.input_shape, path)
        model_bytes = quantize_onnx_model(onnx_model, candidate.quantization, splits.x_train)
        (out / "model.onnx").write_bytes(model_bytes)
        return {
            "sha256": hashlib.sha256(model_bytes).hexdigest(),
            "model_bytes": len(model_bytes),
            "compressed_bytes": compressed_bytes(model_bytes),
            **onnx_weight_stats(model_bytes),
            "epochs": 0,
        }

    def _convert_untrained(self, width: float, mode: str, out: Path) -> None:
        from edgeforge.passes.ptq import PostTrainingQuantization

        model = self.trainer.untrained(width)
        (out / "model.tflite").write_bytes(PostTrainingQuantization({"mode": mode}).convert(model, self.trainer.splits.x_train))
