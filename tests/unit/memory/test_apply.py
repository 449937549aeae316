"""The planner end to end, in TFLite Micro's interpreter: the issue's acceptance on MLPerf Tiny."""

import warnings

import numpy as np
import pytest

from edgeforge.cost.arena import measure_arena
from edgeforge.cost.graph import read_graph
from edgeforge.errors import BuildError, ModelFileError
from edgeforge.memory import apply
from edgeforge.memory.apply import apply_memory_plan
from edgeforge.memory.check import PlanCheck, check_plan
from edgeforge.memory.planner import MemoryPlan, plan_memory
from edgeforge.memory.verify import RANDOM_SAMPLES, compare_outputs, verification_inputs
from edgeforge.memory.writer import ONLINE, read_plan, write_plan
from tests.conftest import MLPERF_TINY
from tests.unit.memory.synthetic import branching_model

# Every MLPerf Tiny reference model TFLite Micro can run (kws_ref_model_float32 is hybrid).
MLPERF_TFLM_MODELS = [
    "ad01_fp32.tflite", "ad01_int8.tflite", "kws_ref_model.tflite", "pretrainedResnet.tflite",
    "pretrainedResnet_quant.tflite", "str_ww_ref_model.tflite", "vww_96_float.tflite", "vww_96_int8.tflite",
]


@pytest.mark.parametrize("name", MLPERF_TFLM_MODELS)
def test_plan_never_takes_more_arena_than_tflite_micro_and_its_head_is_within_1_percent_of_the_bound(name):
    outcome = apply_memory_plan((MLPERF_TINY / name).read_bytes())

    print(f"{name}: default {outcome.default.total_bytes} B, planned {outcome.shipped.total_bytes} B, "
          f"head {outcome.shipped.planned_bytes} B vs bound {outcome.lower_bound_head_bytes} B")
    assert outcome.shipped.total_bytes <= outcome.default.total_bytes
    assert outcome.shipped.planned_bytes <= 1.01 * outcome.lower_bound_head_bytes
    assert measure_arena(outcome.model_bytes) == outcome.shipped  # measured on the bytes that ship


def assert_plan_is_bit_identical(original: bytes) -> None:
    """edgeforge's plan written into `original` (whether or not it saves anything, so whether or
    not it would ship) passes the overlap check and gives bit-identical outputs on fresh inputs."""
    planned = write_plan(original, (plan := plan_memory(read_graph(original))).order, plan.offsets)
    shape = verification_inputs(original)[0][1][0].shape[1:]
    held_out = np.random.default_rng(12345).uniform(-1, 1, size=(8, *shape)).astype(np.float32)

    assert check_plan(planned).ok
    assert compare_outputs(original, planned, verification_inputs(original, held_out)) is None


@pytest.mark.parametrize("name", MLPERF_TFLM_MODELS)
def test_planned_model_gives_bit_identical_outputs_to_the_unplanned_one(name):
    original = (MLPERF_TINY / name).read_bytes()
    outcome = apply_memory_plan(original)

    assert_plan_is_bit_identical(original)
    if outcome.kept:
        assert compare_outputs(original, outcome.model_bytes, verification_inputs(original)) is None
    else:
        assert outcome.model_bytes == original


@pytest.mark.slow
def test_default_build_candidates_are_never_above_tflm_and_their_plans_are_bit_identical():
    """The default spec's model at each searched width, in each PTQ mode TFLite Micro runs (the
    arena depends on the graph, not on trained weights)."""
    from edgeforge.data import load_dataset
    from edgeforge.models import build_model
    from edgeforge.passes.ptq import PostTrainingQuantization
    from edgeforge.runtimes import RUNTIMES
    from edgeforge.spec.compose import compose_spec
    from edgeforge.tfcompat import seed_everything
    from tests.conftest import REPO

    spec, _ = compose_spec(REPO / "specs")
    x, y = load_dataset(spec.dataset, root=REPO)
    checked = 0
    for width in spec.search.space.width:
        seed_everything(0)
        model = build_model(spec.model.name, x.shape[1:], int(y.max()) + 1, width=width)
        for mode in RUNTIMES["tflite-micro"].quantization_modes:
            original = PostTrainingQuantization({"mode": mode}).convert(model, x[:100])
            outcome = apply_memory_plan(original)
            assert outcome.shipped.total_bytes <= outcome.default.total_bytes
            assert outcome.shipped.planned_bytes <= 1.01 * outcome.lower_bound_head_bytes
            assert_plan_is_bit_identical(original)
            checked += 1
    assert checked == len(spec.search.space.width) * 3


def test_vww_int8_arena_is_at_least_15_percent_below_tflite_micros_own():
    outcome = apply_memory_plan((MLPERF_TINY / "vww_96_int8.tflite").read_bytes())

    assert outcome.kept
    assert outcome.shipped.total_bytes <= 0.85 * outcome.default.total_bytes
    assert outcome.shipped.persistent_bytes == outcome.default.persistent_bytes  # the plan only moves the head


def test_reordered_branching_model_is_kept_verified_and_smaller():
    model = branching_model()

    outcome = apply_memory_plan(model)

    assert outcome.kept and outcome.plan.order_changed
    assert outcome.shipped.planned_bytes == outcome.lower_bound_head_bytes == 1120 < outcome.default.planned_bytes == 2144
    assert outcome.samples > 0
    assert outcome.summary()["order_changed"] is True


def test_held_out_samples_are_part_of_the_verification():
    x = np.random.default_rng(0).standard_normal((5, 1, 8)).astype(np.float32)

    outcome = apply_memory_plan(branching_model(), held_out=x)

    assert outcome.kept and outcome.samples == 5 + RANDOM_SAMPLES


def test_variable_tensors_stay_with_tflite_micro_and_keep_their_state():
    model = branching_model(variable_state=True)

    outcome = apply_memory_plan(model)

    assert outcome.kept
    words = read_plan(outcome.model_bytes)
    assert words[3 + 11] == ONLINE  # the state lives in TFLM's persistent tail
    assert check_plan(outcome.model_bytes).ok


def test_a_model_with_control_flow_subgraphs_is_refused_with_the_reason():
    model = branching_model(subgraphs=2)

    outcome = apply_memory_plan(model)

    assert not outcome.kept and outcome.model_bytes == model
    assert outcome.reason.startswith("not planned: the model has 2 subgraphs (control flow")
    assert outcome.shipped == outcome.default


def test_a_model_that_already_holds_a_plan_is_checked_and_not_planned_again():
    planned = apply_memory_plan((MLPERF_TINY / "vww_96_int8.tflite").read_bytes())

    again = apply_memory_plan(planned.model_bytes)

    assert again.preplanned and again.kept and again.model_bytes == planned.model_bytes
    assert again.shipped == planned.shipped
    assert again.default.total_bytes == planned.default.total_bytes  # TFLM's own plan of the same order


def test_a_model_whose_own_plan_overlaps_is_reported_with_a_warning():
    broken = write_plan(branching_model(), (0, 2, 1, 3, 4), {8: 0, 9: 0})

    with pytest.warns(UserWarning, match="the model's own offline memory plan is wrong: tensors 8 \\(a\\)"):
        outcome = apply_memory_plan(broken)

    assert outcome.preplanned and not outcome.kept
    assert outcome.reason.startswith("the model's own plan is wrong")
    assert read_plan(outcome.model_bytes) is None and outcome.shipped == outcome.default  # ships without it


def test_a_model_whose_plan_metadata_tflite_micro_would_refuse_is_refused_naming_the_fix():
    from edgeforge.cost.graph import _schema
    from edgeforge.memory.writer import pack_model

    model = _schema().ModelT.InitFromPackedBuf(bytearray(write_plan(branching_model(), range(5), {3: 0})), 0)
    (entry,) = [m for m in model.metadata if m.name == b"OfflineMemoryAllocation"]
    model.buffers[entry.buffer].data = np.array([1, 1, 3, 0, -1, -1], dtype="<i4").view(np.uint8)

    with pytest.raises(ModelFileError, match="lists 3 offsets in 6 words for 11 tensors; TFLite Micro refuses such a model: remove"):
        apply_memory_plan(pack_model(model))


def test_a_plan_that_fails_the_overlap_check_is_discarded_with_a_warning(monkeypatch):
    model = branching_model()
    real = apply.plan_memory

    def overlapping(graph) -> MemoryPlan:
        plan = real(graph)
        return MemoryPlan(**{**plan.__dict__, "offsets": {index: 0 for index in plan.offsets}})

    monkeypatch.setattr(apply, "plan_memory", overlapping)
    monkeypatch.setattr(apply, "_outcomes", {}.__class__())  # nothing cached from other tests

    with pytest.warns(UserWarning, match="offline memory plan discarded: tensors"):
        outcome = apply_memory_plan(model)

    assert not outcome.kept and outcome.model_bytes == model
    assert outcome.shipped == outcome.default


def test_a_plan_whose_outputs_differ_is_discarded_with_a_warning(monkeypatch):
    model = branching_model()
    monkeypatch.setattr(apply, "_outcomes", {}.__class__())
    monkeypatch.setattr(apply, "check_plan", lambda planned: PlanCheck(planned=True))  # pretend the overlap check passed
    real = apply.plan_memory
    monkeypatch.setattr(apply, "plan_memory", lambda graph: MemoryPlan(**{**real(graph).__dict__, "offsets": {8: 0, 9: 0}}))

    with pytest.warns(UserWarning, match="discarded: output 0 differs"):
        outcome = apply_memory_plan(model)

    assert not outcome.kept


def test_a_model_tflite_micro_cannot_run_raises_build_error():
    with pytest.raises(BuildError, match="TFLite Micro cannot run this model: dynamic-range"):
        apply_memory_plan((MLPERF_TINY / "kws_ref_model_float32.tflite").read_bytes())


def test_outcomes_are_cached_per_model_and_inputs():
    model = branching_model()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert apply_memory_plan(model) is apply_memory_plan(model)
