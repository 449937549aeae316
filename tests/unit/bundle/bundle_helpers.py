"""Test helpers: tiny real .tflite models and bundles built from them.

The models are written directly as flatbuffers (no TensorFlow import: milliseconds), a classifier
float32 input (1, features) -> FULLY_CONNECTED -> SOFTMAX -> (1, classes). tests/func/test_ota.py
loads this module by path.
"""

from __future__ import annotations

from pathlib import Path

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

from edgeforge.bundle.package import build_bundle, drift_reference_from

FEATURES = 4
CLASSES = 3


def dense_softmax_tflite(weights: np.ndarray, bias: np.ndarray) -> bytes:
    """Bytes of a model computing softmax(x @ weights.T + bias); weights is (classes, features)."""
    classes, features = weights.shape
    buffers = [schema.BufferT()]  # buffer 0 is the empty sentinel
    for array in (weights.astype(np.float32), bias.astype(np.float32)):
        buffer = schema.BufferT()
        buffer.data = np.frombuffer(array.tobytes(), dtype=np.uint8)
        buffers.append(buffer)
    for _ in range(3):  # input, logits, output: no data
        buffers.append(schema.BufferT())

    def tensor(name, shape, buffer):
        t = schema.TensorT()
        t.name, t.shape, t.buffer, t.type = name, np.array(shape, dtype=np.int32), buffer, schema.TensorType.FLOAT32
        return t

    tensors = [
        tensor("input", [1, features], 3),
        tensor("weights", [classes, features], 1),
        tensor("bias", [classes], 2),
        tensor("logits", [1, classes], 4),
        tensor("scores", [1, classes], 5),
    ]
    fully_connected = schema.OperatorT()
    fully_connected.opcodeIndex, fully_connected.inputs, fully_connected.outputs = 0, [0, 1, 2], [3]
    fully_connected.builtinOptionsType = schema.BuiltinOptions.FullyConnectedOptions
    fully_connected.builtinOptions = schema.FullyConnectedOptionsT()
    softmax = schema.OperatorT()
    softmax.opcodeIndex, softmax.inputs, softmax.outputs = 1, [3], [4]
    softmax.builtinOptionsType = schema.BuiltinOptions.SoftmaxOptions
    softmax.builtinOptions = schema.SoftmaxOptionsT()
    softmax.builtinOptions.beta = 1.0

    subgraph = schema.SubGraphT()
    subgraph.tensors, subgraph.inputs, subgraph.outputs = tensors, [0], [4]
    subgraph.operators = [fully_connected, softmax]
    codes = []
    for op in (schema.BuiltinOperator.FULLY_CONNECTED, schema.BuiltinOperator.SOFTMAX):
        code = schema.OperatorCodeT()
        code.builtinCode, code.deprecatedBuiltinCode, code.version = op, op, 1
        codes.append(code)
    model = schema.ModelT()
    model.version, model.description = 3, "edgeforge test model"
    model.operatorCodes, model.subgraphs, model.buffers = codes, [subgraph], buffers
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def random_classifier(seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    return dense_softmax_tflite(rng.normal(size=(CLASSES, FEATURES)) * 2, rng.normal(size=CLASSES))


def training_data(samples: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(samples, FEATURES)).astype(np.float32), rng.integers(0, CLASSES, samples)


def make_bundle(
    build_dir: Path,
    *,
    target: str = "sbc",
    seed: int = 1,
    model_bytes: bytes | None = None,
    broken_canary: bool = False,
    metrics: dict | None = None,
) -> dict:
    """Build build_dir/targets/<target>/bundle from a tiny classifier; return its manifest.

    broken_canary records wrong canary outputs, so the bundle fails the device's health check.
    """
    from edgeforge.runtimes import predict

    build_dir = Path(build_dir)
    model = random_classifier(seed) if model_bytes is None else model_bytes
    model_path = build_dir / "export" / target / f"model-{seed}.tflite"
    model_path.parent.mkdir(parents=True, exist_ok=True)
    model_path.write_bytes(model)
    x_train, y_train = training_data()
    canary_x = x_train[:8]
    canary_y = predict(random_classifier(seed), canary_x, "tflite")
    if broken_canary:
        canary_y = canary_y[:, ::-1].copy()
    return build_bundle(
        build_dir / "targets" / target / "bundle",
        project="ota-test",
        target=target,
        device="raspberry_pi_4",
        runtime="tflite",
        model_files={"model.tflite": model_path},
        primary_file="model.tflite",
        candidate={"id": f"w1.0-int8-{seed}", "config": {"quantization": "int8"}},
        metrics=metrics or {"accuracy": 0.93, "latency_ms": 1.5},
        spec_hash="spec-hash-1",
        canary_x=canary_x,
        canary_y=canary_y,
        drift_reference=drift_reference_from(x_train, y_train),
    )


OTA_COMMANDS = ("keys", "release", "device", "monitor")


def run_cli(argv: list[str], monkeypatch) -> int:
    """edgeforge.cli.main(argv), with the OTA commands registered even while cli.COMMANDS lacks them."""
    from edgeforge import cli

    missing = [name for name in OTA_COMMANDS if name not in cli.COMMANDS]
    monkeypatch.setattr(cli, "COMMANDS", [*cli.COMMANDS, *missing])
    return cli.main(argv)
