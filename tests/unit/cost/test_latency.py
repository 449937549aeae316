"""The per-operator latency model: formula, dtype handling, unknown ops, calibration examples."""

from __future__ import annotations

import pytest

from edgeforge.cost.latency import predict_latency_ms, predict_op_latency_ms
from edgeforge.errors import UserError
from edgeforge.spec.device import Device
from edgeforge.spec.presets import load_preset
from tests.conftest import REPO


def make_device(**throughput) -> Device:
    """A 100 MHz device whose tflite-micro figures are given as macs_per_cycle by dtype."""
    return Device.model_validate({
        "name": "test_board", "class": "mcu", "cpu": "test core", "arch": "armv7e-m",
        "clock_mhz": 100, "ram_kb": 256, "flash_kb": 1024, "runtimes": ["tflite-micro"],
        "power": {"active_mw": 10, "idle_mw": 0.1},
        "throughput": {
            "tflite-micro": {"macs_per_cycle": throughput or {"int8": 0.5, "float32": 0.1}, "op_overhead_us": 10}
        },
        "sources": {"clock_mhz": "test", "ram_kb": "test", "flash_kb": "test", "power": "test", "throughput": "test"},
    })


def test_op_latency_is_macs_over_rate_plus_overhead():
    # 1e6 MACs at 0.5 MAC/cycle and 100 MHz = 20 ms, plus 10 µs per op
    latency = predict_op_latency_ms("CONV_2D", "int8", 1_000_000, 4096, make_device(), "tflite-micro")
    assert latency == pytest.approx(20.01)


def test_op_latency_uses_the_dtype_rate():
    int8 = predict_op_latency_ms("FULLY_CONNECTED", "int8", 1_000_000, 10, make_device(), "tflite-micro")
    float32 = predict_op_latency_ms("FULLY_CONNECTED", "float32", 1_000_000, 10, make_device(), "tflite-micro")
    assert float32 == pytest.approx(100.01)
    assert float32 > 4 * int8


def test_zero_mac_op_costs_overhead_plus_one_mac_per_output_element():
    # 50,000 output elements at 0.5/cycle and 100 MHz = 1 ms, plus 10 µs
    pool = predict_op_latency_ms("AVERAGE_POOL_2D", "int8", 0, 50_000, make_device(), "tflite-micro")
    assert pool == pytest.approx(1.01)
    assert predict_op_latency_ms("RESHAPE", "int8", 0, 0, make_device(), "tflite-micro") == pytest.approx(0.01)


def test_model_latency_is_the_sum_of_its_ops():
    device = make_device()
    ops = [("CONV_2D", "int8", 1_000_000, 8000), ("ADD", "int8", 8000, 8000), ("SOFTMAX", "int8", 0, 10)]
    total = predict_latency_ms(ops, device, "tflite-micro")
    assert total == pytest.approx(sum(predict_op_latency_ms(*op, device, "tflite-micro") for op in ops))


def test_model_latency_accepts_any_iterable_of_ops():
    ops = (op for op in [("CONV_2D", "int8", 500_000, 10)] * 2)
    assert predict_latency_ms(ops, make_device(), "tflite-micro") == pytest.approx(2 * 10.01)


def test_int16x8_activations_use_the_int16_rate():
    device = make_device(int8=0.5, int16=0.25, float32=0.1)
    assert predict_op_latency_ms("CONV_2D", "int16x8", 1_000_000, 1, device, "tflite-micro") == pytest.approx(40.01)


def test_float16_falls_back_to_float32_rate_when_the_runtime_has_no_float16_kernels():
    latency = predict_op_latency_ms("CONV_2D", "float16", 1_000_000, 1, make_device(), "tflite-micro")
    assert latency == pytest.approx(100.01)


def test_unknown_dtype_warns_and_is_priced_as_float32():
    with pytest.warns(UserWarning, match="complex64"):
        latency = predict_op_latency_ms("CONV_2D", "complex64", 1_000_000, 1, make_device(), "tflite-micro")
    assert latency == pytest.approx(100.01)


def test_unknown_op_warns_naming_it_and_counts_overhead_only():
    with pytest.warns(UserWarning, match="UNIDIRECTIONAL_SEQUENCE_LSTM"):
        latency = predict_latency_ms(
            [("UNIDIRECTIONAL_SEQUENCE_LSTM", "int8", 5_000_000, 64), ("CONV_2D", "int8", 0, 0)],
            make_device(),
            "tflite-micro",
        )
    assert latency == pytest.approx(0.02)


def test_unknown_ops_warn_once_per_model():
    with pytest.warns(UserWarning) as record:
        predict_latency_ms([("CUSTOM", "int8", 0, 1)] * 5, make_device(), "tflite-micro")
    assert len(record) == 1


def test_missing_runtime_is_a_user_error_listing_the_device_runtimes():
    with pytest.raises(UserError, match=r"test_board has no runtime onnxruntime; choose one of tflite-micro"):
        predict_latency_ms([("CONV_2D", "int8", 1, 1)], make_device(), "onnxruntime")


def test_dtype_missing_on_an_int8_only_device_is_a_user_error():
    coral = load_preset("coral_dev_board_micro", REPO / "specs")
    with pytest.raises(UserError, match="int8-only"):
        predict_op_latency_ms("CONV_2D", "float32", 1000, 10, coral, "tflite-micro")


def test_empty_model_takes_no_time():
    assert predict_latency_ms([], make_device(), "tflite-micro") == 0.0


def test_calibrated_preset_reproduces_mlperf_tiny_kws_on_nrf5340_within_35_percent():
    # MLPerf Tiny v1.1 (Krai, CMSIS-NN kernels): DS-CNN KWS on the nRF5340 DK at 13.074 inf/s.
    # This point is held out: the preset was calibrated on a different Cortex-M33 board.
    nrf5340 = load_preset("nrf5340_dk", REPO / "specs")
    kws = [("CONV_2D", "int8", 2_656_768, 0), ("RESHAPE", "int8", 0, 140)] + [("RESHAPE", "int8", 0, 0)] * 11
    assert predict_latency_ms(kws, nrf5340, "tflite-micro") == pytest.approx(1000 / 13.074, rel=0.35)


def test_faster_clock_means_lower_latency_with_the_same_figures():
    slow, fast = make_device(), make_device().model_copy(update={"clock_mhz": 200})
    op = ("CONV_2D", "int8", 1_000_000, 1)
    assert predict_latency_ms([op], fast, "tflite-micro") < predict_latency_ms([op], slow, "tflite-micro")


def test_float_io_ops_of_an_int8_model_are_priced_on_an_int8_only_device():
    coral = load_preset("coral_dev_board_micro", REPO / "specs")
    ops = [("QUANTIZE", "float32", 0, 150_528), ("CONV_2D", "int8", 10_000_000, 1000), ("DEQUANTIZE", "int8", 0, 1000)]
    assert predict_latency_ms(ops, coral, "tflite-micro") > predict_latency_ms(ops[1:2], coral, "tflite-micro")
