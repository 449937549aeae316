"""TensorRT handoff: the ONNX model and a recipe that builds the engine on the device itself.

A TensorRT engine is specific to the GPU and TensorRT version that build it, so edgeforge ships
what `trtexec` on the Jetson needs, in `tensorrt/`:

    model.onnx          float32 (opset 17, batch 1); a QAT candidate's keeps its QDQ ranges
    calibration.cache   int8 candidates without QDQ: per-tensor scales from the representative data
    build_engine.sh     the trtexec command with the candidate's precision flags
    README.md           what each file is and how to build, run and check the engine

Calibration cache format (TensorRT's text cache, as its IInt8EntropyCalibrator2 writes it):

    TRT-<version>-EntropyCalibration2
    <tensor name>: <scale as IEEE-754 float32, big-endian, 8 hex digits>

one line per tensor: the graph input and every float tensor a node writes. The scale is
max|activation| / 127 over the representative samples, run through the ONNX model in ONNX Runtime
(a max-abs, i.e. MinMax, range; TensorRT reads the numbers and does not recompute them, but it
only accepts the algorithm name of the calibrator trtexec uses). <version> is TensorRT's version
code (8.6.2 -> 8602, 10.3.0 -> 100300); TensorRT 10 rejects a cache stamped with another version,
so build_engine.sh stamps the local one before building.
"""

from __future__ import annotations

import stat
import struct
from pathlib import Path
from typing import ClassVar

import numpy as np

from edgeforge.export.base import ExportContext, Exporter
from edgeforge.export.onnx import (
    CALIBRATION_SAMPLES,
    INPUT_NAME,
    OUTPUT_NAME,
    convert_keras,
    has_qdq,
    require,
    serialize,
)
from edgeforge.runtimes.base import NotRunnableHere
from edgeforge.runtimes.tensorrt import TensorRT

FOLDER = "tensorrt"
TRT_VERSION_CODE = 100300  # TensorRT 10.3, shipped with JetPack 6.1 and 6.2 for the Orin Nano
CALIBRATOR = "EntropyCalibration2"
MIN_RANGE = 1e-6  # a tensor that never leaves zero (a dead ReLU) still needs a positive scale

# trtexec precision flags per quantization mode. TensorRT has no int16 activations and no
# weight-only int8 for convolutions: int16x8 builds as int8, dynamic as float16 (its activations
# stay float, as in the candidate). --fp16 next to --int8 lets layers without int8 kernels fall
# back to float16 instead of float32.
PRECISION_FLAGS: dict[str, tuple[str, ...]] = {
    "float32": (),
    "float16": ("--fp16",),
    "dynamic": ("--fp16",),
    "int8": ("--int8", "--fp16"),
    "int16x8": ("--int8", "--fp16"),
}


def version_code(version: str) -> int:
    """TensorRT's NV_TENSORRT_VERSION for a version string: 8.6.2 -> 8602, 10.3.0 -> 100300."""
    major, minor, patch = (int(part) for part in (version.split(".") + ["0", "0"])[:3])
    return major * 10000 + minor * 100 + patch if major >= 10 else major * 1000 + minor * 100 + patch


def activation_ranges(model_bytes: bytes, representative_x: np.ndarray) -> dict[str, float]:
    """max|value| of the input and of every float tensor a node writes, over the samples."""
    from edgeforge.runtimes.onnx_runtime import inference_session

    onnx = require("onnx", "onnx")
    model = onnx.shape_inference.infer_shapes(onnx.load_from_string(model_bytes))
    outputs = [info.name for info in model.graph.output]
    for info in model.graph.value_info:
        if info.type.tensor_type.elem_type == onnx.TensorProto.FLOAT and info.name not in outputs:
            model.graph.output.append(info)
            outputs.append(info.name)
    session = inference_session(serialize(model), optimize=False)  # keeps every tensor
    samples = representative_x[:CALIBRATION_SAMPLES].astype(np.float32)
    ranges = {INPUT_NAME: float(np.abs(samples).max())}
    for i in range(len(samples)):
        for name, value in zip(outputs, session.run(outputs, {INPUT_NAME: samples[i : i + 1]})):
            ranges[name] = max(ranges.get(name, 0.0), float(np.abs(value).max()))
    return ranges


def calibration_cache(ranges: dict[str, float], version: int = TRT_VERSION_CODE) -> str:
    """TensorRT's text calibration cache: one big-endian float32 scale (range / 127) per tensor."""
    lines = [f"TRT-{version}-{CALIBRATOR}"]
    for name, value in ranges.items():
        scale = max(value, MIN_RANGE) / 127.0
        lines.append(f"{name}: {struct.pack('>f', scale).hex()}")
    return "\n".join(lines) + "\n"


def read_calibration_cache(text: str) -> tuple[str, dict[str, float]]:
    """(header, {tensor: scale}) of a text calibration cache."""
    header, *rows = text.splitlines()
    scales = {}
    for row in rows:
        name, _, hex_scale = row.rpartition(": ")
        scales[name] = struct.unpack(">f", bytes.fromhex(hex_scale))[0]
    return header, scales


def trtexec_args(quantization: str, calibrated: bool) -> list[str]:
    args = ["--onnx=model.onnx", "--saveEngine=model.engine", *PRECISION_FLAGS[quantization]]
    if calibrated:
        args.append("--calib=calibration.cache")
    return args


def build_script(quantization: str, calibrated: bool) -> str:
    command = " \\\n    ".join(['"$TRTEXEC"', *trtexec_args(quantization, calibrated)])
    stamp = """
# TensorRT 10 rejects a calibration cache written for another version: stamp the local one,
# read from trtexec's banner ("[TensorRT v100300]"), or set TRT_VERSION_CODE yourself.
version="${TRT_VERSION_CODE:-$("$TRTEXEC" --help 2>&1 | sed -n 's/.*\\[TensorRT v\\([0-9]*\\)\\].*/\\1/p' | head -n 1)}"
if [ -n "$version" ]; then
    sed -i "1s/^TRT-[0-9]*-/TRT-${version}-/" calibration.cache
fi
""" if calibrated else ""
    return f"""#!/bin/sh
# Generated by edgeforge: build the TensorRT engine for this model on the device (Jetson) itself.
# Usage: ./build_engine.sh   (TRTEXEC=/path/to/trtexec to override)
set -eu
cd "$(dirname "$0")"
TRTEXEC="${{TRTEXEC:-$(command -v trtexec || echo /usr/src/tensorrt/bin/trtexec)}}"
{stamp}
{command}
"""


def readme(context: ExportContext, input_shape: tuple[int, ...], num_classes: int, calibrated: bool, explicit: bool) -> str:
    quantization = context.quantization
    candidate = ", ".join(f"{key} {value}" for key, value in context.candidate_config.items())
    flags = " ".join(PRECISION_FLAGS[quantization]) or "none (float32)"
    if explicit:
        int8 = (
            "The model carries its QAT ranges as QuantizeLinear/DequantizeLinear pairs: TensorRT "
            "quantizes explicitly, without a calibration cache."
        )
    elif calibrated:
        int8 = (
            f"`calibration.cache` is TensorRT's text calibration cache: a header `TRT-<version>-{CALIBRATOR}`, "
            "then `tensor: scale` per tensor, the scale being max|activation| / 127 over the representative "
            "samples, as a big-endian float32 in hex. `build_engine.sh` stamps the local TensorRT version "
            "into the header first (TensorRT 10 rejects a cache from another version)."
        )
    else:
        int8 = "No int8 layers, so no calibration cache."
    accuracy = context.metrics.get("accuracy")
    measured = f"{accuracy:.4f} on the held-out split" if accuracy is not None else "not recorded"
    cache_row = "| `calibration.cache` | the int8 scale of every tensor |\n" if calibrated else ""
    return f"""# TensorRT handoff for target `{context.target_name}`

Candidate: {candidate}.
An engine belongs to the GPU and TensorRT version that build it, so it is built on the device:

```sh
./build_engine.sh        # writes model.engine, then trtexec times it
```

| file | what |
|---|---|
| `model.onnx` | the model: float32 weights, opset {TensorRT.onnx_opset}, static batch 1 |
| `build_engine.sh` | `trtexec {" ".join(trtexec_args(quantization, calibrated))}` |
{cache_row}
Precision flags: {flags}. {int8}

Engine bindings: input `{INPUT_NAME}` float32 {[1, *input_shape]}, output `{OUTPUT_NAME}` float32
[1, {num_classes}] (class probabilities).

The selected model's accuracy, measured by edgeforge: {measured}. The engine should come
within about a point of it on the same data.
"""


class TensorrtExporter(Exporter):
    name: ClassVar[str] = "tensorrt"
    suffixes: ClassVar[tuple[str, ...]] = (".engine", ".plan")
    packages: ClassVar[tuple[str, ...]] = ("tf2onnx", "onnx")

    def export(self, context: ExportContext, out_dir: Path) -> list[Path]:
        keras_model = context.load_keras()
        model = convert_keras(keras_model, TensorRT.onnx_opset, batch_size=1)
        model_bytes = serialize(model)
        explicit = has_qdq(model)
        calibrated = "--int8" in PRECISION_FLAGS[context.quantization] and not explicit
        folder = out_dir / FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        paths = [folder / "model.onnx", folder / "build_engine.sh", folder / "README.md"]
        paths[0].write_bytes(model_bytes)
        paths[1].write_text(build_script(context.quantization, calibrated), encoding="utf-8")
        paths[1].chmod(paths[1].stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        input_shape = tuple(keras_model.input_shape[1:])
        num_classes = int(keras_model.output_shape[-1])
        paths[2].write_text(readme(context, input_shape, num_classes, calibrated, explicit), encoding="utf-8")
        if calibrated:
            cache = folder / "calibration.cache"
            ranges = activation_ranges(model_bytes, context.representative_x)
            cache.write_text(calibration_cache(ranges), encoding="utf-8")
            paths.append(cache)
        return paths

    def runner(self, paths: list[Path], context: ExportContext):
        raise NotRunnableHere("a TensorRT engine is built on the device (build_engine.sh); no engine runs here")
