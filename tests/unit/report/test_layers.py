"""The chosen model layer by layer, on a real MLPerf Tiny model: per-operator costs, the arena over
time from the planner's buffer lifetimes, and the operator that sets the memory peak."""

from __future__ import annotations

import pytest

from edgeforge.cost.arena import estimate_arena, planned_buffers
from edgeforge.cost.graph import read_graph
from edgeforge.report.layers import chosen_model_layers
from edgeforge.spec.presets import load_preset
from tests.conftest import MLPERF_TINY, REPO

KWS_INT8 = MLPERF_TINY / "kws_ref_model.tflite"
pytestmark = pytest.mark.skipif(not KWS_INT8.is_file(), reason=f"{KWS_INT8} not vendored")


@pytest.fixture(scope="module")
def layers():
    return chosen_model_layers(KWS_INT8, load_preset("stm32f746_disco", REPO / "specs"), "tflite-micro")


def test_layers_give_every_operator_its_costs(layers):
    graph = read_graph(KWS_INT8)
    assert [op["type"] for op in layers["ops"]] == [op.type for op in graph.operators]
    assert sum(op["macs"] for op in layers["ops"]) > 2_000_000  # DS-CNN: ~2.7M MACs
    assert all({"params", "output_bytes", "latency_ms", "live_bytes"} <= set(op) for op in layers["ops"])


def test_live_bytes_hold_each_operator_inputs_and_outputs(layers):
    graph = read_graph(KWS_INT8)
    for op, row in zip(graph.operators, layers["ops"]):
        touched = {i for i in (*op.inputs, *op.outputs) if i >= 0 and not graph.tensors[i].is_constant}
        assert row["live_bytes"] >= sum(graph.tensors[i].size_bytes for i in touched)


def test_the_peak_operator_has_the_most_live_bytes_and_no_plan_is_smaller(layers):
    arena = layers["arena"]
    peaks = [op for op in layers["ops"] if op["peak"]]
    assert len(peaks) == 1 and peaks[0]["index"] == arena["peak_op"]
    assert peaks[0]["live_bytes"] == max(op["live_bytes"] for op in layers["ops"]) == arena["peak_live_bytes"]
    graph = read_graph(KWS_INT8)
    assert arena["peak_live_bytes"] <= estimate_arena(graph).planned_bytes <= arena["planned_bytes"] + 16
    assert arena["edgeforge_bytes"] is None or arena["edgeforge_bytes"] >= arena["peak_live_bytes"]
    assert arena["arena_source"].startswith("measured")
    assert len(arena["timeline"]) == len(graph.operators) and len(planned_buffers(graph)) > len(graph.operators)


def test_layers_come_back_from_the_memo_as_they_were_profiled(layers, tmp_path, monkeypatch):
    import edgeforge.report.layers as module

    device = load_preset("stm32f746_disco", REPO / "specs")
    first = chosen_model_layers(KWS_INT8, device, "tflite-micro", tmp_path)
    assert first == layers  # what the report shows does not depend on the memo

    def no_profile(*args):
        raise AssertionError("profiled again although the same model, device and runtime were costed before")

    monkeypatch.setattr(module, "_profile_layers", no_profile)
    assert chosen_model_layers(KWS_INT8, device, "tflite-micro", tmp_path) == layers
    other = load_preset("nrf5340_dk", REPO / "specs")  # another device: profiled, not the memo's figures
    with pytest.raises(AssertionError, match="profiled again"):
        chosen_model_layers(KWS_INT8, other, "tflite-micro", tmp_path)
