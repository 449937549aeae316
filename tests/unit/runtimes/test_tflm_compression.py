"""LUT compression of clustered int8 weights, run in TFLite Micro's real compressor and interpreter."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from edgeforge.runtimes import tflm_compression
from edgeforge.runtimes.tflm_compression import compress_weights, decode_ops, predicted_saving_bytes
from tests.conftest import MLPERF_TINY, REPO


def _clustered_model(mode: str, clusters: int = 16) -> tuple[bytes, np.ndarray]:
    """A 256-128-10 dense model whose kernels have `clusters` values per output channel (as the
    cluster pass leaves them), converted by the ptq pass; with held-out inputs."""
    from edgeforge.passes.ptq import PostTrainingQuantization
    from edgeforge.tfcompat import import_tf, seed_everything

    _, keras = import_tf()
    seed_everything(0)
    model = keras.Sequential([
        keras.layers.Input(shape=(256,)),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10),
    ])
    rng = np.random.default_rng(0)
    for layer in model.layers:
        kernel, bias = layer.get_weights()
        centroids = rng.normal(0, 0.2, size=(clusters, kernel.shape[1]))
        picks = rng.integers(0, clusters, size=kernel.shape)
        layer.set_weights([np.take_along_axis(centroids, picks, axis=0).astype(np.float32), bias])
    x = rng.normal(size=(64, 256)).astype(np.float32)
    return PostTrainingQuantization({"mode": mode}).convert(model, x), x[:16]


@pytest.fixture(scope="module")
def clustered_int8():
    return _clustered_model("int8")


def test_clustered_int8_weights_compress_to_4_bits_and_outputs_stay_bit_identical(clustered_int8):
    from edgeforge.runtimes.tflite_micro import TfliteMicro

    dense, held_out = clustered_int8
    outcome = compress_weights(dense, held_out, decode_code_bytes=1536)
    assert outcome.kept and outcome.reason == ""
    # the 128 x 256 kernel; the 10 x 128 one would save under a quarter of its bytes (10 tables)
    assert decode_ops(outcome.model_bytes) == 1
    assert [(t["bytes"], t["bits"], t["compressed"]) for t in outcome.tensors] == [(1280, 4, False), (32768, 4, True)]
    assert len(outcome.model_bytes) < 0.75 * len(dense)
    assert outcome.samples >= len(held_out)
    runtime = TfliteMicro()
    assert runtime.predict(outcome.model_bytes, held_out).tobytes() == runtime.predict(dense, held_out).tobytes()


def test_a_saving_below_the_decode_kernel_size_keeps_the_dense_model(clustered_int8):
    dense, _ = clustered_int8
    outcome = compress_weights(dense, decode_code_bytes=len(dense))
    assert not outcome.kept and outcome.model_bytes == dense
    assert outcome.reason.startswith("flash would not shrink")


def test_unclustered_int8_weights_need_7_or_8_bits_and_ship_dense():
    dense = (MLPERF_TINY / "ad01_int8.tflite").read_bytes()
    outcome = compress_weights(dense)
    assert not outcome.kept and outcome.model_bytes == dense
    assert any("unique values need 8 bits (LUT takes at most 7)" in t["why"] for t in outcome.tensors)
    assert any(t["bits"] == 7 and t["why"].startswith("saves under 25%") for t in outcome.tensors)
    assert "no weight tensor shrinks" in outcome.reason


def test_a_clustered_float_model_stays_uncompressed_and_says_why():
    dense, _ = _clustered_model("float32")
    outcome = compress_weights(dense)
    assert not outcome.kept and outcome.model_bytes == dense
    assert outcome.reason == "float model: edgeforge LUT-compresses int8 weights only"


def test_a_compressor_rejection_keeps_the_dense_model_with_its_message(clustered_int8, monkeypatch):
    dense, _ = clustered_int8
    chosen, decisions, _ = tflm_compression.choose_tensors(dense)
    too_narrow = [(index, 2, axis) for index, _, axis in chosen]  # 16 values do not fit 2-bit indices
    monkeypatch.setattr(tflm_compression, "choose_tensors", lambda model: (too_narrow, decisions, ""))
    outcome = compress_weights(dense)
    assert not outcome.kept and outcome.model_bytes == dense
    assert outcome.reason.startswith("the TFLite Micro compressor rejected the model: index_bitwidth too small")
    assert all(not t["compressed"] for t in outcome.tensors)


def test_the_device_artifact_compresses_then_plans_and_compression_none_keeps_dense_weights(clustered_int8):
    from edgeforge.runtimes.tflite_micro import TfliteMicro
    from edgeforge.spec.presets import load_preset

    dense, held_out = clustered_int8
    device = load_preset("stm32f746_disco", REPO / "specs")
    runtime = TfliteMicro()
    lut = runtime.device_artifact(dense, SimpleNamespace(device=device, memory_plan="offline", compression="lut"), held_out)
    none = runtime.device_artifact(dense, SimpleNamespace(device=device, memory_plan="offline", compression="none"), held_out)
    assert decode_ops(lut) == 1 and decode_ops(none) == 0
    costs = runtime.device_costs(lut, device)
    assert costs["compression"] == {"kept": True, "decode_ops": 1, "reason": ""}
    dense_costs = runtime.device_costs(none, device)
    assert not dense_costs["compression"]["kept"] and "shipped dense" in dense_costs["compression"]["reason"]
    # the decoded weights live in the arena: the allocator measures them
    assert costs["arena_bytes"] > dense_costs["arena_bytes"]


def test_flash_latency_and_params_of_a_compressed_model(clustered_int8):
    from edgeforge.cost.profile import profile_model
    from edgeforge.runtimes.tflite_micro import TfliteMicro
    from edgeforge.spec.presets import load_preset

    dense, _ = clustered_int8
    compressed = compress_weights(dense, decode_code_bytes=1536).model_bytes
    device = load_preset("stm32f746_disco", REPO / "specs")
    before, after = (profile_model(m, device, "tflite-micro", device_costs={}) for m in (dense, compressed))
    # the file shrinks by more than the DECODE kernel's code adds
    assert after["flash_bytes"] < before["flash_bytes"]
    assert after["flash_bytes"] - len(compressed) == before["flash_bytes"] - len(dense) + TfliteMicro().decode_code_bytes(device.arch)
    assert after["params"] == before["params"] and after["macs"] == before["macs"]
    assert after["latency_ms"] > before["latency_ms"]  # decoding costs time
    assert "DECODE (uint8)" in after["latency_uncalibrated"]


def test_the_prefilter_saving_is_optimistic_against_the_real_compression(clustered_int8):
    dense, _ = clustered_int8
    real = len(dense) - len(compress_weights(dense).model_bytes)
    assert predicted_saving_bytes(dense, 16) >= real > 0
    assert predicted_saving_bytes(dense, 0) == 0 and predicted_saving_bytes(dense, 256) == 0


def test_download_kb_judges_the_gzipped_device_file_which_compression_shrinks(clustered_int8):
    import gzip

    from edgeforge.cost.fits import check_fits
    from edgeforge.cost.profile import profile_model
    from edgeforge.spec.models import Constraints
    from edgeforge.spec.presets import load_preset

    dense, _ = clustered_int8
    compressed = compress_weights(dense).model_bytes
    device = load_preset("stm32f746_disco", REPO / "specs")
    before, after = (profile_model(m, device, "tflite-micro", device_costs={}) for m in (dense, compressed))
    assert before["download_bytes"] == len(gzip.compress(dense, compresslevel=9, mtime=0))
    assert after["download_bytes"] < before["download_bytes"]
    limit_kb = (before["download_bytes"] + after["download_bytes"]) / 2 / 1024
    constraints = Constraints(download_kb=limit_kb)
    assert not check_fits(before, device, constraints)["download_kb"]["ok"]
    assert check_fits(after, device, constraints)["download_kb"]["ok"]


def test_a_bundle_of_lut_compressed_weights_records_and_checks_its_canary_in_tflite_micro(clustered_int8, tmp_path):
    """LiteRT refuses LUT-compressed tensors (`num_scales must be 1 ...`): the package stage's canary
    and the device's health check run the model in the target's own runtime."""
    from edgeforge.bundle.health import check_health
    from edgeforge.bundle.package import build_bundle, drift_reference_from
    from edgeforge.runtimes import runtime_for_bundle, runtime_for_format

    dense, held_out = clustered_int8
    compressed = compress_weights(dense, held_out, decode_code_bytes=1536).model_bytes
    with pytest.raises(ValueError, match="quantization"):
        runtime_for_format("tflite").predict(compressed, held_out)
    assert runtime_for_bundle("tflite", "tflite-micro").name == "tflite-micro"
    assert runtime_for_bundle("tflite", "tflite").name == "tflite"
    assert runtime_for_bundle("onnx", "tensorrt").name == "onnxruntime"  # no TensorRT here: the format's runtime

    model = tmp_path / "model.tflite"
    model.write_bytes(compressed)
    canary_y = runtime_for_bundle("tflite", "tflite-micro").predict(compressed, held_out[:8])
    build_bundle(
        tmp_path / "bundle", project="lut", target="mcu", device="nrf5340_dk", runtime="tflite-micro",
        model_files={"model.tflite": model}, primary_file="model.tflite", candidate={"id": "w1-s0-c16-int8"},
        metrics={"accuracy": 0.9}, spec_hash="spec", canary_x=held_out[:8], canary_y=canary_y,
        drift_reference=drift_reference_from(held_out, np.zeros(len(held_out), np.int64)),
    )
    health = check_health(tmp_path / "bundle")
    assert health.healthy, health.reason


def test_the_export_check_runs_lut_compressed_weights_in_tflite_micro(clustered_int8, tmp_path):
    """The export stage's parity check runs each written format where the target runs it: a
    selected LUT-compressed MCU model failed the whole export in LiteRT before."""
    from edgeforge.export import EXPORTERS
    from edgeforge.export.base import ExportContext

    dense, held_out = clustered_int8
    compressed = compress_weights(dense, held_out, decode_code_bytes=1536).model_bytes
    path = tmp_path / "model.tflite"
    path.write_bytes(compressed)
    context = ExportContext(
        target_name="mcu", target=SimpleNamespace(runtime="tflite-micro"), candidate_config={"quantization": "int8"},
        metrics={}, model_bytes=compressed, representative_x=held_out,
    )
    scores = EXPORTERS["tflite"]().runner([path], context)(held_out)
    from edgeforge.runtimes.tflite_micro import TfliteMicro

    assert scores.tobytes() == TfliteMicro().predict(dense, held_out).tobytes()
