import os
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from edgeforge.cost.arena import (
    PlannedBuffer,
    arena_under_plan,
    estimate_arena,
    estimate_arena_bytes,
    measure_arena,
    measure_arena_bytes,
    greedy_offsets,
    live_peak_bytes,
    plan_greedy,
    planned_buffers,
)
from edgeforge.cost.graph import read_graph
from edgeforge.errors import BuildError, ModelFileError
from tests.conftest import MLPERF_TINY

os.environ["TF_USE_LEGACY_KERAS"] = "1"  # tf_keras, before TensorFlow is first imported

# Every MLPerf Tiny reference model TFLite Micro can run (kws_ref_model_float32 is hybrid).
MLPERF_TFLM_MODELS = [
    "ad01_fp32.tflite", "ad01_int8.tflite", "kws_ref_model.tflite", "pretrainedResnet.tflite",
    "pretrainedResnet_quant.tflite", "str_ww_ref_model.tflite", "vww_96_float.tflite", "vww_96_int8.tflite",
]


def _mlperf(name: str) -> Path:
    path = MLPERF_TINY / name
    return path


# --- the planner on its own ----------------------------------------------------------------


def test_plan_greedy_overlays_buffers_that_are_never_alive_together():
    buffers = [
        PlannedBuffer(size_bytes=1024, first_used=0, last_used=1),  # model input
        PlannedBuffer(size_bytes=512, first_used=1, last_used=2),
        PlannedBuffer(size_bytes=1024, first_used=2, last_used=3),  # reuses the input's bytes
    ]

    assert plan_greedy(buffers) == 1024 + 512


def test_plan_greedy_fills_a_gap_between_live_buffers():
    buffers = [
        PlannedBuffer(size_bytes=256, first_used=0, last_used=4),
        PlannedBuffer(size_bytes=256, first_used=0, last_used=1),  # freed after scope 1
        PlannedBuffer(size_bytes=256, first_used=1, last_used=4),
        PlannedBuffer(size_bytes=128, first_used=3, last_used=4),  # fits where the second was
    ]

    assert plan_greedy(buffers) == 3 * 256


def test_plan_greedy_is_zero_without_buffers():
    assert plan_greedy([]) == 0


def test_greedy_offsets_are_the_layout_whose_peak_plan_greedy_reports():
    buffers = planned_buffers(read_graph(_mlperf("vww_96_int8.tflite")))
    offsets = greedy_offsets(buffers)

    assert max(o + b.size_bytes for o, b in zip(offsets, buffers)) == plan_greedy(buffers) == 73728


def test_live_peak_bytes_is_the_most_bytes_alive_in_one_scope():
    buffers = [PlannedBuffer(1024, 0, 1), PlannedBuffer(512, 1, 2), PlannedBuffer(256, 2, 3), PlannedBuffer(16, 3, 3)]

    assert live_peak_bytes(buffers) == 1024 + 512
    assert live_peak_bytes([]) == 0


def test_planned_buffers_follow_a_given_operator_order():
    graph = read_graph(_mlperf("pretrainedResnet_quant.tflite"))
    order = [0, 1, 2, 3, 6, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15]  # a residual block's shortcut conv first

    stored = {b.tensor: (b.first_used, b.last_used) for b in planned_buffers(graph) if b.tensor is not None}
    moved = {b.tensor: (b.first_used, b.last_used) for b in planned_buffers(graph, order) if b.tensor is not None}

    assert stored[28] == (7, 8) and moved[28] == (5, 8)  # CONV_2D #6's output: made at scope 5 when it runs fifth
    assert stored[25] == (4, 7) and moved[25] == (4, 6)  # op 3's output: its last reader (op 4) now runs sixth
    assert planned_buffers(graph, list(range(16))) == planned_buffers(graph)


def test_arena_under_plan_picks_the_figure_of_the_memory_plan():
    costs = {"arena_bytes": 100, "arena_default_bytes": 100, "arena_planned_bytes": 80}

    assert arena_under_plan(costs, "offline") == 80
    assert arena_under_plan(costs, "tflm") == 100
    assert arena_under_plan({"arena_bytes": 90}, "offline") == 90  # a runtime without an offline plan
    assert arena_under_plan({}, "offline") is None


# --- estimate against the real allocator ---------------------------------------------------


@pytest.mark.parametrize("name", MLPERF_TFLM_MODELS)
def test_estimate_arena_replays_the_memory_plan_of_mlperf_tiny_models_exactly(name):
    path = _mlperf(name)

    assert estimate_arena(read_graph(path)).planned_bytes == measure_arena(path).planned_bytes


@pytest.mark.parametrize("name", MLPERF_TFLM_MODELS)
def test_estimate_arena_bytes_is_within_10_percent_of_measured_for_mlperf_tiny_models(name):
    path = _mlperf(name)
    estimated, measured = estimate_arena_bytes(read_graph(path)), measure_arena_bytes(path)

    print(f"{name}: estimated {estimated} B, measured {measured} B ({estimated / measured - 1:+.2%})")
    assert estimated == pytest.approx(measured, rel=0.10)


@pytest.mark.parametrize("architecture", ["cnn", "ds_cnn"])
@pytest.mark.parametrize("mode", ["float32", "int8", "int16x8"])
def test_estimate_arena_bytes_is_within_10_percent_of_measured_for_generated_models(architecture, mode):
    model = _converted(architecture, mode)
    estimated, measured = estimate_arena_bytes(read_graph(model)), measure_arena_bytes(model)

    print(f"{architecture} {mode}: estimated {estimated} B, measured {measured} B ({estimated / measured - 1:+.2%})")
    assert estimated == pytest.approx(measured, rel=0.10)


# --- measurement ---------------------------------------------------------------------------


def test_measure_arena_bytes_is_head_plus_tail_and_keeps_the_report_off_stderr(capfd):
    path = _mlperf("kws_ref_model.tflite")
    usage = measure_arena(path)

    assert measure_arena_bytes(path.read_bytes()) == usage.total_bytes == usage.planned_bytes + usage.persistent_bytes
    assert usage.planned_bytes == 2 * 25 * 5 * 64  # two 25x5x64 int8 activations at the peak
    assert "RecordingMicroAllocator" not in capfd.readouterr().err


def test_measure_arena_raises_build_error_when_mlperf_kws_float_model_is_hybrid():
    path = _mlperf("kws_ref_model_float32.tflite")

    with pytest.raises(BuildError, match="TFLite Micro cannot run this model: dynamic-range"):
        measure_arena_bytes(path)


@pytest.mark.parametrize(("mode", "reason"), [("float16", "float16 weights"), ("dynamic", "dynamic-range")])
def test_measure_arena_raises_build_error_when_tflm_cannot_run_the_model(mode, reason):
    with pytest.raises(BuildError, match=f"TFLite Micro cannot run this model: {reason}"):
        measure_arena_bytes(_converted("cnn", mode))


def test_measure_arena_raises_model_file_error_when_file_is_missing(tmp_path):
    with pytest.raises(ModelFileError, match="missing.tflite: model file not found"):
        measure_arena_bytes(tmp_path / "missing.tflite")


# --- generated models ----------------------------------------------------------------------


@cache
def _converted(architecture: str, mode: str) -> bytes:
    """A small CNN or DS-CNN converted with one of the PTQ modes edgeforge uses."""
    import tensorflow as tf

    model = _cnn() if architecture == "cnn" else _ds_cnn()
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if mode != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif mode in ("int8", "int16x8"):
        rng = np.random.default_rng(0)
        shape = tuple(model.input.shape)
        converter.representative_dataset = lambda: ([rng.standard_normal(shape).astype(np.float32)] for _ in range(8))
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.TFLITE_BUILTINS_INT8
            if mode == "int8"
            else tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        ]
    with warnings.catch_warnings():  # TensorFlow's own note about float model inputs
        warnings.filterwarnings("ignore", "Statistics for quantized inputs", UserWarning)
        return converter.convert()


def _cnn():
    from tf_keras import Input, Model, layers

    x = Input((28, 28, 1), batch_size=1)
    y = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
    y = layers.MaxPooling2D(2)(y)
    y = layers.Conv2D(16, 3, padding="same", activation="relu")(y)
    y = layers.GlobalAveragePooling2D()(y)  # MEAN, with its scratch buffers
    y = layers.Dense(10)(y)
    return Model(x, layers.Softmax()(y))


def _ds_cnn():
    from tf_keras import Input, Model, layers

    x = Input((49, 10, 1), batch_size=1)
    y = layers.Conv2D(32, (10, 4), strides=2, padding="same", activation="relu")(x)
    for _ in range(2):
        y = layers.DepthwiseConv2D(3, padding="same", activation="relu")(y)
        y = layers.Conv2D(32, 1, activation="relu")(y)
    y = layers.AveragePooling2D((25, 5))(y)
    y = layers.Flatten()(y)
    y = layers.Dense(12)(y)
    return Model(x, layers.Softmax()(y))
