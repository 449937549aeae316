"""`edgeforge profile`: the JSON contract, device limits and spec targets, and bad input."""

from __future__ import annotations

import json

import pytest

from edgeforge.cli import main
from tests.conftest import MLPERF_TINY

KWS_INT8 = MLPERF_TINY / "kws_ref_model.tflite"
REQUIRED_KEYS = {
    "model", "device", "runtime", "params", "macs", "model_bytes", "flash_bytes", "arena_bytes",
    "arena_source", "arena_estimate_bytes", "latency_ms", "energy_mj", "ops", "fits",
    "arena_default_bytes", "arena_planned_bytes", "arena_lower_bound_bytes",
}
OP_KEYS = {"index", "type", "dtype", "macs", "output_bytes", "latency_ms"}


def profile_json(capsys, *argv) -> dict:
    assert main(["profile", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_profile_json_has_every_documented_field(tmp_project, capsys):
    result = profile_json(capsys, str(KWS_INT8), "--device", "stm32f746_disco")
    assert REQUIRED_KEYS <= set(result)
    assert result["arena_source"] == "measured"
    assert all(OP_KEYS <= set(op) for op in result["ops"])
    assert result["macs"] == sum(op["macs"] for op in result["ops"])
    assert result["latency_ms"] == pytest.approx(sum(op["latency_ms"] for op in result["ops"]), rel=1e-3)
    assert set(result["fits"]) == {"ram_kb", "flash_kb"}  # the device's own limits
    assert result["fits"]["ram_kb"]["limit"] == 320


def test_profile_litert_reports_the_arena_estimate(tmp_project, capsys):
    result = profile_json(capsys, str(KWS_INT8), "--device", "raspberry_pi_4")
    assert result["arena_source"] == "estimated"
    assert result["arena_bytes"] == result["arena_estimate_bytes"]


def test_profile_average_power_at_an_inference_rate(tmp_project, capsys):
    result = profile_json(capsys, str(KWS_INT8), "--device", "stm32f746_disco", "--inference-hz", "1")
    assert result["energy_mj"] > 0
    assert "avg_power_mw" in result


def test_profile_checks_a_spec_targets_constraints(tmp_project, capsys):
    tmp_project.edit("specs/config.yaml", {"targets.mcu.constraints.ram_kb": 8})
    result = profile_json(capsys, str(KWS_INT8), "--device", "stm32f746_disco", "--target", "mcu")
    # ram_kb judges what the application reserves: the measured arena plus TFLite Micro's margin
    assert result["ram_bytes"] > result["arena_bytes"]
    assert result["fits"]["ram_kb"] == {"limit": 8.0, "value": pytest.approx(result["ram_bytes"] / 1024, abs=0.01), "ok": False}
    assert "latency_ms" in result["fits"]


def test_profile_table_names_ops(tmp_project, capsys):
    assert main(["profile", str(KWS_INT8), "--device", "stm32f746_disco"]) == 0
    out = capsys.readouterr().out
    assert "DEPTHWISE_CONV_2D" in out and "arena RAM (measured)" in out


def test_profile_rejects_a_file_that_is_not_tflite(tmp_path, capsys):
    bogus = tmp_path / "notes.tflite"
    bogus.write_text("not a model")
    assert main(["profile", str(bogus), "--device", "stm32f746_disco"]) == 2
    err = capsys.readouterr().err
    assert "notes.tflite" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_profile_rejects_a_truncated_model(tmp_path, capsys):
    truncated = tmp_path / "half.tflite"
    truncated.write_bytes(KWS_INT8.read_bytes()[:4000])
    assert main(["profile", str(truncated), "--device", "stm32f746_disco"]) == 2
    assert "half.tflite" in capsys.readouterr().err


def test_profile_missing_file(tmp_path, capsys):
    assert main(["profile", str(tmp_path / "absent.tflite"), "--device", "stm32f746_disco"]) == 2
    assert "absent.tflite" in capsys.readouterr().err


def test_profile_unknown_device_suggests_nearest(capsys):
    assert main(["profile", str(KWS_INT8), "--device", "stm32f746"]) == 2
    err = capsys.readouterr().err
    assert "unknown device 'stm32f746'" in err and "did you mean 'stm32f746_disco'?" in err


def test_profile_runtime_the_device_lacks(capsys):
    assert main(["profile", str(KWS_INT8), "--device", "stm32f746_disco", "--runtime", "onnxruntime"]) == 2
    assert "stm32f746_disco has no runtime 'onnxruntime'; choose one of: tflite-micro" in capsys.readouterr().err


@pytest.mark.slow
def test_profile_warns_about_an_op_the_latency_model_does_not_know(tmp_path, capsys):
    from edgeforge.tfcompat import import_tf

    tf, _ = import_tf()

    @tf.function(input_signature=[tf.TensorSpec([1, 16], tf.float32)])
    def odd(x):
        return tf.math.cumsum(tf.sin(x), axis=1)

    converter = tf.lite.TFLiteConverter.from_concrete_functions([odd.get_concrete_function()], odd)
    path = tmp_path / "odd.tflite"
    path.write_bytes(converter.convert())
    assert main(["profile", str(path), "--device", "raspberry_pi_4", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["latency_ms"] > 0
    assert "warning:" in captured.err and ("SIN" in captured.err or "CUMSUM" in captured.err)


VWW_INT8 = MLPERF_TINY / "vww_96_int8.tflite"


def test_profile_json_gives_tflm_default_edgeforge_plan_and_lower_bound(tmp_project, capsys):
    result = profile_json(capsys, str(VWW_INT8), "--device", "stm32f746_disco")

    assert result["arena_bytes"] == result["arena_planned_bytes"]  # the offline plan counts by default
    assert result["arena_plan"] == "offline"
    assert result["arena_planned_bytes"] <= 0.85 * result["arena_default_bytes"]
    assert result["arena_lower_bound_bytes"] <= result["arena_planned_bytes"]
    assert result["memory_plan"]["kept"] is True


def test_profile_memory_plan_tflm_counts_tflite_micros_own_arena(tmp_project, capsys):
    result = profile_json(capsys, str(VWW_INT8), "--device", "stm32f746_disco", "--memory-plan", "tflm")

    assert result["arena_bytes"] == result["arena_default_bytes"] > result["arena_planned_bytes"]
    assert result["arena_plan"] == "tflm"


def test_profile_takes_the_memory_plan_of_a_spec_target(tmp_project, capsys):
    tmp_project.edit("specs/config.yaml", {"targets.mcu.memory_plan": "tflm"})

    result = profile_json(capsys, str(VWW_INT8), "--device", "stm32f746_disco", "--target", "mcu")

    assert result["arena_bytes"] == result["arena_default_bytes"]


def test_profile_table_shows_the_arena_plans_side_by_side(tmp_project, capsys):
    assert main(["profile", str(VWW_INT8), "--device", "stm32f746_disco"]) == 0
    out = capsys.readouterr().out
    assert "TFLite Micro's plan" in out and "edgeforge plan" in out and "lower bound" in out
    assert "arena RAM (measured, offline plan)" in out and "17.8% less arena" in out


def test_profile_of_a_runtime_without_an_offline_plan_has_null_plan_figures(tmp_project, capsys):
    result = profile_json(capsys, str(KWS_INT8), "--device", "raspberry_pi_4")
    assert result["arena_default_bytes"] is result["arena_planned_bytes"] is result["arena_lower_bound_bytes"] is None


def test_profile_flash_counts_the_planned_file_when_its_plan_counts(tmp_project, capsys):
    planned = profile_json(capsys, str(VWW_INT8), "--device", "stm32f746_disco")
    tflm = profile_json(capsys, str(VWW_INT8), "--device", "stm32f746_disco", "--memory-plan", "tflm")

    assert planned["flash_bytes"] - tflm["flash_bytes"] == planned["memory_plan"]["model_bytes"] - planned["model_bytes"] > 0
