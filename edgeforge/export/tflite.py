"""TFLite: the verified flatbuffer itself, as LiteRT and TFLite Micro load it."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from edgeforge.export.base import ExportContext, Exporter


class TfliteExporter(Exporter):
    name: ClassVar[str] = "tflite"

    def export(self, context: ExportContext, out_dir: Path) -> list[Path]:
        path = out_dir / "model.tflite"
        path.write_bytes(context.model_bytes)
        return [path]
