"""Exporters, one module per format, registered by format name."""

import functools

from edgeforge.errors import ExportError
from edgeforge.export.base import ExportContext, Exporter


def __getattr__(name: str):
    # EXPORTERS also holds the exporters runtimes bring (`Runtime.exporters`). It is made on first
    # use: a runtime module imports edgeforge.export.base, so reading RUNTIMES here at import time
    # would be an import cycle; and the spec, which every stage loads, imports the runtimes, so the
    # format modules are imported here, not with edgeforge.export.base.
    if name == "EXPORTERS":
        return _all_exporters()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _all_exporters() -> dict[str, type[Exporter]]:
    from edgeforge.export.coreml import CoremlExporter
    from edgeforge.export.onnx import OnnxExporter
    from edgeforge.export.tensorrt import TensorrtExporter
    from edgeforge.export.tflite import TfliteExporter
    from edgeforge.export.tflm_c import TflmCExporter
    from edgeforge.runtimes import RUNTIMES

    exporters = {cls.name: cls for cls in (TfliteExporter, TflmCExporter, OnnxExporter, CoremlExporter, TensorrtExporter)}
    for runtime in RUNTIMES.values():
        for cls in runtime.exporters:
            exporters.setdefault(cls.name, cls)
    return exporters


__all__ = ["EXPORTERS", "ExportContext", "ExportError", "Exporter"]
