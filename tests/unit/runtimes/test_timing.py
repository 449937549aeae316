"""Latency measured in the real runtimes when the device is this machine."""

from __future__ import annotations

import time

import numpy as np
import pytest

from edgeforge.runtimes import get_runtime
from edgeforge.runtimes.timing import is_this_machine, machine_fingerprint, measure_latency
from edgeforge.spec.presets import load_preset
from tests.conftest import REPO

KWS = REPO / "examples" / "mlperf_tiny" / "kws_ref_model.tflite"
HOST = load_preset("x86_host", REPO / "specs")
MCU = load_preset("nucleo_l4r5zi", REPO / "specs")
here = pytest.mark.skipif(not is_this_machine(HOST), reason="x86_host describes an x86-64 build machine")


def test_measure_latency_reports_median_spread_and_machine():
    result = measure_latency(lambda: time.sleep(0.002), warmup=1, repeats=5)
    assert result["latency_source"] == "measured" and result["latency_repeats"] >= 5
    assert 1.5 <= result["latency_ms"] <= 50 and result["latency_spread_ms"] >= 0
    assert result["latency_machine"] == machine_fingerprint()


def test_an_mcu_is_never_this_machine():
    assert not is_this_machine(MCU)
    assert get_runtime("tflite").device_costs(KWS.read_bytes(), MCU) == {}
    assert get_runtime("tflite").machine_key(MCU) is None


@here
def test_litert_measures_latency_on_this_machine():
    costs = get_runtime("tflite").device_costs(KWS.read_bytes(), HOST)
    assert costs["latency_source"] == "measured" and 0 < costs["latency_ms"] < 100
    assert get_runtime("tflite").machine_key(HOST) == machine_fingerprint()


@here
def test_onnx_runtime_measures_an_onnx_model_and_leaves_a_tflite_to_the_prediction():
    import onnx
    from onnx import TensorProto, helper

    weights = helper.make_tensor("w", TensorProto.FLOAT, [64, 64], np.ones(64 * 64, np.float32))
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "matmul",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])], [weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    runtime = get_runtime("onnxruntime")
    costs = runtime.device_costs(model.SerializeToString(), HOST)
    assert costs["latency_source"] == "measured" and costs["latency_ms"] > 0
    assert runtime.device_costs(KWS.read_bytes(), HOST) == {}
    assert onnx.checker.check_model(model) is None


@here
def test_profile_on_this_machine_reports_the_measurement_and_the_prediction():
    from edgeforge.cost.profile import profile_model

    result = profile_model(KWS, HOST, "tflite")
    assert result["latency_source"] == "measured"
    assert result["latency_predicted_ms"] > 0 and result["latency_machine"] == machine_fingerprint()
