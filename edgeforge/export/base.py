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

An exporter also owns how its artifact is verified (`edgeforge.export.parity` asks each format the
same way): `runner` returns a function computing scores with the written files in the runtime that
loads them here (by default the registry's `runtime_for_bundle`), or raises `NotRunnableHere`
saying why not; `structure` checks what can be checked of a format that cannot run here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from edgeforge.errors import ExportError, NotRunnableHere  # noqa: F401 (ExportError: named in the contract above)

if TYPE_CHECKING:
    import numpy as np


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
    suffixes: ClassVar[tuple[str, ...]] = ()  # file suffixes of its artifact (a bundle's format by file name)
    packages: ClassVar[tuple[str, ...]] = ()  # Python distributions its conversion depends on (export memo key)

    def export(self, context: ExportContext, out_dir: Path) -> list[Path]:
        raise TypeError(f"exporter '{self.name}' does not implement export()")

    def runner(self, paths: list[Path], context: ExportContext) -> Callable[[np.ndarray], np.ndarray]:
        """predict(x) -> scores with the written files, in the runtime that loads them on this machine
        (the target's own where it runs: LiteRT cannot load TFLite Micro's LUT-compressed weights)."""
        from edgeforge.runtimes import runtime_for_bundle

        runtime = runtime_for_bundle(self.name, context.target.runtime)
        if runtime is None:
            raise NotRunnableHere(f"no runtime that loads '{self.name}' runs on this machine")
        if context.quantization not in runtime.quantization_modes:
            raise NotRunnableHere(f"{runtime.name} cannot run {context.quantization} models")
        model_bytes = self.runnable_bytes(paths, context)
        return lambda x: runtime.predict(model_bytes, x)

    def runnable_bytes(self, paths: list[Path], context: ExportContext) -> bytes:
        """The bytes the runtime loads: the written model file."""
        return paths[0].read_bytes()

    def structure(self, paths: list[Path], context: ExportContext) -> dict:
        """What can be checked of the written files without running them ({} when nothing)."""
        return {}
