"""Exporters, one module per format, registered by format name."""

from edgeforge.export.base import ExportContext, Exporter, ExportError
from edgeforge.export.tflite import TfliteExporter
from edgeforge.export.tflm_c import TflmCExporter

EXPORTERS: dict[str, type[Exporter]] = {cls.name: cls for cls in (TfliteExporter, TflmCExporter)}

__all__ = ["EXPORTERS", "ExportContext", "ExportError", "Exporter"]
