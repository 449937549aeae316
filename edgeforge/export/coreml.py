"""Core ML: an mlprogram `.mlpackage` (coremltools), float16, its weights compressed as the candidate's.

The candidate's training passes and quantization pick the compression (`coremltools.optimize.coreml`),
applied to conv/linear weights of more than WEIGHT_THRESHOLD elements:

    sparsity > 0            prune_weights: magnitude pruning to the candidate's sparsity, stored as
                            a bit mask plus the nonzero values (the zeros its pruning made stay zero)
    clusters > 0            palettize_weights: a k-means look-up table of 2**nbits entries, nbits the
                            smallest Core ML width that holds the candidate's centroids (16 -> 4)
    int8, int16x8, dynamic  linear_quantize_weights: 8-bit symmetric, one scale per output channel

A palette beats 8-bit quantization when both apply (it is exact for clustered weights, and
smaller); pruning combines with either (joint compression). Core ML quantizes weights only:
activations stay float16 on every compute unit.

Deployment target: iOS 15 (the first with mlprogram) for a float16 model; iOS 18 for a compressed
one, the first with sub-byte palettes and joint sparse + quantized weights (iPhone 15 Pro runs it).

Prediction needs macOS, so the exporter verifies the written package structurally wherever it
runs (`verify_package`): input and output names, shapes and dtypes, and the bit width and sparsity
of every compressed weight, read back from the saved package with `skip_model_load=True`.
"""

from __future__ import annotations

import json
import re
import sys
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np

from edgeforge.errors import ExportError, MissingDependencyError
from edgeforge.export.base import ExportContext, Exporter
from edgeforge.runtimes.base import NotRunnableHere

INPUT_NAME = "input"
OUTPUT_NAME = "scores"
PACKAGE_NAME = "model.mlpackage"
# Weights of at most this many elements (biases among them) stay float16: a palette has up to 256
# entries, so palettizing a smaller tensor stores about as much as it saves. The same threshold for
# every compression keeps what verify_package expects one rule.
WEIGHT_THRESHOLD = 256
PALETTE_BITS = (1, 2, 3, 4, 6, 8)  # the index widths Core ML supports
SPARSITY_SLACK = 0.005  # magnitude pruning rounds the number of zeros per tensor
WEIGHT_OPS = {"conv": "weight", "conv_transpose": "weight", "linear": "weight", "matmul": "y"}
# Inputs of the constexpr ops (iOS 16 and 18 sets) that hold the stored integers of a weight.
STORED_VALUES = ("data", "quantized_data", "indices", "indices_nonzero_data")
METADATA_DROPPED = ("com.github.apple.coremltools.conversion_date",)  # would make every export differ


@dataclass(frozen=True)
class Compression:
    """How the candidate's weights are stored in Core ML."""

    method: Literal["float16", "linear", "palettize"]
    bits: int  # bits per stored weight: 16, 8, or the palette's index width
    sparsity: float  # fraction of zeros stored as a mask; 0 = dense

    @property
    def compressed(self) -> bool:
        return self.method != "float16" or self.sparsity > 0


def compression_for(candidate_config: dict) -> Compression:
    clusters = int(candidate_config.get("clusters") or 0)
    sparsity = float(candidate_config.get("sparsity") or 0.0)
    if clusters:
        return Compression("palettize", palette_bits(clusters), sparsity)
    if candidate_config.get("quantization") in ("int8", "int16x8", "dynamic"):
        return Compression("linear", 8, sparsity)
    return Compression("float16", 16, sparsity)


def palette_bits(clusters: int) -> int:
    """The smallest Core ML index width whose palette holds `clusters` centroids."""
    fitting = [bits for bits in PALETTE_BITS if 2**bits >= clusters]
    if not fitting:
        raise ExportError(f"{clusters} clusters do not fit a Core ML palette (at most {2 ** PALETTE_BITS[-1]})")
    return fitting[0]


def import_coremltools():
    try:
        import coremltools
        import coremltools.optimize.coreml  # noqa: F401 (the compression API)
    except ImportError:
        raise MissingDependencyError("coremltools") from None
    return coremltools


def convert_keras(keras_model, compression: Compression):
    """The float16 mlprogram of a tf_keras classifier: batch 1, float32 `input` and `scores`."""
    from edgeforge.tfcompat import import_tf

    tf, _ = import_tf()
    ct = import_coremltools()
    shape = (1, *keras_model.input_shape[1:])
    function = tf.function(lambda x: keras_model(x, training=False)).get_concrete_function(
        tf.TensorSpec(shape, tf.float32, name=INPUT_NAME)
    )
    try:
        model = ct.convert(
            [function],
            source="tensorflow",
            convert_to="mlprogram",
            inputs=[ct.TensorType(name=INPUT_NAME, shape=shape, dtype=np.float32)],
            outputs=[ct.TensorType(dtype=np.float32)],
            compute_precision=ct.precision.FLOAT16,
            minimum_deployment_target=ct.target.iOS18 if compression.compressed else ct.target.iOS15,
            skip_model_load=True,
        )
    except Exception as error:  # the converter raises many unrelated types
        raise ExportError(f"coremltools could not convert the model: {first_line(error)}") from error
    spec = model.get_spec()
    ct.utils.rename_feature(spec, spec.description.output[0].name, OUTPUT_NAME)
    for key in METADATA_DROPPED:
        spec.description.metadata.userDefined.pop(key, None)
    return ct.models.MLModel(spec, weights_dir=model.weights_dir, skip_model_load=True)


def first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def compress(model, compression: Compression):
    """Prune, then palettize or quantize, the weights as `compression` says."""
    ct = import_coremltools()
    cto = ct.optimize.coreml
    threshold = {"weight_threshold": WEIGHT_THRESHOLD}
    steps = []
    if compression.sparsity > 0:
        steps.append((cto.prune_weights, cto.OpMagnitudePrunerConfig(target_sparsity=compression.sparsity, **threshold)))
    if compression.method == "palettize":
        steps.append((cto.palettize_weights, cto.OpPalettizerConfig(nbits=compression.bits, mode="kmeans", **threshold)))
    if compression.method == "linear":
        config = cto.OpLinearQuantizerConfig(mode="linear_symmetric", dtype="int8", **threshold)
        steps.append((cto.linear_quantize_weights, config))
    for index, (step, config) in enumerate(steps):
        options = {"joint_compression": True} if index > 0 else {}
        try:
            model = step(model, config=cto.OptimizationConfig(global_config=config), **options)
        except Exception as error:
            raise ExportError(f"coremltools {step.__name__} failed: {first_line(error)}") from error
    return model


@dataclass(frozen=True)
class WeightEncoding:
    """How one conv/linear weight is stored in the saved package."""

    op: str
    elements: int
    bits: int
    sparsity: float


def read_package(path: Path):
    """(spec, MIL program) of a saved .mlpackage, without loading it into Core ML (Linux-safe)."""
    ct = import_coremltools()
    from coremltools.converters.mil.frontend.milproto.load import load

    model = ct.models.MLModel(str(path), skip_model_load=True)
    spec = model.get_spec()
    return spec, load(spec, specification_version=spec.specificationVersion, file_weights_dir=model.weights_dir)


def weight_encodings(program) -> list[WeightEncoding]:
    """The storage of every conv/linear weight: its bit width and the share of zeros its mask drops."""
    encodings = []
    for op in program.functions["main"].operations:
        if op.op_type not in WEIGHT_OPS or WEIGHT_OPS[op.op_type] not in op.inputs:
            continue
        weight = op.inputs[WEIGHT_OPS[op.op_type]]
        if weight.op is None or weight.shape is None:
            continue
        elements = int(np.prod(weight.shape))
        bits, stored = dtype_bits(weight.dtype), elements
        for producer in constexpr_chain(weight.op):
            for name, var in producer.inputs.items():
                if name in STORED_VALUES or (name == "nonzero_data" and is_integer(var.dtype)):
                    bits = dtype_bits(var.dtype)
                if name in ("nonzero_data", "indices_nonzero_data"):
                    stored = min(stored, int(np.prod(var.shape)))
        encodings.append(WeightEncoding(op.name, elements, bits, round(1 - stored / elements, 4)))
    return encodings


def constexpr_chain(op) -> list:
    """The constexpr ops that decompress a weight, nearest first."""
    if op is None or not op.op_type.startswith("constexpr"):
        return []
    chain = [op]
    for var in op.inputs.values():
        chain += constexpr_chain(var.op)
    return chain


def dtype_bits(dtype) -> int:
    from coremltools.converters.mil.mil import types

    match = re.search(r"\d+", types.builtin_to_string(dtype))
    return int(match.group()) if match else 0


def is_integer(dtype) -> bool:
    from coremltools.converters.mil.mil import types

    return types.is_int(dtype)


def verify_package(path: Path, input_shape: tuple[int, ...], num_classes: int, compression: Compression) -> dict:
    """Check a saved package's interface and weight storage; returns what was checked, raises ExportError."""
    spec, program = read_package(path)
    problems = []
    features = {
        "input": (spec.description.input, INPUT_NAME, [1, *input_shape]),
        "output": (spec.description.output, OUTPUT_NAME, [1, num_classes]),
    }
    interface = {}
    for kind, (described, name, shape) in features.items():
        if len(described) != 1:
            problems.append(f"expected one {kind}, found {len(described)}")
            continue
        array = described[0].type.multiArrayType
        shape_found = [int(d) for d in array.shape]
        found = {"name": described[0].name, "shape": shape_found, "dtype": array_dtype(array.dataType)}
        interface[kind] = found
        expected = {"name": name, "shape": shape, "dtype": "float32"}
        if found != expected:
            problems.append(f"{kind} is {found}, expected {expected}")
    weights = weight_encodings(program)
    checked = [w for w in weights if w.elements > WEIGHT_THRESHOLD]
    for weight in checked:
        if weight.bits != compression.bits:
            problems.append(f"weight of {weight.op} is stored in {weight.bits} bits, expected {compression.bits}")
        if weight.sparsity < compression.sparsity - SPARSITY_SLACK:
            problems.append(f"weight of {weight.op} is {weight.sparsity:.1%} sparse, expected {compression.sparsity:.1%}")
    if problems:
        raise ExportError(f"{path.name}: " + "; ".join(problems))
    return {"interface": interface, "compression": asdict(compression), "weights": [asdict(w) for w in weights]}


def array_dtype(data_type: int) -> str:
    from coremltools.proto import FeatureTypes_pb2

    return FeatureTypes_pb2.ArrayFeatureType.ArrayDataType.Name(data_type).lower()


def stabilize_manifest(path: Path) -> None:
    """Name the package's items by their paths instead of fresh random UUIDs, so that the same
    model gives the same bytes (DVC then sees no change)."""
    manifest_path = path / "Manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    items = manifest["itemInfoEntries"]
    renamed = {key: str(uuid.uuid5(uuid.NAMESPACE_URL, f"edgeforge:{item['path']}")) for key, item in items.items()}
    manifest["itemInfoEntries"] = {renamed[key]: item for key, item in items.items()}
    manifest["rootModelIdentifier"] = renamed[manifest["rootModelIdentifier"]]
    manifest_path.write_text(json.dumps(manifest, indent=4, sort_keys=True) + "\n", encoding="utf-8")


def predict(path: Path, x: np.ndarray) -> np.ndarray:
    """Scores from the Core ML runtime, one sample at a time (macOS only)."""
    ct = import_coremltools()
    model = ct.models.MLModel(str(path))
    samples = x.astype(np.float32)
    scores = [model.predict({INPUT_NAME: samples[i : i + 1]})[OUTPUT_NAME] for i in range(len(samples))]
    return np.concatenate(scores).astype(np.float32)


class CoremlExporter(Exporter):
    name: ClassVar[str] = "coreml"
    suffixes: ClassVar[tuple[str, ...]] = (".mlpackage", ".mlmodel")
    packages: ClassVar[tuple[str, ...]] = ("coremltools",)

    def export(self, context: ExportContext, out_dir: Path) -> list[Path]:
        keras_model = context.load_keras()
        compression = compression_for(context.candidate_config)
        model = convert_keras(keras_model, compression)
        if compression.compressed:
            model = compress(model, compression)
        path = out_dir / PACKAGE_NAME
        model.save(str(path))
        stabilize_manifest(path)
        num_classes = int(keras_model.output_shape[-1])
        verify_package(path, tuple(keras_model.input_shape[1:]), num_classes, compression)
        return [path]

    def runner(self, paths: list[Path], context: ExportContext):
        if sys.platform != "darwin":
            raise NotRunnableHere("Core ML prediction needs macOS; the package was verified structurally instead")
        package = paths[0]
        return lambda x: predict(package, x)

    def structure(self, paths: list[Path], context: ExportContext) -> dict:
        keras_model = context.load_keras()
        shape, classes = tuple(keras_model.input_shape[1:]), int(keras_model.output_shape[-1])
        return {"structure": verify_package(paths[0], shape, classes, compression_for(context.candidate_config))}
