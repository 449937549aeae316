"""TFLite: the verified flatbuffer itself, as LiteRT and TFLite Micro load it.

For a TFLite Micro target with `memory_plan: offline` that is the model with edgeforge's offline
memory plan (reordered operators, `OfflineMemoryAllocation` metadata): the selection's file, byte
for byte, as it was verified and measured (LiteRT ignores the plan and runs the same order)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from edgeforge.export.base import ExportContext, Exporter


class TfliteExporter(Exporter):
    name: ClassVar[str] = "tflite"
    suffixes: ClassVar[tuple[str, ...]] = (".tflite",)

    def export(self, context: ExportContext, out_dir: Path) -> list[Path]:
        path = out_dir / "model.tflite"
        path.write_bytes(shipped_tflite(context))
        return [path]


def shipped_tflite(context: ExportContext) -> bytes:
    """The selected file itself when it is a .tflite (with its memory plan, byte for byte what was
    verified and measured), else the candidate's .tflite (a target that loads .onnx, say)."""
    from edgeforge.cost.graph import TFLITE_IDENTIFIER

    selected = context.selected_bytes
    if selected is not None and selected[4:8] == TFLITE_IDENTIFIER:
        return selected
    return context.model_bytes
