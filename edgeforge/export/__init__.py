"""Exporters, one module per format, registered by format name."""

from edgeforge.errors import ExportError
from edgeforge.export.base import ExportContext, Exporter
from edgeforge.export.coreml import CoremlExporter
from edgeforge.export.onnx import OnnxExporter
from edgeforge.export.tensorrt import TensorrtExporter
from edgeforge.export.tflite import TfliteExporter
from edgeforge.export.tflm_c import TflmCExporter

EXPORTERS: dict[str, type[Exporter]] = {
    cls.name: cls for cls in (TfliteExporter, TflmCExporter, OnnxExporter, CoremlExporter, TensorrtExporter)
}

__all__ = ["EXPORTERS", "ExportContext", "ExportError", "Exporter"]
