"""Training-time passes on an anomaly-detection autoencoder: trained on normal frames with the
input as target (the task's training view), each pass keeps it a reconstructor."""

from __future__ import annotations

import numpy as np
import pytest

from edgeforge.data.splits import Splits
from edgeforge.evaluate import get_task
from edgeforge.passes import TrainContext
from tests.unit.evaluate.autoencoder_factory import build as autoencoder
from tests.unit.evaluate.synthetic import vibration_frames


@pytest.fixture(scope="module")
def anomaly_context():
    from edgeforge.models import registry
    from edgeforge.tfcompat import seed_everything

    x, y = vibration_frames(normal=200, anomalous=20)
    splits = Splits(x[:150], y[:150], x[150:180], y[150:180], x[180:], y[180:])
    task = get_task("anomaly_detection")
    seed_everything(0)
    teacher = autoencoder(splits.input_shape, task.output_size(splits))
    view = task.training_splits(splits)
    teacher.compile(optimizer="adam", loss="mse")
    teacher.fit(view.x_train, view.y_train, epochs=30, batch_size=32, verbose=0)
    registry.ARCHITECTURES.setdefault("test_autoencoder", autoencoder)  # the students' architecture, by name
    context = TrainContext(splits=view, teacher=teacher, epochs=30, batch_size=32, learning_rate=3e-3, seed=0,
                           model_name="test_autoencoder", loss=task.loss)
    yield context
    registry.ARCHITECTURES.pop("test_autoencoder", None)


def normal_mse(model, context) -> float:
    view = context.splits
    return float(np.mean((model.predict(view.x_val, verbose=0) - view.y_val) ** 2))


def test_distilled_half_width_student_reconstructs_like_its_teacher(anomaly_context):
    from edgeforge.passes.distill import Distill

    student = Distill({"width": 0.5}).apply(anomaly_context.teacher, anomaly_context)
    assert student.layers[0].units == 16 and student.output_shape == (None, 64)
    teacher_mse = normal_mse(anomaly_context.teacher, anomaly_context)
    untrained = autoencoder((64,), 64, width=0.5)
    # the student learned to reconstruct: far below an untrained net, near its teacher
    assert normal_mse(student, anomaly_context) < 0.5 * normal_mse(untrained, anomaly_context)
    assert normal_mse(student, anomaly_context) < 2 * teacher_mse


def test_pruning_fine_tunes_the_autoencoder_on_reconstruction(anomaly_context):
    from edgeforge.passes.prune import Prune

    pruned = Prune({"sparsity": 0.5}).apply(anomaly_context.teacher, anomaly_context)
    kernel = pruned.get_layer("encode").get_weights()[0]
    assert np.mean(kernel == 0) >= 0.45
    assert normal_mse(pruned, anomaly_context) < 2 * normal_mse(anomaly_context.teacher, anomaly_context)


def test_clustering_fine_tunes_the_autoencoder_on_reconstruction(anomaly_context):
    from edgeforge.passes.cluster import Cluster

    clustered = Cluster({"clusters": 8}).apply(anomaly_context.teacher, anomaly_context)
    assert len(np.unique(clustered.get_layer("encode").get_weights()[0])) <= 8
    assert normal_mse(clustered, anomaly_context) < 2 * normal_mse(anomaly_context.teacher, anomaly_context)
