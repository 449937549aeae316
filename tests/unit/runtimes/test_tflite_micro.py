"""TFLite Micro's runtime entry: the device's file carries the offline memory plan, and its costs
report TFLite Micro's own arena, edgeforge's plan and the lower bound side by side."""

from __future__ import annotations

import hashlib

import numpy as np

from edgeforge.cost.arena import estimate_arena, measure_arena
from edgeforge.memory.writer import read_plan
from edgeforge.runtimes import RUNTIMES
from edgeforge.spec.models import Target
from edgeforge.spec.presets import load_preset
from tests.conftest import MLPERF_TINY, REPO

TFLM = RUNTIMES["tflite-micro"]
VWW_INT8 = MLPERF_TINY / "vww_96_int8.tflite"
KWS_INT8 = MLPERF_TINY / "kws_ref_model.tflite"


def mcu_target(memory_plan: str = "offline") -> Target:
    device = load_preset("stm32f746_disco", REPO / "specs")
    return Target(device=device, runtime="tflite-micro", formats=["tflite", "tflm_c"], memory_plan=memory_plan)


def test_device_artifact_carries_the_verified_plan_with_memory_plan_offline():
    model = VWW_INT8.read_bytes()

    shipped = TFLM.device_artifact(model, mcu_target("offline"))

    assert read_plan(shipped) is not None
    assert measure_arena(shipped).total_bytes <= 0.85 * measure_arena(model).total_bytes


def test_device_artifact_is_the_converted_model_with_memory_plan_tflm():
    model = VWW_INT8.read_bytes()

    assert TFLM.device_artifact(model, mcu_target("tflm")) == model


def test_device_artifact_leaves_a_model_tflm_already_plans_at_its_bound_unchanged():
    model = KWS_INT8.read_bytes()

    assert TFLM.device_artifact(model, mcu_target("offline")) == model


def test_device_artifact_checks_the_plan_on_held_out_samples():
    held_out = np.random.default_rng(0).uniform(-1, 1, (3, 96, 96, 3)).astype(np.float32)
    from edgeforge.memory import apply_memory_plan

    shipped = TFLM.device_artifact(VWW_INT8.read_bytes(), mcu_target(), held_out)

    assert apply_memory_plan(VWW_INT8.read_bytes(), held_out).samples == 3 + 4
    assert read_plan(shipped) is not None


def test_device_costs_report_tflm_default_edgeforge_plan_and_lower_bound():
    model = VWW_INT8.read_bytes()

    costs = TFLM.device_costs(model, mcu_target().device)

    assert costs["arena_bytes"] == costs["arena_default_bytes"] == measure_arena(model).total_bytes  # the file as it is
    assert costs["arena_planned_bytes"] < costs["arena_default_bytes"]
    assert costs["arena_lower_bound_bytes"] <= costs["arena_planned_bytes"]
    assert costs["memory_plan"]["kept"] and costs["memory_plan"]["sha256"] == hashlib.sha256(TFLM.device_artifact(model, mcu_target())).hexdigest()


def test_device_costs_of_the_planned_file_measure_its_plan_in_place():
    shipped = TFLM.device_artifact(VWW_INT8.read_bytes(), mcu_target())

    costs = TFLM.device_costs(shipped, mcu_target().device)

    assert costs["arena_bytes"] == costs["arena_planned_bytes"] == measure_arena(shipped).total_bytes
    assert costs["memory_plan"]["preplanned"]


def test_predicted_costs_give_the_offline_plan_without_running_tflite_micro():
    model = VWW_INT8.read_bytes()
    from edgeforge.cost.graph import read_graph

    predicted = TFLM.predicted_costs(model, mcu_target().device)

    estimate = estimate_arena(read_graph(model))
    assert predicted["arena_bytes"] == estimate.total_bytes
    assert predicted["arena_planned_bytes"] == 55296 + estimate.persistent_bytes  # the live-bytes bound of VWW's head


def test_a_plan_warning_from_the_worker_process_reaches_the_caller():
    import pytest

    from edgeforge.memory.writer import write_plan
    from tests.unit.memory.synthetic import branching_model

    broken = write_plan(branching_model(), (0, 2, 1, 3, 4), {8: 0, 9: 0})  # a and b overlap while alive

    with pytest.warns(UserWarning, match="the model's own offline memory plan is wrong"):
        costs = TFLM.device_costs(broken, mcu_target().device)
    with pytest.warns(UserWarning, match="the model's own offline memory plan is wrong"):
        shipped = TFLM.device_artifact(broken, mcu_target())

    assert not costs["memory_plan"]["kept"] and costs["arena_planned_bytes"] == costs["arena_default_bytes"]
    assert read_plan(shipped) is None  # ships without the wrong plan
