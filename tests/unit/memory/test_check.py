from edgeforge.memory.check import check_plan
from edgeforge.memory.writer import write_plan
from tests.conftest import MLPERF_TINY
from tests.unit.memory.synthetic import branching_model

# Tensors of the branching model: x 0, big_a 3, big_b 4, a 8, b 9, y 10 (1056 B for the big ones).
GOOD = {0: 1056, 3: 0, 8: 1056 + 32, 4: 0, 9: 1056 + 64, 10: 1056}


def test_check_plan_accepts_a_plan_whose_live_tensors_never_share_bytes():
    check = check_plan(write_plan(branching_model(), (0, 2, 1, 3, 4), GOOD))

    assert check.ok and check.problems == []
    assert check.head_bytes == 1056 + 96
    assert check.offline_tensors == 6


def test_check_plan_names_tensors_alive_together_at_overlapping_offsets():
    # In the stored order big_a is still alive while big_b is written.
    check = check_plan(write_plan(branching_model(), tuple(range(5)), GOOD))

    assert not check.ok
    assert any("tensors 3 (big_a) at [0, 1056) and 4 (big_b) at [0, 1056) share bytes" in p for p in check.problems)


def test_check_plan_flags_misaligned_offsets_and_planned_constants():
    check = check_plan(write_plan(branching_model(), (0, 2, 1, 3, 4), {**GOOD, 8: 1060, 1: 2048}))

    assert any("tensor 8 (a) has offset 1060: not a non-negative multiple of 16" in p for p in check.problems)
    assert any("tensor 1 (pads_a) is constant" in p for p in check.problems)


def test_check_plan_flags_an_offset_for_a_variable_tensor():
    check = check_plan(write_plan(branching_model(variable_state=True), tuple(range(6)), {11: 4096}))

    assert any("tensor 11 (state) is variable but has an offline offset 4096" in p for p in check.problems)


def test_check_plan_flags_an_order_that_reads_a_tensor_before_it_is_written():
    check = check_plan(write_plan(branching_model(), (2, 0, 1, 3, 4), {}))

    assert any("operator 0 reads tensor 3 (big_a) before any operator writes it" in p for p in check.problems)


def test_check_plan_of_a_model_without_a_plan():
    check = check_plan((MLPERF_TINY / "kws_ref_model.tflite").read_bytes())

    assert not check.planned and not check.ok
