"""The TensorRT handoff: a well-formed build script and calibration cache; the engine itself where a GPU is."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess

import numpy as np
import pytest

from edgeforge.export.tensorrt import (
    TRT_VERSION_CODE,
    build_script,
    calibration_cache,
    read_calibration_cache,
    trtexec_args,
    version_code,
)

CACHE_LINE = re.compile(r"^[^:\s][^:]*: [0-9a-f]{8}$")
FAKE_TRTEXEC = """#!/bin/sh
echo "&&&& RUNNING TensorRT.trtexec [TensorRT v8602] # trtexec $*"
[ "$1" = "--help" ] || echo "$*" > trtexec_args.txt
"""


@pytest.mark.parametrize(("version", "code"), [("8.6.2", 8602), ("8.5.2.2", 8502), ("10.3.0", 100300), ("10.13", 101300)])
def test_version_code_matches_tensorrts_nv_tensorrt_version(version, code):
    assert version_code(version) == code


def test_calibration_cache_is_tensorrts_text_format():
    text = calibration_cache({"input": 1.0, "conv/Relu_0": 6.35, "dead/Relu_0": 0.0})
    header, *rows = text.splitlines()
    assert header == f"TRT-{TRT_VERSION_CODE}-EntropyCalibration2"
    assert all(CACHE_LINE.match(row) for row in rows), rows
    assert rows[0] == "input: " + struct.pack(">f", 1.0 / 127).hex()  # big-endian float32
    _, scales = read_calibration_cache(text)
    assert scales["conv/Relu_0"] == pytest.approx(6.35 / 127)
    assert scales["dead/Relu_0"] > 0  # TensorRT needs a positive scale even for a tensor that stays 0


@pytest.mark.parametrize(
    ("quantization", "flags", "calibrated"),
    [("float32", [], False), ("float16", ["--fp16"], False), ("dynamic", ["--fp16"], False), ("int8", ["--int8", "--fp16"], True)],
)
def test_build_script_carries_the_candidates_precision_flags(quantization, flags, calibrated, tmp_path):
    args = trtexec_args(quantization, calibrated)
    assert args[:2] == ["--onnx=model.onnx", "--saveEngine=model.engine"]
    assert args[2:] == flags + (["--calib=calibration.cache"] if calibrated else [])
    script = tmp_path / "build_engine.sh"
    script.write_text(build_script(quantization, calibrated))
    subprocess.run(["sh", "-n", str(script)], check=True)  # parses as POSIX sh


@pytest.mark.slow
def test_int8_handoff_calibrates_every_tensor_of_its_onnx_model(exported):
    import onnx

    _, paths = exported("tensorrt", "int8")
    folder = paths[0].parent
    assert {path.name for path in paths} == {"model.onnx", "build_engine.sh", "README.md", "calibration.cache"}
    assert (folder / "build_engine.sh").stat().st_mode & 0o111
    model = onnx.load(str(folder / "model.onnx"))
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim] == [1, 8, 8, 1]  # static batch
    tensors = {"input"} | {name for node in model.graph.node for name in node.output}
    header, scales = read_calibration_cache((folder / "calibration.cache").read_text())
    assert header == f"TRT-{TRT_VERSION_CODE}-EntropyCalibration2"
    assert set(scales) <= tensors
    assert {"input", "scores"} <= set(scales)
    assert scales["input"] == pytest.approx(1.0 / 127)  # digits pixels span [0, 1]
    assert scales["scores"] <= 1.0 / 127 + 1e-9  # class probabilities
    assert "--calib=calibration.cache" in (folder / "README.md").read_text()


@pytest.mark.slow
def test_build_script_stamps_the_local_tensorrt_version_and_runs_trtexec(exported, tmp_path):
    _, paths = exported("tensorrt", "int8")
    folder = tmp_path / "tensorrt"
    shutil.copytree(paths[0].parent, folder)
    trtexec = tmp_path / "trtexec"
    trtexec.write_text(FAKE_TRTEXEC)
    trtexec.chmod(0o755)
    subprocess.run(["sh", str(folder / "build_engine.sh")], check=True, env={"TRTEXEC": str(trtexec), "PATH": "/usr/bin:/bin"})
    assert (folder / "calibration.cache").read_text().startswith("TRT-8602-EntropyCalibration2\n")
    assert (folder / "trtexec_args.txt").read_text().split() == trtexec_args("int8", calibrated=True)


@pytest.mark.slow
def test_float16_handoff_has_no_calibration_cache(exported):
    _, paths = exported("tensorrt", "float16")
    assert "calibration.cache" not in {path.name for path in paths}
    script = next(path for path in paths if path.name == "build_engine.sh").read_text()
    assert "--fp16" in script and "--int8" not in script and "--calib" not in script


@pytest.mark.slow
def test_engine_built_from_the_handoff_matches_tflite_int8(exported, tflite_of, digits):
    trt = pytest.importorskip("tensorrt", reason="the tensorrt package is not installed")
    torch = pytest.importorskip("torch", reason="torch (for CUDA buffers) is not installed")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    from edgeforge.runtimes import predict

    _, paths = exported("tensorrt", "int8")
    folder = paths[0].parent
    cache = (folder / "calibration.cache").read_text()
    cache = re.sub(r"^TRT-\d+-", f"TRT-{version_code(trt.__version__)}-", cache).encode()

    class CacheCalibrator(trt.IInt8EntropyCalibrator2):
        def get_batch_size(self):
            return 1

        def get_batch(self, names):
            return None  # everything comes from the cache

        def read_calibration_cache(self):
            return cache

        def write_calibration_cache(self, data):
            pass

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    explicit_batch = 0 if int(trt.__version__.split(".")[0]) >= 10 else 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(explicit_batch)
    parser = trt.OnnxParser(network, logger)
    assert parser.parse((folder / "model.onnx").read_bytes()), [parser.get_error(i) for i in range(parser.num_errors)]
    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.INT8)
    config.set_flag(trt.BuilderFlag.FP16)
    calibrator = CacheCalibrator()
    config.int8_calibrator = calibrator
    engine = trt.Runtime(logger).deserialize_cuda_engine(builder.build_serialized_network(network, config))
    assert engine is not None, "TensorRT could not build the engine"
    context = engine.create_execution_context()
    device_input = torch.empty((1, 8, 8, 1), dtype=torch.float32, device="cuda")
    device_output = torch.empty((1, 10), dtype=torch.float32, device="cuda")
    context.set_tensor_address("input", device_input.data_ptr())
    context.set_tensor_address("scores", device_output.data_ptr())
    scores = []
    for sample in digits.x_test.astype(np.float32):
        device_input.copy_(torch.from_numpy(sample[np.newaxis]))
        context.execute_async_v3(torch.cuda.current_stream().cuda_stream)
        torch.cuda.synchronize()
        scores.append(device_output.cpu().numpy().copy())
    engine_accuracy = float(np.mean(np.concatenate(scores).argmax(axis=1) == digits.y_test))
    tflite_accuracy = float(np.mean(predict(tflite_of("int8"), digits.x_test, "tflite").argmax(axis=1) == digits.y_test))
    assert engine_accuracy >= tflite_accuracy - 0.01
