"""The Exporter interface: one format, one module, the same small contract for all.

An exporter writes the selected candidate in its format into a folder and says what it wrote::

    class TfliteExporter(Exporter):
        name: ClassVar[str] = "tflite"

        def export(self, context: ExportContext, out_dir: Path) -> list[Path]:
            path = out_dir / "model.tflite"
            path.write_bytes(context.model_bytes)
            return [path]

Register it in `edgeforge.export.EXPORTERS`. An exporter that cannot convert the candidate raises
`ExportError` with the converter's reason; the stage reports it for that format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from edgeforge.errors import ExportError  # noqa: F401 (named in the contract above)


@dataclass
class ExportContext:
    """Everything an exporter may need about the selected candidate."""

    target_name: str
    target: Any  # edgeforge.spec.models.Target
    candidate_config: dict
    metrics: dict
    model_bytes: bytes  # the candidate's .tflite (what TFLite formats ship, and costs are read from)
    representative_x: np.ndarray  # training samples for calibration
    load_keras: Callable[[], Any] = field(repr=False, default=lambda: None)  # the trained Keras model
    selected_bytes: bytes | None = None  # the file verified in the target's runtime, when not .tflite (.onnx)

    @property
    def quantization(self) -> str:
        return self.candidate_config["quantization"]


class Exporter:
    name: ClassVar[str]

    def export(self, context: ExportContext, out_dir: Path) -> list[Path]:
        raise TypeError(f"exporter '{self.name}' does not implement export()")
