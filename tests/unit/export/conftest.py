"""One small trained digits model per session, and the exports of it that several tests read."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from tests.conftest import REPO, train_tiny_cnn

TRAIN_EPOCHS = 10  # enough for a confident classifier, whose int8 variants agree with each other
ALL_RUNTIMES = ["tflite", "tflite-micro", "onnxruntime", "coreml", "tensorrt", "ethos-u"]


@pytest.fixture(scope="session")
def keras_model(digits):
    return train_tiny_cnn(digits, TRAIN_EPOCHS)


@pytest.fixture(scope="session")
def tflite_of(keras_model, digits):
    """tflite_of(mode) -> the model's TFLite bytes through the ptq pass (each mode converted once)."""
    from edgeforge.passes.ptq import PostTrainingQuantization

    return functools.cache(lambda mode: PostTrainingQuantization({"mode": mode}).convert(keras_model, digits.x_train))


def every_runtime_device():
    """The Raspberry Pi 4 preset, with every runtime, so one device can take every format."""
    from edgeforge.spec.device import Device
    from edgeforge.spec.presets import load_preset

    preset = load_preset("raspberry_pi_4", REPO / "specs").model_dump(by_alias=True)
    npu = load_preset("alif_ensemble_e7_hp", REPO / "specs").model_dump(by_alias=True)
    figures = preset["throughput"]["onnxruntime"]
    return Device.model_validate(
        {
            **preset,
            "name": "every_runtime",
            "runtimes": ALL_RUNTIMES,
            "throughput": {runtime: figures for runtime in ALL_RUNTIMES},
            "runtime_settings": npu["runtime_settings"],
            "sources": {**preset["sources"], **npu["sources"],
                        "throughput": "a test device: ONNX Runtime's figures for every runtime"},
        }
    )


@pytest.fixture(scope="session")
def target_for():
    """target_for(runtime) -> a validated Target of that runtime, listing every format it loads."""
    from edgeforge.runtimes import RUNTIMES
    from edgeforge.spec.models import Target

    device = every_runtime_device()
    return lambda runtime: Target(device=device, runtime=runtime, formats=list(RUNTIMES[runtime].formats))


@pytest.fixture(scope="session")
def make_context(keras_model, tflite_of, digits, target_for):
    """make_context(quantization, runtime=..., **candidate) -> an ExportContext for that candidate."""
    from edgeforge.export import ExportContext

    def make(quantization: str = "float32", runtime: str = "onnxruntime", **candidate) -> ExportContext:
        target = target_for(runtime)
        config = {"width": 1.0, "sparsity": 0.0, "clusters": 0, "qat": False, **candidate, "quantization": quantization}
        return ExportContext(
            target_name=f"test_{runtime.replace('-', '_')}",
            target=target,
            candidate_config=config,
            metrics={"accuracy": 0.95, "arena_bytes": 4096},
            model_bytes=tflite_of("int8" if quantization == "int16x8" else quantization),
            representative_x=digits.x_train,
            load_keras=lambda: keras_model,
        )

    return make


RUNTIME_OF_FORMAT = {
    "tflite": "tflite", "tflm_c": "tflite-micro", "onnx": "onnxruntime", "coreml": "coreml", "tensorrt": "tensorrt",
    "ethos_u": "ethos-u",
}


@pytest.fixture(scope="session")
def context_for(make_context):
    """context_for(format, quantization, **candidate) -> the context of a target whose runtime loads it."""
    return lambda fmt, quantization="float32", **candidate: make_context(quantization, RUNTIME_OF_FORMAT[fmt], **candidate)


@pytest.fixture(scope="session")
def exported(context_for, tmp_path_factory):
    """exported(format, quantization, **candidate) -> (out_dir, paths), each combination exported once."""
    from edgeforge.export import EXPORTERS

    @functools.cache
    def export(fmt: str, quantization: str = "float32", **candidate) -> tuple[Path, list[Path]]:
        out = tmp_path_factory.mktemp(f"{fmt}-{quantization}")
        return out, EXPORTERS[fmt]().export(context_for(fmt, quantization, **candidate), out)

    return export
