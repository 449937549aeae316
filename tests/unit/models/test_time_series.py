"""1-D models end to end below the search: TFLite lowers Conv1D to EXPAND_DIMS → CONV_2D →
RESHAPE, the cost models price that graph (MACs, arena), TFLite Micro runs it, and the passes
TF-MOT cannot apply to Conv1D fail with TF-MOT's reason instead of crashing."""

from __future__ import annotations

import numpy as np
import pytest

from edgeforge.models import build_model
from tests.unit.data.synthetic import motion_windows

SHAPE = (128, 3)


@pytest.fixture(scope="module")
def motion():
    from edgeforge.data.splits import split_dataset
    from edgeforge.spec.models import Dataset

    x, names = motion_windows(per_class=20)
    y = np.unique(names, return_inverse=True)[1].astype(np.int64)
    return split_dataset(x, y, Dataset(name="npz", path="motion.npz"), seed=0)


def converted(name: str, mode: str, motion) -> bytes:
    from edgeforge.passes.ptq import PostTrainingQuantization
    from edgeforge.tfcompat import seed_everything

    seed_everything(0)
    model = build_model(name, SHAPE, 3)
    return PostTrainingQuantization({"mode": mode}).convert(model, motion.x_train)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", ["tiny_cnn", "ds_cnn"])
def test_conv1d_lowers_to_conv2d_and_its_macs_are_counted(name, motion):
    from edgeforge.cost.graph import read_graph
    from edgeforge.cost.macs import op_costs

    graph = read_graph(converted(name, "float32", motion))
    types = [op.type for op in graph.operators]
    assert types[:3] == ["EXPAND_DIMS", "CONV_2D", "RESHAPE"]
    costs = op_costs(graph)
    assert all(cost.macs_known for cost in costs)
    first_conv = costs[1]
    assert first_conv.macs == 128 * 3 * 3 * (16 if name == "tiny_cnn" else 32)  # steps · kernel · in · out


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", ["tiny_cnn", "ds_cnn"])
def test_arena_estimate_matches_tflite_micro_for_int8_1d_models(name, motion):
    from edgeforge.cost.arena import estimate_arena_bytes, measure_arena_bytes
    from edgeforge.cost.graph import read_graph

    model = converted(name, "int8", motion)
    estimated, measured = estimate_arena_bytes(read_graph(model)), measure_arena_bytes(model)
    assert abs(estimated - measured) <= 0.02 * measured


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_tflite_micro_runs_an_int8_1d_model_like_litert(motion):
    from edgeforge.runtimes import get_runtime

    model = converted("tiny_cnn", "int8", motion)
    x = motion.x_test[:6]
    np.testing.assert_allclose(get_runtime("tflite-micro").predict(model, x), get_runtime("tflite").predict(model, x), atol=1 / 128)


def test_qat_on_a_conv1d_model_fails_that_candidate_with_tfmots_reason(motion):
    from edgeforge.errors import BuildError
    from edgeforge.passes import TrainContext
    from edgeforge.passes.qat import Qat

    model = build_model("tiny_cnn", SHAPE, 3)
    context = TrainContext(splits=motion, teacher=model, epochs=1, batch_size=32, learning_rate=1e-3, seed=0)
    with pytest.raises(BuildError, match=r"qat: TF-MOT cannot wrap this model: Layer \w+:<class '.*Conv1D'> is not supported"):
        Qat({"preserve": "none"}).apply(model, context)


def test_pruning_and_clustering_wrap_the_1d_ds_cnn(motion):
    """Its blocks are SeparableConv1D because TF-MOT can prune and cluster those (DepthwiseConv1D it cannot)."""
    from edgeforge.passes import TrainContext
    from edgeforge.passes.cluster import Cluster
    from edgeforge.passes.prune import Prune

    model = build_model("ds_cnn", SHAPE, 3)
    context = TrainContext(splits=motion, teacher=model, epochs=1, batch_size=64, learning_rate=1e-3, seed=0)
    pruned = Prune({"sparsity": 0.5}).apply(model, context)
    clustered = Cluster({"clusters": 8}).apply(model, context)
    assert pruned.predict(motion.x_test[:2], verbose=0).shape == clustered.predict(motion.x_test[:2], verbose=0).shape == (2, 3)
