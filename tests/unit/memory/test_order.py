import itertools
import random

import pytest

from edgeforge.cost.arena import live_peak_bytes, planned_buffers
from edgeforge.cost.graph import read_graph
from edgeforge.memory.order import Dataflow, search_order
from tests.conftest import MLPERF_TINY
from tests.unit.memory.synthetic import graph_of

# x -> big_a -> a;  x -> big_b -> b;  y = a + b, stored breadth first (both big tensors at once).
BRANCHES = graph_of(
    {0: 16, 1: 1024, 2: 1024, 3: 16, 4: 16, 5: 16},
    [((0,), (1,)), ((0,), (2,)), ((1,), (3,)), ((2,), (4,)), ((3, 4), (5,))],
)


def all_orders(flow: Dataflow):
    for order in itertools.permutations(range(flow.op_count)):
        if flow.is_valid(order):
            yield order


def random_dag(rng: random.Random, ops: int):
    """A random dataflow graph: each op reads one or two earlier tensors and writes one."""
    sizes = {0: rng.choice([16, 64, 256])}
    spec = []
    for k in range(ops):
        reads = tuple(sorted(set(rng.sample(range(len(sizes)), k=min(len(sizes), rng.choice([1, 2]))))))
        sizes[len(sizes)] = rng.choice([16, 32, 64, 128, 512, 1024])
        spec.append((reads, (len(sizes) - 1,)))
    unread = [t for t in sizes if t and not any(t in reads for reads, _ in spec)]
    return graph_of(sizes, spec, outputs=unread)


def test_search_order_runs_each_branch_to_its_end_when_that_lowers_the_peak():
    found = search_order(BRANCHES)

    assert found.order == (0, 2, 1, 3, 4)
    assert found.stored_peak_bytes == 16 + 1024 + 1024
    assert found.peak_bytes == 1024 + 16 + 16
    assert found.exact and found.changed


def test_search_order_matches_brute_force_on_random_graphs():
    rng = random.Random(0)
    for _ in range(30):
        graph = random_dag(rng, rng.randint(3, 7))
        flow = Dataflow(graph)
        best = min(flow.peak_of(order) for order in all_orders(flow))

        found = search_order(graph)

        assert flow.is_valid(found.order)
        assert found.peak_bytes == best == flow.peak_of(found.order)


def test_search_order_peak_is_the_live_peak_of_tflm_lifetimes():
    for name in ("vww_96_int8.tflite", "pretrainedResnet_quant.tflite", "kws_ref_model.tflite"):
        graph = read_graph(MLPERF_TINY / name)
        found = search_order(graph)

        assert found.peak_bytes == live_peak_bytes(planned_buffers(graph, list(found.order)))


def test_search_order_keeps_the_stored_order_when_nothing_is_lower():
    graph = read_graph(MLPERF_TINY / "pretrainedResnet_quant.tflite")  # residual blocks: every order peaks the same

    found = search_order(graph)

    assert not found.changed and found.exact
    assert found.peak_bytes == found.stored_peak_bytes


def test_search_order_beam_is_valid_and_never_worse_than_stored_when_states_are_cut():
    rng = random.Random(1)
    for _ in range(10):
        graph = random_dag(rng, 7)
        flow = Dataflow(graph)

        found = search_order(graph, max_states=1, min_beam_width=2)

        assert flow.is_valid(found.order)
        assert found.peak_bytes <= found.stored_peak_bytes


def test_search_order_reports_a_cut_search_as_not_exact():
    wide = graph_of({0: 16, **{i: 16 * i for i in range(1, 9)}}, [((0,), (i,)) for i in range(1, 9)])

    assert search_order(wide).exact
    assert not search_order(wide, max_states=4, min_beam_width=4).exact


def test_operators_touching_a_variable_tensor_keep_their_stored_order():
    # Ops 0 and 2 both read the variable tensor 6: whatever the sizes, 0 runs before 2.
    graph = graph_of(
        {0: 16, 1: 1024, 2: 16, 3: 16, 4: 16, 5: 16, 6: 16},
        [((0, 6), (1,)), ((1,), (2,)), ((0, 6), (3,)), ((2, 3), (5,))],
        variables=(6,),
    )
    flow = Dataflow(graph)

    assert flow.predecessors[2] & 1  # op 2 waits for op 0
    found = search_order(graph)
    assert found.order.index(0) < found.order.index(2)
    assert found.peak_bytes == min(flow.peak_of(order) for order in all_orders(flow))


@pytest.mark.parametrize("name", ["vww_96_int8.tflite", "ad01_int8.tflite"])
def test_sequential_models_have_one_order(name):
    graph = read_graph(MLPERF_TINY / name)

    found = search_order(graph)

    assert found.states == len(graph.operators) + 1
    assert not found.changed
