import numpy as np

from edgeforge.memory.verify import HELD_OUT_SAMPLES, RANDOM_SAMPLES, compare_outputs, verification_inputs
from edgeforge.memory.writer import write_plan
from tests.conftest import MLPERF_TINY
from tests.unit.memory.synthetic import branching_model

KWS_INT8 = MLPERF_TINY / "kws_ref_model.tflite"


def test_compare_outputs_passes_a_correct_plan():
    model = branching_model()
    planned = write_plan(model, (0, 2, 1, 3, 4), {3: 0, 8: 1056, 4: 0, 9: 1088, 0: 1120, 10: 1056 + 96})

    assert compare_outputs(model, planned, verification_inputs(model)) is None


def test_tflite_micro_runs_an_overlapping_plan_without_complaint_and_gets_wrong_outputs():
    # Why every plan is checked: a and b share bytes while both are alive, and TFLM never notices.
    model = branching_model()
    broken = write_plan(model, (0, 2, 1, 3, 4), {8: 0, 9: 0})

    difference = compare_outputs(model, broken, verification_inputs(model))

    assert difference is not None and difference.startswith("output 0 differs on random input 0")


def test_verification_inputs_quantize_held_out_samples_and_add_random_ones():
    held_out = np.random.default_rng(0).standard_normal((40, 49, 10, 1)).astype(np.float32)

    samples = verification_inputs(KWS_INT8.read_bytes(), held_out)

    assert len(samples) == HELD_OUT_SAMPLES + RANDOM_SAMPLES
    name, (first,) = samples[0]
    assert name == "held-out sample 0" and first.dtype == np.int8 and first.shape == (1, 49, 10, 1)
    assert samples[-1][0] == f"random input {RANDOM_SAMPLES - 1}"


def test_verification_inputs_skip_held_out_data_of_another_shape():
    samples = verification_inputs(KWS_INT8.read_bytes(), np.zeros((5, 8, 8, 1), np.float32))

    assert [name for name, _ in samples] == [f"random input {k}" for k in range(RANDOM_SAMPLES)]
