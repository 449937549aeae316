"""Candidates converted to the artifact their runtime loads (.tflite or .onnx), memoized.

The runtime's `artifact` picks the converter: the TFLite converter with the candidate's PTQ mode
(`passes.ptq`), or tf2onnx with ONNX Runtime's quantization tools (`export.onnx`); a user's ONNX
model (`model.path: *.onnx`) is its own .onnx artifact, quantized by ONNX Runtime. A conversion's
memo key covers the trained model's key and the converter's code, never the exporters'.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

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
        trained_key = self.trainer.key(candidate.training, epochs)
        if artifact == "tflite":
            key = hash_of(trained_key, candidate.quantization, conversion_version(artifact))
        else:
            key = hash_of(trained_key, candidate.quantization, artifact, conversion_version(artifact))
        folder = self.memo.entry("converted", key)
        if folder is None:
            model, train_record = self.trainer.trained(candidate.training, epochs)
            convert = self._convert_tflite if artifact == "tflite" else self._convert_onnx
            folder = self.memo.store("converted", key, lambda out: convert(candidate, model, train_record, out))
            self.stats.converted += 1
        model_bytes = (folder / f"model{SUFFIXES[artifact]}").read_bytes()
        return model_bytes, json.loads((folder / "record.json").read_text())

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

        started = time.perf_counter()
        model_bytes = PostTrainingQuantization({"mode": candidate.quantization}).convert(model, self.trainer.splits.x_train)
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

    def _convert_onnx(self, candidate: Candidate, model, train_record: dict, out: Path) -> dict:
        from edgeforge.export.onnx import DEFAULT_OPSET, onnx_bytes_for

        path = self.trainer.spec.model.path
        if path and path.lower().endswith(".onnx"):  # the user's own ONNX graph, quantized by ONNX Runtime
            from edgeforge.models.onnx_import import data_layout_onnx, load_onnx
            from edgeforge.runtimes.onnx_runtime import quantize_onnx_model

            splits = self.trainer.splits
            onnx_model = data_layout_onnx(load_onnx(path), splits.input_shape, path)
            model_bytes = quantize_onnx_model(onnx_model, candidate.quantization, splits.x_train)
        else:
            model_bytes = onnx_bytes_for(model, candidate.quantization, self.trainer.splits.x_train, DEFAULT_OPSET)
        (out / "model.onnx").write_bytes(model_bytes)
        return {"sha256": hashlib.sha256(model_bytes).hexdigest(), "model_bytes": len(model_bytes)}

    def _convert_untrained(self, width: float, mode: str, out: Path) -> None:
        from edgeforge.passes.ptq import PostTrainingQuantization

        model = self.trainer.untrained(width)
        (out / "model.tflite").write_bytes(PostTrainingQuantization({"mode": mode}).convert(model, self.trainer.splits.x_train))
