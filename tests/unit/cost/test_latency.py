"""The per-operator latency model: formula, dtype handling, unknown ops, calibration examples."""

from __future__ import annotations

import pytest

from edgeforge.cost.graph import read_graph
from edgeforge.cost.latency import (
    UNVALIDATED_ERROR,
    OpWork,
    latency_fields,
    op_kind,
    op_works,
    predict_latency_ms,
    predict_model,
    predict_op_latency_ms,
    predict_ops,
    reproducible_metrics,
    upper_bound,
)
from edgeforge.errors import UserError
from edgeforge.spec.device import Device
from edgeforge.spec.presets import load_preset
from tests.conftest import REPO

MLPERF = REPO / "examples" / "mlperf_tiny"


def make_device(op_rates: dict | None = None, bytes_per_cycle: dict | None = None, latency_error: float | None = None,
                **throughput) -> Device:
    """A 100 MHz device whose tflite-micro figures are given as macs_per_cycle by dtype."""
    figures = {"macs_per_cycle": throughput or {"int8": 0.5, "float32": 0.1}, "op_overhead_us": 10}
    if op_rates:
        figures["op_rates"] = op_rates
    if bytes_per_cycle:
        figures["bytes_per_cycle"] = bytes_per_cycle
    if latency_error is not None:
        figures["latency_error"] = latency_error
    return Device.model_validate({
        "name": "test_board", "class": "mcu", "cpu": "test core", "arch": "armv7e-m",
        "clock_mhz": 100, "ram_kb": 256, "flash_kb": 1024, "runtimes": ["tflite-micro"],
        "power": {"active_mw": 10, "idle_mw": 0.1},
        "throughput": {"tflite-micro": figures},
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


def test_unknown_op_warns_naming_it_and_is_priced_by_its_output_never_zero():
    with pytest.warns(UserWarning, match="UNIDIRECTIONAL_SEQUENCE_LSTM"):
        prediction = predict_ops(
            [("UNIDIRECTIONAL_SEQUENCE_LSTM", "int8", 5_000_000, 64_000), ("CONV_2D", "int8", 0, 0)],
            make_device(),
            "tflite-micro",
        )
    # 64,000 output elements at the default 0.5 per cycle and 100 MHz = 1.28 ms, plus 2 x 10 µs
    assert prediction.latency_ms == pytest.approx(1.30)
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM (int8)" in prediction.uncalibrated


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


def test_x86_preset_reproduces_its_measured_resnet8_within_its_error_bar():
    # measured on the build VM: LiteRT, one thread, MLPerf Tiny IC (ResNet-8) float32 0.2675 ms (a fit
    # point, predicted here from the real graph through op_works, not the reference file's totals)
    x86 = load_preset("x86_host", REPO / "specs")
    prediction = predict_model(read_graph(MLPERF / "pretrainedResnet.tflite"), x86, "tflite")
    assert prediction.latency_ms == pytest.approx(0.2675, rel=x86.throughput["tflite"].latency_error)
    assert prediction.uncalibrated == ()


def test_faster_clock_means_lower_latency_with_the_same_figures():
    slow, fast = make_device(), make_device().model_copy(update={"clock_mhz": 200})
    op = ("CONV_2D", "int8", 1_000_000, 1)
    assert predict_latency_ms([op], fast, "tflite-micro") < predict_latency_ms([op], slow, "tflite-micro")


def test_float_io_ops_of_an_int8_model_are_priced_on_an_int8_only_device():
    coral = load_preset("coral_dev_board_micro", REPO / "specs")
    ops = [("QUANTIZE", "float32", 0, 150_528), ("CONV_2D", "int8", 10_000_000, 1000), ("DEQUANTIZE", "int8", 0, 1000)]
    assert predict_latency_ms(ops, coral, "tflite-micro") > predict_latency_ms(ops[1:2], coral, "tflite-micro")


def test_each_op_kind_is_priced_at_its_own_calibrated_rate():
    device = make_device(op_rates={"pointwise": {"int8": 1.0}, "depthwise": {"int8": 0.25}})
    pointwise = OpWork("CONV_2D", "pointwise", "int8", 1_000_000, 0, 0)
    depthwise = OpWork("DEPTHWISE_CONV_2D", "depthwise", "int8", 1_000_000, 0, 0)
    # 1e6 MACs at 1.0 and 0.25 MAC/cycle, 100 MHz: 10 ms and 40 ms, plus 10 µs each
    assert predict_latency_ms([pointwise], device, "tflite-micro") == pytest.approx(10.01)
    assert predict_latency_ms([depthwise], device, "tflite-micro") == pytest.approx(40.01)


def test_kind_without_a_calibrated_rate_uses_the_default_and_is_flagged():
    device = make_device(op_rates={"pointwise": {"int8": 1.0}})
    conv = OpWork("CONV_2D", "conv", "int8", 1_000_000, 0, 0)
    prediction = predict_ops([conv], device, "tflite-micro")
    assert prediction.latency_ms == pytest.approx(20.01)  # the default 0.5 MAC/cycle
    assert prediction.uncalibrated == ("CONV_2D (int8)",)
    assert prediction.op_calibrated == (False,)


def test_memory_bound_op_is_priced_by_bytes_moved_when_calibrated():
    device = make_device(bytes_per_cycle={"int8": 4.0})
    pool = OpWork("AVERAGE_POOL_2D", "memory", "int8", 0, 400_000, 50_000)
    prediction = predict_ops([pool], device, "tflite-micro")
    assert prediction.latency_ms == pytest.approx(1.01)  # 400 kB at 4 B/cycle, 100 MHz
    assert prediction.uncalibrated == ()


def test_conv_2d_kind_follows_its_filter():
    assert op_kind("CONV_2D", (64, 1, 1, 32)) == "pointwise"
    assert op_kind("CONV_2D", (64, 3, 3, 32)) == "conv"
    assert op_kind("DEPTHWISE_CONV_2D") == "depthwise"
    assert op_kind("RESHAPE") == "memory"
    assert op_kind("UNIDIRECTIONAL_SEQUENCE_LSTM") is None


def test_op_works_of_the_mlperf_kws_model_split_its_convolutions():
    works = op_works(read_graph(MLPERF / "kws_ref_model.tflite"))
    macs = {}
    for work in works:
        macs[work.kind] = macs.get(work.kind, 0) + work.macs
    assert macs["pointwise"] == 2_048_000 and macs["depthwise"] == 288_000 and macs["conv"] == 320_000
    assert all(work.bytes_moved > 0 for work in works if work.kind == "memory")


def test_upper_bound_adds_the_relative_error():
    assert upper_bound(10.0, 0.2) == pytest.approx(12.0)
    assert upper_bound(10.0, None) == 10.0


def test_prediction_carries_the_preset_error_or_the_unvalidated_default():
    assert latency_fields({}, make_device(latency_error=0.3), "tflite-micro", 1.0)["latency_error"] == 0.3
    fields = latency_fields({}, make_device(), "tflite-micro", 1.0)
    assert fields == {"latency_source": "predicted", "latency_error": UNVALIDATED_ERROR, "energy_error": UNVALIDATED_ERROR}


def test_measured_latency_reports_its_spread_and_the_prediction_beside_it():
    measured = {"latency_ms": 2.0, "latency_spread_ms": 0.1, "latency_source": "measured"}
    fields = latency_fields(measured, make_device(), "tflite-micro", 1.5)
    assert fields["latency_source"] == "measured" and fields["latency_predicted_ms"] == 1.5
    assert fields["latency_error"] == pytest.approx(0.05)


def test_reproducible_metrics_carry_the_prediction_not_the_measurement():
    metrics = {"latency_ms": 2.0, "energy_mj": 4.0, "latency_source": "measured", "latency_predicted_ms": 1.0,
               "latency_spread_ms": 0.1, "latency_machine": "cpu x2", "accuracy": 0.9}
    clean = reproducible_metrics(metrics)
    assert clean == {"latency_ms": 1.0, "energy_mj": 2.0, "latency_source": "predicted", "accuracy": 0.9}
    predicted = {"latency_ms": 1.0, "latency_source": "predicted"}
    assert reproducible_metrics(predicted) == predicted


def test_profile_of_an_mcu_model_carries_error_bar_and_calibration_per_op():
    from edgeforge.cost.profile import profile_model

    nucleo = load_preset("nucleo_l4r5zi", REPO / "specs")
    result = profile_model(MLPERF / "kws_ref_model.tflite", nucleo, "tflite-micro")
    assert result["latency_source"] == "predicted"
    assert result["latency_error"] == nucleo.throughput["tflite-micro"].latency_error
    assert result["energy_error"] == result["latency_error"]
    assert all("latency_calibrated" in op for op in result["ops"])
    assert result["latency_ms"] == pytest.approx(sum(op["latency_ms"] for op in result["ops"]), rel=1e-4)
