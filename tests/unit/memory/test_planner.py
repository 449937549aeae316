import dataclasses

from edgeforge.cost.arena import live_peak_bytes, plan_greedy, planned_buffers
from edgeforge.cost.graph import read_graph
from edgeforge.memory.packing import check_no_overlap
from edgeforge.memory.planner import plan_memory, plan_refusal
from tests.conftest import MLPERF_TINY
from tests.unit.memory.synthetic import branching_model, graph_of


def test_plan_memory_reorders_and_packs_the_branching_model_down_to_its_bound():
    graph = read_graph(branching_model())

    plan = plan_memory(graph)

    assert plan.order == (0, 2, 1, 3, 4) and plan.order_changed and plan.order_exact
    assert plan.default_head_bytes == plan_greedy(planned_buffers(graph)) == 2144
    assert plan.head_bytes == plan.lower_bound_bytes == 1120 < plan.stored_lower_bound_bytes
    assert set(plan.offsets) == {0, 3, 4, 8, 9, 10}  # activations only: no constants


def test_plan_memory_offsets_never_overlap_and_are_16_aligned_on_mlperf_models():
    for name in ("vww_96_int8.tflite", "vww_96_float.tflite", "pretrainedResnet_quant.tflite", "str_ww_ref_model.tflite"):
        graph = read_graph(MLPERF_TINY / name)
        plan = plan_memory(graph)
        buffers = [b for b in planned_buffers(graph, list(plan.order)) if b.tensor is not None]

        assert check_no_overlap(buffers, [plan.offsets[b.tensor] for b in buffers]) == [], name
        assert all(offset % 16 == 0 for offset in plan.offsets.values())
        assert plan.lower_bound_bytes == live_peak_bytes(planned_buffers(graph, list(plan.order)))
        assert plan.head_bytes <= plan.default_head_bytes


def test_plan_refusal_names_control_flow_subgraphs():
    reason = plan_refusal(read_graph(branching_model(subgraphs=2)))

    assert reason.startswith("the model has 2 subgraphs (control flow")


def test_plan_refusal_names_a_model_tflite_micro_cannot_run():
    reason = plan_refusal(read_graph(MLPERF_TINY / "kws_ref_model_float32.tflite"))

    assert reason.startswith("TFLite Micro cannot run this model: dynamic-range (hybrid) quantization")


def test_plan_refusal_names_a_tensor_nothing_writes():
    graph = graph_of({0: 16, 1: 16, 2: 16}, [((0, 1), (2,))])  # tensor 1 is neither an input nor written

    assert "reads tensor 1 (t1), which nothing writes" in plan_refusal(graph)


def test_plan_refusal_names_weights_outside_the_flatbuffer_and_empty_models():
    graph = read_graph(branching_model())

    assert "outside the flatbuffer" in plan_refusal(graph, external_buffers=True)
    assert plan_refusal(dataclasses.replace(graph, operators=())) == "the model has no operators"
    assert plan_refusal(graph) is None
